/**
 * Authentication on the node's HTTP listener (issue 23: the console obeys the listener's
 * authentication and ACLs). It follows `--auth`:
 *
 * - `none`: every HTTP request runs as ANONYMOUS and nothing is asked, as before (credentials sent
 *   are not looked at).
 * - `sasl`: what a path needs, by this table (`needOf`):
 *
 *     /health                                 nothing: liveness (the node's id, whether it is ready)
 *     /ui, /ui/...                            nothing: the console's static files, the same for everyone
 *     /auth/login, /auth/logout               nothing: how a browser logs in and out
 *     /metrics                                nothing, unless --http-auth-metrics required: a user
 *     anything else                           a user: /status, /auth/session, the console's API
 *                                             (/api/...), routes added by whoever built the node
 *
 *   /metrics is open by default, as Redpanda's metrics and a Kafka JMX exporter's are: Prometheus scrapes
 *   without credentials unless told, the figures name topics and counts but carry no record, and
 *   an operator who wants it closed says `--http-auth-metrics required` (then Prometheus's
 *   `basic_auth`). /status requires a user: it tells the cluster's topology, listeners and
 *   replicas. What a user may then see is the access table's (src/server/access.ts): /status and
 *   a required /metrics need describe on the cluster, as the native `status` request; each of
 *   the console's API calls runs as the user through the node's request handlers.
 *
 * A user is named by one of:
 * - HTTP Basic (RFC 7617), `Authorization: Basic base64(name:password)` (curl -u, Prometheus's
 *   basic_auth), checked at each request against the user's SCRAM credential in the metadata
 *   (SaslServer.checkPassword: PBKDF2 with the credential's salt and iterations, StoredKey and
 *   ServerKey compared in constant time), as Redpanda's Admin API takes it;
 * - the console's session cookie, `raftlog-session-<node id>` (a random token, http-sessions.ts),
 *   set by `POST /auth/login` with `{"username", "password"}` (JSON) and ended by
 *   `POST /auth/logout`: HttpOnly, SameSite=Strict, Secure on a TLS listener. A session ends too
 *   once the user's credential is not the one it logged in with (password changed, user deleted).
 *
 * A refusal is JSON, `{error: {code, message}}`: 401 AUTHENTICATION_REQUIRED (no credentials, or
 * a session ended), 401 SASL_AUTHENTICATION_FAILED (a wrong name or password, the same for both,
 * answered after HTTP_LOGIN_FAILURE_DELAY_MS), 429 TOO_MANY_LOGIN_FAILURES with Retry-After (a
 * host locked out, login-limiter.ts), each failure counted in `raftlog_http_login_failures_total`
 * and logged (at most HTTP_LOGIN_FAILURE_LOGS_PER_WINDOW lines per window); 503 LEADER_NOT_AVAILABLE
 * with Retry-After (HTTP_NOT_READY_RETRY_AFTER_S) while the node cannot check passwords yet
 * (SaslServer.notReady: it has just joined the cluster and is receiving the metadata, or is
 * starting), which is no failure: nothing is checked, counted or delayed. A 401 challenges with
 * `Basic`, except on the console's paths (/api/, /auth/), whose page logs in with its own form: a
 * Basic challenge there would have the browser open its password dialog over the page.
 *
 * Passwords travel in the clear on a plaintext listener: the node warns at start (and /status
 * says, `http.warning`) when its HTTP listener takes passwords without TLS on an address others
 * reach, and warns again, at most every HTTP_PLAINTEXT_WARN_EVERY_MS, when one comes.
 */
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Counter } from 'prom-client';
import type { NodeId } from '../../raft/types.js';
import { PASSWORD_BYTES_MAX } from '../auth/credentials.js';
import { hostOf } from '../auth/node-authorizer.js';
import type { Logger } from '../log.js';
import { ErrorCode } from '../wire/protocol.js';
import { LoginLimiter } from './login-limiter.js';
import { HTTP_SESSION_MS_MAX, SessionStore } from './http-sessions.js';
import { SaslRefusal, type AuthMode, type SaslServer } from './sasl.js';
import { ANONYMOUS, newSession, type Session } from './session.js';

