/**
 * Produce (key 0), v3-7: record batches (RecordBatch v2, src/wire/record-batch/header.ts) for
 * partitions led here, stored as the client encoded them.
 *
 *   request v3-7   transactional_id nullable_string, acks int16, timeout_ms int32,
 *                  topic_data [name string, partition_data [index int32, records nullable_bytes]]
 *   response v3-4  responses [name string, partition_responses [index int32, error_code int16,
 *                    base_offset int64, log_append_time_ms int64]], throttle_time_ms int32
 *   response v5-7  the same, with log_start_offset int64 after log_append_time_ms
 *
 * `records` may hold several batches end to end; each is one native produce batch, in order, so a
 * partition's batches are proposed in the order sent. The partition does what it does for the
 * native client: checks the CRC-32C and the size, dedupes an idempotent producer's retries by its
 * producer id and sequence numbers, and overwrites the base offset and the leader epoch (whatever
 * the client put there, 0 or -1) with the partition's. acks 0, 1 and -1 are the node's 'none',
 * 'leader' and 'all'; a produce with acks 0 gets no response at all, as Kafka's.
 *
 * throttle_time_ms is the principal's produce quota throttle (src/server/quotas.ts): the response
 * comes at once, and the connection is then not read for that long (KIP-219). A produce with acks
 * 0 has no response to carry it; its connection is muted all the same.
 *
 * Transactions are not served (no AddPartitionsToTxn): a request with a transactional id is
 * refused, each partition with INVALID_REQUEST.
 */
import { LIMITS, topicNameProblem, type Acks, type ProduceBatch } from '../../wire/protocol.js';
import { RecordBatchError, batchBytes } from '../../wire/record-batch/header.js';
import { clamp, native, type KafkaApi, type KafkaNode } from '../api.js';
import { partitionsResponseBytes } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

interface ProducePartition {
  readonly index: number;
  readonly records: Buffer | null;
}

interface ProduceRequest {
  readonly transactionalId: string | null;
  readonly acks: number;
  readonly timeoutMs: number;
  readonly topics: readonly { readonly name: string; readonly partitions: readonly ProducePartition[] }[];
}

interface PartitionResult {
  readonly index: number;
  readonly error: KafkaError;
  readonly baseOffset: number;
}

interface ProduceResponse {
  readonly topics: readonly { readonly name: string; readonly partitions: readonly PartitionResult[] }[];
  /** The principal's produce quota throttle (src/server/quotas.ts); 0 when it is within its rate. */
  readonly throttleMs: number;
}

const ACKS: ReadonlyMap<number, Acks> = new Map([
  [0, 'none'],
  [1, 'leader'],
  [-1, 'all'],
]);

export const produce: KafkaApi<ProduceRequest, ProduceResponse> = {
  key: 0,
  name: 'Produce',
  replyBytes: (req) => partitionsResponseBytes(req.topics, (t) => t.name, (t) => t.partitions.length),
  minVersion: 3,
  maxVersion: 7,
  decode(r: KafkaReader): ProduceRequest {
    return {
      transactionalId: r.nullableString('transactional_id'),
      acks: r.int16('acks'),
      timeoutMs: r.int32('timeout_ms'),
      topics: r.array(
        (t) => ({
          name: t.string('topic name'),
          partitions: t.array((p) => ({ index: p.int32('partition index'), records: p.nullableBytes('records') }), 'partition_data'),
        }),
        'topic_data',
      ),
    };
  },
  async serve(node: KafkaNode, req: ProduceRequest, _version: number, session: Session): Promise<ProduceResponse | null> {
    const acks = ACKS.get(req.acks);
    const refusal = acks === undefined ? { code: KafkaErrorCode.InvalidRequiredAcks, message: `acks must be 0, 1 or -1, not ${req.acks}` } : req.transactionalId !== null ? { code: KafkaErrorCode.InvalidRequest, message: 'transactions are not supported by this node' } : null;
    // Each partition's result, filled by the checks here or by the native produce.
    const results = req.topics.map((t) => t.partitions.map((p): { index: number; error: KafkaError; baseOffset: number } => ({ index: p.index, error: refusal ?? NO_ERROR, baseOffset: -1 })));
    const batches: ProduceBatch[] = [];
    const owners: { topic: number; partition: number }[] = [];
    if (refusal === null) {
      req.topics.forEach((t, ti) => {
        const nameProblem = topicNameProblem(t.name);
        t.partitions.forEach((p, pi) => {
          const out = results[ti]![pi]!;
          if (nameProblem !== null) out.error = { code: KafkaErrorCode.InvalidTopicException, message: nameProblem };
          else if (p.index < 0 || p.index >= LIMITS.partitionsPerTopicMax) out.error = { code: KafkaErrorCode.UnknownTopicOrPartition, message: `there is no partition ${p.index}` };
          else {
            const split = splitBatches(p.records);
            if (typeof split === 'string') out.error = { code: KafkaErrorCode.CorruptMessage, message: split };
            for (const records of typeof split === 'string' ? [] : split) {
              batches.push({ topic: t.name, partition: p.index, records });
              owners.push({ topic: ti, partition: pi });
            }
          }
        });
      });
    }
    let throttleMs = 0;
    try {
      const res = await native(node, session, { type: 'produce', acks: acks ?? 'all', timeoutMs: clamp(req.timeoutMs, 1, LIMITS.requestTimeoutMsMax), batches });
      if (acks === 'none') return null;
      throttleMs = res?.throttleMs ?? 0;
      res?.results.forEach((r, i) => {
        const out = results[owners[i]!.topic]![owners[i]!.partition]!;
        // A partition's offset is its first batch's; its error, the first any of its batches got.
        if (out.error.code === KafkaErrorCode.None && r.error !== undefined) out.error = kafkaErrorOfApi(r.error);
        if (out.baseOffset === -1 && r.baseOffset !== undefined) out.baseOffset = r.baseOffset;
      });
    } catch (err) {
      if (acks === 'none') return null;
      const e = kafkaErrorOf(node.logger, err);
      for (const o of owners) {
        const out = results[o.topic]![o.partition]!;
        if (out.error.code === KafkaErrorCode.None) out.error = e;
      }
    }
    return { topics: req.topics.map((t, ti) => ({ name: t.name, partitions: results[ti]!.map((r) => (r.error.code === KafkaErrorCode.None ? r : { ...r, baseOffset: -1 })) })), throttleMs };
  },
  encode(w: KafkaWriter, version: number, res: ProduceResponse): void {
    w.array(res.topics, (x, t) => {
      x.string(t.name);
      x.array(t.partitions, (y, p) => {
        y.int32(p.index).int16(p.error.code).int64(p.baseOffset).int64(-1);
        if (version >= 5) y.int64(-1);
      });
    });
    w.int32(res.throttleMs);
  },
};

/** The batches laid end to end in a partition's `records`, or why they cannot be (the partition checks each batch itself). */
export function splitBatches(records: Buffer | null): Buffer[] | string {
  if (records === null || records.length === 0) return 'the request holds no records for this partition';
  const out: Buffer[] = [];
  for (let at = 0; at < records.length; ) {
    let size: number;
    try {
      size = batchBytes(records, at);
    } catch (err) {
      if (err instanceof RecordBatchError) return `the records are malformed: ${err.message}`;
      throw err;
    }
    if (at + size > records.length) return `the batch at byte ${at} declares ${size} bytes; ${records.length - at} are there`;
    out.push(records.subarray(at, at + size));
    at += size;
  }
  return out;
}
