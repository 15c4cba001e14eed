/**
 * Client authentication on the native listener (src/server/sasl.ts, issue 22 §3), over a fake
 * node whose requests run through the real handlers, with the client library's connection
 * (src/client/connection.ts): with `--auth sasl`, a connection that has not authenticated gets
 * AUTHENTICATION_REQUIRED for anything but SASL; SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN log a user
 * in, and the requests after run as that user; a user with no credential of the mechanism it names
 * (one of the version before SCRAM-SHA-512) is refused as a wrong password is; a wrong password is
 * SASL_AUTHENTICATION_FAILED, and after
 * SASL_FAILURES_PER_CONNECTION_MAX of them the connection is closed; a node's own connection
 * proves the cluster secret and acts for the principal it names. While the node's metadata cannot
 * be trusted to hold the users (it has just joined the cluster and is receiving the metadata), a
 * user's login is refused with a retriable LEADER_NOT_AVAILABLE that says why, unchecked and not
 * counted as a failure, and the client library retries it until the node is ready.
 */
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort } from '../../chaos/cluster.js';
import { newCredential, newCredentials } from '../../src/auth/credentials.js';
import { Connection } from '../../src/client/connection.js';
import { Client, silentLogger } from '../../src/client/index.js';
import { RaftlogError } from '../../src/client/errors.js';
import { nodeSasl, userSasl } from '../../src/client/sasl.js';
import { userRecordOf, type UserRecord } from '../../src/meta/users.js';
import { HttpServer, type HttpNode } from '../../src/server/http.js';
import { PRE_AUTH_FRAME_BYTES_MAX, SASL_FAILURES_PER_CONNECTION_MAX, SASL_FAILURE_DELAY_MS, SaslServer } from '../../src/server/sasl.js';
import { newSession, type Session } from '../../src/server/session.js';
import { ServerError } from '../../src/errors.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { fakeKafkaNode, type FakeAuth } from '../kafka/fake-node.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

let users: Map<string, UserRecord>;
beforeAll(async () => {
  users = new Map([
    ['alice', { name: 'alice', since: 1, credentials: await newCredentials('alice-password') }],
    // A record as the version before SCRAM-SHA-512 wrote it (its one SCRAM-SHA-256 credential inline), read as the metadata reads it.
    ['olga', userRecordOf({ name: 'olga', since: 2, ...(await newCredential('olga-password')) })],
    ['carol', { name: 'carol', since: 3, credentials: await newCredentials('carol-password', ['SCRAM-SHA-512']) }],
  ]);
});

/** A node's client listener in this process; `principals` collects who each metadata request ran as. */
async function node(auth: FakeAuth): Promise<{ address: string; principals: string[] }> {
  const port = await freePort();
  const fake = fakeKafkaNode('127.0.0.1:9092', undefined, auth);
  const principals: string[] = [];
  const status = (): unknown => ({});
  const n = {
    ...fake,
    sasl: {
      ...fake.sasl,
      mode: fake.sasl.mode,
      handshake: fake.sasl.handshake.bind(fake.sasl),
      authenticate: fake.sasl.authenticate.bind(fake.sasl),
      closeReason: fake.sasl.closeReason.bind(fake.sasl),
      requireAuthenticated: (s: Session) => {
        fake.sasl.requireAuthenticated(s);
        principals.push(s.principal);
      },
    },
    transport: { accept: () => undefined },
    metrics: { ...fake.metrics, registry: { contentType: 'text/plain', metrics: () => Promise.resolve('') } },
    status,
  } as unknown as HttpNode;
  const http = new HttpServer(n);
  await http.listen(`127.0.0.1:${port}`);
  cleanup.push(() => http.close());
  return { address: `127.0.0.1:${port}`, principals };
}

function connect(address: string, sasl?: Parameters<typeof userSasl>[0]): Connection {
  const c = new Connection({ address, connectTimeoutMs: 2000, ...(sasl !== undefined ? { sasl: userSasl(sasl) } : {}) });
  cleanup.push(() => c.close());
  return c;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof RaftlogError ? err.code : String(err);
  }
}