/** `--http-auth-metrics`: whether /metrics needs a user under `--auth sasl`. */
export const HTTP_AUTH_METRICS = ['none', 'required'] as const;
export type HttpAuthMetrics = (typeof HTTP_AUTH_METRICS)[number];

/** A failed password check is answered this long after it was made (a guesser's every try costs it this). */
export const HTTP_LOGIN_FAILURE_DELAY_MS = 500;
/** Bytes of a login request's body, at most (a name and a password of PASSWORD_BYTES_MAX, escaped). */
export const HTTP_LOGIN_BODY_BYTES_MAX = 8 * 1024;
/** Failed logins logged per window, at most; the others are counted in the next line logged. */
export const HTTP_LOGIN_FAILURE_LOGS_PER_WINDOW = 20;
export const HTTP_LOGIN_FAILURE_LOG_WINDOW_MS = 10_000;
/** A password that came over a plaintext listener others reach is warned of at most this often. */
export const HTTP_PLAINTEXT_WARN_EVERY_MS = 10 * 60_000;

/**
 * The Retry-After of a 503 while the node cannot check passwords yet: a node that has just joined
 * receives the metadata in about a second (the controller's registration round, then the copy).
 */
export const HTTP_NOT_READY_RETRY_AFTER_S = 1;

/** The code of a host locked out for its failed logins (429); HTTP's own, not a request's. */
export const TOO_MANY_LOGIN_FAILURES = 'TOO_MANY_LOGIN_FAILURES';

/** The 401 challenges: HTTP Basic, and on the console's paths a scheme no browser answers with its own dialog. */
const BASIC_CHALLENGE = 'Basic realm="raftlog", charset="UTF-8"';
const CONSOLE_CHALLENGE = 'FormBased realm="raftlog"';

/** What a path needs under `--auth sasl` (the table above). */
export function needOf(path: string, metrics: HttpAuthMetrics): 'nothing' | 'user' {
  if (path === '/health' || path === '/auth/login' || path === '/auth/logout') return 'nothing';
  if (path === '/ui' || path.startsWith('/ui/')) return 'nothing';
  if (path === '/metrics') return metrics === 'required' ? 'user' : 'nothing';
  return 'user';
}

const consolePath = (path: string): boolean => path.startsWith('/api/') || path.startsWith('/auth/');

export interface HttpAuthOptions {
  readonly mode: AuthMode;
  readonly metrics: HttpAuthMetrics;
  /** The node's id: its session cookie's name. */
  readonly node: NodeId;
  /** Checks passwords against the users of the metadata (SaslServer's, as PLAIN does). */
  readonly passwords: Pick<SaslServer, 'checkPassword' | 'storedKeyOf' | 'notReady'>;
  readonly logger: Logger;
  /** Counts failed logins: `credentials` (a wrong name or password), `locked_out` (refused unchecked). */
  readonly failures: Pick<Counter<'reason'>, 'inc'>;
  /** What the node says at start when its HTTP listener takes passwords in plaintext from others (auth-mode.ts), or null. */
  readonly plaintextWarning: string | null;
  readonly now?: () => number;
  readonly random?: (bytes: number) => Buffer;
  /** How long a failed password check waits before its answer (HTTP_LOGIN_FAILURE_DELAY_MS). */
  readonly failureDelayMs?: number;
}

/** What /status says of the HTTP listener's authentication (StatusResponse.http). */
export interface HttpAuthStatus {
  readonly auth: 'basic' | 'none';
  readonly metrics: 'open' | 'required';
  /** Console sessions held by this node. */
  readonly sessions: number;
  readonly warning?: string;
}

/** A request answered with a refusal. */
interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Who a request is, before its path is served. */
type Resolved =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly principal: string; readonly via: 'basic' | 'cookie'; readonly expires?: number }
  | { readonly kind: 'refused'; readonly refusal: Refusal };

export class HttpAuth {
  readonly mode: AuthMode;
  private readonly now: () => number;
  private readonly limiter: LoginLimiter;
  private readonly sessions: SessionStore;
  private readonly cookie: string;
  private logWindowStart = -Infinity;
  private loggedInWindow = 0;
  private suppressed = 0;
  private plaintextWarnedAt = -Infinity;
  /** Who each request in progress was found to be (identify), for /auth/session. */
  private readonly resolved = new WeakMap<http.IncomingMessage, Resolved>();

