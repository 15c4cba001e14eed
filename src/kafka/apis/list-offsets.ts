/**
 * ListOffsets (key 2), v0-2: a partition's earliest offset (timestamp -2), its latest (-1: the
 * high watermark), or the first offset whose record's timestamp is at or after a timestamp.
 *
 *   request v0     replica_id int32, topics [name string, partitions [partition_index int32,
 *                    timestamp int64, max_num_offsets int32]]
 *   request v1     partitions [partition_index int32, timestamp int64]
 *   request v2     replica_id int32, isolation_level int8, then v1's topics
 *   response v0    topics [name string, partitions [partition_index int32, error_code int16, old_style_offsets [int64]]]
 *   response v1    partitions [partition_index int32, error_code int16, timestamp int64, offset int64]
 *   response v2    throttle_time_ms int32, then v1
 *
 * Served by the native listOffsets on the partition's leader. A timestamp past every record gives
 * offset -1 (v0: no offset), as Kafka's.
 */
import { LIMITS, topicNameProblem, type OffsetSpec } from '../../wire/protocol.js';
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import { partitionsResponseBytes } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

const LATEST = -1;
const EARLIEST = -2;

interface ListOffsetsRequest {
  readonly topics: readonly { readonly name: string; readonly partitions: readonly { readonly partition: number; readonly timestamp: number }[] }[];
}

interface ListedPartition {
  readonly partition: number;
  error: KafkaError;
  timestamp: number;
  offset: number;
}

interface ListOffsetsResponse {
  readonly topics: readonly { readonly name: string; readonly partitions: readonly ListedPartition[] }[];
}

export const listOffsets: KafkaApi<ListOffsetsRequest, ListOffsetsResponse> = {
  key: 2,
  name: 'ListOffsets',
  replyBytes: (req) => partitionsResponseBytes(req.topics, (t) => t.name, (t) => t.partitions.length),
  minVersion: 0,
  maxVersion: 2,
  decode(r: KafkaReader, version: number): ListOffsetsRequest {
    r.int32('replica_id');
    if (version >= 2) r.int8('isolation_level');
    return {
      topics: r.array(
        (t) => ({
          name: t.string('topic name'),
          partitions: t.array((p) => {
            const partition = p.int32('partition_index');
            const timestamp = p.int64('timestamp');
            if (version === 0) p.int32('max_num_offsets');
            return { partition, timestamp };
          }, 'partitions'),
        }),
        'topics',
      ),
    };
  },
  async serve(node: KafkaNode, req: ListOffsetsRequest, _version: number, session: Session): Promise<ListOffsetsResponse> {
    const out = req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p): ListedPartition => ({ partition: p.partition, error: NO_ERROR, timestamp: -1, offset: -1 })) }));
    const wanted: { topic: string; partition: number; spec: OffsetSpec }[] = [];
    const owners: ListedPartition[] = [];
    req.topics.forEach((t, ti) => {
      const nameProblem = topicNameProblem(t.name);
      t.partitions.forEach((p, pi) => {
        const o = out[ti]!.partitions[pi]!;
        if (nameProblem !== null) o.error = { code: KafkaErrorCode.InvalidTopicException, message: nameProblem };
        else if (p.partition < 0 || p.partition >= LIMITS.partitionsPerTopicMax) o.error = { code: KafkaErrorCode.UnknownTopicOrPartition, message: `there is no partition ${p.partition}` };
        else if (p.timestamp < 0 && p.timestamp !== LATEST && p.timestamp !== EARLIEST) o.error = { code: KafkaErrorCode.InvalidRequest, message: `timestamp ${p.timestamp}: use -1 (latest), -2 (earliest) or a time in ms` };
        else {
          wanted.push({ topic: t.name, partition: p.partition, spec: p.timestamp === LATEST ? 'latest' : p.timestamp === EARLIEST ? 'earliest' : { timestamp: p.timestamp } });
          owners.push(o);
        }
      });
    });
    try {
      const res = await native(node, session, { type: 'listOffsets', partitions: wanted });
      res?.partitions.forEach((p, i) => {
        const o = owners[i]!;
        o.error = kafkaErrorOfApi(p.error);
        o.offset = p.offset;
        o.timestamp = p.timestamp ?? -1;
      });
    } catch (err) {
      const e = kafkaErrorOf(node.logger, err);
      for (const o of owners) o.error = e;
    }
    return { topics: out };
  },
  encode(w: KafkaWriter, version: number, res: ListOffsetsResponse): void {
    if (version >= 2) w.int32(0);
    w.array(res.topics, (x, t) => {
      x.string(t.name);
      x.array(t.partitions, (y, p) => {
        y.int32(p.partition).int16(p.error.code);
        if (version === 0) y.array(p.offset >= 0 ? [p.offset] : [], (z, o) => z.int64(o));
        else y.int64(p.timestamp).int64(p.offset);
      });
    });
  },
};
