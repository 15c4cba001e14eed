/**
 * Fetch (key 1), v4-11: whole stored record batches from partitions led here.
 *
 *   request v4     replica_id int32, max_wait_ms int32, min_bytes int32, max_bytes int32,
 *                  isolation_level int8, topics [topic string, partitions [partition int32,
 *                    fetch_offset int64, partition_max_bytes int32]]
 *   request v5-6   partitions [partition int32, fetch_offset int64, log_start_offset int64, partition_max_bytes int32]
 *   request v7-8   v5 with session_id int32, session_epoch int32 after isolation_level, and
 *                  forgotten_topics_data [topic string, partitions [int32]] at the end
 *   request v9-10  partitions [partition int32, current_leader_epoch int32, fetch_offset int64,
 *                    log_start_offset int64, partition_max_bytes int32]
 *   request v11    v9, rack_id string at the end
 *   response v4    throttle_time_ms int32, responses [topic string, partitions [partition_index int32,
 *                    error_code int16, high_watermark int64, last_stable_offset int64,
 *                    aborted_transactions nullable [producer_id int64, first_offset int64], records nullable_bytes]]
 *   response v5-6  log_start_offset int64 after last_stable_offset
 *   response v7-10 error_code int16, session_id int32 after throttle_time_ms
 *   response v11   preferred_read_replica int32 after aborted_transactions
 *
 * Served by the native fetch (src/server/handlers.ts): a read point confirmed by a quorum, then
 * committed batches from the one holding the fetch offset, within max_bytes for the whole response
 * (only its first batch may exceed it, as Kafka's fetch.max.bytes) and partition_max_bytes for each
 * partition, a long poll up to max_wait_ms while nothing is there, and OFFSET_OUT_OF_RANGE for an
 * offset before the log start or past the high watermark. A partition named more than once is
 * answered once, as a Kafka broker does (it reads the request into a map by topic and partition):
 * where it was first named, with the offset and partition_max_bytes of the last time. There are no transactions, so the last
 * stable offset is the high watermark and no transaction is aborted; replicas do not serve reads,
 * so the preferred read replica is -1. Fetch sessions (KIP-227) are not kept: every response is a
 * full one with session id 0, which tells the client none was created; an incremental fetch in a
 * session (a session id other than 0) is FETCH_SESSION_ID_NOT_FOUND.
 *
 * throttle_time_ms is the principal's fetch quota throttle (src/server/quotas.ts). Unlike a Kafka
 * broker, which answers a throttled fetch with no records, the response holds every batch read
 * (the native fetch is cut to the quota's window first), and the connection is then not read for
 * that long.
 */
import { LIMITS, topicNameProblem, type FetchPartition } from '../../wire/protocol.js';
import { clamp, native, type KafkaApi, type KafkaNode } from '../api.js';
import { partitionsResponseBytes } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

interface FetchRequest {
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly sessionId: number;
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number; readonly offset: number; readonly maxBytes: number }[] }[];
}

interface FetchedPartition {
  readonly partition: number;
  error: KafkaError;
  highWatermark: number;
  logStartOffset: number;
  batches: readonly Uint8Array[];
}

interface FetchResponse {
  /** The principal's fetch quota throttle (src/server/quotas.ts); 0 when it is within its rate. */
  readonly throttleMs: number;
  readonly errorCode: KafkaErrorCode;
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly FetchedPartition[] }[];
}

type FetchTopics = FetchRequest['topics'];

/**
 * The request's topics with each partition once, as a Kafka broker reads them (into an ordered map
 * by topic and partition): in the place it was first named, with what it was named with last, and
 * the partitions of one topic that come together in one entry.
 */
function onceEach(topics: FetchTopics): FetchTopics {
  const byPartition = new Map<string, { topic: string; partition: FetchTopics[number]['partitions'][number] }>();
  for (const t of topics) for (const p of t.partitions) byPartition.set(`${t.topic}\u0000${p.partition}`, { topic: t.topic, partition: p });
  const out: { topic: string; partitions: FetchTopics[number]['partitions'][number][] }[] = [];
  for (const { topic, partition } of byPartition.values()) {
    const last = out[out.length - 1];
    if (last !== undefined && last.topic === topic) last.partitions.push(partition);
    else out.push({ topic, partitions: [partition] });
  }
  return out;
}

/** The most a fetch's response may hold: what the connection reserves for it (listener.ts): its records, and its partitions' entries. */
function replyBytes(req: FetchRequest): number {
  let partitions = 0;
  for (const t of req.topics) for (const p of t.partitions) partitions += clamp(p.maxBytes, 0, LIMITS.fetchBytesMax);
  return Math.min(clamp(req.maxBytes, 1, LIMITS.fetchBytesMax), partitions) + partitionsResponseBytes(req.topics, (t) => t.topic, (t) => t.partitions.length);
}

