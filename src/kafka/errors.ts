/**
 * Kafka's numeric error codes (the ones this listener answers), and the one table that turns the
 * node's own ErrorCode (src/wire/protocol.ts) into them. A request refused anywhere in the node
 * (a partition, the controller, the coordinator, the request checks of src/wire/validate.ts)
 * reaches a Kafka client through `kafkaErrorOf`.
 */
import { ServerError } from '../errors.js';
import { apiError } from '../server/handlers.js';
import type { Logger } from '../log.js';
import { ErrorCode } from '../wire/protocol.js';
import { RequestError } from '../wire/validate.js';

export const KafkaErrorCode = {
  UnknownServerError: -1,
  None: 0,
  OffsetOutOfRange: 1,
  CorruptMessage: 2,
  UnknownTopicOrPartition: 3,
  LeaderNotAvailable: 5,
  NotLeaderOrFollower: 6,
  RequestTimedOut: 7,
  MessageTooLarge: 10,
  OffsetMetadataTooLarge: 12,
  CoordinatorLoadInProgress: 14,
  CoordinatorNotAvailable: 15,
  NotCoordinator: 16,
  InvalidTopicException: 17,
  NotEnoughReplicas: 19,
  NotEnoughReplicasAfterAppend: 20,
  InvalidRequiredAcks: 21,
  IllegalGeneration: 22,
  InconsistentGroupProtocol: 23,
  InvalidGroupId: 24,
  UnknownMemberId: 25,
  InvalidSessionTimeout: 26,
  RebalanceInProgress: 27,
  TopicAuthorizationFailed: 29,
  GroupAuthorizationFailed: 30,
  ClusterAuthorizationFailed: 31,
  UnsupportedVersion: 35,
  TopicAlreadyExists: 36,
  InvalidPartitions: 37,
  InvalidReplicationFactor: 38,
  InvalidReplicaAssignment: 39,
  InvalidConfig: 40,
  NotController: 41,
  InvalidRequest: 42,
  OutOfOrderSequenceNumber: 45,
  DuplicateSequenceNumber: 46,
  InvalidProducerEpoch: 47,
  KafkaStorageError: 56,
  ReassignmentInProgress: 60,
  NonEmptyGroup: 68,
  GroupIdNotFound: 69,
  FetchSessionIdNotFound: 70,
} as const;
export type KafkaErrorCode = (typeof KafkaErrorCode)[keyof typeof KafkaErrorCode];

