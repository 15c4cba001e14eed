/**
 * The client protocol: WebSocket binary frames on `/client`, each one msgpack value.
 *
 * Request:  { id: uint, type: <RequestType>, ...fields of that type }
 * Response: { id, ...fields } on success, or { id, error: ApiError } when the whole request
 *           failed. Responses echo the request id; a connection may have many requests in flight
 *           and responses may come back in any order. A produce with acks "none" gets no response.
 *
 * Record batches travel as msgpack `bin` (Uint8Array), never as arrays of numbers. Offsets are
 * integers below 2^53 on the wire; the client library exposes them as strings or bigints.
 *
 * Every field has a limit (LIMITS); a frame that breaks one gets an INVALID_REQUEST error, or the
 * connection is closed if the frame is too large or not msgpack at all.
 */
import type { AclBinding, AclFilter } from '../auth/acl.js';
import type { ScramMechanism } from '../auth/scram.js';

/** The closed list of error codes, with whether retrying (elsewhere, or later) can succeed. */
export const ErrorCode = {
  NotLeader: 'NOT_LEADER',
  LeaderNotAvailable: 'LEADER_NOT_AVAILABLE',
  UnknownTopicOrPartition: 'UNKNOWN_TOPIC_OR_PARTITION',
  OffsetOutOfRange: 'OFFSET_OUT_OF_RANGE',
  RecordTooLarge: 'RECORD_TOO_LARGE',
  CorruptMessage: 'CORRUPT_MESSAGE',
  InvalidTopic: 'INVALID_TOPIC',
  InvalidPartitions: 'INVALID_PARTITIONS',
  InvalidReplicationFactor: 'INVALID_REPLICATION_FACTOR',
  TopicAlreadyExists: 'TOPIC_ALREADY_EXISTS',
  /** A partition's new replica list names a node the cluster does not have, or a node twice (Kafka's INVALID_REPLICA_ASSIGNMENT). */
  InvalidReplicaAssignment: 'INVALID_REPLICA_ASSIGNMENT',
  InvalidRequest: 'INVALID_REQUEST',
  UnsupportedRequest: 'UNSUPPORTED_REQUEST',
  RequestTimedOut: 'REQUEST_TIMED_OUT',
  NotEnoughReplicas: 'NOT_ENOUGH_REPLICAS',
  OutOfOrderSequence: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  /** A retried batch older than the ones the leader remembers: it was written before (treat as success, offset unknown). */
  DuplicateSequence: 'DUPLICATE_SEQUENCE_NUMBER',
  InvalidProducerEpoch: 'INVALID_PRODUCER_EPOCH',
  StorageError: 'STORAGE_ERROR',
  ShuttingDown: 'NODE_SHUTTING_DOWN',
  /** A bug on the node: the request failed in a way it should not have (see the node's log). */
  UnknownServerError: 'UNKNOWN_SERVER_ERROR',
  // Consumer groups (issue 5)
  NotCoordinator: 'NOT_COORDINATOR',
  CoordinatorNotAvailable: 'COORDINATOR_NOT_AVAILABLE',
  IllegalGeneration: 'ILLEGAL_GENERATION',
  UnknownMemberId: 'UNKNOWN_MEMBER_ID',
  RebalanceInProgress: 'REBALANCE_IN_PROGRESS',
  InconsistentGroupProtocol: 'INCONSISTENT_GROUP_PROTOCOL',
  GroupNotEmpty: 'NON_EMPTY_GROUP',
  UnknownGroup: 'GROUP_ID_NOT_FOUND',
  // Membership changes (issue 20)
  /** A partition's membership is changing and the step asked for must wait (Kafka's REASSIGNMENT_IN_PROGRESS). */
  ReassignmentInProgress: 'REASSIGNMENT_IN_PROGRESS',
  // Authorization (issue 22, src/auth/): the request's principal may not do this, by the ACLs
  // (Kafka's TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED, by the resource refused). Nothing changed.
  TopicAuthorizationFailed: 'TOPIC_AUTHORIZATION_FAILED',
  GroupAuthorizationFailed: 'GROUP_AUTHORIZATION_FAILED',
  ClusterAuthorizationFailed: 'CLUSTER_AUTHORIZATION_FAILED',
  // Users and authentication (issue 22 §3)
  /** A wrong user name or password, or a SASL message that does not follow its mechanism (Kafka's SASL_AUTHENTICATION_FAILED). */
  SaslAuthenticationFailed: 'SASL_AUTHENTICATION_FAILED',
  /** A SASL mechanism this node does not offer (Kafka's UNSUPPORTED_SASL_MECHANISM). */
  UnsupportedSaslMechanism: 'UNSUPPORTED_SASL_MECHANISM',
  /** A SASL request out of turn: authenticate before a handshake, a handshake once authenticated (Kafka's ILLEGAL_SASL_STATE). */
  IllegalSaslState: 'ILLEGAL_SASL_STATE',
  /** A request on a connection that has not authenticated, to a node that requires it (`--auth sasl`). */
  AuthenticationRequired: 'AUTHENTICATION_REQUIRED',
  /** A user that does not exist (Kafka's RESOURCE_NOT_FOUND). */
  ResourceNotFound: 'RESOURCE_NOT_FOUND',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRIABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.NotLeader,
  ErrorCode.LeaderNotAvailable,
  ErrorCode.UnknownTopicOrPartition, // metadata may not have reached this node yet
  ErrorCode.RequestTimedOut,
  ErrorCode.NotEnoughReplicas,
  ErrorCode.StorageError,
  ErrorCode.ShuttingDown,
  ErrorCode.ReassignmentInProgress,
  ErrorCode.NotCoordinator,
  ErrorCode.CoordinatorNotAvailable,
  ErrorCode.RebalanceInProgress,
]);

export function isRetriable(code: ErrorCode): boolean {
  return RETRIABLE.has(code);
}

/** Whether a code is an AUTHORIZATION_FAILED one (of a topic, a group or the cluster). */
export function isAuthorizationFailure(code: ErrorCode): boolean {
  return code === ErrorCode.TopicAuthorizationFailed || code === ErrorCode.GroupAuthorizationFailed || code === ErrorCode.ClusterAuthorizationFailed;
}

