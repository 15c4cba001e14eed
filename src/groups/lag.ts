/**
 * Consumer-group lag as the broker works it out for `/metrics` (src/node/metrics.ts,
 * `raftlog_consumer_group_lag_records` and `_seconds`), per group and partition, on the node that
 * leads the partition: it has the high watermark and the log, and every node holds the committed
 * offsets (they are metadata, src/meta/meta-state.ts). So each pair is worked out by one node, with
 * no request to another, and a group's lag is the sum (or the max) over the cluster's nodes.
 *
 * - In records: the high watermark minus the committed offset (the next offset the group would
 *   read), 0 when the group is at or past it.
 * - In seconds: how long ago the first record the group has not consumed was written, by that
 *   record's timestamp (the producer's create time, or the log-append time a batch carries); 0 when
 *   the group is caught up. The first record not consumed is the one at the committed offset, or
 *   the first record of the log when retention has deleted that one. A producer whose clock is
 *   ahead of the broker's cannot make it negative: it is at least 0.
 *
 * Cost, bounded per collection: at most CONSUMER_LAG_SERIES_MAX pairs (in the metadata's key order:
 * group, topic, partition), and at most CONSUMER_LAG_READS_MAX reads of a record's timestamp; a pair
 * whose committed offset has not moved since the last collection reuses the timestamp read then
 * (the record at an offset does not change). A pair left out by either limit is counted in what
 * `collect` returns, and reported as `raftlog_consumer_group_lag_omitted`.
 */

/** Group × partition pairs whose lag one node exports, at most (2 series each). */
export const CONSUMER_LAG_SERIES_MAX = 10_000;
/** Reads of the record at a committed offset (for lag in seconds) in one collection, at most: each costs a read of one batch, from the tail cache or the page cache. */
export const CONSUMER_LAG_READS_MAX = 500;

/** Records of a partition a group has not consumed. */
export function lagRecords(committed: number, highWatermark: number): number {
  return Math.max(0, highWatermark - committed);
}

/** Seconds since the first record not consumed was written (its timestamp, ms); 0 when caught up, null when that timestamp is not known. */
export function lagSeconds(records: number, firstUnconsumedMs: number | null, nowMs: number): number | null {
  if (records === 0) return 0;
  if (firstUnconsumedMs === null) return null;
  return Math.max(0, (nowMs - firstUnconsumedMs) / 1000);
}

/** What the lag needs of a partition this node leads. */
export interface LagPartition {
  readonly highWatermark: number;
  logStartOffset(): number;
  /** The timestamp (ms) of the first record at or after `offset`, below the high watermark; null when it cannot be read. */
  timestampAt(offset: number): number | null;
}

/** A group's committed offset for one partition. */
export interface CommittedOffset {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface LagRow {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly records: number;
  /** Null when not known this time (CONSUMER_LAG_READS_MAX reached, or the record could not be read). */
  readonly seconds: number | null;
}

export interface LagCollection {
  readonly rows: readonly LagRow[];
  /** Pairs led here left out by CONSUMER_LAG_SERIES_MAX. */
  readonly omittedRecords: number;
  /** Pairs exported without lag in seconds: past CONSUMER_LAG_READS_MAX, or unreadable. */
  readonly omittedSeconds: number;
}

export class ConsumerLag {
  /** Per pair, the committed offset of the last collection and the timestamp of the record first not consumed then. */
  private known = new Map<string, { readonly offset: number; readonly timestamp: number }>();

  constructor(private readonly limits: { readonly seriesMax: number; readonly readsMax: number } = { seriesMax: CONSUMER_LAG_SERIES_MAX, readsMax: CONSUMER_LAG_READS_MAX }) {}

  /** The lag of every committed offset of a partition `led` gives (those led here), at `nowMs`. */
  collect(committed: Iterable<CommittedOffset>, led: (topic: string, partition: number) => LagPartition | undefined, nowMs: number): LagCollection {
    const rows: LagRow[] = [];
    const known = new Map<string, { offset: number; timestamp: number }>();
    let reads = 0;
    let omittedRecords = 0;
    let omittedSeconds = 0;
    for (const c of committed) {
      const p = led(c.topic, c.partition);
      if (p === undefined) continue;
      if (rows.length >= this.limits.seriesMax) {
        omittedRecords++;
        continue;
      }
      const records = lagRecords(c.offset, p.highWatermark);
      let firstMs: number | null = null;
      if (records > 0) {
        const key = `${c.group}\u0000${c.topic}\u0000${c.partition}`;
        const from = Math.max(c.offset, p.logStartOffset());
        const before = this.known.get(key);
        if (before !== undefined && before.offset === from) firstMs = before.timestamp;
        else if (reads < this.limits.readsMax) {
          reads++;
          firstMs = p.timestampAt(from);
        }
        if (firstMs !== null) known.set(key, { offset: from, timestamp: firstMs });
      }
      const seconds = lagSeconds(records, firstMs, nowMs);
      if (seconds === null) omittedSeconds++;
      rows.push({ group: c.group, topic: c.topic, partition: c.partition, records, seconds });
    }
    this.known = known;
    return { rows, omittedRecords, omittedSeconds };
  }
}