/** The node's codes as Kafka's. Typed over every ErrorCode, so a new code does not compile until it is mapped here. */
const KAFKA_CODE: Readonly<Record<ErrorCode, KafkaErrorCode>> = {
  [ErrorCode.NotLeader]: KafkaErrorCode.NotLeaderOrFollower,
  [ErrorCode.LeaderNotAvailable]: KafkaErrorCode.LeaderNotAvailable,
  [ErrorCode.UnknownTopicOrPartition]: KafkaErrorCode.UnknownTopicOrPartition,
  [ErrorCode.OffsetOutOfRange]: KafkaErrorCode.OffsetOutOfRange,
  [ErrorCode.RecordTooLarge]: KafkaErrorCode.MessageTooLarge,
  [ErrorCode.CorruptMessage]: KafkaErrorCode.CorruptMessage,
  [ErrorCode.InvalidTopic]: KafkaErrorCode.InvalidTopicException,
  [ErrorCode.InvalidPartitions]: KafkaErrorCode.InvalidPartitions,
  [ErrorCode.InvalidReplicationFactor]: KafkaErrorCode.InvalidReplicationFactor,
  [ErrorCode.TopicAlreadyExists]: KafkaErrorCode.TopicAlreadyExists,
  [ErrorCode.InvalidReplicaAssignment]: KafkaErrorCode.InvalidReplicaAssignment,
  [ErrorCode.InvalidRequest]: KafkaErrorCode.InvalidRequest,
  [ErrorCode.UnsupportedRequest]: KafkaErrorCode.UnsupportedVersion,
  [ErrorCode.RequestTimedOut]: KafkaErrorCode.RequestTimedOut,
  // Refused before anything was appended (the replicas are too far behind to take more).
  [ErrorCode.NotEnoughReplicas]: KafkaErrorCode.NotEnoughReplicas,
  [ErrorCode.OutOfOrderSequence]: KafkaErrorCode.OutOfOrderSequenceNumber,
  [ErrorCode.DuplicateSequence]: KafkaErrorCode.DuplicateSequenceNumber,
  [ErrorCode.InvalidProducerEpoch]: KafkaErrorCode.InvalidProducerEpoch,
  [ErrorCode.StorageError]: KafkaErrorCode.KafkaStorageError,
  // A replica closing as its node stops: the client finds the partition's next leader, as after NOT_LEADER.
  [ErrorCode.ShuttingDown]: KafkaErrorCode.NotLeaderOrFollower,
  [ErrorCode.UnknownServerError]: KafkaErrorCode.UnknownServerError,
  [ErrorCode.NotCoordinator]: KafkaErrorCode.NotCoordinator,
  [ErrorCode.CoordinatorNotAvailable]: KafkaErrorCode.CoordinatorNotAvailable,
  [ErrorCode.IllegalGeneration]: KafkaErrorCode.IllegalGeneration,
  [ErrorCode.UnknownMemberId]: KafkaErrorCode.UnknownMemberId,
  [ErrorCode.RebalanceInProgress]: KafkaErrorCode.RebalanceInProgress,
  [ErrorCode.InconsistentGroupProtocol]: KafkaErrorCode.InconsistentGroupProtocol,
  [ErrorCode.GroupNotEmpty]: KafkaErrorCode.NonEmptyGroup,
  [ErrorCode.UnknownGroup]: KafkaErrorCode.GroupIdNotFound,
  [ErrorCode.ReassignmentInProgress]: KafkaErrorCode.ReassignmentInProgress,
  [ErrorCode.TopicAuthorizationFailed]: KafkaErrorCode.TopicAuthorizationFailed,
  [ErrorCode.GroupAuthorizationFailed]: KafkaErrorCode.GroupAuthorizationFailed,
  [ErrorCode.ClusterAuthorizationFailed]: KafkaErrorCode.ClusterAuthorizationFailed,
};

export function kafkaCodeOf(code: ErrorCode): KafkaErrorCode {
  return KAFKA_CODE[code];
}

/** An error as a Kafka client gets it: a code, and the message for the versions that carry one. */
export interface KafkaError {
  readonly code: KafkaErrorCode;
  readonly message: string;
}

export const NO_ERROR: KafkaError = { code: KafkaErrorCode.None, message: '' };

/**
 * What the node would tell its own client about `err`, in Kafka's codes (an unexpected error is
 * logged there, as for the native protocol). Admin requests go to the controller, which refuses
 * them with NOT_LEADER elsewhere; Kafka names that NOT_CONTROLLER for topic changes and
 * NOT_COORDINATOR for producer ids (kafkajs and librdkafka look for the controller, resp. retry,
 * on those): `notLeader` says which this request's is.
 */
export function kafkaErrorOf(logger: Logger, err: unknown, notLeader: KafkaErrorCode = KafkaErrorCode.NotLeaderOrFollower): KafkaError {
  if (err instanceof RequestError || err instanceof ServerError) return { code: err.code === ErrorCode.NotLeader ? notLeader : kafkaCodeOf(err.code), message: err.message };
  const e = apiError({ logger, nodeRef: () => undefined }, err);
  return { code: kafkaCodeOf(e.code), message: e.message };
}

/** The same for an error the native handlers already turned into an ApiError (a per-partition result). */
export function kafkaErrorOfApi(e: { readonly code: ErrorCode; readonly message: string } | undefined): KafkaError {
  return e === undefined ? NO_ERROR : { code: kafkaCodeOf(e.code), message: e.message };
}
