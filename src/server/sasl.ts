/**
 * Client authentication on a node (issue 22 §3): the SASL exchanges of its connections, native
 * and Kafka, against the users of the metadata (src/meta/users.ts), and the rule of `--auth`.
 *
 * - `none`: every connection may do everything as ANONYMOUS; one may still authenticate, and
 *   then runs as its user.
 * - `sasl`: a connection may only authenticate until it has (on Kafka, ApiVersions too); anything
 *   else is AUTHENTICATION_REQUIRED (the Kafka listener closes the connection instead, as Kafka).
 *
 * Mechanisms: SCRAM-SHA-256 and SCRAM-SHA-512 (src/auth/scram.ts), each against the user's
 * credential of that mechanism (a user with none of it is refused as a wrong password is, with the
 * same message); PLAIN (the password checked against the user's SCRAM-SHA-256 credential, or its
 * SCRAM-SHA-512 one when it has only that: one PBKDF2, off the event loop); and on the native
 * listener RAFTLOG-NODE, a node's own connection acting for the principal of the request it
 * forwards (src/auth/node-proof.ts). A failed authentication is logged (user, remote, and why:
 * which of a wrong password, no such user, no credential of the mechanism) and answered
 * SASL_AUTHENTICATION_FAILED after SASL_FAILURE_DELAY_MS; the connection may start again, and is
 * closed after SASL_FAILURES_PER_CONNECTION_MAX failures.
 *
 * While the node's metadata cannot be trusted to hold the users (RaftlogNode.metadataProblem: it
 * is starting, has just joined the cluster and is receiving the metadata, its replica is
 * rejoining after losing its data, ...), or while a cluster given a bootstrap user has no user
 * yet (its controller is creating it: src/node/bootstrap-user.ts), a user's login (SCRAM, PLAIN,
 * HTTP Basic) is not checked:
 * it is refused with LEADER_NOT_AVAILABLE, retriable, saying why (notReady), at once and without
 * counting as a failure, where checking would tell a user whose password is right that it is
 * wrong. Clients try another node, or again later; the Kafka listener closes the connection
 * instead (src/kafka/dispatch.ts), which is what Kafka clients take as a broker not ready.
 * RAFTLOG-NODE needs no user, and is served.
 *
 * Under `sasl`, a connection that has not authenticated may send frames of at most
 * PRE_AUTH_FRAME_BYTES_MAX (the listeners enforce it as each frame's size arrives, and lift it in
 * Session.onAuthenticated): before it proves anything, a stranger cannot make the node hold a
 * request frame of 20 or 64 MiB per connection.
 *
 * Requests on one connection are served concurrently, but not around an exchange: AuthOrder keeps
 * a request that comes after a SASL request (or, under `sasl`, any request before the connection
 * has authenticated) waiting until that one is answered, so it runs as the principal proven.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { NodeId } from '../../raft/types.js';
import { NODE_MECHANISM, NodeProofServer } from '../auth/node-proof.js';
import {
  SCRAM_ITERATIONS_DEFAULT,
  SCRAM_NONCE_BYTES,
  SCRAM_SALT_BYTES,
  SCRAM_SHA_256,
  SCRAM_SHA_256_KEY_BYTES,
  SCRAM_SHA_512,
  ScramError,
  ScramServer,
  isScramMechanism,
  passwordMatches,
  type ScramCredential,
  type ScramMechanism,
} from '../auth/scram.js';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import { mechanismsOf, type UserRecord } from '../meta/users.js';
import { ErrorCode, SASL_MECHANISMS, userNameProblem, type SaslAuthenticateResponse, type SaslHandshakeResponse } from '../wire/protocol.js';
import { ANONYMOUS, userPrincipal, type SaslExchange, type Session } from './session.js';

/** How clients authenticate (`--auth`, src/node/options.ts). */
export type AuthMode = 'none' | 'sasl';

/** Failed authentications one connection may make; the last is answered, then the connection is closed. */
export const SASL_FAILURES_PER_CONNECTION_MAX = 3;
/**
 * A failed authentication is answered this long after it failed (Kafka's
 * connection.failed.authentication.delay.ms, 100 ms by default): a client guessing passwords
 * over many connections gets at most one guess per connection per this long, and requests behind
 * it on its connection wait too (AuthOrder).
 */
export const SASL_FAILURE_DELAY_MS = 100;
/**
 * The largest frame a connection may send before it has authenticated, under `--auth sasl`
 * (Kafka's sasl.server.max.receive.size, 512 KiB by default): a SASL message is a few hundred
 * bytes, and a stranger should not make the node buffer a full-size request.
 */
export const PRE_AUTH_FRAME_BYTES_MAX = 512 * 1024;

const PLAIN = 'PLAIN';

