/**
 * What each client request does on a node. Partition requests go to the partition's replica on
 * this node (which must lead it); admin requests go to the controller, group requests to the
 * group coordinator. Expected failures (ServerError, src/errors.ts) become per-partition or
 * per-topic errors with a code and, where it helps, where to go instead.
 *
 * The handlers see the node through HandlerNode, which node/node.ts's RaftlogNode satisfies: the
 * server folder does not import the node folder, the node builds the server. The Kafka listener
 * (src/kafka/) turns each Kafka request into one of these and runs it through `handle` too.
 */
import { setMaxListeners } from 'node:events';
import type { Counter } from 'prom-client';
import { assert } from '../../raft/errors.js';
import type { NodeId } from '../../raft/types.js';
import {
  DEFAULT_TOPIC_CONFIG,
  ErrorCode,
  TOPIC_PARTITIONS_DEFAULT,
  defaultReplicationFactor,
  type ApiError,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type FetchRequest,
  type FetchResponse,
  type FetchedPartition,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  type ListedOffset,
  type MetadataRequest,
  type MetadataResponse,
  type NodeRef,
  type ProduceRequest,
  type ProduceResponse,
  type ProduceResult,
  type ReassignPartitionsRequest,
  type ReassignPartitionsResponse,
  type DecommissionNodeRequest,
  type DecommissionNodeResponse,
  type RecommissionNodeRequest,
  type AlterReplicationFactorRequest,
  type AlterReplicationFactorResponse,
  type AlterTopicConfigRequest,
  type AlterTopicConfigResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type RebalancePartitionsRequest,
  type RebalancePartitionsResponse,
  type AlterQuotasRequest,
  type AlterQuotasResponse,
  type DescribeQuotasResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  type Request,
  type ResponseMap,
  type StatusResponse,
  type TopicMetadata,
  type CreateAclsRequest,
  type CreateAclsResponse,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
  type UpsertUserRequest,
  type UpsertUserResponse,
  type DeleteUserRequest,
  type DeleteUserResponse,
  type ListUsersResponse,
} from '../wire/protocol.js';
import type { RequestAuthorizer } from '../auth/node-authorizer.js';
import { admit } from './access.js';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import { partitionGroupId } from '../meta/commands.js';
import type { MetaStateMachine } from '../meta/meta-state.js';
import type { Partition } from '../partition/partition.js';
import type { GroupCoordinator } from '../groups/coordinator.js';
import type { QuotaEnforcer } from './quotas.js';
import type { Session } from './session.js';
import type { SaslServer } from './sasl.js';

/** What a request may ask of a partition replica led here. */
export type ServedPartition = Pick<Partition, 'produce' | 'transferLeadership' | 'confirmLeadership' | 'read' | 'waitForData' | 'listOffset' | 'highWatermark'> & {
  readonly log: Pick<Partition['log'], 'logStartOffset'>;
};

/** Admin requests, which the controller answers (node/controller.ts). */
export interface AdminRequests {
  createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse>;
  deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse>;
  initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResponse>;
  reassignPartitions(req: ReassignPartitionsRequest): Promise<ReassignPartitionsResponse>;
  decommissionNode(req: DecommissionNodeRequest): Promise<DecommissionNodeResponse>;
  recommissionNode(req: RecommissionNodeRequest): Promise<DecommissionNodeResponse>;
  alterReplicationFactor(req: AlterReplicationFactorRequest): Promise<AlterReplicationFactorResponse>;
  rebalancePartitions(req: RebalancePartitionsRequest): Promise<RebalancePartitionsResponse>;
  upsertUser(req: UpsertUserRequest): Promise<UpsertUserResponse>;
  deleteUser(req: DeleteUserRequest): Promise<DeleteUserResponse>;
  listUsers(): Promise<ListUsersResponse>;
  alterQuotas(req: AlterQuotasRequest): Promise<AlterQuotasResponse>;
  describeQuotas(): DescribeQuotasResponse;
  alterTopicConfig(req: AlterTopicConfigRequest): Promise<AlterTopicConfigResponse>;
  createPartitions(req: CreatePartitionsRequest): Promise<CreatePartitionsResponse>;
}

