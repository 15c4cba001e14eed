/**
 * Metadata (key 3), v0-4: the brokers (every node with a Kafka listener it knows of), the
 * controller, and each topic's partitions with their current leader.
 *
 *   request v0     topics [name string]                       (empty: every topic)
 *   request v1-3   topics nullable [name string]              (null: every topic; empty: none)
 *   request v4     v1, allow_auto_topic_creation boolean
 *   response v0    brokers [node_id int32, host string, port int32],
 *                  topics [error_code int16, name string, partitions [error_code int16,
 *                    partition_index int32, leader_id int32, replica_nodes [int32], isr_nodes [int32]]]
 *   response v1    brokers [node_id int32, host string, port int32, rack nullable_string],
 *                  controller_id int32,
 *                  topics [error_code int16, name string, is_internal boolean, partitions as v0]
 *   response v2    v1 with cluster_id nullable_string after brokers
 *   response v3-4  throttle_time_ms int32, then v2
 *
 * Answered from the node's native metadata (src/server/handlers.ts): a partition's leader is the
 * node's view of it (exact for the partitions it hosts, gossiped for the others), so a new leader
 * shows as soon as this node hears of it. A partition with no known leader, or a leader with no
 * known Kafka address, is LEADER_NOT_AVAILABLE with leader -1; clients ask again. Raft keeps no
 * ISR: `isr_nodes` lists the replicas whose node a Kafka client can reach now.
 *
 * While the node's metadata cannot be trusted (it is starting, or has just joined), a request for
 * every topic closes the connection unanswered (KafkaApi.needsMetadata), where an empty list would
 * say the cluster has no topic; a topic asked for by name is LEADER_NOT_AVAILABLE.
 *
 * An unknown topic is UNKNOWN_TOPIC_OR_PARTITION, unless the node auto-creates topics
 * (`--auto-create-topics`, Kafka's auto.create.topics.enable; ../auto-create.ts) and the request
 * allows it: v4 says so in `allow_auto_topic_creation`, v0-3 always allow it (as Kafka reads them),
 * and a request for every topic creates none. Then the topics are created with the controller's
 * defaults before the answer, which names their partitions and leaders; a topic whose creation
 * could not be confirmed yet (the controller unreachable, or this node's metadata not caught up)
 * is LEADER_NOT_AVAILABLE, which clients ask again about. A creation refused for good (a name or
 * a request the controller refuses) is answered with the controller's error.
 */
import { ErrorCode, topicNameProblem, type MetadataResponse } from '../../wire/protocol.js';
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import { metadataReplyBytes } from '../../server/reply-bounds.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';
import { kafkaBrokers, brokerId, type Broker } from '../brokers.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, kafkaErrorOf, kafkaErrorOfApi } from '../errors.js';
import { autoCreateTopics } from '../auto-create.js';
import type { Session } from '../../server/session.js';

/** Refusals of an auto-creation that asking again will not change; any other is LEADER_NOT_AVAILABLE, which clients retry. */
const REFUSED_FOR_GOOD: ReadonlySet<ErrorCode> = new Set([ErrorCode.InvalidTopic, ErrorCode.InvalidRequest, ErrorCode.InvalidPartitions, ErrorCode.InvalidReplicationFactor]);

interface MetadataRequest {
  /** null: every topic. */
  readonly topics: readonly string[] | null;
  /** Whether the client lets the request create the topics it names that do not exist. */
  readonly allowAutoCreation: boolean;
}