export const fetch: KafkaApi<FetchRequest, FetchResponse> = {
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 11,
  replyBytes,
  decode(r: KafkaReader, version: number): FetchRequest {
    r.int32('replica_id');
    const maxWaitMs = r.int32('max_wait_ms');
    const minBytes = r.int32('min_bytes');
    const maxBytes = r.int32('max_bytes');
    r.int8('isolation_level');
    let sessionId = 0;
    if (version >= 7) {
      sessionId = r.int32('session_id');
      r.int32('session_epoch');
    }
    const topics = r.array(
      (t) => ({
        topic: t.string('topic'),
        partitions: t.array((p) => {
          const partition = p.int32('partition');
          if (version >= 9) p.int32('current_leader_epoch');
          const offset = p.int64('fetch_offset');
          if (version >= 5) p.int64('log_start_offset');
          return { partition, offset, maxBytes: p.int32('partition_max_bytes') };
        }, 'partitions'),
      }),
      'topics',
    );
    if (version >= 7) {
      // Topics to drop from a fetch session: there are none to drop from.
      r.array((t) => {
        t.string('forgotten topic');
        t.array((p) => p.int32('forgotten partition'), 'forgotten partitions');
      }, 'forgotten_topics_data');
    }
    if (version >= 11) r.string('rack_id');
    return { maxWaitMs, minBytes, maxBytes, sessionId, topics };
  },
  async serve(node: KafkaNode, req: FetchRequest, _version: number, session: Session): Promise<FetchResponse> {
    if (req.sessionId !== 0) return { throttleMs: 0, errorCode: KafkaErrorCode.FetchSessionIdNotFound, topics: [] };
    const topics = onceEach(req.topics);
    const out = topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p): FetchedPartition => ({ partition: p.partition, error: NO_ERROR, highWatermark: -1, logStartOffset: -1, batches: [] })) }));
    const wanted: FetchPartition[] = [];
    const owners: FetchedPartition[] = [];
    topics.forEach((t, ti) => {
      const nameProblem = topicNameProblem(t.topic);
      t.partitions.forEach((p, pi) => {
        const o = out[ti]!.partitions[pi]!;
        if (nameProblem !== null) o.error = { code: KafkaErrorCode.InvalidTopicException, message: nameProblem };
        else if (p.partition < 0 || p.partition >= LIMITS.partitionsPerTopicMax) o.error = { code: KafkaErrorCode.UnknownTopicOrPartition, message: `there is no partition ${p.partition}` };
        else if (p.offset < 0) o.error = { code: KafkaErrorCode.OffsetOutOfRange, message: `offset ${p.offset} is negative` };
        else {
          wanted.push({ topic: t.topic, partition: p.partition, offset: p.offset, maxBytes: clamp(p.maxBytes, 1, LIMITS.fetchBytesMax) });
          owners.push(o);
        }
      });
    });
    // A partition refused here answers at once, as the native fetch does for one it refuses.
    const refused = owners.length < topics.reduce((n, t) => n + t.partitions.length, 0);
    let throttleMs = 0;
    try {
      const res = await native(node, session, {
        type: 'fetch',
        maxWaitMs: refused ? 0 : clamp(req.maxWaitMs, 0, LIMITS.fetchWaitMsMax),
        minBytes: clamp(req.minBytes, 0, LIMITS.fetchBytesMax),
        maxBytes: clamp(req.maxBytes, 1, LIMITS.fetchBytesMax),
        partitions: wanted,
      });
      throttleMs = res?.throttleMs ?? 0;
      res?.partitions.forEach((p, i) => {
        const o = owners[i]!;
        o.error = kafkaErrorOfApi(p.error);
        o.highWatermark = p.highWatermark;
        o.logStartOffset = p.logStartOffset;
        o.batches = p.batches;
      });
    } catch (err) {
      const e = kafkaErrorOf(node.logger, err);
      for (const o of owners) o.error = e;
    }
    return { throttleMs, errorCode: KafkaErrorCode.None, topics: out };
  },
  encode(w: KafkaWriter, version: number, res: FetchResponse): void {
    w.int32(res.throttleMs);
    if (version >= 7) w.int16(res.errorCode).int32(0);
    w.array(res.topics, (x, t) => {
      x.string(t.topic);
      x.array(t.partitions, (y, p) => {
        y.int32(p.partition).int16(p.error.code).int64(p.highWatermark).int64(p.highWatermark);
        if (version >= 5) y.int64(p.logStartOffset);
        y.int32(0); // aborted_transactions: none
        if (version >= 11) y.int32(-1);
        let n = 0;
        for (const b of p.batches) n += b.byteLength;
        y.int32(n);
        for (const b of p.batches) y.raw(b);
      });
    });
  },
};
