/**
 * Brute-force protection of the HTTP listener's password checks (HTTP Basic and the console's
 * login, http-auth.ts), per remote host (the IP address, as ACLs name hosts):
 *
 * - A host may fail HTTP_LOGIN_FAILURES_FREE times within HTTP_LOGIN_WINDOW_MS. Each failure after
 *   that locks it out for HTTP_LOGIN_LOCKOUT_MS_MIN, doubled at each further failure, up to
 *   HTTP_LOGIN_LOCKOUT_MS_MAX. While locked out, its attempts are refused (429, Retry-After)
 *   without their password being checked: guessing costs the guesser time, and the node no PBKDF2.
 * - At most HTTP_LOGIN_CHECKS_PER_HOST_MAX of a host's password checks run at once, so that a
 *   burst of parallel guesses is not all checked before its first failure counts.
 * - A success does not clear a host's failures (they age out with the window): a user who knows
 *   one password could otherwise reset the count between guesses at another's.
 *
 * Every client behind one address (a NAT, a proxy) shares that address's count. At most
 * HTTP_LOGIN_HOSTS_MAX hosts are tracked; the one tracked longest makes room for a new one.
 */

/** Failed password checks a host may make within HTTP_LOGIN_WINDOW_MS before it is locked out. */
export const HTTP_LOGIN_FAILURES_FREE = 5;
/** A host's failures are forgotten this long after the first of them (unless it is locked out then). */
export const HTTP_LOGIN_WINDOW_MS = 10 * 60_000;
/** The first lockout (after failure HTTP_LOGIN_FAILURES_FREE + 1); each failure after doubles it... */
export const HTTP_LOGIN_LOCKOUT_MS_MIN = 1000;
/** ...up to this. */
export const HTTP_LOGIN_LOCKOUT_MS_MAX = 5 * 60_000;
/** Password checks of one host running at once, at most; more are refused as a lockout is. */
export const HTTP_LOGIN_CHECKS_PER_HOST_MAX = 4;
/** Hosts whose failures are tracked at once, at most. */
export const HTTP_LOGIN_HOSTS_MAX = 10_000;

interface HostFailures {
  /** When the first failure of the window was. */
  since: number;
  failures: number;
  /** Attempts refused until then (0: none). */
  lockedUntil: number;
}

export class LoginLimiter {
  private readonly hosts = new Map<string, HostFailures>();
  private readonly running = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** How long `host` must wait before an attempt of its is checked (0: it may try now). */
  waitMs(host: string): number {
    const h = this.current(host);
    const locked = h === undefined ? 0 : Math.max(0, h.lockedUntil - this.now());
    if (locked > 0) return locked;
    return (this.running.get(host) ?? 0) >= HTTP_LOGIN_CHECKS_PER_HOST_MAX ? HTTP_LOGIN_LOCKOUT_MS_MIN : 0;
  }

  /** Runs one password check of `host` (`check` says whether it succeeded), counting a failure. */
  async attempt(host: string, check: () => Promise<boolean>): Promise<boolean> {
    this.running.set(host, (this.running.get(host) ?? 0) + 1);
    let ok = false;
    try {
      ok = await check();
    } finally {
      const n = (this.running.get(host) ?? 1) - 1;
      if (n === 0) this.running.delete(host);
      else this.running.set(host, n);
      if (!ok) this.failed(host);
    }
    return ok;
  }

  /** Failures `host` has made in its window (for logs). */
  failures(host: string): number {
    return this.current(host)?.failures ?? 0;
  }

  private failed(host: string): void {
    const now = this.now();
    let h = this.current(host);
    if (h === undefined) {
      if (this.hosts.size >= HTTP_LOGIN_HOSTS_MAX) this.hosts.delete(this.hosts.keys().next().value!);
      h = { since: now, failures: 0, lockedUntil: 0 };
      this.hosts.set(host, h);
    }
    h.failures++;
    const over = h.failures - HTTP_LOGIN_FAILURES_FREE;
    if (over > 0) h.lockedUntil = now + Math.min(HTTP_LOGIN_LOCKOUT_MS_MAX, HTTP_LOGIN_LOCKOUT_MS_MIN * 2 ** Math.min(over - 1, 30));
  }

  /** The host's failures, unless its window has passed (then forgotten). */
  private current(host: string): HostFailures | undefined {
    const h = this.hosts.get(host);
    if (h === undefined) return undefined;
    const now = this.now();
    if (now - h.since >= HTTP_LOGIN_WINDOW_MS && now >= h.lockedUntil) {
      this.hosts.delete(host);
      return undefined;
    }
    return h;
  }
}