/**
 * Whether a failed write certainly did not take effect. A timeout or a lost connection leaves the
 * outcome unknown; a refusal before anything was proposed is certain.
 */
export function isCertainFailure(code: ErrorCode): boolean {
  return code !== ErrorCode.RequestTimedOut && code !== ErrorCode.ShuttingDown;
}

export interface NodeRef {
  readonly id: string;
  /** host:port of the node's client listener (`--client-listen`, else its `--listen`). */
  readonly address: string;
}

export interface ApiError {
  readonly code: ErrorCode;
  readonly message: string;
  /** With NOT_LEADER / NOT_COORDINATOR: where to go instead, when known. */
  readonly leader?: NodeRef;
}

/** Kafka's rule: 1 to 249 characters of ASCII letters, digits, '.', '_' and '-', not "." or "..". */
export const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function topicNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'a topic name must be a string';
  if (!TOPIC_NAME.test(name)) return `topic name '${name.slice(0, 300)}' must be 1 to 249 characters of letters, digits, '.', '_' and '-'`;
  if (name === '.' || name === '..') return `topic name '${name}' is not allowed`;
  return null;
}

export const LIMITS = {
  /** Bytes of one frame from the node, as the client library takes them (a fetch answer carries up to fetchBytesMax). */
  frameBytesMax: 64 * 1024 * 1024,
  /**
   * Bytes of one request frame, as the node takes them; a larger one closes the connection as
   * soon as its header arrives (src/wire/ws-guard.ts). The largest request a client builds is a
   * produce of produceRequestBatchBytes of batches (the one batch that crosses it starts the next
   * request) in at most produceBatchesMax batches, each with an envelope of under 300 bytes (a
   * topic name of 249 characters, its partition, the field names): under 19.7 MB in all. Every
   * byte of a frame is copied, and unmasked when the client masks, before it can be refused or
   * decoded: 60 MB frames, which the former 64 MiB limit let in, cost about 250 ms each.
   */
  requestBytesMax: 20 * 1024 * 1024,
  /** Bytes of batches the client library puts in one produce request (src/client/producer.ts). */
  produceRequestBatchBytes: 16 * 1024 * 1024,
  /**
   * msgpack values in one client frame, and bytes of its strings, past which it is refused before
   * it is decoded (codec.ts FrameBudget). A frame of sixty million zeros took 6 s to decode and
   * stalled the node for all of it; one of a million, 15-25 ms; 8 MiB of strings, about 30 ms. The
   * largest requests the validator takes stay well inside both: 10,000 produce batches are about
   * 70,000 values and, with 249-character topic names, 2.5 MB of strings.
   */
  frameValuesMax: 1_000_000,
  frameStringBytesMax: 8 * 1024 * 1024,
  /**
   * Bytes of one record batch as the client library builds it, and a topic's default
   * maxMessageBytes (Kafka's message.max.bytes default is 1 MiB). The node enforces each topic's
   * own maxMessageBytes.
   */
  batchBytesMax: 1024 * 1024,
  /** The least and the most a topic's maxMessageBytes may be set to (src/node/limits.ts checks the most against the layers below). */
  topicMessageBytesMin: 1024,
  topicMessageBytesMax: 8 * 1024 * 1024,
  /** The least and the most a topic's segmentBytes may be set to. */
  topicSegmentBytesMin: 64 * 1024,
  topicSegmentBytesMax: 1024 ** 3,
  /** A topic's replication factor, at most. */
  replicationFactorMax: 1000,
  /** Protocols a member may offer when it joins a group. */
  groupProtocolsMax: 16,
  /** Characters of a node id named in a request (a leadership transfer's target). */
  nodeIdLengthMax: 64,
  /** What a fetch may return in all, and per partition, when it does not say. */
  fetchBytesDefault: 16 * 1024 * 1024,
  fetchPartitionBytesDefault: 1024 * 1024,
  /** Batches in one produce request. */
  produceBatchesMax: 10_000,
  /** Partitions in one fetch or list-offsets request. */
  fetchPartitionsMax: 10_000,
  /** Bytes a fetch may ask for in all. */
  fetchBytesMax: 64 * 1024 * 1024,
  /** The longest a fetch may wait for data. */
  fetchWaitMsMax: 60_000,
  /** Members of one group. */
  groupMembersMax: 1000,
  /** Bytes of a member's protocol metadata or assignment. */
  groupMetadataBytesMax: 1024 * 1024,
  /** Characters of a group id, member id or client id. */
  groupIdLengthMax: 255,
  /** Characters of a committed offset's metadata string. */
  offsetMetadataLengthMax: 4096,
  /** Session timeout bounds, as Kafka's group.min/max.session.timeout.ms. */
  sessionTimeoutMsMin: 1000,
  sessionTimeoutMsMax: 300_000,
  /** Topics in one create/delete request. */
  topicsPerRequestMax: 1000,
  /** Partitions of one topic. */
  partitionsPerTopicMax: 10_000,
  /** Partitions in one reassignment request (every partition of a topic fits in one). */
  reassignmentsPerRequestMax: 10_000,
  /** The most replica moves a decommission, replication factor change or rebalance may ask to run at once. */
  movesAtOnceMax: 64,
  /** Moves a rebalance answer lists, at most (a dry run's plan beyond it is counted, not listed). */
  plannedMovesListedMax: 1000,
  /** The longest a request may ask the node to wait for replication. */
  requestTimeoutMsMax: 300_000,
  // Users and authentication (issue 22 §3)
  /** Bytes of one SASL message (saslAuthenticate): a SCRAM message is a few hundred, a PLAIN one a name and a password. */
  saslMessageBytesMax: 4096,
  /** Characters of a SASL mechanism's name in a handshake. */
  saslMechanismLengthMax: 64,
  // Client quotas (issue 22 §3)
  /** Quotas set or removed by one alterQuotas request. */
  quotaEntriesPerRequestMax: 1000,
  /** The largest byte rate a quota may be set to, bytes per second (1 TiB/s: far past any link, and a safe integer). */
  quotaByteRateMax: 2 ** 40,
  /** Characters of the name in a quota's `User:<name>` principal (the limit of a group id). */
  quotaUserLengthMax: 255,
} as const;

export type Acks = 'all' | 'leader' | 'none';