/** Consumer group requests, which the group coordinator answers (groups/coordinator.ts). */
export type GroupRequests = Pick<
  GroupCoordinator,
  'join' | 'sync' | 'heartbeat' | 'leave' | 'commit' | 'fetchOffsets' | 'listGroups' | 'describeGroups' | 'resetOffsets' | 'deleteGroups'
>;

/** ACL requests, which the controller answers (node/acl-admin.ts). */
export interface AclRequests {
  createAcls(req: CreateAclsRequest): Promise<CreateAclsResponse>;
  describeAcls(req: DescribeAclsRequest): Promise<DescribeAclsResponse>;
  deleteAcls(req: DeleteAclsRequest): Promise<DeleteAclsResponse>;
}

/** What the handlers need of the node they run on (node.ts's RaftlogNode is one). */
export interface HandlerNode {
  /** `autoCreateTopics`: whether Kafka clients' Metadata requests may create topics (src/kafka/auto-create.ts); off when absent. */
  readonly config: { readonly id: NodeId; readonly autoCreateTopics?: boolean };
  readonly logger: Logger;
  /** The topics this node knows of (once it has opened its metadata group). */
  readonly meta: Pick<MetaStateMachine, 'topic' | 'topics'>;
  /** The partition replicas on this node, by group id, and the ones that could not open, with why. */
  readonly partitions: ReadonlyMap<string, ServedPartition>;
  readonly brokenPartitions: ReadonlyMap<string, string>;
  readonly controller: AdminRequests;
  readonly coordinator: GroupRequests;
  readonly acls: AclRequests;
  /** Who may do what (src/auth/node-authorizer.ts; ALLOW_EVERYTHING with `--authorizer none`). */
  readonly authorizer: RequestAuthorizer;
  /** Authentication: the SASL exchanges, and whether a connection must authenticate first (sasl.ts). */
  readonly sasl: Pick<SaslServer, 'mode' | 'handshake' | 'authenticate' | 'requireAuthenticated' | 'closeReason' | 'notReady'>;
  readonly metrics: { readonly producedBytes: Pick<Counter, 'inc'>; readonly fetchedBytes: Pick<Counter, 'inc'> };
  /** Each principal's produce and fetch rates, measured and enforced on what this node serves (quotas.ts). */
  readonly quotas: Pick<QuotaEnforcer, 'record' | 'fetchBytesMax'>;
  nodeIds(): NodeId[];
  nodeRef(id: NodeId | null): NodeRef | undefined;
  /** Who leads `group` and in which term, as far as this node knows. */
  leaderOf(group: string): { readonly leader: NodeId | null; readonly term: number };
  controllerId(): NodeId | null;
  /** Why this node cannot answer from its metadata now, or null. */
  metadataProblem(): string | null;
  status(): StatusResponse;
}

/** What produce, fetch and list-offsets requests need of the node: its replicas, and where to send a client instead. */
export type PartitionRequestNode = Pick<HandlerNode, 'config' | 'logger' | 'meta' | 'partitions' | 'brokenPartitions' | 'metrics' | 'nodeRef' | 'leaderOf' | 'controllerId' | 'metadataProblem'>;

/**
 * A produce, fetch or list-offsets request, as `handle` answers it. Exported on its own so that
 * what stands in for a node in a test (the client tests' fake broker) serves these requests with
 * this code over real partitions, instead of a copy of their rules.
 */
