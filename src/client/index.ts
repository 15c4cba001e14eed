/** The public surface of the raftlog client library. */
export { Client, type ClientOptions } from './client.js';
export type { Producer, ProducerOptions, ProducerRecord, ProducerBatchRequest } from './producer.js';
export type { Consumer } from './consumer.js';
export type { GroupConsumer } from './group-consumer.js';
export type { GroupConsumerOptions, GroupConsumerEvents, GroupRunOptions, SubscribeOptions, OffsetToCommit } from './group-consumer-types.js';
export { DEFAULT_ASSIGNORS, range, roundRobin, sticky, decodeAssignment, decodeMetadata, type Assignor, type AssignInput, type GroupAssignment, type GroupMember, type TopicPartitionList, type MemberAssignment, type MemberMetadata } from './assignors/index.js';
export type {
  ConsumerOptions,
  ConsumerEvents,
  PartitionAssignment,
  StartOffset,
  RunOptions,
  EachMessagePayload,
  EachBatchPayload,
  Batch,
  TopicPartitions,
} from './consumer-types.js';
export type { ConsumerGroupDescription, GroupOverview, GroupTopicOffsets, MemberDescription, ResetTarget } from './group-admin.js';
export type { Admin, NewTopic, CreateTopicsOptions, TopicDescription, PartitionDescription, PartitionReassignment, PartitionOffsets, ClusterDescription } from './admin.js';
export type { Message, MessageBytes, TopicMessages, RecordMetadata, ConsumedMessage } from './messages.js';
export type { ConfigEntry } from './topic-config.js';
export type { RetryOptions } from './retry.js';
export type { SaslOptions } from './sasl.js';
export type { ScramMechanism } from '../auth/scram.js';
export type { UserDescription } from './admin.js';
export type { Logger } from './logger.js';
export type { TlsOptions } from './connection.js';
export { silentLogger } from './logger.js';
export { RaftlogError, ClientErrorCode, type RaftlogErrorCode } from './errors.js';
export { ErrorCode, type Acks } from '../wire/protocol.js';
export type { AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourcePattern, ResourceType } from '../auth/acl.js';
export { QUOTA_DEFAULT_ENTITY, type QuotaAlteration, type QuotaEntry } from '../wire/protocol.js';
export type { Clock, Timer } from '../wire/clock.js';
