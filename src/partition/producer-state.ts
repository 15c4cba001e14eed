/**
 * Idempotent producers: per producer id, its epoch, the last sequence number written, and its last
 * few batches, so that a batch retried after a timeout or a failover is recognised and answered
 * with its original offset instead of being written twice.
 *
 * This state follows the *committed* log (every replica applies the same batches in the same
 * order). A leader also overlays its own proposals still in flight, and serves produce requests
 * only once it has applied everything before its term (see partition.ts), so the state it checks
 * against covers every batch in its log.
 *
 * It is bounded: a producer id with no write for the expiration time (Kafka's
 * producer.id.expiration.ms, a day by default) is forgotten, by each replica on its own clock, as
 * Kafka does. A batch retried after that long is taken as new.
 *
 * The snapshot (`producers`, beside the log; see partition.ts) is binary, big-endian:
 *
 *     u64 applied index | u32 producer count | per producer:
 *       u64 producer id | i16 epoch | i32 last sequence | f64 last write (ms since the epoch)
 *       | u8 remembered batches n | n × (i16 epoch | i32 first sequence | i32 last sequence | u64 base offset)
 */
import { ErrorCode } from '../wire/protocol.js';

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
  /** When this replica applied the producer's last batch (its clock, for expiration). */
  lastWriteAt: number;
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

  /** Records a committed batch (every replica, in log order), applied at `now`. */
  record(producerId: number, b: BatchSeq, now: number): void {
    let p = this.producers.get(producerId);
    if (p === undefined || b.epoch > p.epoch) {
      p = { epoch: b.epoch, lastSeq: b.lastSeq, recent: [], lastWriteAt: now };
      this.producers.set(producerId, p);
    }
    p.lastSeq = b.lastSeq;
    p.lastWriteAt = now;
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

  /** Forgets producers with no write since `now - expirationMs`; returns how many. */
  expire(now: number, expirationMs: number): number {
    let n = 0;
    for (const [id, p] of this.producers) {
      if (now - p.lastWriteAt <= expirationMs) continue;
      this.producers.delete(id);
      n++;
    }
    return n;
  }

  /** The snapshot body at applied index `index` (format in the header). */
  encode(index: number): Buffer {
    let bytes = 12;
    for (const p of this.producers.values()) bytes += PRODUCER_BYTES + p.recent.length * BATCH_BYTES;
    const b = Buffer.allocUnsafe(bytes);
    writeU64(b, 0, index);
    b.writeUInt32BE(this.producers.size, 8);
    let at = 12;
    for (const [id, p] of this.producers) {
      writeU64(b, at, id);
      b.writeInt16BE(p.epoch, at + 8);
      b.writeInt32BE(p.lastSeq, at + 10);
      b.writeDoubleBE(p.lastWriteAt, at + 14);
      b.writeUInt8(p.recent.length, at + 22);
      at += PRODUCER_BYTES;
      for (const r of p.recent) {
        b.writeInt16BE(r.epoch, at);
        b.writeInt32BE(r.firstSeq, at + 2);
        b.writeInt32BE(r.lastSeq, at + 6);
        writeU64(b, at + 10, r.baseOffset);
        at += BATCH_BYTES;
      }
    }
    return b;
  }

  /** Reads a snapshot body; throws RangeError on one that does not hold what its counts say. */
  static decode(body: Uint8Array): { index: number; state: ProducerState } {
    const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const index = readU64(b, 0);
    const count = b.readUInt32BE(8);
    const s = new ProducerState();
    let at = 12;
    for (let i = 0; i < count; i++) {
      const id = readU64(b, at);
      const p: ProducerEntry = { epoch: b.readInt16BE(at + 8), lastSeq: b.readInt32BE(at + 10), lastWriteAt: b.readDoubleBE(at + 14), recent: [] };
      const n = b.readUInt8(at + 22);
      at += PRODUCER_BYTES;
      for (let k = 0; k < n; k++) {
        p.recent.push({ epoch: b.readInt16BE(at), firstSeq: b.readInt32BE(at + 2), lastSeq: b.readInt32BE(at + 6), baseOffset: readU64(b, at + 10) });
        at += BATCH_BYTES;
      }
      s.producers.set(id, p);
    }
    if (at !== b.length) throw new RangeError(`a producer snapshot of ${b.length} bytes holds ${at} bytes of ${count} producers`);
    return { index, state: s };
  }
}

const PRODUCER_BYTES = 23;
const BATCH_BYTES = 18;
const TWO_32 = 2 ** 32;

function writeU64(b: Buffer, at: number, v: number): void {
  b.writeUInt32BE(Math.floor(v / TWO_32), at);
  b.writeUInt32BE(v >>> 0, at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4);
}

/** Whether `a` comes at or before `b` in sequence order (allowing for wraparound). */
function seqBefore(a: number, b: number): boolean {
  const d = (b - a + SEQUENCE_LIMIT) % SEQUENCE_LIMIT;
  return d < SEQUENCE_LIMIT / 2;
}
