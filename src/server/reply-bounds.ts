/**
 * What a client connection reserves in its ReplyBudget (reply-budget.ts) before it serves a
 * request: a bound on the bytes of the reply, for every request type. Without one, a request
 * whose reply the budget does not know in advance (every one but a fetch, before) was admitted
 * at once, however many were in flight: 1,024 metadata requests read in one go, none of their
 * replies read, each made its reply of every topic before the first was counted.
 *
 * A bound comes from the request (so many entries, each of a named size besides the names it
 * repeats), from LIMITS (a rebalance lists at most plannedMovesListedMax moves), or, where the
 * node's state decides the size (metadata of every topic, status), from that state as it is now.
 * Replies whose size only the group coordinator's state decides (a join's member list, a group's
 * description, the list of groups, every committed offset) reserve a named estimate instead. A
 * reply larger than its reservation is still counted, in full, once it is handed to the socket
 * (Reservation.handed): what a bound under the truth costs is the difference, for the replies
 * in flight at once.
 *
 * Sizes are of the msgpack replies (field names included); the Kafka listener's replies encode
 * the same answers more tightly (src/kafka/reply-bytes.ts uses these where they apply).
 */
import type { NodeId } from '../../raft/types.js';
import { LIMITS, type Request } from '../wire/protocol.js';
import type { HandlerNode } from './handlers.js';

/** What the bounds read of the node's state. */
export type ReplyBoundNode = Pick<HandlerNode, 'config' | 'meta' | 'partitions' | 'brokenPartitions' | 'nodeIds' | 'nodeRef' | 'controllerId'>;

/**
 * Bytes of a reply's envelope with an error in it: the request id, the error's code and message
 * (messages name what failed, a topic of up to 249 characters, and what to do) and the node to
 * go to instead. Every reply may be an error reply, so every bound is at least this.
 */
export const REPLY_ERROR_BYTES = 768;
/**
 * Bytes of one entry of a reply that lists partitions or topics (a produce result, a listed
 * offset, a topic created), besides the topic name it repeats: its field names and numbers
 * (under 100), and an error in it (as REPLY_ERROR_BYTES, less the envelope, and naming the topic
 * again: counted with the name).
 */
export const REPLY_ENTRY_BYTES = 640;
/** Bytes of one topic of a metadata reply, besides its name and partitions: its fields and config with their names (about 200), or an error. */
export const METADATA_TOPIC_BYTES = 640;
/** Bytes of one partition of a metadata reply, besides its node ids: partition, leader, leaderTerm and replicas with their names. */
export const METADATA_PARTITION_BYTES = 64;
/** Bytes of one node ref (`{ id, address }`), besides its id and address. */
export const NODE_REF_BYTES = 24;
/** Bytes of one Raft group of a status reply: its numbers, replicas (a few fields each), configuration and move, with their names. */
export const STATUS_GROUP_BYTES = 1024;
/** Bytes of a status reply besides its groups and peers: the node, its folder, catch-up counts and transfers. */
export const STATUS_BASE_BYTES = 8 * 1024;
/** Bytes of the controller's part of a status reply (its moves are listed up to plannedMovesListedMax; most are a few lines). */
export const STATUS_CONTROLLER_BYTES = 64 * 1024;
/** Bytes of one move a rebalance lists: a topic name, two replica lists and a flag. */
export const REBALANCE_MOVE_BYTES = 512;
/** Estimate: the members of one group whose metadata a join's leader receives, or a description lists. */
export const GROUP_MEMBERS_ESTIMATE = 64;
/** Bytes of one member of a group description or a join's member list besides its metadata: its ids and field names. */
export const GROUP_MEMBER_BYTES = 640;
/** Estimate: bytes of each member's metadata and assignment in a group's description. */
export const GROUP_MEMBER_DATA_ESTIMATE = 1024;
/** Estimate: bytes of a list of every group (a few thousand groups of under a hundred bytes). */
export const LIST_GROUPS_BYTES_ESTIMATE = 256 * 1024;
/** Estimate: bytes of every quota the metadata holds (a few thousand entities of a user name and two rates). */
export const DESCRIBE_QUOTAS_BYTES_ESTIMATE = 256 * 1024;
/** Estimate: bytes of the ACL bindings a describeAcls lists, or a deleteAcls removes (a few thousand bindings of a principal, a resource name and four words). */
export const ACL_BINDINGS_BYTES_ESTIMATE = 512 * 1024;
/** Estimate: bytes of the list of users (a few thousand names, each with its one or two mechanisms). */
export const LIST_USERS_BYTES_ESTIMATE = 256 * 1024;
/** Estimate: bytes of every offset a group committed, asked for without naming partitions (a few thousand partitions). */
export const ALL_OFFSETS_BYTES_ESTIMATE = 256 * 1024;

