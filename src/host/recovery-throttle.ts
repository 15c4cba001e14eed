/**
 * The node's byte-rate limit on catching replicas up by files (`--recovery-bytes-per-sec`): one
 * token bucket shared by every transfer of every group on the node, so a node that sends its
 * partitions' logs to a new node leaves its disk and network to its producers. Waiters are served
 * in order, so no transfer starves another.
 */
import type { Clock, Timer } from '../../storage/clock.js';

/** The bucket holds at most this many seconds of the rate, so a quiet spell does not let a burst through. */
export const RECOVERY_BURST_SECONDS = 0.1;

export class RecoveryThrottle {
  private tokens: number;
  private last: number;
  private readonly waiting: { bytes: number; resolve: () => void }[] = [];
  private timer: Timer | null = null;

  /** `bytesPerSec` 0: unlimited. `chunkBytesMax`: the largest take (the bucket always fits one). */
  constructor(
    private readonly clock: Clock,
    readonly bytesPerSec: number,
    private readonly chunkBytesMax: number,
  ) {
    this.tokens = this.capacity;
    this.last = clock.elapsed();
  }

  private get capacity(): number {
    return Math.max(this.bytesPerSec * RECOVERY_BURST_SECONDS, this.chunkBytesMax);
  }

  /** Resolves once `bytes` may be sent. */
  take(bytes: number): Promise<void> {
    if (this.bytesPerSec === 0) return Promise.resolve();
    this.refill();
    if (this.waiting.length === 0 && this.tokens >= bytes) {
      this.tokens -= bytes;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting.push({ bytes, resolve });
      this.schedule();
    });
  }

  private refill(): void {
    const now = this.clock.elapsed();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer !== null) return;
    const head = this.waiting[0];
    if (head === undefined) return;
    const ms = Math.max(1, ((Math.min(head.bytes, this.capacity) - this.tokens) / this.bytesPerSec) * 1000);
    this.timer = this.clock.after(ms, () => {
      this.timer = null;
      this.refill();
      while (this.waiting.length > 0 && this.tokens >= Math.min(this.waiting[0]!.bytes, this.capacity)) {
        const w = this.waiting.shift()!;
        this.tokens -= w.bytes;
        w.resolve();
      }
      this.schedule();
    });
  }
}