  constructor(private readonly o: HttpAuthOptions) {
    this.mode = o.mode;
    this.now = o.now ?? Date.now;
    this.limiter = new LoginLimiter(this.now);
    this.sessions = new SessionStore(this.now, o.random);
    this.cookie = `raftlog-session-${o.node}`;
  }

  /** Whether requests are authenticated and checked (`--auth sasl`); with `none`, the listener is open as before. */
  get enforcing(): boolean {
    return this.mode === 'sasl';
  }

  /** Whether /metrics needs a user. */
  get metricsRequired(): boolean {
    return this.enforcing && this.o.metrics === 'required';
  }

  status(): HttpAuthStatus {
    return {
      auth: this.enforcing ? 'basic' : 'none',
      metrics: this.metricsRequired ? 'required' : 'open',
      sessions: this.sessions.size,
      ...(this.enforcing && this.o.plaintextWarning !== null ? { warning: this.o.plaintextWarning } : {}),
    };
  }

  /**
   * The session `req` runs as (for `path`), or null once a refusal is answered on `res`: ANONYMOUS
   * for a path that needs nothing (and for every path under `--auth none`), else the user its
   * credentials prove.
   */
  async identify(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<Session | null> {
    const r = await this.resolve(req, path);
    if (r.kind === 'refused') {
      refuse(res, r.refusal);
      return null;
    }
    this.resolved.set(req, r);
    const session = newSession('http', remoteOf(req));
    if (r.kind === 'user') {
      session.principal = r.principal;
      session.authenticated = true;
    }
    return session;
  }

  /** Answers /auth/login, /auth/logout and /auth/session (a request `identify` let through); false for any other path. */
  async serve(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<boolean> {
    if (path === '/auth/login') {
      if (req.method !== 'POST') refuse(res, { status: 405, code: ErrorCode.InvalidRequest, message: 'log in with POST /auth/login and a JSON body {"username", "password"}' });
      else await this.login(req, res);
      return true;
    }
    if (path === '/auth/logout') {
      if (req.method !== 'POST') refuse(res, { status: 405, code: ErrorCode.InvalidRequest, message: 'log out with POST /auth/logout' });
      else this.logout(req, res);
      return true;
    }
    if (path === '/auth/session') {
      const r = this.resolved.get(req) ?? (await this.resolve(req, path));
      if (r.kind === 'refused') refuse(res, r.refusal);
      else {
        const principal = r.kind === 'user' ? r.principal : ANONYMOUS;
        json(res, 200, { auth: this.mode, principal, via: r.kind === 'user' ? r.via : 'none', ...(r.kind === 'user' && r.expires !== undefined ? { expiresAt: r.expires } : {}) });
      }
      return true;
    }
    return false;
  }

  private async resolve(req: http.IncomingMessage, path: string): Promise<Resolved> {
    if (!this.enforcing || needOf(path, this.o.metrics) === 'nothing') return { kind: 'anonymous' };
    const challenge = consolePath(path) ? CONSOLE_CHALLENGE : BASIC_CHALLENGE;
    const header = req.headers.authorization;
    if (header !== undefined) return this.basic(req, header, challenge);
    const token = cookieOf(req, this.cookie);
    if (token !== null) {
      // Not ended: the user's credential cannot be compared until the node has the metadata.
      const notReady = this.notReady();
      if (notReady !== null) return { kind: 'refused', refusal: notReady };
      const s = this.sessions.find(token);
      const current = s === null ? null : this.o.passwords.storedKeyOf(s.user);
      if (s !== null && current !== null && Buffer.from(current).equals(Buffer.from(s.storedKey))) return { kind: 'user', principal: s.principal, via: 'cookie', expires: s.expires };
      if (s !== null) this.sessions.end(token);
      return {
        kind: 'refused',
        refusal: {
          status: 401,
          code: ErrorCode.AuthenticationRequired,
          message: s !== null ? "your console session ended: the user's password changed or the user was deleted; log in again" : 'your console session ended (logged out, expired, or the node restarted): log in again',
          headers: { 'www-authenticate': challenge, 'set-cookie': this.clearCookie(req) },
        },
      };
    }
    return {
      kind: 'refused',
      refusal: {
        status: 401,
        code: ErrorCode.AuthenticationRequired,
        message: "this node requires HTTP clients to authenticate (--auth sasl): give a user's name and password with HTTP Basic (curl -u NAME), or log in to the console at /ui/",
        headers: { 'www-authenticate': challenge },
      },
    };
  }

  private async basic(req: http.IncomingMessage, header: string, challenge: string): Promise<Resolved> {
    const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
    const decoded = m === null ? null : Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded === null ? -1 : decoded.indexOf(':');
    if (decoded === null || colon < 1) {
      return { kind: 'refused', refusal: { status: 401, code: ErrorCode.AuthenticationRequired, message: 'the Authorization header is not HTTP Basic (Basic base64(name:password))', headers: { 'www-authenticate': challenge } } };
    }
    const checked = await this.check(req, decoded.slice(0, colon), decoded.slice(colon + 1), 'HTTP Basic');
    if ('refusal' in checked) return { kind: 'refused', refusal: checked.refusal.status === 503 ? checked.refusal : { ...checked.refusal, headers: { ...checked.refusal.headers, 'www-authenticate': challenge } } };
    return { kind: 'user', principal: checked.principal, via: 'basic' };
  }

  /** Checks `user`'s password for a request, within the remote host's limits (login-limiter.ts). */
  private async check(req: http.IncomingMessage, user: string, password: string, by: string): Promise<{ readonly principal: string; readonly storedKey: Uint8Array } | { readonly refusal: Refusal }> {
    const remote = remoteOf(req);
    const host = hostOf(remote);
    this.warnPlaintext(req, remote, user);
    const notReady = this.notReady();
    if (notReady !== null) return { refusal: notReady };
    const wait = this.limiter.waitMs(host);
    if (wait > 0) {
      this.o.failures.inc({ reason: 'locked_out' });
      const s = Math.ceil(wait / 1000);
      this.logFailure({ remote, user, by, lockedOutMs: wait }, `refused a login from ${remote} for user '${user}' (${by}) unchecked: ${host} is locked out for ${s} s more after ${this.limiter.failures(host)} failed logins`);
      return { refusal: { status: 429, code: TOO_MANY_LOGIN_FAILURES, message: `too many failed logins from ${host}: try again in ${s} s`, headers: { 'retry-after': String(s) } } };
    }
    const told = `authentication of user '${user}' with ${by} failed: wrong user name or password`;
    const out: { refusal: SaslRefusal | null; principal: string } = { refusal: null, principal: '' };
    const ok = await this.limiter.attempt(host, async () => {
      if (Buffer.byteLength(password, 'utf8') > PASSWORD_BYTES_MAX) {
        out.refusal = new SaslRefusal(`a password of more than ${PASSWORD_BYTES_MAX} bytes`, user, told);
        return false;
      }
      try {
        out.principal = await this.o.passwords.checkPassword(user, password, by);
        return true;
      } catch (err) {
        if (!(err instanceof SaslRefusal)) throw err;
        out.refusal = err;
        return false;
      }
    });
    const storedKey = ok ? this.o.passwords.storedKeyOf(user) : null;
    if (storedKey !== null) return { principal: out.principal, storedKey };
    const r = out.refusal ?? new SaslRefusal(`user '${user}' was deleted while logging in`, user, told);
    this.o.failures.inc({ reason: 'credentials' });
    this.logFailure({ remote, user, by, why: r.why, failures: this.limiter.failures(host) }, `authentication failed on the HTTP listener from ${remote} for user '${user}' (${by}): ${r.why}`);
    await new Promise((resolve) => setTimeout(resolve, this.o.failureDelayMs ?? HTTP_LOGIN_FAILURE_DELAY_MS));
    return { refusal: { status: 401, code: ErrorCode.SaslAuthenticationFailed, message: r.told } };
  }

  /** The 503 of a node that cannot check passwords yet (SaslServer.notReady), or null. */
  private notReady(): Refusal | null {
    const why = this.o.passwords.notReady();
    return why === null ? null : { status: 503, code: ErrorCode.LeaderNotAvailable, message: why, headers: { 'retry-after': String(HTTP_NOT_READY_RETRY_AFTER_S) } };
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.enforcing) {
      refuse(res, { status: 400, code: ErrorCode.InvalidRequest, message: 'this node does not authenticate HTTP requests (--auth none): the console needs no login' });
      return;
    }
    const body = await loginBody(req);
    if ('refusal' in body) {
      refuse(res, body.refusal);
      return;
    }
    const checked = await this.check(req, body.username, body.password, 'the console login');
    if ('refusal' in checked) {
      refuse(res, checked.refusal);
      return;
    }
    const { token, session } = this.sessions.create(body.username, checked.principal, checked.storedKey);
    const secure = isTls(req) ? '; Secure' : '';
    this.o.logger.info({ remote: remoteOf(req), principal: checked.principal }, `${checked.principal} logged in to the console from ${remoteOf(req)}`);
    json(res, 200, { principal: checked.principal, expiresAt: session.expires }, { 'set-cookie': `${this.cookie}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${HTTP_SESSION_MS_MAX / 1000}${secure}` });
  }

  private logout(req: http.IncomingMessage, res: http.ServerResponse): void {
    const token = cookieOf(req, this.cookie);
    const ended = token !== null && this.sessions.end(token);
    json(res, 200, { loggedOut: ended }, { 'set-cookie': this.clearCookie(req) });
  }

  private clearCookie(req: http.IncomingMessage): string {
    return `${this.cookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${isTls(req) ? '; Secure' : ''}`;
  }

  private warnPlaintext(req: http.IncomingMessage, remote: string, user: string): void {
    const w = this.o.plaintextWarning;
    if (w === null || isTls(req)) return;
    const now = this.now();
    if (now - this.plaintextWarnedAt < HTTP_PLAINTEXT_WARN_EVERY_MS) return;
    this.plaintextWarnedAt = now;
    this.o.logger.warn({ remote, user }, `user '${user}' sent a password from ${remote} over plaintext HTTP: ${w}`);
  }

  /** Logs a failed login at warn, at most HTTP_LOGIN_FAILURE_LOGS_PER_WINDOW per window. */
  private logFailure(fields: Record<string, unknown>, message: string): void {
    const now = this.now();
    if (now - this.logWindowStart >= HTTP_LOGIN_FAILURE_LOG_WINDOW_MS) {
      this.logWindowStart = now;
      this.loggedInWindow = 0;
    }
    if (this.loggedInWindow >= HTTP_LOGIN_FAILURE_LOGS_PER_WINDOW) {
      this.suppressed++;
      return;
    }
    this.loggedInWindow++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    this.o.logger.warn({ ...fields, ...(suppressed > 0 ? { suppressed } : {}) }, `${message}${suppressed > 0 ? `; ${suppressed} more failed login(s) not logged before this one` : ''}`);
  }
}

/** The login request's name and password, or why it is not one. */
async function loginBody(req: http.IncomingMessage): Promise<{ readonly username: string; readonly password: string } | { readonly refusal: Refusal }> {
  const bad = (message: string): { refusal: Refusal } => ({ refusal: { status: 400, code: ErrorCode.InvalidRequest, message } });
  // As every POST of the console's API: a page of another site cannot send this type without asking.
  if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') return bad('send the login as application/json: {"username", "password"}');
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > HTTP_LOGIN_BODY_BYTES_MAX) return bad(`a login body is at most ${HTTP_LOGIN_BODY_BYTES_MAX} bytes`);
    chunks.push(c);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return bad('the login body is not JSON');
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  if (typeof o.username !== 'string' || o.username === '' || typeof o.password !== 'string') return bad('give "username" and "password", strings');
  return { username: o.username, password: o.password };
}

/** The value of cookie `name` in the request, or null. */
function cookieOf(req: http.IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function remoteOf(req: http.IncomingMessage): string {
  return `${req.socket.remoteAddress}:${req.socket.remotePort}`;
}

function isTls(req: http.IncomingMessage): boolean {
  return (req.socket as TLSSocket).encrypted === true;
}

function json(res: http.ServerResponse, status: number, value: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(value));
}

function refuse(res: http.ServerResponse, r: Refusal): void {
  json(res, r.status, { error: { code: r.code, message: r.message } }, r.headers);
}