const ALICE = { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-password' };

describe('a node started with --auth sasl', () => {
  it('refuses any request on a connection that has not authenticated, with AUTHENTICATION_REQUIRED', async () => {
    const { address } = await node({ mode: 'sasl', users });
    const c = connect(address);
    const err = await c.request({ type: 'metadata' }, 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect(err).toMatchObject({ code: ErrorCode.AuthenticationRequired, retriable: false });
    expect((err as Error).message).toMatch(/--auth sasl/);
  });

  it('serves a connection that authenticated with SCRAM-SHA-256, and runs its requests as its user', async () => {
    const { address, principals } = await node({ mode: 'sasl', users });
    const c = connect(address, ALICE);
    const md = await c.request({ type: 'metadata' }, 2000);
    expect(md.topics.map((t) => t.name)).toEqual(['orders']);
    expect(principals).toEqual(['User:alice']);
  });

  it('serves a connection that authenticated with SCRAM-SHA-512, against the credential of that mechanism', async () => {
    const { address, principals } = await node({ mode: 'sasl', users });
    await connect(address, { ...ALICE, mechanism: 'scram-sha-512' }).request({ type: 'metadata' }, 2000);
    await connect(address, { mechanism: 'SCRAM-SHA-512', username: 'carol', password: 'carol-password' }).request({ type: 'metadata' }, 2000);
    expect(principals).toEqual(['User:alice', 'User:carol']);
    // The handshake offers it.
    const raw = connect(address);
    expect((await raw.request({ type: 'saslHandshake', mechanism: 'SCRAM-SHA-512' }, 2000)).mechanisms).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']);
  });

  it('logs in with PLAIN too, against whichever credential the user has', async () => {
    const { address, principals } = await node({ mode: 'sasl', users });
    await connect(address, { ...ALICE, mechanism: 'plain' }).request({ type: 'metadata' }, 2000);
    await connect(address, { mechanism: 'plain', username: 'carol', password: 'carol-password' }).request({ type: 'metadata' }, 2000);
    await connect(address, { mechanism: 'plain', username: 'olga', password: 'olga-password' }).request({ type: 'metadata' }, 2000);
    expect(await codeOf(connect(address, { mechanism: 'plain', username: 'carol', password: 'olga-password' }).request({ type: 'metadata' }, 2000))).toBe(ErrorCode.SaslAuthenticationFailed);
    expect(principals).toEqual(['User:alice', 'User:carol', 'User:olga']);
  });

  it("logs a user of the previous version's record in with SCRAM-SHA-256, and refuses SCRAM-SHA-512 as a wrong password: the same code and message", async () => {
    const { address, principals } = await node({ mode: 'sasl', users });
    await connect(address, { mechanism: 'scram-sha-256', username: 'olga', password: 'olga-password' }).request({ type: 'metadata' }, 2000);
    expect(principals).toEqual(['User:olga']);
    const refusal = async (username: string, password: string, mechanism = 'scram-sha-512'): Promise<string> => {
      const err = await connect(address, { mechanism, username, password }).request({ type: 'metadata' }, 2000).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.SaslAuthenticationFailed, retriable: false });
      return (err as Error).message.replaceAll(`'${username}'`, "'<user>'");
    };
    const noCredential = await refusal('olga', 'olga-password');
    expect(noCredential).toMatch(/authentication of user '<user>' with SCRAM-SHA-512 failed: wrong user name or password/);
    expect(await refusal('alice', 'not-the-password')).toBe(noCredential);
    expect(await refusal('mallory', 'olga-password')).toBe(noCredential);
    // And a user with SCRAM-SHA-512 only, the other way round.
    expect(await refusal('carol', 'carol-password', 'scram-sha-256')).toBe(noCredential.replace('SCRAM-SHA-512', 'SCRAM-SHA-256'));
  });

  it('refuses a wrong password and a user that does not exist alike, with SASL_AUTHENTICATION_FAILED (not retriable)', async () => {
    const { address } = await node({ mode: 'sasl', users });
    const wrong = await connect(address, { ...ALICE, password: 'not-the-password' }).request({ type: 'metadata' }, 2000).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: ErrorCode.SaslAuthenticationFailed, retriable: false });
    expect((wrong as Error).message).toMatch(/wrong user name or password/);
    const nobody = await connect(address, { ...ALICE, username: 'mallory' }).request({ type: 'metadata' }, 2000).catch((e: unknown) => e);
    expect(nobody).toMatchObject({ code: ErrorCode.SaslAuthenticationFailed });
    expect((nobody as Error).message).toMatch(/wrong user name or password/);
    expect(await codeOf(connect(address, { ...ALICE, password: 'alice-passwore', mechanism: 'plain' }).request({ type: 'metadata' }, 2000))).toBe(ErrorCode.SaslAuthenticationFailed);
  });

  it(`closes a connection after ${SASL_FAILURES_PER_CONNECTION_MAX} failed authentications, answering the last`, async () => {
    const { address } = await node({ mode: 'sasl', users });
    const c = connect(address);
    const codes: string[] = [];
    for (let k = 0; k < SASL_FAILURES_PER_CONNECTION_MAX; k++) {
      await c.request({ type: 'saslHandshake', mechanism: 'PLAIN' }, 2000);
      codes.push(await codeOf(c.request({ type: 'saslAuthenticate', bytes: Buffer.from('\u0000alice\u0000wrong-password') }, 2000)));
    }
    expect(codes).toEqual(new Array(SASL_FAILURES_PER_CONNECTION_MAX).fill(ErrorCode.SaslAuthenticationFailed));
    // The connection is gone: the next request opens another, which must authenticate again.
    expect(await codeOf(c.request({ type: 'metadata' }, 2000))).toBe(ErrorCode.AuthenticationRequired);
  });

  it(`closes a connection that sends a frame over ${PRE_AUTH_FRAME_BYTES_MAX} bytes before authenticating, and takes large frames once it has`, async () => {
    const { address } = await node({ mode: 'sasl', users });
    const stranger = new WebSocket(`ws://${address}/client`);
    cleanup.push(() => stranger.terminate());
    await new Promise((resolve, reject) => stranger.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => stranger.once('close', (code) => resolve(code)));
    stranger.send(Buffer.alloc(PRE_AUTH_FRAME_BYTES_MAX + 1));
    expect(await closed).toBe(1009);
    // A metadata request naming topics enough to be over the limit, on a connection that has logged
    // in: read and answered (too many topics for one request), not cut off.
    const topics = Array.from({ length: 4000 }, (_, k) => `t${k}-${'x'.repeat(200)}`);
    const signedIn = connect(address, ALICE);
    const err = await signedIn.request({ type: 'metadata', topics }, 5000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.InvalidRequest });
    expect((err as Error).message).toMatch(/'topics' has 4000 items/);
  });

  it('answers a SASL request out of turn with ILLEGAL_SASL_STATE, and an unknown mechanism with UNSUPPORTED_SASL_MECHANISM', async () => {
    const { address } = await node({ mode: 'sasl', users });
    const c = connect(address);
    expect(await codeOf(c.request({ type: 'saslAuthenticate', bytes: Buffer.from('n,,n=alice,r=abc') }, 2000))).toBe(ErrorCode.IllegalSaslState);
    expect(await codeOf(c.request({ type: 'saslHandshake', mechanism: 'GSSAPI' }, 2000))).toBe(ErrorCode.UnsupportedSaslMechanism);
    const signedIn = connect(address, ALICE);
    await signedIn.request({ type: 'metadata' }, 2000);
    expect(await codeOf(signedIn.request({ type: 'saslHandshake', mechanism: 'PLAIN' }, 2000))).toBe(ErrorCode.IllegalSaslState);
  });

  it("lets a node's own connection in with the cluster secret, acting for the principal it names, and no one without the secret", async () => {
    const { address, principals } = await node({ mode: 'sasl', users });
    const own = new Connection({ address, connectTimeoutMs: 2000, sasl: nodeSasl('n2', 'fake-cluster-secret', 'User:bob') });
    cleanup.push(() => own.close());
    await own.request({ type: 'metadata' }, 2000);
    expect(principals).toEqual(['User:bob']);
    const forged = new Connection({ address, connectTimeoutMs: 2000, sasl: nodeSasl('n2', 'not-the-cluster-secret', 'User:admin') });
    cleanup.push(() => forged.close());
    expect(await codeOf(forged.request({ type: 'metadata' }, 2000))).toBe(ErrorCode.SaslAuthenticationFailed);
  });
});