/** A producer epoch is an int16 (Kafka's RecordBatch field); past it, a producer takes a new id. */
export const PRODUCER_EPOCH_MAX = 32767;

export interface TopicConfig {
  /** Bytes kept per partition before whole segments are dropped; -1 keeps everything. */
  readonly retentionBytes: number;
  /** Age of the newest record of a segment before it is dropped; -1 keeps everything. */
  readonly retentionMs: number;
  readonly segmentBytes: number;
  /** The largest record batch accepted. */
  readonly maxMessageBytes: number;
}

/**
 * Replica moves the controller runs at once for a decommission, a replication factor change, a
 * rebalance or a dead node, unless the request says otherwise: each copies a partition to a new
 * replica, so a few at a time keep the disks and the network free for producers.
 */
export const MOVES_AT_ONCE_DEFAULT = 2;

/** Kafka's name of each topic config field (what kafkajs, kcat and the Kafka listener call them). */
export const KAFKA_TOPIC_CONFIG_NAMES: Readonly<Record<keyof TopicConfig, string>> = {
  retentionBytes: 'retention.bytes',
  retentionMs: 'retention.ms',
  segmentBytes: 'segment.bytes',
  maxMessageBytes: 'max.message.bytes',
};

/** Partitions of a topic created without a count (Kafka's num.partitions). */
export const TOPIC_PARTITIONS_DEFAULT = 1;
/** Replicas of a topic created without a replication factor, at most (Kafka's default.replication.factor). */
export const TOPIC_REPLICATION_FACTOR_DEFAULT_MAX = 3;

/** The replication factor of a topic created without one in a cluster of `nodes` nodes (not leaving it): TOPIC_REPLICATION_FACTOR_DEFAULT_MAX, or every node of a smaller cluster. */
export function defaultReplicationFactor(nodes: number): number {
  return Math.min(TOPIC_REPLICATION_FACTOR_DEFAULT_MAX, nodes);
}

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  retentionBytes: -1,
  retentionMs: 7 * 24 * 3600 * 1000,
  segmentBytes: 64 * 1024 * 1024,
  maxMessageBytes: LIMITS.batchBytesMax,
};

// -------------------------------------------------------------------------------------------------
// Requests

export interface MetadataRequest {
  readonly type: 'metadata';
  /** Topics to describe; all when absent. */
  readonly topics?: readonly string[];
}

export interface ProduceBatch {
  readonly topic: string;
  readonly partition: number;
  /** One RecordBatch v2 (src/wire/record-batch/); the leader sets its base offset. */
  readonly records: Uint8Array;
}

export interface ProduceRequest {
  readonly type: 'produce';
  readonly acks: Acks;
  /** How long the node waits for replication before answering REQUEST_TIMED_OUT. */
  readonly timeoutMs: number;
  readonly batches: readonly ProduceBatch[];
}

export interface FetchPartition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Bytes for this partition: its first batch may exceed them if it fits in the request's `maxBytes` (handlers.ts `fetch`). */
  readonly maxBytes: number;
}

export interface FetchRequest {
  readonly type: 'fetch';
  /** Wait up to this long when no partition has data at its offset (long poll). */
  readonly maxWaitMs: number;
  /** Answer as soon as this many bytes are available (default 1). */
  readonly minBytes: number;
  /** Bytes of record batches in the whole response; only its first batch may exceed them (as Kafka's fetch.max.bytes). */
  readonly maxBytes: number;
  /** Each partition at most once (INVALID_REQUEST otherwise). */
  readonly partitions: readonly FetchPartition[];
}

export type OffsetSpec = 'earliest' | 'latest' | { readonly timestamp: number };

export interface ListOffsetsRequest {
  readonly type: 'listOffsets';
  readonly partitions: readonly { readonly topic: string; readonly partition: number; readonly spec: OffsetSpec }[];
}

export interface CreateTopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config?: Partial<TopicConfig>;
}

export interface CreateTopicsRequest {
  readonly type: 'createTopics';
  readonly topics: readonly CreateTopicSpec[];
  readonly timeoutMs: number;
}

export interface DeleteTopicsRequest {
  readonly type: 'deleteTopics';
  readonly topics: readonly string[];
  readonly timeoutMs: number;
}

/**
 * A producer id and epoch for an idempotent producer. With `transactionalId`, the same id as the
 * last producer of that transactional id, one epoch later: that one is fenced (its batches are
 * refused with INVALID_PRODUCER_EPOCH). With `producerId` and `producerEpoch` (a producer that
 * lost track of its sequence numbers re-initializing, as Kafka's KIP-360), the same id one epoch
 * later, instead of a new id; refused with INVALID_PRODUCER_EPOCH if another producer took a
 * later epoch of it since.
 */
export interface InitProducerIdRequest {
  readonly type: 'initProducerId';
  readonly timeoutMs: number;
  readonly transactionalId?: string;
  readonly producerId?: number;
  readonly producerEpoch?: number;
}

export interface StatusRequest {
  readonly type: 'status';
}

// -------------------------------------------------------------------------------------------------
// Consumer groups (Kafka's model): the coordinator tracks members and generations; the group's
// leader member computes the assignment with an assignor both sides name in `protocols`; the
// coordinator hands it out. Group state and committed offsets are replicated by the metadata
// group, so a coordinator failover loses neither. Group requests go to the coordinator
// (`findCoordinator`); any other node answers NOT_COORDINATOR naming it.

export interface FindCoordinatorRequest {
  readonly type: 'findCoordinator';
  readonly group: string;
}

export interface GroupProtocol {
  /** The assignor's name, e.g. 'sticky', 'range', 'roundrobin'. */
  readonly name: string;
  /** Opaque to the coordinator: the member's subscription (and, for sticky, its current assignment). */
  readonly metadata: Uint8Array;
}

export interface JoinGroupRequest {
  readonly type: 'joinGroup';
  readonly group: string;
  /** Empty on the first join: the coordinator assigns one. */
  readonly memberId: string;
  readonly clientId: string;
  /** 'consumer' for consumers; members of one group must agree. */
  readonly protocolType: string;
  readonly protocols: readonly GroupProtocol[];
  /** Without a heartbeat for this long, the member is removed and the group rebalances. */
  readonly sessionTimeoutMs: number;
  /** How long the coordinator waits for known members to rejoin during a rebalance. */
  readonly rebalanceTimeoutMs: number;
}

