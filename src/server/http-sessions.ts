/**
 * The console's login sessions on one node (http-auth.ts): a random token per login, given to the
 * browser in a cookie and kept here, in memory, with the user it names and until when it holds.
 *
 *   token     HTTP_SESSION_TOKEN_BYTES random bytes, base64url (43 characters): nothing in it to
 *             forge or read; kept here only as its SHA-256, so that a look-up's time says nothing of
 *             the tokens held
 *   lifetime  HTTP_SESSION_MS_MAX from the login at most, and HTTP_SESSION_IDLE_MS_MAX after its
 *             last use; ended at logout, at a restart of the node, and (http-auth.ts) once the
 *             user's credential is not the one it logged in with (password changed, user deleted)
 *
 * A session is this node's: another node's console is another login (each node's cookie has a
 * name of its own, as browsers share cookies between the ports of one host). At most
 * HTTP_SESSIONS_MAX are held; a login beyond that ends the oldest.
 */
import { createHash, randomBytes } from 'node:crypto';

/** Random bytes of a session token. */
export const HTTP_SESSION_TOKEN_BYTES = 32;
/** A session ends this long after its login, used or not (a working day). */
export const HTTP_SESSION_MS_MAX = 8 * 3600_000;
/** A session not used for this long ends. */
export const HTTP_SESSION_IDLE_MS_MAX = 3600_000;
/** Sessions one node holds at once, at most. */
export const HTTP_SESSIONS_MAX = 10_000;

/** A token as the cookie carries it. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface LoginSession {
  readonly user: string;
  readonly principal: string;
  /** The StoredKey of the user's credential at login: the session holds while it is the user's. */
  readonly storedKey: Uint8Array;
  /** When it began and when it ends at the latest (ms since the epoch). */
  readonly created: number;
  readonly expires: number;
  /** When it was last used. */
  used: number;
}

export class SessionStore {
  /** By the SHA-256 of the token, oldest first. */
  private readonly sessions = new Map<string, LoginSession>();

  constructor(
    private readonly now: () => number,
    private readonly random: (bytes: number) => Buffer = randomBytes,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** A new session for `user`: its token, and when it ends at the latest. */
  create(user: string, principal: string, storedKey: Uint8Array): { readonly token: string; readonly session: LoginSession } {
    this.sweep();
    while (this.sessions.size >= HTTP_SESSIONS_MAX) this.sessions.delete(this.sessions.keys().next().value!);
    const token = this.random(HTTP_SESSION_TOKEN_BYTES).toString('base64url');
    const now = this.now();
    const session: LoginSession = { user, principal, storedKey, created: now, expires: now + HTTP_SESSION_MS_MAX, used: now };
    this.sessions.set(digest(token), session);
    return { token, session };
  }

  /** The session of `token`, if it holds now (its use noted); null for one unknown, ended or malformed. */
  find(token: string): LoginSession | null {
    if (!TOKEN.test(token)) return null;
    const key = digest(token);
    const s = this.sessions.get(key);
    if (s === undefined) return null;
    const now = this.now();
    if (!holds(s, now)) {
      this.sessions.delete(key);
      return null;
    }
    s.used = now;
    return s;
  }

  /** Ends the session of `token`; whether there was one. */
  end(token: string): boolean {
    return TOKEN.test(token) && this.sessions.delete(digest(token));
  }

  /** Ends the sessions that no longer hold. */
  private sweep(): void {
    const now = this.now();
    for (const [k, s] of this.sessions) if (!holds(s, now)) this.sessions.delete(k);
  }
}

function holds(s: LoginSession, now: number): boolean {
  return now < s.expires && now - s.used < HTTP_SESSION_IDLE_MS_MAX;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