/** An exchange that failed: what the log says (`why`), and what the client is told. */
export class SaslRefusal extends Error {
  override readonly name = 'SaslRefusal';
  constructor(
    readonly why: string,
    /** The user the client named, once known. */
    readonly user: string | null,
    /** What the client is told (the same for a wrong password and a user that does not exist). */
    readonly told: string,
  ) {
    super(why);
  }
}

export interface SaslServerOptions {
  readonly mode: AuthMode;
  readonly self: NodeId;
  /** The cluster secret: RAFTLOG-NODE's proofs, and the salts shown for names that are not users. */
  readonly secret: string;
  readonly logger: Logger;
  /** The users this node knows (undefined until its metadata is open: then none). */
  readonly users: () => { user(name: string): UserRecord | undefined } | undefined;
  /** Why the users cannot be trusted now (RaftlogNode.loginProblem), or null when they can: while there is a reason, logins are refused as retriable. */
  readonly loginProblem: () => string | null;
  /** Random bytes for nonces (default node:crypto's). */
  readonly random?: (bytes: number) => Buffer;
  /** Waits before a failure is answered (default: SASL_FAILURE_DELAY_MS). */
  readonly failureDelay?: () => Promise<void>;
}

const defaultFailureDelay = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, SASL_FAILURE_DELAY_MS));

/** The largest frame `session`'s connection may send now: PRE_AUTH_FRAME_BYTES_MAX until it has authenticated under `sasl`, else `bytesMax`. */
export function frameBytesMaxFor(sasl: Pick<SaslServer, 'mode'>, session: Session, bytesMax: number): number {
  return sasl.mode === 'sasl' && !session.authenticated ? Math.min(bytesMax, PRE_AUTH_FRAME_BYTES_MAX) : bytesMax;
}

export class SaslServer {
  readonly mode: AuthMode;
  private readonly random: (bytes: number) => Buffer;

  constructor(private readonly o: SaslServerOptions) {
    this.mode = o.mode;
    this.random = o.random ?? randomBytes;
  }

  /** Starts an exchange with `mechanism` on `session`'s connection. Throws a ServerError. */
  handshake(session: Session, mechanism: string): SaslHandshakeResponse {
    if (session.authenticated) throw new ServerError(ErrorCode.IllegalSaslState, `this connection has authenticated already, as ${session.principal}`);
    if (session.sasl !== null) throw new ServerError(ErrorCode.IllegalSaslState, `a ${session.sasl.mechanism} exchange is under way on this connection: send its next saslAuthenticate`);
    const m = mechanism.toUpperCase();
    if (isScramMechanism(m) || m === PLAIN) this.requireUsers(session, m);
    if (isScramMechanism(m)) session.sasl = this.scram(m);
    else if (m === PLAIN) session.sasl = this.plain();
    else if (m === NODE_MECHANISM && session.listener === 'client') session.sasl = this.nodeProof();
    else throw new ServerError(ErrorCode.UnsupportedSaslMechanism, `SASL mechanism '${mechanism}' is not offered; this node offers ${SASL_MECHANISMS.join(', ')}`);
    return { mechanisms: SASL_MECHANISMS };
  }

  /** Takes the next message of the exchange under way. Throws a ServerError; a failed one counts against the connection. */
  async authenticate(session: Session, bytes: Uint8Array): Promise<SaslAuthenticateResponse> {
    const ex = session.sasl;
    if (ex === null) {
      throw new ServerError(ErrorCode.IllegalSaslState, session.authenticated ? `this connection has authenticated already, as ${session.principal}` : 'no SASL exchange is under way: send saslHandshake first, naming the mechanism');
    }
    if (ex.mechanism !== NODE_MECHANISM) {
      try {
        this.requireUsers(session, ex.mechanism);
      } catch (err) {
        session.sasl = null;
        throw err;
      }
    }
    let step: Awaited<ReturnType<SaslExchange['step']>>;
    try {
      step = await ex.step(bytes);
    } catch (err) {
      session.sasl = null;
      session.saslFailures++;
      const r = err instanceof SaslRefusal ? err : new SaslRefusal(err instanceof Error ? err.message : String(err), null, 'the SASL exchange failed');
      this.o.logger.warn(
        { listener: session.listener, remote: session.remote, user: r.user, mechanism: ex.mechanism, why: r.why, failures: session.saslFailures },
        `authentication failed on a ${session.listener} connection from ${session.remote}${r.user !== null ? ` for user '${r.user}'` : ''} (${ex.mechanism}): ${r.why}`,
      );
      const last = session.saslFailures >= SASL_FAILURES_PER_CONNECTION_MAX ? `; ${SASL_FAILURES_PER_CONNECTION_MAX} failures, closing the connection` : '';
      await (this.o.failureDelay ?? defaultFailureDelay)();
      throw new ServerError(ErrorCode.SaslAuthenticationFailed, `${r.told}${last}`);
    }
    if (step.principal === null) return { bytes: step.reply, done: false };
    session.sasl = null;
    session.principal = step.principal;
    session.authenticated = true;
    session.onAuthenticated?.();
    this.o.logger.debug({ listener: session.listener, remote: session.remote, principal: step.principal, mechanism: ex.mechanism }, `${session.remote} authenticated as ${step.principal} (${ex.mechanism})`);
    return { bytes: step.reply, done: true };
  }