/** The most the reply to `req` may hold, as the connection reserves it before serving `req` (see above). */
export function replyBytesBound(node: ReplyBoundNode, req: Request): number {
  return REPLY_ERROR_BYTES + replyBodyBytes(node, req);
}

function replyBodyBytes(node: ReplyBoundNode, req: Request): number {
  switch (req.type) {
    case 'fetch': {
      let partitions = 0;
      for (const p of req.partitions) partitions += p.maxBytes;
      return Math.min(req.maxBytes, partitions) + entries(req.partitions);
    }
    case 'metadata':
      return metadataReplyBytes(node, req.topics);
    case 'status':
      return statusReplyBytes(node);
    case 'produce':
      return entries(req.batches);
    case 'listOffsets':
      return entries(req.partitions);
    case 'createTopics':
      return entries(req.topics.map((t) => ({ topic: t.name })));
    case 'deleteTopics':
      return entries(req.topics.map((topic) => ({ topic })));
    case 'reassignPartitions':
      return entries(req.partitions);
    case 'commitOffsets':
    case 'resetOffsets':
      return entries(req.offsets);
    case 'fetchOffsets':
      // Committed offsets carry their metadata strings, of up to offsetMetadataLengthMax each: an estimate (most are empty).
      return req.partitions !== undefined ? entries(req.partitions) : ALL_OFFSETS_BYTES_ESTIMATE;
    case 'deleteGroups':
      return entries(req.groups.map((topic) => ({ topic })));
    case 'describeGroups':
      return describeGroupsReplyBytes(req.groups.length);
    case 'listGroups':
      return LIST_GROUPS_BYTES_ESTIMATE;
    case 'joinGroup':
      return joinReplyBytes(req.protocols.map((p) => p.metadata.byteLength));
    case 'syncGroup':
      // The member's assignment: at most groupMetadataBytesMax (validate.ts refuses more from the leader).
      return LIMITS.groupMetadataBytesMax;
    case 'rebalancePartitions':
      return LIMITS.plannedMovesListedMax * REBALANCE_MOVE_BYTES;
    case 'alterQuotas':
      return entries(req.entries.map((e) => ({ topic: e.entity })));
    case 'describeQuotas':
      return DESCRIBE_QUOTAS_BYTES_ESTIMATE;
    case 'saslAuthenticate':
      // The server's SCRAM message, of at most saslMessageBytesMax.
      return LIMITS.saslMessageBytesMax;
    case 'listUsers':
      return LIST_USERS_BYTES_ESTIMATE;
    case 'createAcls':
      // One result per binding, an error at most.
      return entries(req.bindings.map(() => ({ topic: '' })));
    case 'describeAcls':
    case 'deleteAcls':
      return ACL_BINDINGS_BYTES_ESTIMATE;
    case 'alterTopicConfig':
      // The topic's config before and after: two records of four numbers with their names.
      return REPLY_ENTRY_BYTES + 2 * req.topic.length;
    case 'createPartitions':
      return REPLY_ENTRY_BYTES + 2 * req.topic.length + newPartitionsBytes(node, req.topic, req.partitions);
    case 'describeConfigs':
      // Per topic its config (four numbers with their names) or an error; the node's settings a record like one more.
      return entries(req.topics.map((topic) => ({ topic }))) + (req.node === true ? REPLY_ENTRY_BYTES : 0);
    case 'initProducerId':
    case 'transferLeadership':
    case 'decommissionNode':
    case 'recommissionNode':
    case 'alterReplicationFactor':
    case 'findCoordinator':
    case 'heartbeat':
    case 'leaveGroup':
    case 'saslHandshake':
    case 'upsertUser':
    case 'deleteUser':
      // One small record (a node ref, the mechanisms served, whether a user is new): within the envelope's room.
      return 0;
    default: {
      const never: never = req;
      throw new Error(`no reply bound for ${JSON.stringify(never)}`);
    }
  }
}