describe('a node with --auth none', () => {
  it('serves a connection that does not authenticate, as ANONYMOUS, and one that does, as its user', async () => {
    const { address, principals } = await node({ mode: 'none', users });
    await connect(address).request({ type: 'metadata' }, 2000);
    await connect(address, ALICE).request({ type: 'metadata' }, 2000);
    expect(principals).toEqual(['User:ANONYMOUS', 'User:alice']);
  });
});

describe('a failed authentication', () => {
  it(`is answered only after the failure delay (SASL_FAILURE_DELAY_MS, as Kafka's connection.failed.authentication.delay.ms), a right one at once`, async () => {
    let release: () => void = () => undefined;
    let delays = 0;
    const server = new SaslServer({
      mode: 'sasl',
      self: 'n1',
      secret: 'fake-cluster-secret',
      logger: pino({ level: 'silent' }),
      users: () => ({ user: (name) => users.get(name) }),
      loginProblem: () => null,
      failureDelay: () => {
        delays++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    const session = newSession('client', '127.0.0.1:1');
    server.handshake(session, 'PLAIN');
    let settled = false;
    const failed = server.authenticate(session, Buffer.from('\u0000alice\u0000wrong-password')).finally(() => (settled = true));
    // The PLAIN check runs PBKDF2 off the event loop: wait until the delay is asked for.
    while (delays === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    release();
    await expect(failed).rejects.toMatchObject({ code: ErrorCode.SaslAuthenticationFailed });
    server.handshake(session, 'PLAIN');
    await expect(server.authenticate(session, Buffer.from('\u0000alice\u0000alice-password'))).resolves.toMatchObject({ done: true });
    expect(delays).toBe(1);
    expect(SASL_FAILURE_DELAY_MS).toBeGreaterThan(0);
  });
});

describe('a node whose metadata cannot be trusted to hold the users yet (it has just joined the cluster)', () => {
  const JOINING = 'its metadata replica has not yet caught up to the record of this node (it has just joined the cluster) and is receiving the metadata';
  const TOLD = `node n1 cannot check passwords yet: ${JOINING}; try another node, or retry shortly`;

  function server(problem: () => string | null, failureDelay: () => Promise<void> = () => Promise.resolve()): SaslServer {
    return new SaslServer({ mode: 'sasl', self: 'n1', secret: 'fake-cluster-secret', logger: pino({ level: 'silent' }), users: () => ({ user: (name) => users.get(name) }), loginProblem: problem, failureDelay });
  }

  it('refuses a SCRAM or PLAIN handshake with LEADER_NOT_AVAILABLE saying why: no exchange starts, no failure is counted, the connection is not closed', () => {
    let delays = 0;
    const sasl = server(
      () => JOINING,
      () => {
        delays++;
        return Promise.resolve();
      },
    );
    const session = newSession('client', '127.0.0.1:1');
    for (const mechanism of ['SCRAM-SHA-256', 'scram-sha-512', 'PLAIN', 'SCRAM-SHA-256', 'PLAIN']) {
      let err: unknown = null;
      try {
        sasl.handshake(session, mechanism);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ServerError);
      expect(err).toMatchObject({ code: ErrorCode.LeaderNotAvailable, message: TOLD });
      expect(session.sasl).toBeNull();
    }
    expect(session.saslFailures).toBe(0);
    expect(sasl.closeReason(session)).toBeNull();
    expect(delays).toBe(0);
    expect(sasl.notReady()).toBe(TOLD);
  });

  it('refuses the next message of an exchange begun before the node turned unready, and serves a login once it is ready again', async () => {
    let problem: string | null = null;
    const sasl = server(() => problem);
    const session = newSession('client', '127.0.0.1:1');
    sasl.handshake(session, 'PLAIN');
    problem = JOINING;
    await expect(sasl.authenticate(session, Buffer.from('\u0000alice\u0000alice-password'))).rejects.toMatchObject({ code: ErrorCode.LeaderNotAvailable, message: TOLD });
    expect(session.sasl).toBeNull();
    expect(session.saslFailures).toBe(0);
    expect(session.authenticated).toBe(false);
    problem = null;
    sasl.handshake(session, 'PLAIN');
    await expect(sasl.authenticate(session, Buffer.from('\u0000alice\u0000alice-password'))).resolves.toMatchObject({ done: true });
    expect(session.principal).toBe('User:alice');
  });

  it("serves a node's own connection (RAFTLOG-NODE needs no user)", async () => {
    const { address, principals } = await node({ mode: 'sasl', users, metadataProblem: () => JOINING });
    const own = new Connection({ address, connectTimeoutMs: 2000, sasl: nodeSasl('n2', 'fake-cluster-secret', 'User:bob') });
    cleanup.push(() => own.close());
    // Authenticated: the metadata request behind it is refused for the metadata, not the login.
    expect(await codeOf(own.request({ type: 'metadata' }, 2000))).toBe(ErrorCode.LeaderNotAvailable);
    expect(principals).toEqual(['User:bob']);
  });

  it('answers a client connection retriably, as many times as it asks without closing it, and the client library retries until the node is ready', async () => {
    let problem: string | null = JOINING;
    const { address, principals } = await node({ mode: 'sasl', users, metadataProblem: () => problem });
    const err = await connect(address, ALICE)
      .request({ type: 'metadata' }, 2000)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect(err).toMatchObject({ code: ErrorCode.LeaderNotAvailable, retriable: true });
    expect((err as Error).message).toContain(TOLD);
    // One connection, more handshakes than the failures that would close it: each answered the same.
    const raw = connect(address);
    for (let i = 0; i <= SASL_FAILURES_PER_CONNECTION_MAX; i++) expect(await codeOf(raw.request({ type: 'saslHandshake', mechanism: 'SCRAM-SHA-256' }, 2000))).toBe(ErrorCode.LeaderNotAvailable);
    // A client's call waits the refusals out.
    const client = new Client({ brokers: [address], logger: silentLogger, sasl: ALICE, retry: { retries: 30, initialRetryTimeMs: 20, maxRetryTimeMs: 100 } });
    const admin = client.admin();
    cleanup.push(() => admin.disconnect());
    let answered = false;
    const topics = admin.listTopics().finally(() => (answered = true));
    await new Promise((r) => setTimeout(r, 200));
    // Turned away meanwhile, and still trying.
    expect(answered).toBe(false);
    problem = null;
    expect(await topics).toEqual(['orders']);
    expect(principals).toEqual(['User:alice']);
  });
});