export interface JoinGroupResponse {
  readonly generation: number;
  readonly protocol: string;
  readonly leader: string;
  readonly memberId: string;
  /** Only for the leader: every member and its metadata for the chosen protocol. */
  readonly members: readonly { readonly memberId: string; readonly metadata: Uint8Array }[];
}

export interface SyncGroupRequest {
  readonly type: 'syncGroup';
  readonly group: string;
  readonly generation: number;
  readonly memberId: string;
  /** From the leader only: each member's assignment (opaque, encoded by the assignor). */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Uint8Array }[];
}

export interface SyncGroupResponse {
  readonly assignment: Uint8Array;
}

export interface HeartbeatRequest {
  readonly type: 'heartbeat';
  readonly group: string;
  readonly generation: number;
  readonly memberId: string;
}

export interface LeaveGroupRequest {
  readonly type: 'leaveGroup';
  readonly group: string;
  readonly memberId: string;
}

export interface CommittedOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read (Kafka's rule). */
  readonly offset: number;
  readonly metadata: string;
}

export interface CommitOffsetsRequest {
  readonly type: 'commitOffsets';
  readonly group: string;
  /** The member's generation and id; -1 and '' for a consumer outside any group membership. */
  readonly generation: number;
  readonly memberId: string;
  readonly offsets: readonly CommittedOffset[];
  readonly timeoutMs: number;
}

export interface CommitOffsetsResponse {
  readonly results: readonly { readonly topic: string; readonly partition: number; readonly error?: ApiError }[];
}

export interface FetchOffsetsRequest {
  readonly type: 'fetchOffsets';
  readonly group: string;
  /** Partitions to look up; every committed one when absent. */
  readonly partitions?: readonly { readonly topic: string; readonly partition: number }[];
}

export interface FetchOffsetsResponse {
  /**
   * offset -1 (and metadata '') when nothing is committed for a partition. A partition named in
   * the request whose topic the principal may not describe has offset -1 and an error.
   */
  readonly offsets: readonly (CommittedOffset & { readonly error?: ApiError })[];
}

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface ListGroupsRequest {
  readonly type: 'listGroups';
}

export interface ListGroupsResponse {
  readonly groups: readonly { readonly group: string; readonly state: GroupState; readonly protocolType: string; readonly members: number }[];
}

export interface DescribeGroupsRequest {
  readonly type: 'describeGroups';
  readonly groups: readonly string[];
}

export interface GroupDescription {
  readonly group: string;
  readonly error?: ApiError;
  readonly state: GroupState;
  readonly generation: number;
  readonly protocolType: string;
  readonly protocol: string;
  readonly leader: string;
  readonly members: readonly { readonly memberId: string; readonly clientId: string; readonly metadata: Uint8Array; readonly assignment: Uint8Array }[];
}

export interface DescribeGroupsResponse {
  readonly groups: readonly GroupDescription[];
}

/** Replaces committed offsets of a group that has no members (NON_EMPTY_GROUP otherwise). */
export interface ResetOffsetsRequest {
  readonly type: 'resetOffsets';
  readonly group: string;
  readonly offsets: readonly CommittedOffset[];
  readonly timeoutMs: number;
}

export interface DeleteGroupsRequest {
  readonly type: 'deleteGroups';
  readonly groups: readonly string[];
  readonly timeoutMs: number;
}

export interface GroupResultsResponse {
  readonly groups: readonly { readonly group: string; readonly error?: ApiError }[];
}

/** Hands a partition's leadership to another replica (a planned failover); sent to the leader. */
export interface TransferLeadershipRequest {
  readonly type: 'transferLeadership';
  readonly topic: string;
  readonly partition: number;
  /** The replica's node id. */
  readonly to: string;
  readonly timeoutMs: number;
}

/** A partition's new target replica list: node ids, the first its preferred leader. */
export interface PartitionReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly string[];
}

/**
 * Sets partitions' target replicas in the metadata; sent to the controller, answered once the
 * new targets are committed. The replicas then move in the background: each partition's leader
 * adds the new ones as learners, promotes them once caught up, and removes the ones that leave
 * (handing leadership over first if it is one of them). Setting a partition's current list again
 * changes nothing, so a request whose outcome is unknown may be sent again.
 */
export interface ReassignPartitionsRequest {
  readonly type: 'reassignPartitions';
  readonly partitions: readonly PartitionReassignment[];
  readonly timeoutMs: number;
}

/**
 * Moves every replica off a node, then removes it from the metadata group; sent to the
 * controller, answered once the node is recorded as decommissioning (the moves run in the
 * background: `status` on the controller shows them). Refused when the nodes left could not hold
 * some partition's replicas, or the metadata group would be left without a live majority. The
 * node may be down. Asking again for a node already leaving changes nothing.
 */
export interface DecommissionNodeRequest {
  readonly type: 'decommissionNode';
  readonly node: string;
  /** Moves at once (default MOVES_AT_ONCE_DEFAULT). */
  readonly maxMoves?: number;
  readonly timeoutMs: number;
}

/**
 * Stops the decommission of a node that is still being decommissioned: it stays a member, and
 * takes replicas again. Moves already made stay (a rebalance evens them out). Refused for a node
 * decommissioned already; a node not leaving is answered as it is.
 */
export interface RecommissionNodeRequest {
  readonly type: 'recommissionNode';
  readonly node: string;
  readonly timeoutMs: number;
}

/** Sets a topic's replication factor; the controller then moves each partition to that many replicas, `maxMoves` at once. */
export interface AlterReplicationFactorRequest {
  readonly type: 'alterReplicationFactor';
  readonly topic: string;
  readonly replicationFactor: number;
  readonly maxMoves?: number;
  readonly timeoutMs: number;
}

/**
 * Spreads replicas (and then preferred leaders) evenly over the nodes that are up and not
 * leaving, `maxMoves` at once; with `dryRun`, only says which moves it would make now.
 */
export interface RebalancePartitionsRequest {
  readonly type: 'rebalancePartitions';
  readonly maxMoves?: number;
  readonly dryRun?: boolean;
  readonly timeoutMs: number;
}

// -------------------------------------------------------------------------------------------------
// ACLs (src/auth/acl.ts has the model and its rules); sent to the controller.

