/**
 * Idempotent producers: per producer id, its epoch, the last sequence number written, and its last
 * few batches, so that a batch retried after a timeout or a failover is recognised and answered
 * with its original offset instead of being written twice.
 *
 * This state follows the *committed* log (every replica applies the same batches in the same
 * order). A leader also overlays its own proposals still in flight, and serves produce requests
 * only once it has applied everything before its term (see partition.ts), so the state it checks
 * against covers every batch in its log.
 */
import { ErrorCode } from '../api/protocol.js';

/** Batches remembered per producer (Kafka keeps 5). */
export const RECENT_BATCHES_MAX = 5;
const SEQUENCE_LIMIT = 2 ** 31;

export interface BatchSeq {
  readonly epoch: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  lastSeq: number;
  recent: BatchSeq[];
}

export type SequenceCheck =
  | { readonly kind: 'accept' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number }
  | { readonly kind: 'reject'; readonly code: ErrorCode; readonly message: string };

export function nextSeq(seq: number): number {
  return (seq + 1) % SEQUENCE_LIMIT;
}

export class ProducerState {
  private readonly producers = new Map<number, ProducerEntry>();

  get size(): number {
    return this.producers.size;
  }

  /** Records a committed batch (every replica, in log order). */
  record(producerId: number, b: BatchSeq): void {
    let p = this.producers.get(producerId);
    if (p === undefined || b.epoch > p.epoch) {
      p = { epoch: b.epoch, lastSeq: b.lastSeq, recent: [] };
      this.producers.set(producerId, p);
    }
    p.lastSeq = b.lastSeq;
    p.recent.push(b);
    if (p.recent.length > RECENT_BATCHES_MAX) p.recent.shift();
  }

  /**
   * Checks a new batch against committed state plus `inFlight` (this leader's own proposals for the
   * same producer, oldest first).
   */
  check(producerId: number, b: Omit<BatchSeq, 'baseOffset'>, inFlight: readonly BatchSeq[]): SequenceCheck {
    const p = this.producers.get(producerId);
    const all = [...(p?.recent ?? []), ...inFlight];
    for (const r of all) {
      if (r.epoch === b.epoch && r.firstSeq === b.firstSeq && r.lastSeq === b.lastSeq) return { kind: 'duplicate', baseOffset: r.baseOffset };
    }
    const newest = inFlight[inFlight.length - 1];
    const epoch = newest?.epoch ?? p?.epoch;
    if (epoch === undefined || b.epoch > epoch) return { kind: 'accept' };
    if (b.epoch < epoch) {
      return { kind: 'reject', code: ErrorCode.InvalidProducerEpoch, message: `producer ${producerId} epoch ${b.epoch} is older than epoch ${epoch}: another producer with this id took over` };
    }
    const last = newest?.lastSeq ?? p!.lastSeq;
    if (b.firstSeq === nextSeq(last)) return { kind: 'accept' };
    if (seqBefore(b.firstSeq, last)) {
      return { kind: 'reject', code: ErrorCode.DuplicateSequence, message: `producer ${producerId} sequence ${b.firstSeq} was written before (last ${last}) and is no longer remembered` };
    }
    return { kind: 'reject', code: ErrorCode.OutOfOrderSequence, message: `producer ${producerId} sent sequence ${b.firstSeq} but the next expected is ${nextSeq(last)}` };
  }

  toJSON(): [number, ProducerEntry][] {
    return [...this.producers];
  }

  static fromJSON(v: [number, ProducerEntry][]): ProducerState {
    const s = new ProducerState();
    for (const [id, e] of v) s.producers.set(id, e);
    return s;
  }
}

/** Whether `a` comes at or before `b` in sequence order (allowing for wraparound). */
function seqBefore(a: number, b: number): boolean {
  const d = (b - a + SEQUENCE_LIMIT) % SEQUENCE_LIMIT;
  return d < SEQUENCE_LIMIT / 2;
}
