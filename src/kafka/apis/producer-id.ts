/**
 * InitProducerId (key 22), v0-1: a producer id and epoch for an idempotent producer, from the
 * controller, as the native initProducerId. The partitions then dedupe the producer's retried
 * batches by their sequence numbers (src/partition/producer-state.ts), also across leader
 * changes. Another node answers NOT_COORDINATOR, which kafkajs and librdkafka retry.
 *
 *   request v0-1   transactional_id nullable_string, transaction_timeout_ms int32
 *   response v0-1  throttle_time_ms int32, error_code int16, producer_id int64, producer_epoch int16
 *
 * Transactions are not served: a transactional id is refused with INVALID_REQUEST.
 */
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

const INIT_TIMEOUT_MS = 30_000;

interface InitProducerIdResponse {
  readonly error: KafkaError;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export const initProducerId: KafkaApi<{ readonly transactionalId: string | null }, InitProducerIdResponse> = {
  key: 22,
  name: 'InitProducerId',
  replyBytes: () => KAFKA_RESPONSE_BYTES,
  minVersion: 0,
  maxVersion: 1,
  decode(r: KafkaReader): { transactionalId: string | null } {
    const transactionalId = r.nullableString('transactional_id');
    r.int32('transaction_timeout_ms');
    return { transactionalId };
  },
  async serve(node: KafkaNode, req: { readonly transactionalId: string | null }, _version: number, session: Session): Promise<InitProducerIdResponse> {
    if (req.transactionalId !== null) return { error: { code: KafkaErrorCode.InvalidRequest, message: 'transactions are not supported by this node' }, producerId: -1, producerEpoch: -1 };
    try {
      const r = (await native(node, session, { type: 'initProducerId', timeoutMs: INIT_TIMEOUT_MS }))!;
      return { error: NO_ERROR, ...r };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err, KafkaErrorCode.NotCoordinator), producerId: -1, producerEpoch: -1 };
    }
  },
  encode(w: KafkaWriter, _version: number, res: InitProducerIdResponse): void {
    w.int32(0).int16(res.error.code).int64(res.producerId).int16(res.producerEpoch);
  },
};