/** Adds bindings (one already held is kept once); each binding's result in order. */
export interface CreateAclsRequest {
  readonly type: 'createAcls';
  readonly bindings: readonly AclBinding[];
  readonly timeoutMs: number;
}

/** The bindings a filter matches (`{}`: all of them). */
export interface DescribeAclsRequest {
  readonly type: 'describeAcls';
  readonly filter: AclFilter;
}

/** Removes every binding each filter matches (Kafka's DeleteAcls); each filter's result says which. */
export interface DeleteAclsRequest {
  readonly type: 'deleteAcls';
  readonly filters: readonly AclFilter[];
  readonly timeoutMs: number;
}

// -------------------------------------------------------------------------------------------------
// Client quotas (Kafka's client quotas, KIP-13): byte rates per principal, kept in the metadata
// group, enforced by each node on what it serves by throttling (src/server/quotas.ts), never by
// refusing or dropping. An entity is a principal, `User:<name>` (src/server/session.ts), or
// QUOTA_DEFAULT_ENTITY, whose rates hold for every principal without a rate of its own in that
// direction. Sent to the controller.

/** The entity whose rates hold for every principal that has none of its own (Kafka's `<default>` user). */
export const QUOTA_DEFAULT_ENTITY = '<default>';

const QUOTA_USER = /^User:[^\u0000-\u001f\u007f]+$/;

/** Why `entity` cannot have a quota (null: it can): `User:<name>` or QUOTA_DEFAULT_ENTITY. */
export function quotaEntityProblem(entity: unknown): string | null {
  if (typeof entity !== 'string') return 'a quota entity must be a string';
  if (entity === QUOTA_DEFAULT_ENTITY) return null;
  if (!QUOTA_USER.test(entity)) return `quota entity '${entity.slice(0, 300)}' must be 'User:<name>' or '${QUOTA_DEFAULT_ENTITY}'`;
  if (entity.length - 'User:'.length > LIMITS.quotaUserLengthMax) return `the user name of quota entity '${entity.slice(0, 300)}...' is longer than ${LIMITS.quotaUserLengthMax} characters`;
  return null;
}

/** One entity's byte rates, bytes per second; a direction absent has no rate of the entity's own. */
export interface QuotaEntry {
  readonly entity: string;
  /** Bytes of record batches the entity's producers may send a node per second (Kafka's producer_byte_rate). */
  readonly producerByteRate?: number;
  /** Bytes of record batches a node may send the entity's consumers per second (Kafka's consumer_byte_rate). */
  readonly consumerByteRate?: number;
}

/** A change to one entity's rates: a number sets a rate, null removes it, absent leaves it as it is. */
export interface QuotaAlteration {
  readonly entity: string;
  readonly producerByteRate?: number | null;
  readonly consumerByteRate?: number | null;
}

/** Sets or removes rates; answered per entry, in order, once each change is committed. Removing a rate not set changes nothing. */
export interface AlterQuotasRequest {
  readonly type: 'alterQuotas';
  readonly entries: readonly QuotaAlteration[];
  readonly timeoutMs: number;
}

export interface AlterQuotasResponse {
  readonly entries: readonly { readonly entity: string; readonly error?: ApiError }[];
}

/** Every entity that has a rate, as the controller's metadata holds them. */
export interface DescribeQuotasRequest {
  readonly type: 'describeQuotas';
}

export interface DescribeQuotasResponse {
  /** In entity order (the default first). */
  readonly quotas: readonly QuotaEntry[];
}

/**
 * Changes a topic's config while it runs (rpk's alter-config, Kafka's IncrementalAlterConfigs):
 * every field may change live. Retention applies at the next retention pass, max message bytes to
 * the next produce, segment bytes to the next segment roll. Sent to the controller, answered once
 * the change is committed.
 */
export interface AlterTopicConfigRequest {
  readonly type: 'alterTopicConfig';
  readonly topic: string;
  /** The fields to set, the others kept (to put one back to its default, set DEFAULT_TOPIC_CONFIG's value). */
  readonly config: Partial<TopicConfig>;
  /** Checked as it would be, answered with the config it would make, and nothing changed (Kafka's validate_only). */
  readonly dryRun?: boolean;
  readonly timeoutMs: number;
}

/**
 * Grows a topic to `partitions` partitions (Kafka's CreatePartitions: the new total, never fewer
 * than it has). The controller places the new ones as it places a new topic's; they start empty,
 * on their nodes, with the topic's replication factor. Keys hash over the new count from then on.
 */
export interface CreatePartitionsRequest {
  readonly type: 'createPartitions';
  readonly topic: string;
  readonly partitions: number;
  /** Checked and placed as it would be, answered with where the new partitions would go, and nothing changed (Kafka's validate_only). */
  readonly dryRun?: boolean;
  readonly timeoutMs: number;
}

/**
 * Topics' configs as this node's metadata has them (Kafka's DescribeConfigs: any node answers);
 * with `node`, this node's settings that bear on topics too, which its flags set and no request
 * changes. A topic the node does not know is UNKNOWN_TOPIC_OR_PARTITION in its place.
 */
export interface DescribeConfigsRequest {
  readonly type: 'describeConfigs';
  readonly topics: readonly string[];
  readonly node?: boolean;
}

export type Request =
  | MetadataRequest
  | ProduceRequest
  | FetchRequest
  | ListOffsetsRequest
  | CreateTopicsRequest
  | DeleteTopicsRequest
  | InitProducerIdRequest
  | StatusRequest
  | TransferLeadershipRequest
  | ReassignPartitionsRequest
  | DecommissionNodeRequest
  | RecommissionNodeRequest
  | AlterReplicationFactorRequest
  | RebalancePartitionsRequest
  | FindCoordinatorRequest
  | JoinGroupRequest
  | SyncGroupRequest
  | HeartbeatRequest
  | LeaveGroupRequest
  | CommitOffsetsRequest
  | FetchOffsetsRequest
  | ListGroupsRequest
  | DescribeGroupsRequest
  | ResetOffsetsRequest
  | DeleteGroupsRequest
  | CreateAclsRequest
  | DescribeAclsRequest
  | DeleteAclsRequest
  | SaslHandshakeRequest
  | SaslAuthenticateRequest
  | UpsertUserRequest
  | DeleteUserRequest
  | ListUsersRequest
  | AlterQuotasRequest
  | DescribeQuotasRequest
  | AlterTopicConfigRequest
  | CreatePartitionsRequest
  | DescribeConfigsRequest;