  /**
   * Why this node cannot check a user's password now (the loginProblem option), said to the
   * client with what to do; null when it can.
   */
  notReady(): string | null {
    const problem = this.o.loginProblem();
    return problem === null ? null : `node ${this.o.self} cannot check passwords yet: ${problem}; try another node, or retry shortly`;
  }

  /** Throws LEADER_NOT_AVAILABLE (retriable, no failure counted) while the users cannot be trusted (notReady). */
  private requireUsers(session: Session, mechanism: string): void {
    const why = this.notReady();
    if (why === null) return;
    this.o.logger.debug({ listener: session.listener, remote: session.remote, mechanism, why }, `refused a ${mechanism} login on a ${session.listener} connection from ${session.remote} unchecked: ${why}`);
    throw new ServerError(ErrorCode.LeaderNotAvailable, why);
  }

  /** Throws AUTHENTICATION_REQUIRED for a request on a connection that must authenticate first. */
  requireAuthenticated(session: Session): void {
    if (this.mode === 'sasl' && !session.authenticated) {
      throw new ServerError(
        ErrorCode.AuthenticationRequired,
        'this node requires clients to authenticate (--auth sasl): authenticate with SASL (saslHandshake, then saslAuthenticate) before any other request; the client library does when given sasl: { mechanism, username, password }, the CLI with --auth-user and --auth-password-file',
      );
    }
  }

  /** Why the connection must close once its answer is written (too many failed authentications), or null. */
  closeReason(session: Session): string | null {
    return session.saslFailures >= SASL_FAILURES_PER_CONNECTION_MAX ? `${session.saslFailures} failed authentications` : null;
  }

  /** User `name`, if it is one. */
  private user(name: string): UserRecord | null {
    return userNameProblem(name) === null ? (this.o.users()?.user(name) ?? null) : null;
  }

  /** User `name`'s credential of `mechanism` (null: no such user, or it has none of this mechanism). */
  private credential(name: string, mechanism: ScramMechanism): ScramCredential | null {
    return this.user(name)?.credentials[mechanism] ?? null;
  }

  /** The credential a password of user `name` is checked against (PLAIN): its SCRAM-SHA-256 one, else its SCRAM-SHA-512 one; null for no user. */
  private passwordCredential(name: string): ScramCredential | null {
    const c = this.user(name)?.credentials;
    return c?.[SCRAM_SHA_256] ?? c?.[SCRAM_SHA_512] ?? null;
  }

  /** The salt shown for a name that is no user: the same on every node and every time, as a user's would be. */
  private unknownSalt(name: string): Uint8Array {
    return createHmac('sha256', this.o.secret).update(`unknown-user-salt:${name}`).digest().subarray(0, SCRAM_SALT_BYTES);
  }

  private nonce(): string {
    return this.random(SCRAM_NONCE_BYTES).toString('base64');
  }

  private scram(mechanism: ScramMechanism): SaslExchange {
    const server = new ScramServer((name) => this.credential(name, mechanism), this.nonce(), (name) => this.unknownSalt(name), mechanism);
    let step = 0;
    const fail = (err: unknown): never => {
      const user = server.user;
      if (err instanceof ScramError && err.kind === 'credentials') {
        throw new SaslRefusal(this.scramRefusal(user, mechanism, err), user, `authentication of user '${user}' with ${mechanism} failed: wrong user name or password`);
      }
      throw new SaslRefusal(err instanceof Error ? err.message : String(err), user, `not a ${mechanism} exchange: ${err instanceof Error ? err.message : String(err)}`);
    };
    return {
      mechanism,
      step: (message) => {
        const text = Buffer.from(message).toString('utf8');
        try {
          if (step++ === 0) return Promise.resolve({ reply: Buffer.from(server.first(text)), principal: null });
          return Promise.resolve({ reply: Buffer.from(server.final(text)), principal: userPrincipal(server.user!) });
        } catch (err) {
          return Promise.reject(fail(err));
        }
      },
    };
  }