/** Bytes of a reply's entries, one per item, each naming its topic (or group) twice. */
function entries(items: readonly { readonly topic: string }[]): number {
  let n = 0;
  for (const x of items) n += REPLY_ENTRY_BYTES + 2 * x.topic.length;
  return n;
}

/** An estimate of a description of `groups` groups (GROUP_MEMBERS_ESTIMATE members each). */
export function describeGroupsReplyBytes(groups: number): number {
  return groups * (REPLY_ENTRY_BYTES + GROUP_MEMBERS_ESTIMATE * (GROUP_MEMBER_BYTES + 2 * GROUP_MEMBER_DATA_ESTIMATE));
}

/** An estimate of a join's answer, for a member offering protocols of metadata of these sizes: the leader's lists every member's metadata, each of the kind this member sends. */
export function joinReplyBytes(protocolMetadataBytes: readonly number[]): number {
  return GROUP_MEMBERS_ESTIMATE * (GROUP_MEMBER_BYTES + Math.max(0, ...protocolMetadataBytes));
}

/** The most a metadata reply of `topics` (every topic when absent) holds, as the node's metadata is now. */
export function metadataReplyBytes(node: ReplyBoundNode, topics: readonly string[] | undefined | null): number {
  const ids = node.nodeIds();
  let idMax = 0;
  let n = 0;
  for (const id of ids) {
    idMax = Math.max(idMax, id.length);
    n += nodeRefBytes(node, id);
  }
  const topic = (name: string, partitions: number, replicas: number): number => METADATA_TOPIC_BYTES + 2 * name.length + partitions * (METADATA_PARTITION_BYTES + (replicas + 1) * (idMax + 2));
  // Absent until the node has opened its metadata group (node.ts): the reply is then an error.
  const meta = node.meta as ReplyBoundNode['meta'] | undefined;
  if (meta === undefined) return n;
  if (topics === undefined || topics === null) {
    for (const t of meta.topics()) n += topic(t.name, t.partitions, t.replicationFactor);
    return n;
  }
  for (const name of topics) {
    const t = meta.topic(name);
    n += t === undefined ? topic(name, 0, 0) : topic(name, t.partitions, t.replicationFactor);
  }
  return n;
}

/** Bytes of the replica lists of the partitions a topic grows by to `partitions`, as its metadata is now. */
function newPartitionsBytes(node: ReplyBoundNode, topic: string, partitions: number): number {
  const meta = node.meta as ReplyBoundNode['meta'] | undefined;
  const t = meta?.topic(topic);
  if (t === undefined) return 0;
  return Math.max(0, partitions - t.partitions) * (8 + t.replicationFactor * (longestNodeId(node) + 2));
}

function longestNodeId(node: ReplyBoundNode): number {
  let n = 0;
  for (const id of node.nodeIds()) n = Math.max(n, id.length);
  return n;
}

/** The most a status reply holds, as the node is now. */
export function statusReplyBytes(node: ReplyBoundNode): number {
  const groups = node.partitions.size + node.brokenPartitions.size + 1;
  let peers = 0;
  for (const id of node.nodeIds()) peers += nodeRefBytes(node, id) + 16;
  return STATUS_BASE_BYTES + groups * STATUS_GROUP_BYTES + peers + (node.controllerId() === node.config.id ? STATUS_CONTROLLER_BYTES : 0);
}

function nodeRefBytes(node: ReplyBoundNode, id: NodeId): number {
  return NODE_REF_BYTES + id.length + (node.nodeRef(id)?.address.length ?? 0);
}