export type RequestType = Request['type'];
export const REQUEST_TYPES: readonly RequestType[] = [
  'metadata',
  'produce',
  'fetch',
  'listOffsets',
  'createTopics',
  'deleteTopics',
  'initProducerId',
  'status',
  'transferLeadership',
  'reassignPartitions',
  'decommissionNode',
  'recommissionNode',
  'alterReplicationFactor',
  'rebalancePartitions',
  'findCoordinator',
  'joinGroup',
  'syncGroup',
  'heartbeat',
  'leaveGroup',
  'commitOffsets',
  'fetchOffsets',
  'listGroups',
  'describeGroups',
  'resetOffsets',
  'deleteGroups',
  'createAcls',
  'describeAcls',
  'deleteAcls',
  'saslHandshake',
  'saslAuthenticate',
  'upsertUser',
  'deleteUser',
  'listUsers',
  'alterQuotas',
  'describeQuotas',
  'alterTopicConfig',
  'createPartitions',
  'describeConfigs',
];

// -------------------------------------------------------------------------------------------------
// Responses

export interface PartitionMetadata {
  readonly partition: number;
  /** The leader's node id, or null while none is known. */
  readonly leader: string | null;
  /** The Raft term the leader leads in (higher is newer). */
  readonly leaderTerm: number;
  /**
   * The target replica node ids (the metadata's assignment); the first is the preferred leader.
   * While a reassignment runs, the partition's Raft group may still hold others (see `status`).
   */
  readonly replicas: readonly string[];
}

export interface TopicMetadata {
  readonly name: string;
  readonly error?: ApiError;
  readonly partitions: readonly PartitionMetadata[];
  readonly replicationFactor: number;
  readonly config: TopicConfig;
}

export interface MetadataResponse {
  readonly nodes: readonly NodeRef[];
  /** The metadata group's leader (the controller): where admin requests go. */
  readonly controller: string | null;
  readonly topics: readonly TopicMetadata[];
}

export interface ProduceResult {
  readonly topic: string;
  readonly partition: number;
  readonly error?: ApiError;
  readonly baseOffset?: number;
}

export interface ProduceResponse {
  readonly results: readonly ProduceResult[];
  /**
   * Set when this reply put its principal over its produce quota (src/server/quotas.ts): the node
   * does not read this connection for that long, and a client should send nothing to this node
   * until it has passed (Kafka's throttle_time_ms, KIP-219). Absent: not throttled.
   */
  readonly throttleMs?: number;
}

export interface FetchedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly error?: ApiError;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  /** Whole record batches, in order, starting with the one that holds the fetch offset. */
  readonly batches: readonly Uint8Array[];
}

export interface FetchResponse {
  readonly partitions: readonly FetchedPartition[];
  /** As ProduceResponse's, for the principal's fetch quota: the batches are all there, the next request must wait. */
  readonly throttleMs?: number;
}

export interface ListedOffset {
  readonly topic: string;
  readonly partition: number;
  readonly error?: ApiError;
  /** The offset; -1 when a timestamp is past every record. */
  readonly offset: number;
  readonly timestamp?: number;
}

export interface ListOffsetsResponse {
  readonly partitions: readonly ListedOffset[];
}

export interface TopicResult {
  readonly name: string;
  readonly error?: ApiError;
}

export interface CreateTopicsResponse {
  readonly topics: readonly TopicResult[];
}

export interface DeleteTopicsResponse {
  readonly topics: readonly TopicResult[];
}