  /** Why a SCRAM proof of `user` failed, for the log (the client is told neither): no such user, none of its credentials of `mechanism`, or a wrong password. */
  private scramRefusal(user: string | null, mechanism: ScramMechanism, err: ScramError): string {
    const u = user === null ? null : this.user(user);
    if (u === null) return `no user '${user}'`;
    if (u.credentials[mechanism] === undefined) return `user '${user}' has no ${mechanism} credential, only ${mechanismsOf(u).join(', ')} (raftlog users create ${user} gives it one of every mechanism)`;
    return err.message;
  }

  /** PLAIN (RFC 4616): "authzid NUL user NUL password", checked against one of the user's SCRAM credentials (passwordCredential). */
  private plain(): SaslExchange {
    return {
      mechanism: PLAIN,
      step: async (message) => {
        const parts = Buffer.from(message).toString('utf8').split('\u0000');
        if (parts.length !== 3) throw new SaslRefusal('not a PLAIN message', null, 'not a PLAIN message: authzid, user and password separated by NUL');
        const [authzid, user, password] = parts as [string, string, string];
        if (authzid !== '' && authzid !== user) throw new SaslRefusal(`user '${user}' may not act as '${authzid}'`, user, `user '${user}' may not act as '${authzid}'`);
        return { reply: new Uint8Array(0), principal: await this.checkPassword(user, password, PLAIN) };
      },
    };
  }

  /**
   * The principal of user `user` if `password` is its password, checked against one of its SCRAM
   * credentials (passwordCredential; passwordMatches: one PBKDF2, off the event loop); throws a SaslRefusal otherwise,
   * that tells the client the same for a wrong password and a user that does not exist. PLAIN
   * and HTTP Basic (http-auth.ts) check passwords here, once notReady() has said they may. `by`
   * names the mechanism for the message.
   */
  async checkPassword(user: string, password: string, by: string): Promise<string> {
    const told = `authentication of user '${user}' with ${by} failed: wrong user name or password`;
    const cred = this.passwordCredential(user);
    // A name that is no user costs the same PBKDF2 as one that is.
    const unknown = { mechanism: SCRAM_SHA_256, salt: this.unknownSalt(user), iterations: SCRAM_ITERATIONS_DEFAULT, storedKey: Buffer.alloc(SCRAM_SHA_256_KEY_BYTES), serverKey: Buffer.alloc(SCRAM_SHA_256_KEY_BYTES) } as const;
    const matches = await passwordMatches(cred ?? unknown, password);
    if (cred === null) throw new SaslRefusal(`no user '${user}'`, user, told);
    if (!matches) throw new SaslRefusal(`wrong password for user '${user}'`, user, told);
    return userPrincipal(user);
  }

  /**
   * The StoredKey of the credential user `name`'s password is checked against now
   * (passwordCredential; null: no such user): a login session ends when it changes (http-auth.ts),
   * as it does at every upsert, which gives every credential a fresh salt.
   */
  storedKeyOf(name: string): Uint8Array | null {
    return this.passwordCredential(name)?.storedKey ?? null;
  }

  private nodeProof(): SaslExchange {
    const server = new NodeProofServer(this.o.self, this.o.secret, this.nonce());
    let step = 0;
    return {
      mechanism: NODE_MECHANISM,
      step: (message) => {
        const text = Buffer.from(message).toString('utf8');
        try {
          if (step++ === 0) return Promise.resolve({ reply: Buffer.from(server.first(text)), principal: null });
          const principal = server.final(text);
          const name = principal.startsWith('User:') ? principal.slice('User:'.length) : null;
          if (principal !== ANONYMOUS && (name === null || userNameProblem(name) !== null)) throw new Error(`'${principal.slice(0, 200)}' is not a principal`);
          return Promise.resolve({ reply: Buffer.from('ok'), principal });
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          return Promise.reject(new SaslRefusal(why, server.node, `${NODE_MECHANISM} failed: ${why}`));
        }
      },
    };
  }
}

/**
 * Keeps a connection's requests in order around authentication: a request waits for every
 * earlier one marked `gating` (a SASL request, or any request before the connection has
 * authenticated when it must) to be answered. Others run as they come.
 */
export class AuthOrder {
  private last: Promise<void> | null = null;

  /** Runs `serve` once the gating requests before it are answered; with `gating`, the ones after wait for it. */
  run<T>(gating: boolean, serve: () => Promise<T>): Promise<T> {
    const before = this.last;
    const p = before === null ? serve() : before.then(serve);
    if (gating) {
      const done = p.then(
        () => undefined,
        () => undefined,
      );
      this.last = done;
      void done.then(() => {
        if (this.last === done) this.last = null;
      });
    }
    return p;
  }
}

/** Whether a request of `type` must be answered before the ones after it run (AuthOrder). */
export function gatesOthers(sasl: Pick<SaslServer, 'mode'>, session: Session, isSaslRequest: boolean): boolean {
  return isSaslRequest || (sasl.mode === 'sasl' && !session.authenticated);
}
