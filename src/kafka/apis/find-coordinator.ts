/**
 * FindCoordinator (key 10), v0-2: where a group's coordinator is. Every group's coordinator is
 * the controller (src/groups/coordinator.ts says why), so any node answers with the controller's
 * Kafka address; group requests sent to another node get NOT_COORDINATOR and the client asks again.
 *
 *   request v0     key string
 *   request v1-2   key string, key_type int8          (0: a group; 1: a transactional id)
 *   response v0    error_code int16, node_id int32, host string, port int32
 *   response v1-2  throttle_time_ms int32, error_code int16, error_message nullable_string,
 *                  node_id int32, host string, port int32
 *
 * There are no transaction coordinators: key_type 1 is COORDINATOR_NOT_AVAILABLE.
 */
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';
import { kafkaBrokers, type Broker } from '../brokers.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

const KEY_TYPE_GROUP = 0;

interface FindCoordinatorRequest {
  readonly key: string;
  readonly keyType: number;
}

interface FindCoordinatorResponse {
  readonly error: KafkaError;
  readonly broker: Broker | null;
}

export const findCoordinator: KafkaApi<FindCoordinatorRequest, FindCoordinatorResponse> = {
  key: 10,
  name: 'FindCoordinator',
  replyBytes: () => KAFKA_RESPONSE_BYTES,
  minVersion: 0,
  maxVersion: 2,
  decode(r: KafkaReader, version: number): FindCoordinatorRequest {
    return { key: r.string('key'), keyType: version >= 1 ? r.int8('key_type') : KEY_TYPE_GROUP };
  },
  async serve(node: KafkaNode, req: FindCoordinatorRequest, _version: number, session: Session): Promise<FindCoordinatorResponse> {
    if (req.keyType !== KEY_TYPE_GROUP) return { error: { code: KafkaErrorCode.CoordinatorNotAvailable, message: 'transactions are not supported by this node' }, broker: null };
    if (req.key === '') return { error: { code: KafkaErrorCode.InvalidGroupId, message: 'a group id must not be empty' }, broker: null };
    try {
      const { coordinator } = (await native(node, session, { type: 'findCoordinator', group: req.key }))!;
      const broker = kafkaBrokers(node.kafkaAddresses(), node.logger).get(coordinator.id);
      if (broker === undefined) return { error: { code: KafkaErrorCode.CoordinatorNotAvailable, message: `the coordinator ${coordinator.id} has no Kafka listener this node knows of yet; retry shortly` }, broker: null };
      return { error: NO_ERROR, broker };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err), broker: null };
    }
  },
  encode(w: KafkaWriter, version: number, res: FindCoordinatorResponse): void {
    if (version >= 1) w.int32(0);
    w.int16(res.error.code);
    if (version >= 1) w.nullableString(res.error.code === KafkaErrorCode.None ? null : res.error.message);
    w.int32(res.broker?.id ?? -1).string(res.broker?.host ?? '').int32(res.broker?.port ?? -1);
  },
};