interface PartitionMeta {
  readonly errorCode: KafkaErrorCode;
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

interface TopicMeta {
  readonly errorCode: KafkaErrorCode;
  readonly name: string;
  readonly partitions: readonly PartitionMeta[];
}

interface KafkaMetadataResponse {
  readonly brokers: readonly Broker[];
  readonly clusterId: string | null;
  readonly controller: number;
  readonly topics: readonly TopicMeta[];
}

export const metadata: KafkaApi<MetadataRequest, KafkaMetadataResponse> = {
  key: 3,
  name: 'Metadata',
  // From the node's metadata as it is now (auto-created topics count as unknown ones: an estimate).
  replyBytes: (req, node) => KAFKA_RESPONSE_BYTES + metadataReplyBytes(node, req.topics),
  // Every topic: an empty list from a node without its metadata would say there is none (dispatch.ts).
  needsMetadata: (req) => req.topics === null,
  minVersion: 0,
  maxVersion: 4,
  decode(r: KafkaReader, version: number): MetadataRequest {
    const name = (x: KafkaReader): string => x.string('topic name');
    if (version === 0) {
      const topics = r.array(name, 'topics');
      return { topics: topics.length === 0 ? null : topics, allowAutoCreation: true };
    }
    const topics = r.nullableArray(name, 'topics');
    const allowAutoCreation = version >= 4 ? r.bool('allow_auto_topic_creation') : true;
    return { topics, allowAutoCreation };
  },
  async serve(node: KafkaNode, req: MetadataRequest, _version: number, session: Session): Promise<KafkaMetadataResponse> {
    const brokers = kafkaBrokers(node.kafkaAddresses(), node.logger);
    const valid = req.topics?.filter((t) => topicNameProblem(t) === null) ?? null;
    const ask = (): Promise<MetadataResponse> => native(node, session, valid === null ? { type: 'metadata' } : { type: 'metadata', topics: valid }) as Promise<MetadataResponse>;
    let res: MetadataResponse;
    /** Errors of the topics this request tried to create and that still do not show. */
    const creation = new Map<string, KafkaErrorCode>();
    try {
      res = await ask();
      const unknown = valid === null || node.config.autoCreateTopics !== true || !req.allowAutoCreation ? [] : res.topics.filter((t) => t.error?.code === ErrorCode.UnknownTopicOrPartition).map((t) => t.name);
      if (unknown.length > 0) {
        for (const r of await autoCreateTopics(node, session, unknown)) creation.set(r.name, r.error !== undefined && REFUSED_FOR_GOOD.has(r.error.code) ? kafkaErrorOfApi(r.error).code : KafkaErrorCode.LeaderNotAvailable);
        res = await ask();
      }
    } catch (err) {
      // This node cannot answer from its metadata now (starting, or its replica rejoining).
      const e = kafkaErrorOf(node.logger, err);
      return { brokers: [...brokers.values()], clusterId: null, controller: -1, topics: (req.topics ?? []).map((name) => ({ errorCode: e.code, name, partitions: [] })) };
    }
    const byName = new Map(res.topics.map((t) => [t.name, t]));
    const topics = (req.topics ?? res.topics.map((t) => t.name)).map((name): TopicMeta => {
      const t = byName.get(name);
      if (t === undefined) return { errorCode: KafkaErrorCode.InvalidTopicException, name, partitions: [] };
      const created = creation.get(name);
      if (t.error?.code === ErrorCode.UnknownTopicOrPartition && created !== undefined) return { errorCode: created, name, partitions: [] };
      if (t.error !== undefined) return { errorCode: kafkaErrorOfApi(t.error).code, name, partitions: [] };
      return {
        errorCode: KafkaErrorCode.None,
        name,
        partitions: t.partitions.map((p) => {
          const leader = p.leader !== null ? brokers.get(p.leader) : undefined;
          return {
            errorCode: leader === undefined ? KafkaErrorCode.LeaderNotAvailable : KafkaErrorCode.None,
            partition: p.partition,
            leader: leader?.id ?? -1,
            replicas: p.replicas.map(brokerId),
            isr: p.replicas.filter((r) => brokers.has(r)).map(brokerId),
          };
        }),
      };
    });
    const controller = res.controller !== null ? brokers.get(res.controller) : undefined;
    return { brokers: [...brokers.values()], clusterId: node.meta.cluster()?.clusterId ?? null, controller: controller?.id ?? -1, topics };
  },
  encode(w: KafkaWriter, version: number, res: KafkaMetadataResponse): void {
    if (version >= 3) w.int32(0);
    w.array(res.brokers, (x, b) => {
      x.int32(b.id).string(b.host).int32(b.port);
      if (version >= 1) x.nullableString(null);
    });
    if (version >= 2) w.nullableString(res.clusterId);
    if (version >= 1) w.int32(res.controller);
    w.array(res.topics, (x, t) => {
      x.int16(t.errorCode).string(t.name);
      if (version >= 1) x.bool(false);
      x.array(t.partitions, (y, p) => {
        y.int16(p.errorCode).int32(p.partition).int32(p.leader);
        y.array(p.replicas, (z, id) => z.int32(id));
        y.array(p.isr, (z, id) => z.int32(id));
      });
    });
  },
};