export function handlePartitionRequest(node: PartitionRequestNode, req: ProduceRequest | FetchRequest | ListOffsetsRequest): Promise<ProduceResponse | FetchResponse | ListOffsetsResponse | null> {
  switch (req.type) {
    case 'produce':
      return produce(node, req);
    case 'fetch':
      return fetch(node, req);
    case 'listOffsets':
      return listOffsets(node, req);
    default: {
      const never: never = req;
      throw new Error(`not a partition request: ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Answers one request, run as `session`'s principal. On a connection that must authenticate
 * first (`--auth sasl`), only the SASL requests are served until it has; then the node's
 * authorizer checks the request (access.ts: what each request needs, and how a request of many
 * items is split), and what it allows is served. Throws a ServerError for an expected failure
 * (the caller turns it into an error reply, apiError).
 */
export async function handle(node: HandlerNode, req: Request, session: Session): Promise<ResponseMap[Request['type']] | null> {
  if (req.type !== 'saslHandshake' && req.type !== 'saslAuthenticate') node.sasl.requireAuthenticated(session);
  if (!node.authorizer.enforcing) return serve(node, req, session);
  const gate = admit(node.authorizer, session, req);
  switch (gate.kind) {
    case 'pass':
      return serve(node, req, session);
    case 'answer':
      return gate.response as ResponseMap[Request['type']] | null;
    case 'narrow':
      return gate.merge(await serve(node, gate.request, session)) as ResponseMap[Request['type']] | null;
    default: {
      const never: never = gate;
      throw new Error(`unknown gate ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Throws what `handle` would throw for `req` as `session` before serving it: AUTHENTICATION_REQUIRED,
 * or the access table's refusal. For the requests the table allows or refuses whole (status):
 * the HTTP listener asks it for `/status` and `/metrics` (http.ts), the console for its cluster
 * views, without running the request.
 */
export function admitWhole(node: Pick<HandlerNode, 'sasl' | 'authorizer'>, req: Request, session: Session): void {
  node.sasl.requireAuthenticated(session);
  if (!node.authorizer.enforcing) return;
  const gate = admit(node.authorizer, session, req);
  assert(gate.kind === 'pass', () => `admitWhole: a ${req.type} request is not one the access table allows or refuses whole (${gate.kind})`);
}

/** Serves a request allowed to run. */
async function serve(node: HandlerNode, req: Request, session: Session): Promise<ResponseMap[Request['type']] | null> {
  switch (req.type) {
    case 'saslHandshake':
      return node.sasl.handshake(session, req.mechanism);
    case 'saslAuthenticate':
      return node.sasl.authenticate(session, req.bytes);
    case 'upsertUser':
      return node.controller.upsertUser(req);
    case 'deleteUser':
      return node.controller.deleteUser(req);
    case 'listUsers':
      return node.controller.listUsers();
    case 'metadata':
      return metadata(node, req);
    case 'produce': {
      const res = await produce(node, req);
      let bytes = 0;
      for (const b of req.batches) bytes += b.records.byteLength;
      const ms = throttle(node, session, 'produce', bytes);
      return res === null || ms === 0 ? res : { ...res, throttleMs: ms };
    }
    case 'fetch': {
      const capped = node.quotas.fetchBytesMax(session.principal);
      const res = await fetch(node, capped === null || capped >= req.maxBytes ? req : { ...req, maxBytes: capped });
      let bytes = 0;
      for (const p of res.partitions) for (const b of p.batches) bytes += b.byteLength;
      const ms = throttle(node, session, 'fetch', bytes);
      return ms === 0 ? res : { ...res, throttleMs: ms };
    }
    case 'listOffsets':
      return handlePartitionRequest(node, req);
    case 'createTopics':
      return node.controller.createTopics(req);
    case 'deleteTopics':
      return node.controller.deleteTopics(req);
    case 'initProducerId':
      return node.controller.initProducerId(req);
    case 'reassignPartitions':
      return node.controller.reassignPartitions(req);
    case 'decommissionNode':
      return node.controller.decommissionNode(req);
    case 'recommissionNode':
      return node.controller.recommissionNode(req);
    case 'alterReplicationFactor':
      return node.controller.alterReplicationFactor(req);
    case 'rebalancePartitions':
      return node.controller.rebalancePartitions(req);
    case 'status':
      return node.status();
    case 'transferLeadership':
      return { leader: await partitionFor(node, req.topic, req.partition).transferLeadership(req.to, req.timeoutMs) };
    case 'findCoordinator': {
      requireMetadata(node);
      const ref = node.nodeRef(node.controllerId());
      if (ref === undefined) throw new ServerError(ErrorCode.CoordinatorNotAvailable, 'no coordinator (metadata leader) is elected yet; retry shortly');
      return { coordinator: ref };
    }
    case 'joinGroup':
      return node.coordinator.join(req);
    case 'syncGroup':
      return node.coordinator.sync(req);
    case 'heartbeat':
      return node.coordinator.heartbeat(req);
    case 'leaveGroup':
      return node.coordinator.leave(req);
    case 'commitOffsets':
      return node.coordinator.commit(req);
    case 'fetchOffsets':
      return node.coordinator.fetchOffsets(req);
    case 'listGroups':
      return node.coordinator.listGroups();
    case 'describeGroups':
      return node.coordinator.describeGroups(req.groups);
    case 'resetOffsets':
      return node.coordinator.resetOffsets(req);
    case 'deleteGroups':
      return node.coordinator.deleteGroups(req.groups);
    case 'createAcls':
      return node.acls.createAcls(req);
    case 'describeAcls':
      return node.acls.describeAcls(req);
    case 'deleteAcls':
      return node.acls.deleteAcls(req);
    case 'alterQuotas':
      return node.controller.alterQuotas(req);
    case 'describeQuotas':
      return node.controller.describeQuotas();
    case 'alterTopicConfig':
      return node.controller.alterTopicConfig(req);
    case 'createPartitions':
      return node.controller.createPartitions(req);
    case 'describeConfigs':
      return describeConfigs(node, req);
    default: {
      const never: never = req;
      throw new Error(`unhandled request ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Records what a produce or fetch of `session`'s principal moved, and when that puts it over its
 * rate, mutes the connection it came on for the throttle time, which its reply then carries
 * (quotas.ts). Only that connection waits: the node's other clients and its Raft traffic do not.
 */
function throttle(node: Pick<HandlerNode, 'quotas'>, session: Session, direction: 'produce' | 'fetch', bytes: number): number {
  const ms = node.quotas.record(session.principal, direction, bytes);
  if (ms > 0) session.mute?.(ms);
  return ms;
}

/** An error as the client sees it, with the leader's address when there is one to follow. */
export function apiError(node: Pick<HandlerNode, 'nodeRef' | 'logger'>, err: unknown): ApiError {
  if (err instanceof ServerError) {
    const leader = node.nodeRef(err.leaderHint);
    return { code: err.code, message: err.message, ...(leader !== undefined ? { leader } : {}) };
  }
  node.logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'request failed unexpectedly');
  return { code: ErrorCode.UnknownServerError, message: `the node failed to handle the request: ${err instanceof Error ? err.message : String(err)}` };
}

/** Refuses a request this node would answer from metadata it does not have (HandlerNode.metadataProblem). */
function requireMetadata(node: Pick<HandlerNode, 'config' | 'metadataProblem' | 'controllerId'>): void {
  const problem = node.metadataProblem();
  if (problem !== null) throw new ServerError(ErrorCode.LeaderNotAvailable, `node ${node.config.id} cannot answer from its metadata now: ${problem}; ask another node`, node.controllerId());
}

function metadata(node: HandlerNode, req: MetadataRequest): MetadataResponse {
  requireMetadata(node);
  const all = node.meta.topics();
  const names = req.topics ?? all.map((t) => t.name);
  const topics: TopicMetadata[] = names.map((name) => {
    const t = node.meta.topic(name);
    if (t === undefined) {
      return { name, error: { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${name}' does not exist` }, partitions: [], replicationFactor: 0, config: { retentionBytes: 0, retentionMs: 0, segmentBytes: 0, maxMessageBytes: 0 } };
    }
    return {
      name,
      replicationFactor: t.replicationFactor,
      config: t.config,
      partitions: t.assignments.map((replicas, p) => {
        const info = node.leaderOf(partitionGroupId(t.id, p));
        return { partition: p, leader: info.leader, leaderTerm: info.term, replicas };
      }),
    };
  });
  return {
    nodes: node.nodeIds().map((id) => node.nodeRef(id)!),
    controller: node.controllerId(),
    topics,
  };
}

function describeConfigs(node: HandlerNode, req: DescribeConfigsRequest): DescribeConfigsResponse {
  if (req.topics.length > 0) requireMetadata(node);
  const topics = req.topics.map((name) => {
    const t = node.meta.topic(name);
    return t === undefined ? { name, error: { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${name}' does not exist` } } : { name, config: t.config };
  });
  if (req.node !== true) return { topics };
  const { id, autoCreateTopics } = node.config;
  const settings = { node: id, autoCreateTopics: autoCreateTopics === true, topicDefaults: DEFAULT_TOPIC_CONFIG, defaultPartitions: TOPIC_PARTITIONS_DEFAULT, defaultReplicationFactor: defaultReplicationFactor(node.nodeIds().length) };
  return { topics, node: settings };
}

/** The replica of `topic/partition` on this node, or a ServerError saying where to go. */
function partitionFor(node: PartitionRequestNode, topic: string, partition: number): ServedPartition {
  const t = node.meta?.topic(topic);
  if (t === undefined) requireMetadata(node);
  if (t === undefined) throw new ServerError(ErrorCode.UnknownTopicOrPartition, `topic '${topic}' does not exist (or this node has not learned of it yet)`);
  if (partition >= t.partitions) throw new ServerError(ErrorCode.UnknownTopicOrPartition, `topic '${topic}' has ${t.partitions} partitions; there is no partition ${partition}`);
  const id = partitionGroupId(t.id, partition);
  const p = node.partitions.get(id);
  if (p === undefined) {
    const broken = node.brokenPartitions.get(id);
    if (broken !== undefined) throw new ServerError(ErrorCode.StorageError, `${topic}/${partition} cannot run on this node: ${broken}`, node.leaderOf(id).leader);
    const { leader } = node.leaderOf(id);
    throw new ServerError(ErrorCode.NotLeader, `this node holds no replica of ${topic}/${partition}${leader !== null ? `; ${leader} leads it` : ''}`, leader);
  }
  return p;
}

async function produce(node: PartitionRequestNode, req: ProduceRequest): Promise<ProduceResponse | null> {
  // Batches for one partition are proposed in request order; partitions proceed in parallel.
  const results: Promise<ProduceResult>[] = req.batches.map(async (b) => {
    try {
      const p = partitionFor(node, b.topic, b.partition);
      node.metrics.producedBytes.inc(b.records.byteLength);
      const baseOffset = await p.produce(b.records, req.acks, req.timeoutMs);
      return { topic: b.topic, partition: b.partition, baseOffset };
    } catch (err) {
      return { topic: b.topic, partition: b.partition, error: apiError(node, err) };
    }
  });
  const done = await Promise.all(results);
  return req.acks === 'none' ? null : { results: done };
}

/**
 * A fetch. Its `maxBytes` bounds the whole response and each partition's `maxBytes` that
 * partition's share, counted in whole record batches: a batch is returned only if it fits in what
 * is left of both, with two exceptions that let a consumer always progress. The first batch of the
 * response comes whatever its size (as Kafka's fetch.max.bytes), and the first batch of a partition
 * may exceed that partition's own `maxBytes` when it fits in what is left of the response's. So a
 * response holds at most `maxBytes` bytes of batches, or its first batch alone when that is larger;
 * a partition reached once nothing is left gets no batches, only its high watermark and log start.
 *
 * While fewer than `minBytes` bytes have come (and the response is not full), it waits, up to
 * `maxWaitMs`, for a partition's high watermark to pass what it last saw there, and reads again.
 */
async function fetch(node: PartitionRequestNode, req: FetchRequest): Promise<FetchResponse> {
  const deadline = Date.now() + req.maxWaitMs;
  const parts = req.partitions.map((fp) => {
    try {
      return { fp, p: partitionFor(node, fp.topic, fp.partition), error: null as ApiError | null, seen: fp.offset };
    } catch (err) {
      return { fp, p: null, error: apiError(node, err), seen: fp.offset };
    }
  });
  // A read point per partition (ReadIndex, or a commit of this leader's made after the request
  // arrived): what we answer reflects every write acknowledged before this request arrived.
  await Promise.all(
    parts.map(async (x) => {
      if (x.p === null) return;
      try {
        await x.p.confirmLeadership();
      } catch (err) {
        x.error = apiError(node, err);
      }
    }),
  );
  for (;;) {
    const out: FetchedPartition[] = [];
    let bytes = 0;
    for (const x of parts) {
      if (x.p === null || x.error !== null) {
        const error = x.error ?? { code: ErrorCode.UnknownServerError, message: 'no replica to read from' };
        out.push({ topic: x.fp.topic, partition: x.fp.partition, error, highWatermark: -1, logStartOffset: -1, batches: [] });
        continue;
      }
      try {
        // A read of 0 bytes checks the offset and reads no batch (partition.ts).
        const room = bytes === 0 ? req.maxBytes : Math.max(0, req.maxBytes - bytes);
        const r = x.p.read(x.fp.offset, Math.min(x.fp.maxBytes, room));
        const batches = withinBudget(r.batches, bytes, req.maxBytes, x.fp.maxBytes);
        for (const b of batches) bytes += b.byteLength;
        x.seen = r.highWatermark;
        out.push({ topic: x.fp.topic, partition: x.fp.partition, highWatermark: r.highWatermark, logStartOffset: r.logStartOffset, batches });
      } catch (err) {
        out.push({ topic: x.fp.topic, partition: x.fp.partition, error: apiError(node, err), highWatermark: x.p.highWatermark, logStartOffset: x.p.log.logStartOffset(), batches: [] });
      }
    }
    const anyError = out.some((o) => o.error !== undefined);
    const wait = deadline - Date.now();
    if (bytes >= Math.min(req.minBytes, req.maxBytes) || anyError || wait <= 0) {
      node.metrics.fetchedBytes.inc(bytes);
      return { partitions: out.map(stripUndefined) };
    }
    await moreData(parts, wait);
  }
}

/**
 * The leading batches of `batches` (one partition's read) that the fetch's rules let into a
 * response already holding `before` bytes (see `fetch`).
 */
function withinBudget(batches: readonly Uint8Array[], before: number, maxBytes: number, partitionMaxBytes: number): Uint8Array[] {
  const kept: Uint8Array[] = [];
  let total = before;
  let mine = 0;
  for (const b of batches) {
    const n = b.byteLength;
    const first = total === 0;
    const fits = total + n <= maxBytes && (mine === 0 || mine + n <= partitionMaxBytes);
    if (!first && !fits) break;
    kept.push(b);
    total += n;
    mine += n;
  }
  return kept;
}

/**
 * Resolves once a partition's high watermark passes what the fetch last saw there (or its leader
 * changes), or after `ms`. Every wait it starts ends with it: a long poll that wakes many times
 * leaves nothing registered behind it.
 */
async function moreData(parts: readonly { readonly p: ServedPartition | null; readonly seen: number }[], ms: number): Promise<void> {
  const stop = new AbortController();
  // One listener per partition on the one signal; not a leak.
  setMaxListeners(parts.length + 1, stop.signal);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      for (const x of parts) if (x.p !== null) void x.p.waitForData(x.seen, ms, stop.signal).then(resolve);
    });
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}

function stripUndefined(p: FetchedPartition): FetchedPartition {
  if (p.error !== undefined) return p;
  const { error: _e, ...rest } = p;
  void _e;
  return rest;
}

async function listOffsets(node: PartitionRequestNode, req: ListOffsetsRequest): Promise<ListOffsetsResponse> {
  const partitions = await Promise.all(
    req.partitions.map(async (lp): Promise<ListedOffset> => {
      try {
        const p = partitionFor(node, lp.topic, lp.partition);
        await p.confirmLeadership();
        return { topic: lp.topic, partition: lp.partition, ...p.listOffset(lp.spec) };
      } catch (err) {
        return { topic: lp.topic, partition: lp.partition, offset: -1, error: apiError(node, err) };
      }
    }),
  );
  return { partitions };
}
