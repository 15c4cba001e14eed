/**
 * What one client connection (native on `/client`, or Kafka) may hold of the node's memory in
 * replies, and what happens to a client that does not read them.
 *
 * A connection's reply bytes are those reserved by the requests it is serving (each reserves the
 * most its reply may hold: reply-bounds.ts) and those of replies handed to its socket that the
 * socket has not yet written out (a client that does not read leaves them there). A request is
 * served only when its reservation fits under `bytesMax` (or nothing else is reserved and the
 * unwritten replies are under it, so that a fetch larger than the limit still runs, alone); until
 * then it waits, and the requests that reserve after it wait behind it, in order, but for those
 * of at most `passBytesMax` (SMALL_RESERVATION_BYTES on a native connection, none on a Kafka one),
 * which go ahead when they fit. Past `bytesMax` the connection is
 * not read, until it is back under half of it. A connection whose unwritten replies stay at
 * `bytesMax` or more for `stallMs` with none of them written out is closed: its client is not
 * reading. So a connection holds at most about `bytesMax` plus one response, however many
 * requests it sends.
 */

export interface ReplyLimits {
  /** Reply bytes (reserved and unwritten) past which a connection is not read and its requests wait. */
  readonly bytesMax: number;
  /** How long a connection's unwritten replies may stay at `bytesMax` or more, none written out, before it is closed. */
  readonly stallMs: number;
}

/** Reply bytes of one connection past which it is not read (two fetches of the native client's default 10 MiB fit, and more). */
export const CONNECTION_REPLY_BYTES_MAX = 32 * 1024 * 1024;
/** How long a connection may leave that many bytes of replies unread before it is closed. */
export const CONNECTION_REPLY_STALL_MS = 30_000;

export const DEFAULT_REPLY_LIMITS: ReplyLimits = { bytesMax: CONNECTION_REPLY_BYTES_MAX, stallMs: CONNECTION_REPLY_STALL_MS };

/**
 * A reservation of at most this many bytes goes ahead of larger ones waiting for room, on a
 * connection whose replies go out as soon as they are ready (the native one): a heartbeat, a
 * commit or a produce of a few partitions does not wait for a fetch's room. On a Kafka
 * connection, whose responses go out in request order, none does: one that went ahead would hold
 * its room until the response it passed is written, and enough of them would leave that one no
 * room for ever.
 */
export const SMALL_RESERVATION_BYTES = 64 * 1024;

/** What the budget tells its connection. */
export interface BudgetEvents {
  /** Stop reading the connection (true) or read it again (false). */
  pressure(over: boolean): void;
  /** The client has not taken its replies for `stallMs`: close the connection. */
  stalled(): void;
  /** The connection's reply bytes changed by `delta` (for a gauge). */
  bytes(delta: number): void;
}

/** Room reserved for one reply. */
export interface Reservation {
  /** The reply, of `n` bytes, is handed to the socket in place of the room; call the function returned once the socket has written it out. */
  handed(n: number): () => void;
  /** Gives the room back (no reply, or one already handed); once only, whichever comes first. */
  release(): void;
}

interface Waiter {
  readonly cost: number;
  readonly admit: (r: Reservation | null) => void;
}

export class ReplyBudget {
  private reserved = 0;
  private unwritten = 0;
  private readonly waiting: Waiter[] = [];
  private over = false;
  private stall: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly limits: ReplyLimits,
    private readonly events: BudgetEvents,
    /** Reservations of at most this many bytes do not wait behind larger ones (see above); 0: only those of nothing. */
    private readonly passBytesMax = 0,
  ) {}

  /** Reply bytes this connection holds now: reserved for replies being made, and handed to the socket but not written out. */
  get bytes(): number {
    return this.reserved + this.unwritten;
  }

  /**
   * Resolves once a reply of up to `cost` bytes may be made, with the room reserved for it; with
   * null if the connection closed first (serve nothing).
   */
  reserve(cost: number): Promise<Reservation | null> {
    if (this.closed) return Promise.resolve(null);
    const queued = cost > this.passBytesMax && this.waiting.some((w) => w.cost > this.passBytesMax);
    if (queued || !this.fits(cost)) return new Promise((admit) => this.waiting.push({ cost, admit }));
    const release = this.take(cost);
    this.settle(false);
    return Promise.resolve(release);
  }

  /** `n` bytes of a reply no room was reserved for handed to the socket; call the function returned once the socket has written them out. */
  handed(n: number): () => void {
    return this.hand(0, n);
  }

  /** The connection is gone: waiting requests are told to serve nothing, and its bytes no longer count. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.stall !== null) clearTimeout(this.stall);
    this.stall = null;
    this.events.bytes(-this.bytes);
    this.reserved = 0;
    this.unwritten = 0;
    for (const w of this.waiting.splice(0)) w.admit(null);
  }

  private fits(cost: number): boolean {
    if (this.bytes + cost <= this.limits.bytesMax) return true;
    return this.reserved === 0 && this.unwritten < this.limits.bytesMax;
  }

  private take(cost: number): Reservation {
    this.account(cost, 0);
    let held = true;
    return {
      handed: (n) => {
        const room = held ? cost : 0;
        held = false;
        return this.hand(room, n);
      },
      release: () => {
        if (!held || this.closed) return;
        held = false;
        this.account(-cost, 0);
        this.settle(false);
      },
    };
  }

  /** `n` bytes handed to the socket in place of `room` reserved bytes (one change, so that nothing is counted twice). */
  private hand(room: number, n: number): () => void {
    if (this.closed) return () => undefined;
    this.account(-room, n);
    this.settle(false);
    let done = false;
    return () => {
      if (done || this.closed) return;
      done = true;
      this.account(0, -n);
      this.settle(true);
    };
  }

  private account(reserved: number, unwritten: number): void {
    this.reserved += reserved;
    this.unwritten += unwritten;
    this.events.bytes(reserved + unwritten);
  }

  /** After a change: admits the waiters that now fit, reads or stops reading, starts or stops the stall clock. */
  private settle(written: boolean): void {
    // Reservations are taken in request order, so that room held by a Kafka response waiting its
    // turn behind a request still waiting for room cannot hold that request back for ever. A
    // small one (passBytesMax) goes ahead whenever it fits.
    let blocked = false;
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      const small = w.cost <= this.passBytesMax;
      if ((!small && blocked) || !this.fits(w.cost)) {
        if (!small) blocked = true;
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      w.admit(this.take(w.cost));
    }
    const max = this.limits.bytesMax;
    if (!this.over && this.bytes >= max) {
      this.over = true;
      this.events.pressure(true);
    } else if (this.over && this.bytes < max / 2) {
      this.over = false;
      this.events.pressure(false);
    }
    // A reply written out is the client reading: the stall clock starts again.
    if (this.stall !== null && (written || this.unwritten < max)) {
      clearTimeout(this.stall);
      this.stall = null;
    }
    if (this.stall === null && this.unwritten >= max) {
      this.stall = setTimeout(() => {
        this.stall = null;
        if (!this.closed && this.unwritten >= max) this.events.stalled();
      }, this.limits.stallMs);
      this.stall.unref();
    }
  }
}
