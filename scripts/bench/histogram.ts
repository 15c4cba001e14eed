/**
 * A latency histogram of fixed size, for runs too long to keep every sample (the soak: millions of
 * records an hour): buckets of 1% width on a log scale from BUCKET_MIN_MS, so a percentile read
 * from it is within 1% of the exact one, and histograms of windows add up into the histogram of
 * their union (the soak's trend check pools ten minutes of them).
 */

/** The lowest bucket's upper edge; anything faster counts there. */
const BUCKET_MIN_MS = 0.01;
/** Each bucket's upper edge is this factor above the one before. */
const BUCKET_RATIO = 1.01;
/** Buckets from BUCKET_MIN_MS up to about 10^6 s; anything slower counts in the last. */
const BUCKETS = 2500;

const LOG_RATIO = Math.log(BUCKET_RATIO);

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private n = 0;
  private highest = Number.NEGATIVE_INFINITY;

  get count(): number {
    return this.n;
  }

  /** The largest value recorded, exactly; NaN when empty. */
  get max(): number {
    return this.n === 0 ? Number.NaN : this.highest;
  }

  record(ms: number): void {
    const i = ms <= BUCKET_MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BUCKET_MIN_MS) / LOG_RATIO));
    this.counts[i]!++;
    this.n++;
    if (ms > this.highest) this.highest = ms;
  }

  /** Adds `other`'s samples to this one. */
  add(other: LatencyHistogram): this {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.n += other.n;
    if (other.highest > this.highest) this.highest = other.highest;
    return this;
  }

  /**
   * The p-th percentile (0-100) by nearest rank: the upper edge of the bucket that holds it (at
   * most 1% above the sample), never above the largest sample; NaN when empty.
   */
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const rank = Math.min(this.n, Math.max(1, Math.ceil((p / 100) * this.n)));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.highest, BUCKET_MIN_MS * BUCKET_RATIO ** i);
    }
    return this.highest;
  }
}
