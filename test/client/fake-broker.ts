/**
 * An in-process fake raftlog cluster for client tests: a few `ws` servers on 127.0.0.1 (free
 * ports) that speak the client protocol of src/wire/protocol.ts.
 *
 * Produce, fetch and list-offsets requests are served by the node's own handlers
 * (src/server/handlers.ts) over real partitions: each partition is one real Partition replica on
 * a real GroupHost (test/partition/harness.ts: the system clock, a disk in memory), the only voter
 * of its group, so sequence numbers, duplicates, offsets, acks and fetch long polls are the real
 * ones. What the fake decides is where the partitions live: which node leads each (the others
 * refuse its requests with NOT_LEADER naming it), and replication, which is instant. Faults are
 * injected per request type / node / partition:
 *
 *   cluster.inject({ type: 'produce', action: { kind: 'drop', apply: true } })  // written, no answer
 *   cluster.inject({ type: 'produce', topic: 't', partition: 0, action: { kind: 'partitionError', code: ErrorCode.NotLeader } })
 *   cluster.moveLeader('t', 0, 'n2')
 *
 * What a test does to the cluster directly (createTopic, append, truncateFront) takes effect in
 * order, and every request that arrives after the call waits until it has: a test need not await
 * them. Metadata, admin requests and producer ids are the fake's own; group requests are answered
 * by an in-memory coordinator (fake-coordinator.ts) on the controller, and other nodes answer
 * NOT_COORDINATOR naming it.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';
import { decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import {
  DEFAULT_TOPIC_CONFIG,
  ErrorCode,
  REQUEST_TYPES,
  topicNameProblem,
  type ApiError,
  type CreateTopicsRequest,
  type DeleteTopicsRequest,
  type MetadataRequest,
  type ReassignPartitionsRequest,
  type DecommissionNodeRequest,
  type RecommissionNodeRequest,
  type AlterReplicationFactorRequest,
  type AlterTopicConfigRequest,
  type CreatePartitionsRequest,
  type RebalancePartitionsRequest,
  type NodeRef,
  type Request,
  type RequestType,
  type TopicConfig,
  type TopicMetadata,
} from '../../src/wire/protocol.js';
import { FakeCoordinator } from './fake-coordinator.js';
import { EntryKind } from '../../raft/types.js';
import { ServerError } from '../../src/errors.js';
import { partitionGroupId, type TopicRecord } from '../../src/meta/commands.js';
import { reassignmentProblem } from '../../src/meta/placement.js';
import { wholePlan } from '../../src/meta/plan.js';
import { handlePartitionRequest, type PartitionRequestNode, type ServedPartition } from '../../src/server/handlers.js';
import type { Clock } from '../../src/wire/clock.js';
import { records, type DecodedRecord } from '../../src/wire/record-batch/decode.js';
import { type RecordInput, encodeBatch } from '../../src/wire/record-batch/encode.js';
import { readBatchHeader } from '../../src/wire/record-batch/header.js';
import { quiet, realTimeNode, soloTopic, type SoloPartition } from '../partition/harness.js';

export type FaultAction =
  /** The whole request fails with this error. */
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly leader?: string }
  /** The matching partition's result carries this error (leader: a node id for the hint). */
  | { readonly kind: 'partitionError'; readonly code: ErrorCode; readonly leader?: string }
  /** No answer; with apply the request takes effect first. */
  | { readonly kind: 'drop'; readonly apply: boolean }
  /** The connection closes instead of an answer; with apply the request takes effect first. */
  | { readonly kind: 'close'; readonly apply: boolean }
  | { readonly kind: 'delay'; readonly ms: number };

export interface Fault {
  readonly type?: RequestType;
  readonly node?: string;
  readonly topic?: string;
  readonly partition?: number;
  /** How many matching requests it hits (default 1). */
  times?: number;
  readonly action: FaultAction;
}

export interface RecordedRequest {
  readonly node: string;
  readonly type: RequestType;
  readonly request: Request;
}

export interface FakePartition {
  /** The node that serves the partition's requests (null: none does), and the term metadata tells. */
  leader: string | null;
  leaderTerm: number;
  replicas: string[];
  /** The replica that holds the partition's data. */
  readonly solo: SoloPartition;
  /** Told when the leader moves: a fetch waiting on the old leader answers at once. */
  readonly moved: Set<() => void>;
}