export interface InitProducerIdResponse {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** One Raft group as a node sees it (the same view as GET /status). */
export interface GroupStatus {
  readonly group: string;
  /** The member's Raft role, or 'stopped' when a storage failure stopped the group on this node. */
  readonly role: string;
  /** Set while this replica rejoins after losing data (the incarnation it rejoins under): it neither votes nor counts. */
  readonly rejoining?: string;
  readonly term: number;
  readonly leader: string | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly replicas: readonly { readonly id: string; readonly match: number; readonly next: number; readonly state: string; readonly learner?: boolean; readonly rejoining?: boolean }[];
  /** The group's configuration as this replica's log has it (raft/membership.ts), and whether that is committed. */
  readonly voters?: readonly string[];
  readonly learners?: readonly string[];
  readonly membershipCommitted?: boolean;
  /** On a partition leader moving its replicas toward the metadata's target (src/partition/moves.ts): the next step, or what it waits for. */
  readonly move?: string;
  readonly highWatermark?: number;
  readonly logStartOffset?: number;
  readonly logEndOffset?: number;
  /** Bytes of the partition's log segments on this node. */
  readonly logBytes?: number;
  /**
   * On a partition leader: the replicas in sync with it, itself first, and whether fewer are in
   * sync than the partition should have, as raftlog_partition_in_sync_replicas and
   * raftlog_partition_under_replicated report them (src/partition/in-sync.ts).
   */
  readonly inSync?: readonly string[];
  readonly underReplicated?: boolean;
  readonly error?: string;
}

export interface StatusResponse {
  readonly node: string;
  readonly address: string;
  /** The node's data folder: its incarnation and the cluster it belongs to ('' until known). */
  readonly incarnation?: string;
  readonly cluster?: string;
  readonly uptimeMs: number;
  /** Bytes the node's data folder holds, measured at most every few seconds (absent until measured). */
  readonly diskBytes?: number;
  /** frameMac: the MAC on the connection's frames ('chacha20-poly1305', 'hmac-sha256-128' with a node of an earlier version, 'off' under mutual TLS; null while not connected). */
  readonly peers: readonly { readonly id: string; readonly address: string; readonly connected: boolean; readonly frameMac: string | null }[];
  readonly groups: readonly GroupStatus[];
  /** On the controller only: the replica moves it runs and what they wait for. */
  readonly controller?: ControllerStatus;
  /** Catch-up by files (src/host/log-recovery.ts): counts since the node started, and the transfers in progress. */
  readonly recovery?: RecoveryStatus;
  /** How clients authenticate (`--auth`): 'none', every connection has every right; 'sasl', a connection must authenticate first. */
  readonly auth?: 'none' | 'sasl';
  /**
   * The HTTP listener's authentication (src/server/http-auth.ts): `basic` under `--auth sasl`
   * (HTTP Basic or the console's login), `none` otherwise; whether /metrics needs a user; the
   * console sessions held; and a warning when it takes passwords in plaintext from other hosts.
   */
  readonly http?: { readonly auth: 'basic' | 'none'; readonly metrics: 'open' | 'required'; readonly sessions: number; readonly warning?: string };
  /** Where the node listens, each use at its host:port (src/node/listeners.ts), and which take TLS only. */
  readonly listeners?: { readonly peer: string; readonly client: string; readonly http: string; readonly kafka?: string; readonly tls: readonly string[] };
}

/** Where a node is in leaving the cluster ('active': it is not leaving). */
export type NodeLifecycle = 'active' | 'decommissioning' | 'decommissioned';

/** The controller's replica moves (src/node/placer.ts), as its last round saw them. */
export interface ControllerStatus {
  readonly nodes: readonly {
    readonly id: string;
    readonly state: NodeLifecycle;
    /** Connected to the controller now (the controller itself counts). */
    readonly live: boolean;
    /** Down for longer than nodeDeadAfterMs: its replicas are being moved off it. */
    readonly dead: boolean;
    /** How long the controller has not had it connected (absent while it is). */
    readonly downMs?: number;
    /** What it is in the metadata group's configuration. */
    readonly meta: 'voter' | 'learner' | 'none';
  }[];
  /** Partitions ('topic/partition') whose group is not at its target yet, whoever started the move (at most plannedMovesListedMax). */
  readonly moving: readonly string[];
  /** Partitions that need a move the controller has not started, waiting for a slot. */
  readonly waiting: number;
  /** Partitions that need a move the controller cannot make now, with why and what to do. */
  readonly blocked: readonly { readonly topic: string; readonly partition: number; readonly why: string }[];
  /** A rebalance that runs, if one does. */
  readonly rebalance?: { readonly maxMoves: number };
  /** Per node leaving the cluster: the step its decommission waits on. */
  readonly decommissions: readonly { readonly node: string; readonly step: string }[];
  /** Replicas of a node down this long are moved (0: never). */
  readonly nodeDeadAfterMs: number;
}

export interface RecoveryStatus {
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly sendsStarted: number;
  readonly sendsFinished: number;
  readonly sendsFailed: number;
  readonly receivesCompleted: number;
  readonly installs: number;
  readonly receivesFailed: number;
  readonly transfers: readonly { readonly group: string; readonly peer: string; readonly direction: 'sending' | 'receiving'; readonly index: number; readonly bytes: number; readonly ms: number }[];
}

export interface TransferLeadershipResponse {
  /** The partition's leader when the request finished (the target, unless the transfer timed out). */
  readonly leader: string | null;
}

/** Per partition of the request, in its order: its error, or none when its new target is committed. */
export interface ReassignPartitionsResponse {
  readonly partitions: readonly { readonly topic: string; readonly partition: number; readonly error?: ApiError }[];
}

export interface DecommissionNodeResponse {
  readonly node: string;
  readonly state: NodeLifecycle;
  /** Partitions whose target still names the node. */
  readonly partitions: number;
}

export interface AlterReplicationFactorResponse {
  readonly topic: string;
  readonly previous: number;
  readonly replicationFactor: number;
  /** Partitions whose target does not have that many replicas yet. */
  readonly partitions: number;
}

/** A move a rebalance makes (or, in a dry run, would make now): a partition's target from and to. */
export interface RebalanceMove {
  readonly topic: string;
  readonly partition: number;
  readonly from: readonly string[];
  readonly replicas: readonly string[];
  /** Only the preferred leader changes (no data moves). */
  readonly leaderOnly: boolean;
}

export interface RebalancePartitionsResponse {
  /** Every move the rebalance needs as the cluster is now, in the order they would run (at most plannedMovesListedMax). */
  readonly moves: readonly RebalanceMove[];
  /** How many it needs in all (more than `moves` lists when the plan is long). */
  readonly total: number;
  /** The rebalance was recorded and runs (false: a dry run, or nothing to do). */
  readonly started: boolean;
}

export interface AlterTopicConfigResponse {
  readonly topic: string;
  readonly previous: TopicConfig;
  readonly config: TopicConfig;
}

export interface CreatePartitionsResponse {
  readonly topic: string;
  /** The partitions it had. */
  readonly previous: number;
  readonly partitions: number;
  /** The new partitions' replicas (the first the preferred leader), from partition `previous` on. */
  readonly assignments: readonly (readonly string[])[];
}

/** The settings of a node that bear on topics (DescribeConfigsRequest's `node`). */
export interface NodeSettings {
  readonly node: string;
  /** Whether a Kafka client's Metadata request may create the topics it names (`--auto-create-topics`). */
  readonly autoCreateTopics: boolean;
  /** What a topic created without them gets: its config, partitions and replication factor (in a cluster of this many nodes). */
  readonly topicDefaults: TopicConfig;
  readonly defaultPartitions: number;
  readonly defaultReplicationFactor: number;
}

export interface DescribeConfigsResponse {
  /** Per topic of the request, in its order: its config, or why there is none. */
  readonly topics: readonly { readonly name: string; readonly error?: ApiError; readonly config?: TopicConfig }[];
  readonly node?: NodeSettings;
}

export interface CreateAclsResponse {
  /** Per binding of the request, in its order. */
  readonly results: readonly { readonly error?: ApiError }[];
}

export interface DescribeAclsResponse {
  readonly bindings: readonly AclBinding[];
}

export interface DeleteAclsResponse {
  /** Per filter of the request, in its order: the bindings it removed. */
  readonly results: readonly { readonly error?: ApiError; readonly removed: readonly AclBinding[] }[];
}

export interface ResponseMap {
  metadata: MetadataResponse;
  produce: ProduceResponse;
  fetch: FetchResponse;
  listOffsets: ListOffsetsResponse;
  createTopics: CreateTopicsResponse;
  deleteTopics: DeleteTopicsResponse;
  initProducerId: InitProducerIdResponse;
  status: StatusResponse;
  transferLeadership: TransferLeadershipResponse;
  reassignPartitions: ReassignPartitionsResponse;
  decommissionNode: DecommissionNodeResponse;
  recommissionNode: DecommissionNodeResponse;
  alterReplicationFactor: AlterReplicationFactorResponse;
  rebalancePartitions: RebalancePartitionsResponse;
  findCoordinator: { readonly coordinator: NodeRef };
  joinGroup: JoinGroupResponse;
  syncGroup: SyncGroupResponse;
  heartbeat: Record<string, never>;
  leaveGroup: Record<string, never>;
  commitOffsets: CommitOffsetsResponse;
  fetchOffsets: FetchOffsetsResponse;
  listGroups: ListGroupsResponse;
  describeGroups: DescribeGroupsResponse;
  resetOffsets: CommitOffsetsResponse;
  deleteGroups: GroupResultsResponse;
  createAcls: CreateAclsResponse;
  describeAcls: DescribeAclsResponse;
  deleteAcls: DeleteAclsResponse;
  alterQuotas: AlterQuotasResponse;
  describeQuotas: DescribeQuotasResponse;
  alterTopicConfig: AlterTopicConfigResponse;
  createPartitions: CreatePartitionsResponse;
  describeConfigs: DescribeConfigsResponse;
  saslHandshake: SaslHandshakeResponse;
  saslAuthenticate: SaslAuthenticateResponse;
  upsertUser: UpsertUserResponse;
  deleteUser: DeleteUserResponse;
  listUsers: ListUsersResponse;
}

// -------------------------------------------------------------------------------------------------
// Users and authentication (issue 22 §3). A connection authenticates with SASL, as on Kafka: a
// handshake naming the mechanism, then saslAuthenticate requests carrying the mechanism's
// messages until the node answers `done` (src/server/sasl.ts). With `--auth sasl`, a connection
// that has not authenticated gets AUTHENTICATION_REQUIRED for anything else. Users' SCRAM
// credentials are kept in the metadata (src/meta/users.ts), one per SCRAM mechanism: the client
// library derives them from the password (src/auth/credentials.ts), so a password never leaves the
// process that knows it.

/**
 * The SASL mechanisms a client may name: SCRAM-SHA-256 (RFC 7677), SCRAM-SHA-512 (RFC 5802 with
 * SHA-512), each against the user's credential of that mechanism, and PLAIN (RFC 4616: the
 * password in the clear, checked against whichever credential the user has; use it over TLS only).
 */
export const SASL_MECHANISMS: readonly string[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN'];

/**
 * A user name: 1 to 128 letters, digits, '.', '_', '-' and '@', so that its principal
 * (`User:<name>`) reads the same in ACLs, logs and Kafka's tools; never ANONYMOUS, the principal
 * of a connection that has not authenticated.
 */
export const USER_NAME = /^[A-Za-z0-9._@-]{1,128}$/;

export function userNameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'a user name must be a string';
  if (!USER_NAME.test(name)) return `user name '${name.slice(0, 200)}' must be 1 to 128 characters of letters, digits, '.', '_', '-' and '@'`;
  if (name === 'ANONYMOUS') return "'ANONYMOUS' is the principal of connections that have not authenticated; choose another user name";
  return null;
}

/** Names the mechanism of the exchange that follows. */
export interface SaslHandshakeRequest {
  readonly type: 'saslHandshake';
  readonly mechanism: string;
}

export interface SaslHandshakeResponse {
  /** The mechanisms the node offers clients. */
  readonly mechanisms: readonly string[];
}

/** One message of the mechanism (SCRAM's client-first, then client-final). */
export interface SaslAuthenticateRequest {
  readonly type: 'saslAuthenticate';
  readonly bytes: Uint8Array;
}

export interface SaslAuthenticateResponse {
  /** The node's message (SCRAM's server-first, then server-final). */
  readonly bytes: Uint8Array;
  /** The exchange is over: the connection runs as the user it proved to be. */
  readonly done: boolean;
}

/** A SCRAM credential of one mechanism (src/auth/scram.ts): what the node keeps of a password, never the password. */
export interface ScramCredentialSpec {
  readonly mechanism: ScramMechanism;
  readonly iterations: number;
  readonly salt: Uint8Array;
  /** StoredKey and ServerKey: as long as the mechanism's hash output (32 bytes for SHA-256, 64 for SHA-512). */
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

/**
 * A user's SCRAM credentials, at least one: each under the name of its mechanism, and naming it
 * (`{ 'SCRAM-SHA-256': { mechanism: 'SCRAM-SHA-256', ... }, 'SCRAM-SHA-512': { ... } }`), as Kafka
 * keeps a user's SCRAM-SHA-256 and SCRAM-SHA-512 credentials apart.
 */
export type ScramCredentials = { readonly [M in ScramMechanism]?: ScramCredentialSpec & { readonly mechanism: M } };

/**
 * Creates a user, or gives it a new password (Kafka's AlterUserScramCredentials upsertion, but
 * for every mechanism at once: the credentials given replace all the user's, so that the old
 * password works with no mechanism after); sent to the controller. The client library of the
 * version before SCRAM-SHA-512 sent one SCRAM-SHA-256 `credential` instead of `credentials`:
 * validate.ts still takes that.
 */
export interface UpsertUserRequest {
  readonly type: 'upsertUser';
  readonly name: string;
  readonly credentials: ScramCredentials;
  readonly timeoutMs: number;
}

export interface UpsertUserResponse {
  readonly name: string;
  /** The user is new (false: its credential was replaced). */
  readonly created: boolean;
}

/** Deletes a user (RESOURCE_NOT_FOUND when there is none); connections it authenticated stay as they are. */
export interface DeleteUserRequest {
  readonly type: 'deleteUser';
  readonly name: string;
  readonly timeoutMs: number;
}

export interface DeleteUserResponse {
  readonly name: string;
}

/** The users, by name: only their names and mechanisms, never a credential. */
export interface ListUsersRequest {
  readonly type: 'listUsers';
}

export interface ListUsersResponse {
  /** `mechanisms`: the SCRAM mechanisms the user has a credential of, in SCRAM_MECHANISMS's order. */
  readonly users: readonly { readonly name: string; readonly mechanisms: readonly ScramMechanism[] }[];
}