interface FakeTopic {
  readonly name: string;
  /** What the handlers see (assignments: the fake's replicas). */
  record: TopicRecord;
  readonly partitions: FakePartition[];
  readonly replicationFactor: number;
  config: TopicConfig;
  /** The topic's record as its replicas were opened with (segment bytes of 1), for new partitions. */
  readonly stored: TopicRecord;
}

/**
 * Every batch in a segment of its own: a front truncation (truncateFront) drops whole batches,
 * as retention drops whole segments. Only the replicas' logs roll so; metadata shows the topic's config.
 */
const SEGMENT_BYTES = 1;
/** How long an append waits for its commit (it is instant unless something is wrong). */
const APPEND_TIMEOUT_MS = 10_000;
/** Bytes read from a partition at a time when the test reads it whole. */
const READ_BYTES = 1024 * 1024;
const uncounted = { inc: (): void => undefined };

interface FakeNode {
  readonly id: string;
  address: string;
  server: WebSocketServer | null;
  readonly sockets: Set<WebSocket>;
}

type Frame = Request & { readonly id: number };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class FakeCluster {
  readonly nodes: FakeNode[] = [];
  readonly topics = new Map<string, FakeTopic>();
  readonly requests: RecordedRequest[] = [];
  readonly faults: Fault[] = [];
  controller: string | null = 'n1';
  /** When set, metadata names this controller instead of the real one (stale metadata). */
  reportedController: string | null | undefined = undefined;
  readonly coordinator: FakeCoordinator;
  private nextProducerId = 1000;
  private nextTopicId = 1;
  private readonly started = Date.now();
  /** The node the replicas of every partition run on. */
  private readonly store = realTimeNode({ disk: 'memory' });
  /** What the test did to the cluster directly, in order; requests wait for it. */
  private done: Promise<void> = Promise.resolve();
  /** The first of those that failed: every later request, and stop(), report it. */
  private failure: Error | null = null;
  private stopped = false;

  private constructor(coordinatorClock: Clock | undefined) {
    this.coordinator = new FakeCoordinator(coordinatorClock);
  }

  /** `clock` times the group coordinator's sessions and rebalances (default the system's). */
  static async start(opts: { nodes?: number; clock?: Clock } = {}): Promise<FakeCluster> {
    const c = new FakeCluster(opts.clock);
    for (let i = 1; i <= (opts.nodes ?? 3); i++) {
      const node: FakeNode = { id: `n${i}`, address: '', server: null, sockets: new Set() };
      c.nodes.push(node);
      await c.listen(node, 0);
    }
    return c;
  }

  get brokers(): string[] {
    return this.nodes.map((n) => n.address);
  }

  node(id: string): FakeNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  ref(id: string): NodeRef {
    return { id, address: this.node(id).address };
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault, times: fault.times ?? 1 });
  }

  /** Fetches waiting in their long poll for records to arrive. */
  get waitingFetches(): number {
    let n = 0;
    for (const t of this.topics.values()) for (const p of t.partitions) n += p.moved.size;
    return n;
  }

  requestsOf<T extends RequestType>(type: T): (RecordedRequest & { request: Extract<Request, { type: T }> })[] {
    return this.requests.filter((r): r is RecordedRequest & { request: Extract<Request, { type: T }> } => r.type === type);
  }

  createTopic(name: string, partitions: number, replicationFactor = Math.min(3, this.nodes.length), config: Partial<TopicConfig> = {}): FakeTopic {
    const n = this.nodes.length;
    const full = { ...DEFAULT_TOPIC_CONFIG, ...config };
    const id = `${name}.${this.nextTopicId++}`;
    const stored = soloTopic(name, id, partitions, { ...full, segmentBytes: SEGMENT_BYTES }, this.store.id);
    const assignments = Array.from({ length: partitions }, (_, p) => Array.from({ length: replicationFactor }, (_, r) => this.nodes[(p + r) % n].id));
    const t: FakeTopic = {
      name,
      record: { name, id, partitions, replicationFactor, config: full, assignments },
      replicationFactor,
      config: full,
      stored,
      partitions: assignments.map((replicas, p) => {
        const solo = this.store.openReplica({ topic: stored, partition: p });
        this.later(() => solo.serving());
        return { leader: replicas[0], leaderTerm: 1, replicas, solo, moved: new Set() };
      }),
    };
    this.topics.set(name, t);
    return t;
  }

  partition(topic: string, partition: number): FakePartition {
    const p = this.topics.get(topic)?.partitions[partition];
    if (!p) throw new Error(`no partition ${topic}/${partition}`);
    return p;
  }

  /** A new leader in a new term; waiting fetches wake up to notice. */
  moveLeader(topic: string, partition: number, leader: string | null): void {
    const p = this.partition(topic, partition);
    p.leader = leader;
    p.leaderTerm++;
    for (const w of [...p.moved]) w();
  }

  /** Appends records as one batch without producer id, as if produced with acks=all (requests that arrive later see it). */
  append(topic: string, partition: number, input: readonly RecordInput[]): void {
    const p = this.partition(topic, partition);
    const batch = encodeBatch(input, { now: Date.now() });
    this.later(async () => {
      await p.solo.partition.produce(batch, 'all', APPEND_TIMEOUT_MS);
    });
  }

  /** Drops whole batches below `offset`, as retention would (requests that arrive later see it). */
  truncateFront(topic: string, partition: number, offset: number): void {
    const p = this.partition(topic, partition);
    this.later(() => {
      const log = p.solo.partition.log;
      // The first entry holding `offset` or later: every entry before it goes, segment by segment.
      let keep = log.firstIndex();
      for (; keep <= p.solo.partition.appliedIndex; keep++) {
        const [e] = log.entries(keep, keep + 1, Number.MAX_SAFE_INTEGER);
        if (e.kind !== EntryKind.Normal) continue;
        const h = readBatchHeader(e.data);
        if (h.baseOffset + h.lastOffsetDelta >= offset) break;
      }
      log.truncatePrefix(keep);
      return Promise.resolve();
    });
  }

  /** Every committed batch of a partition, in offset order (what the partition answers fetches with). */
  batches(topic: string, partition: number): Uint8Array[] {
    const replica = this.partition(topic, partition).solo.partition;
    const out: Uint8Array[] = [];
    for (let offset = replica.log.logStartOffset(); offset < replica.highWatermark; ) {
      const r = replica.read(offset, READ_BYTES);
      for (const b of r.batches) {
        const h = readBatchHeader(b);
        out.push(b);
        offset = h.baseOffset + h.lastOffsetDelta + 1;
      }
    }
    return out;
  }

  /** Every committed record of a partition, in offset order. */
  records(topic: string, partition: number): DecodedRecord[] {
    return this.batches(topic, partition).flatMap((b) => [...records(b)]);
  }

  values(topic: string, partition: number): string[] {
    return this.records(topic, partition).map((r) => Buffer.from(r.value ?? new Uint8Array()).toString());
  }

  async stopNode(id: string): Promise<void> {
    const node = this.node(id);
    for (const s of node.sockets) s.terminate();
    const server = node.server;
    node.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async startNode(id: string): Promise<void> {
    const node = this.node(id);
    await this.listen(node, Number(node.address.split(':')[1]));
  }

  /** Stops the servers and the partitions; throws what failed of the test's own calls (an append that was refused). */
  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.coordinator.close();
      for (const n of this.nodes) await this.stopNode(n.id);
      await this.done;
      await this.store.close();
    }
    if (this.failure !== null) throw this.failure;
  }

  // ---------------------------------------------------------------------------------------------

  private async listen(node: FakeNode, port: number): Promise<void> {
    const server = new WebSocketServer({ host: '127.0.0.1', port, path: '/client' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    node.server = server;
    node.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) => {
      node.sockets.add(socket);
      socket.on('close', () => node.sockets.delete(socket));
      socket.on('message', (data: RawData) => void this.onFrame(node, socket, data));
    });
  }

  /** Runs `op` after what the test asked before; requests that arrive from now on wait for it. */
  private later(op: () => Promise<void>): void {
    this.done = this.done.then(op).catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error(String(err));
    });
  }

  private takeFault(node: string, req: Request): Fault | null {
    const f = this.faults.find(
      (x) =>
        (x.times ?? 0) > 0 &&
        (x.type === undefined || x.type === req.type) &&
        (x.node === undefined || x.node === node) &&
        (x.topic === undefined || touches(req, x.topic, x.partition)),
    );
    if (!f) return null;
    f.times = (f.times ?? 1) - 1;
    return f;
  }

  private async onFrame(node: FakeNode, socket: WebSocket, data: RawData): Promise<void> {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const frame = decodeFrame(bytes) as Frame;
    const reply = (body: Record<string, unknown>): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(encodeFrame({ id: frame.id, ...body }));
    };
    if (!REQUEST_TYPES.includes(frame.type)) {
      reply({ error: { code: ErrorCode.UnsupportedRequest, message: `unknown request type ${String(frame.type)}` } });
      return;
    }
    this.requests.push({ node: node.id, type: frame.type, request: frame });
    const fault = this.takeFault(node.id, frame);
    const action = fault?.action;
    await this.done;
    if (this.failure !== null) {
      reply({ error: { code: ErrorCode.UnknownServerError, message: `the fake cluster failed: ${this.failure.message}` } });
      return;
    }
    if (action?.kind === 'delay') await sleep(action.ms);
    if (action?.kind === 'error') {
      const error: ApiError = { code: action.code, message: 'injected', ...(action.leader ? { leader: this.ref(action.leader) } : {}) };
      reply({ error });
      return;
    }
    if ((action?.kind === 'drop' || action?.kind === 'close') && !action.apply) {
      if (action.kind === 'close') socket.terminate();
      return;
    }
    const partitionFault = action?.kind === 'partitionError' && fault ? { fault, action } : null;
    const body = await this.respond(node.id, frame, partitionFault);
    if (action?.kind === 'drop') return;
    if (action?.kind === 'close') {
      socket.terminate();
      return;
    }
    if (frame.type === 'produce' && frame.acks === 'none') return;
    if ('error' in body) reply({ error: body.error });
    else reply(body);
  }

  private async respond(node: string, req: Request, pf: PartitionFault | null): Promise<Record<string, unknown>> {
    switch (req.type) {
      case 'metadata':
        return this.metadata(req);
      case 'produce':
      case 'fetch':
      case 'listOffsets':
        return { ...(await handlePartitionRequest(this.handlerNode(node, pf), req)) };
      case 'createTopics':
        return this.onController(node) ?? this.createTopics(req);
      case 'deleteTopics':
        return this.onController(node) ?? (await this.deleteTopics(req));
      case 'reassignPartitions':
        return this.onController(node) ?? this.reassignPartitions(req);
      case 'decommissionNode':
        return this.onController(node) ?? this.decommissionNode(req);
      case 'recommissionNode':
        return this.onController(node) ?? this.recommissionNode(req);
      case 'alterReplicationFactor':
        return this.onController(node) ?? this.alterReplicationFactor(req);
      case 'rebalancePartitions':
        return this.onController(node) ?? this.rebalancePartitions(req);
      case 'initProducerId':
        return this.onController(node) ?? { producerId: this.nextProducerId++, producerEpoch: 0 };
      case 'status':
        return this.status(node);
      case 'transferLeadership':
        return { error: { code: ErrorCode.UnsupportedRequest, message: 'the fake broker does not transfer leadership' } };
      case 'findCoordinator':
        return this.controller === null ? { error: { code: ErrorCode.CoordinatorNotAvailable, message: 'no controller' } } : { coordinator: this.ref(this.controller) };
      case 'joinGroup':
        return this.onCoordinator(node) ?? (await this.coordinator.join(req));
      case 'syncGroup':
        return this.onCoordinator(node) ?? (await this.coordinator.sync(req));
      case 'heartbeat':
        return this.onCoordinator(node) ?? this.coordinator.heartbeat(req);
      case 'leaveGroup':
        return this.onCoordinator(node) ?? this.coordinator.leave(req);
      case 'commitOffsets':
        return this.onCoordinator(node) ?? this.coordinator.commit(req);
      case 'fetchOffsets':
        return this.onCoordinator(node) ?? this.coordinator.fetchOffsets(req);
      case 'listGroups':
        return this.onCoordinator(node) ?? this.coordinator.listGroups();
      case 'describeGroups':
        return this.onCoordinator(node) ?? this.coordinator.describeGroups(req);
      case 'resetOffsets':
        return this.onCoordinator(node) ?? this.coordinator.resetOffsets(req);
      case 'deleteGroups':
        return this.onCoordinator(node) ?? this.coordinator.deleteGroups(req);
      case 'createAcls':
      case 'describeAcls':
      case 'deleteAcls':
        return { error: { code: ErrorCode.UnsupportedRequest, message: 'the fake broker holds no ACLs' } };
      case 'saslHandshake':
      case 'saslAuthenticate':
      case 'upsertUser':
      case 'deleteUser':
      case 'listUsers':
        return { error: { code: ErrorCode.UnsupportedRequest, message: `the fake broker has no users (${req.type})` } };
      case 'alterQuotas':
      case 'describeQuotas':
        return { error: { code: ErrorCode.UnsupportedRequest, message: 'the fake broker keeps no quotas (test/cluster/quotas.test.ts runs them on a cluster)' } };
      case 'alterTopicConfig':
        return this.onController(node) ?? this.alterTopicConfig(req);
      case 'createPartitions':
        return this.onController(node) ?? this.createPartitions(req);
      case 'describeConfigs':
        if (req.node === true) return { error: { code: ErrorCode.UnsupportedRequest, message: 'the fake broker has no node settings' } };
        return { topics: req.topics.map((name) => ({ name, ...(this.topics.has(name) ? { config: this.topics.get(name)!.config } : { error: { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${name}' does not exist` } }) })) };
      default: {
        const never: never = req;
        return { error: { code: ErrorCode.UnsupportedRequest, message: `unknown ${String(never)}` } };
      }
    }
  }

  private onController(node: string): Record<string, unknown> | null {
    if (this.controller === node) return null;
    const error: ApiError = { code: ErrorCode.NotLeader, message: `${node} is not the controller`, ...(this.controller ? { leader: this.ref(this.controller) } : {}) };
    return { error };
  }

  private onCoordinator(node: string): Record<string, unknown> | null {
    if (this.controller === node) return null;
    if (this.controller === null) return { error: { code: ErrorCode.CoordinatorNotAvailable, message: 'no coordinator is elected' } };
    const error: ApiError = { code: ErrorCode.NotCoordinator, message: `${node} is not the group coordinator`, leader: this.ref(this.controller) };
    return { error };
  }

  private metadata(req: MetadataRequest): Record<string, unknown> {
    const names = req.topics ?? [...this.topics.keys()];
    const topics: TopicMetadata[] = names.map((name) => {
      const t = this.topics.get(name);
      if (!t) return { name, error: { code: ErrorCode.UnknownTopicOrPartition, message: `no topic ${name}` }, partitions: [], replicationFactor: 0, config: DEFAULT_TOPIC_CONFIG };
      return {
        name,
        replicationFactor: t.replicationFactor,
        config: t.config,
        partitions: t.partitions.map((p, i) => ({ partition: i, leader: p.leader, leaderTerm: p.leaderTerm, replicas: p.replicas })),
      };
    });
    return { nodes: this.nodes.map((n) => ({ id: n.id, address: n.address })), controller: this.reportedController === undefined ? this.controller : this.reportedController, topics };
  }

  /** The node `node` as the handlers see it: every partition, served there only while it leads it. */
  private handlerNode(node: string, pf: PartitionFault | null): PartitionRequestNode {
    const partitions = new Map<string, ServedPartition>();
    for (const t of this.topics.values()) {
      t.partitions.forEach((p, i) => partitions.set(partitionGroupId(t.record.id, i), this.served(node, t, i, p, pf)));
    }
    const byGroup = (group: string): FakePartition | undefined => {
      for (const t of this.topics.values()) {
        const i = t.partitions.findIndex((_, k) => partitionGroupId(t.record.id, k) === group);
        if (i >= 0) return t.partitions[i];
      }
      return undefined;
    };
    return {
      config: { id: node },
      logger: quiet,
      meta: {
        topic: (name: string) => this.topics.get(name)?.record,
        topics: () => [...this.topics.values()].map((t) => t.record),
      },
      partitions,
      brokenPartitions: new Map(),
      metrics: { producedBytes: uncounted, fetchedBytes: uncounted },
      nodeRef: (id: string | null) => (id !== null && this.nodes.some((n) => n.id === id) ? this.ref(id) : undefined),
      leaderOf: (group: string) => {
        const p = byGroup(group);
        return { leader: p?.leader ?? null, term: p?.leaderTerm ?? 0 };
      },
      controllerId: () => this.controller,
      metadataProblem: () => null,
    };
  }

  /**
   * Partition `i` of `t` as node `node` serves it: the real replica where the fake says `node`
   * leads it, refused with NOT_LEADER (naming the leader) elsewhere, and with the injected error
   * where the request's fault names it.
   */
  private served(node: string, t: FakeTopic, i: number, p: FakePartition, pf: PartitionFault | null): ServedPartition {
    const real = p.solo.partition;
    const refusal = (): ServerError | null => {
      if (pf && (pf.fault.topic === undefined || (pf.fault.topic === t.name && (pf.fault.partition === undefined || pf.fault.partition === i)))) {
        return new ServerError(pf.action.code, 'injected', pf.action.leader ?? null);
      }
      if (p.leader !== node) return new ServerError(ErrorCode.NotLeader, `${node} does not lead ${t.name}/${i}${p.leader !== null ? `; ${p.leader} does` : ''}`, p.leader);
      return null;
    };
    const check = (): void => {
      const refused = refusal();
      if (refused !== null) throw refused;
    };
    const checked = <T>(run: () => Promise<T>): Promise<T> => {
      const refused = refusal();
      return refused !== null ? Promise.reject(refused) : run();
    };
    return {
      produce: (batch, acks, timeoutMs) => checked(() => real.produce(batch, acks, timeoutMs)),
      transferLeadership: (to, timeoutMs) => checked(() => real.transferLeadership(to, timeoutMs)),
      confirmLeadership: () => checked(() => real.confirmLeadership()),
      read: (offset, maxBytes) => {
        check();
        return real.read(offset, maxBytes);
      },
      listOffset: (spec) => {
        check();
        return real.listOffset(spec);
      },
      // A fetch waiting here wakes when the leader moves away, and then finds itself refused.
      waitForData: (offset, ms, signal) =>
        new Promise<void>((resolve) => {
          const done = (): void => {
            p.moved.delete(done);
            resolve();
          };
          p.moved.add(done);
          void real.waitForData(offset, ms, signal).then(done);
        }),
      get highWatermark() {
        return real.highWatermark;
      },
      log: { logStartOffset: () => real.log.logStartOffset() },
    };
  }

  private createTopics(req: CreateTopicsRequest): Record<string, unknown> {
    const topics = req.topics.map((spec) => {
      const problem = topicNameProblem(spec.name);
      if (problem) return { name: spec.name, error: { code: ErrorCode.InvalidTopic, message: problem } };
      if (this.topics.has(spec.name)) return { name: spec.name, error: { code: ErrorCode.TopicAlreadyExists, message: `topic '${spec.name}' already exists` } };
      // -1: the cluster's default, as the controller's.
      const rf = spec.replicationFactor === -1 ? Math.min(3, this.nodes.length) : spec.replicationFactor;
      if (rf > this.nodes.length) {
        return { name: spec.name, error: { code: ErrorCode.InvalidReplicationFactor, message: `replication factor ${rf} is larger than the ${this.nodes.length} nodes` } };
      }
      this.createTopic(spec.name, spec.partitions, rf, spec.config ?? {});
      return { name: spec.name };
    });
    return { topics };
  }

  /** New target replicas, checked as the controller checks them; the fake moves no leader (moveLeader does). */
  private reassignPartitions(req: ReassignPartitionsRequest): Record<string, unknown> {
    const nodes = this.nodes.map((n) => n.id);
    const partitions = req.partitions.map((r) => {
      const at = { topic: r.topic, partition: r.partition };
      const t = this.topics.get(r.topic);
      const error = reassignmentProblem(t?.record, r, nodes);
      if (t === undefined || error !== null) return { ...at, error };
      t.partitions[r.partition]!.replicas = [...r.replicas];
      t.record = { ...t.record, assignments: t.partitions.map((p) => p.replicas) };
      return at;
    });
    return { partitions };
  }

  /** Merges the change into the topic's config (what metadata shows and the handlers check). */
  private alterTopicConfig(req: AlterTopicConfigRequest): Record<string, unknown> {
    const t = this.topics.get(req.topic);
    if (t === undefined) return { error: { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${req.topic}' does not exist` } };
    const previous = t.config;
    t.config = { ...t.config, ...req.config };
    t.record = { ...t.record, config: t.config };
    return { topic: req.topic, previous, config: t.config };
  }

  /** New partitions, each a real replica led by the next node in turn, as createTopic places them. */
  private createPartitions(req: CreatePartitionsRequest): Record<string, unknown> {
    const t = this.topics.get(req.topic);
    if (t === undefined) return { error: { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${req.topic}' does not exist` } };
    const previous = t.partitions.length;
    if (req.partitions <= previous) return { error: { code: ErrorCode.InvalidPartitions, message: `topic '${req.topic}' has ${previous} partitions; it can only grow` } };
    const n = this.nodes.length;
    const assignments: string[][] = [];
    for (let p = previous; p < req.partitions; p++) {
      const replicas = Array.from({ length: t.replicationFactor }, (_, r) => this.nodes[(p + r) % n].id);
      const solo = this.store.openReplica({ topic: { ...t.stored, partitions: req.partitions }, partition: p });
      this.later(() => solo.serving());
      t.partitions.push({ leader: replicas[0], leaderTerm: 1, replicas, solo, moved: new Set() });
      assignments.push(replicas);
    }
    t.record = { ...t.record, partitions: req.partitions, assignments: t.partitions.map((x) => x.replicas) };
    return { topic: req.topic, previous, partitions: req.partitions, assignments };
  }

  /** Nodes recorded as decommissioning; the fake moves no replica. */
  readonly decommissioning = new Set<string>();

  private decommissionNode(req: DecommissionNodeRequest): Record<string, unknown> {
    if (!this.nodes.some((n) => n.id === req.node)) return { error: { code: ErrorCode.InvalidRequest, message: `'${req.node}' is not a node of this cluster` } };
    this.decommissioning.add(req.node);
    const partitions = [...this.topics.values()].reduce((k, t) => k + t.partitions.filter((p) => p.replicas.includes(req.node)).length, 0);
    return { node: req.node, state: 'decommissioning', partitions };
  }

  private recommissionNode(req: RecommissionNodeRequest): Record<string, unknown> {
    if (!this.nodes.some((n) => n.id === req.node)) return { error: { code: ErrorCode.InvalidRequest, message: `'${req.node}' is not a node of this cluster` } };
    this.decommissioning.delete(req.node);
    const partitions = [...this.topics.values()].reduce((k, t) => k + t.partitions.filter((p) => p.replicas.includes(req.node)).length, 0);
    return { node: req.node, state: 'active', partitions };
  }

  /** Records the factor; the fake moves no replica. */
  private alterReplicationFactor(req: AlterReplicationFactorRequest): Record<string, unknown> {
    const t = this.topics.get(req.topic);
    if (t === undefined) return { error: { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${req.topic}' does not exist` } };
    const previous = t.record.replicationFactor;
    t.record = { ...t.record, replicationFactor: req.replicationFactor };
    return { topic: req.topic, previous, replicationFactor: req.replicationFactor, partitions: t.partitions.filter((p) => p.replicas.length !== req.replicationFactor).length };
  }

  /** The planner's rebalance of the fake's topics (src/meta/plan.ts), every node up; the fake moves no replica. */
  private rebalancePartitions(req: RebalancePartitionsRequest): Record<string, unknown> {
    const nodes = this.nodes.map((n) => ({ id: n.id, live: true, dead: false }));
    const plan = wholePlan({ nodes, topics: [...this.topics.values()].map((t) => t.record), rebalance: true });
    const moves = plan.moves.map((m) => ({ topic: m.topic, partition: m.partition, from: m.from, replicas: m.replicas, leaderOnly: !m.data }));
    return { moves, total: moves.length, started: req.dryRun !== true && moves.length > 0 };
  }

  private async deleteTopics(req: DeleteTopicsRequest): Promise<Record<string, unknown>> {
    const topics: Record<string, unknown>[] = [];
    for (const name of req.topics) {
      const t = this.topics.get(name);
      if (t === undefined) {
        topics.push({ name, error: { code: ErrorCode.UnknownTopicOrPartition, message: `no topic ${name}` } });
        continue;
      }
      this.topics.delete(name);
      for (const p of t.partitions) await p.solo.close();
      topics.push({ name });
    }
    return { topics };
  }

  private inSyncView(ids: readonly string[]): { inSync: string[]; underReplicated: boolean } {
    const inSync = ids.filter((id) => this.node(id).server !== null);
    return { inSync, underReplicated: inSync.length < ids.length };
  }

  private status(node: string): Record<string, unknown> {
    const replicas = (ids: readonly string[], end: number): { id: string; match: number; next: number; state: string }[] =>
      ids.map((id) => ({ id, match: end, next: end + 1, state: 'replicate' }));
    const groups = [
      { group: 'meta', role: this.controller === node ? 'leader' : 'follower', term: 1, leader: this.controller, commit: 10, applied: 10, firstIndex: 1, lastIndex: 10, replicas: replicas(this.nodes.map((n) => n.id), 10) },
      ...[...this.topics.values()].flatMap((t) =>
        t.partitions
          .map((p, i) => ({ p, i, raft: p.solo.group.raft, replica: p.solo.partition }))
          .filter(({ p }) => p.replicas.includes(node))
          .map(({ p, i, raft, replica }) => ({
            group: `${t.name}/${i}`,
            role: p.leader === node ? 'leader' : 'follower',
            term: p.leaderTerm,
            leader: p.leader,
            commit: raft.committed,
            applied: raft.applied,
            firstIndex: replica.log.firstIndex(),
            lastIndex: replica.log.lastIndex(),
            replicas: p.leader === node ? replicas(p.replicas, replica.log.lastIndex()) : [],
            // A replica is in sync while its node is up: the fake replicates instantly.
            ...(p.leader === node ? this.inSyncView(p.replicas) : {}),
            highWatermark: replica.highWatermark,
            logStartOffset: replica.log.logStartOffset(),
            logEndOffset: replica.log.logEndOffset(),
          })),
      ),
    ];
    return {
      node,
      address: this.node(node).address,
      uptimeMs: Date.now() - this.started,
      peers: this.nodes.filter((n) => n.id !== node).map((n) => ({ id: n.id, address: n.address, connected: n.server !== null })),
      groups,
    };
  }
}

interface PartitionFault {
  readonly fault: Fault;
  readonly action: Extract<FaultAction, { kind: 'partitionError' }>;
}

/** Whether a request names the topic (and partition, when given). */
function touches(req: Request, topic: string, partition: number | undefined): boolean {
  const hit = (t: string, p: number): boolean => t === topic && (partition === undefined || p === partition);
  switch (req.type) {
    case 'produce':
      return req.batches.some((b) => hit(b.topic, b.partition));
    case 'fetch':
      return req.partitions.some((p) => hit(p.topic, p.partition));
    case 'listOffsets':
      return req.partitions.some((p) => hit(p.topic, p.partition));
    case 'metadata':
      return req.topics === undefined || req.topics.includes(topic);
    case 'createTopics':
      return req.topics.some((t) => t.name === topic);
    case 'deleteTopics':
    case 'describeConfigs':
      return req.topics.includes(topic);
    case 'transferLeadership':
      return req.topic === topic;
    case 'reassignPartitions':
      return req.partitions.some((p) => hit(p.topic, p.partition));
    case 'alterReplicationFactor':
    case 'alterTopicConfig':
    case 'createPartitions':
      return req.topic === topic;
    case 'commitOffsets':
    case 'resetOffsets':
      return req.offsets.some((o) => hit(o.topic, o.partition));
    case 'fetchOffsets':
      return req.partitions?.some((p) => hit(p.topic, p.partition)) ?? false;
    case 'initProducerId':
    case 'status':
    case 'decommissionNode':
    case 'recommissionNode':
    case 'rebalancePartitions':
    case 'findCoordinator':
    case 'joinGroup':
    case 'syncGroup':
    case 'heartbeat':
    case 'leaveGroup':
    case 'listGroups':
    case 'describeGroups':
    case 'deleteGroups':
    case 'createAcls':
    case 'describeAcls':
    case 'deleteAcls':
    case 'saslHandshake':
    case 'saslAuthenticate':
    case 'upsertUser':
    case 'deleteUser':
    case 'listUsers':
    case 'alterQuotas':
    case 'describeQuotas':
      return false;
    default: {
      const never: never = req;
      return never;
    }
  }
}
