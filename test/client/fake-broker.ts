/**
 * An in-process fake raftlog cluster for client tests: a few `ws` servers on 127.0.0.1 (free
 * ports) that speak the client protocol of src/wire/protocol.ts over one shared in-memory state.
 * "Replication" is instant: a batch appended by the leader is committed at once, so the high
 * watermark is the log end. Faults are injected per request type / node / partition:
 *
 *   cluster.inject({ type: 'produce', action: { kind: 'drop', apply: true } })  // written, no answer
 *   cluster.inject({ type: 'produce', topic: 't', partition: 0, action: { kind: 'partitionError', code: ErrorCode.NotLeader } })
 *   cluster.moveLeader('t', 0, 'n2')
 *
 * Group requests are answered by an in-memory coordinator (fake-coordinator.ts) on the controller;
 * other nodes answer NOT_COORDINATOR naming it.
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
  type FetchRequest,
  type FetchedPartition,
  type ListOffsetsRequest,
  type ListedOffset,
  type MetadataRequest,
  type NodeRef,
  type ProduceRequest,
  type ProduceResult,
  type Request,
  type RequestType,
  type TopicConfig,
  type TopicMetadata,
} from '../../src/wire/protocol.js';
import { FakeCoordinator } from './fake-coordinator.js';
import type { Clock } from '../../src/wire/clock.js';
import { records, type DecodedRecord } from '../../src/wire/record-batch/decode.js';
import { type RecordInput, encodeBatch } from '../../src/wire/record-batch/encode.js';
import { verifyBatch, writeBaseOffset } from '../../src/wire/record-batch/header.js';

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

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly bytes: Uint8Array;
}

interface ProducerState {
  nextSequence: number;
  readonly batches: Map<number, { baseOffset: number; count: number }>;
}

export interface FakePartition {
  leader: string | null;
  leaderTerm: number;
  replicas: string[];
  readonly log: StoredBatch[];
  logStart: number;
  end: number;
  readonly producers: Map<number, ProducerState>;
}

interface FakeTopic {
  readonly name: string;
  readonly partitions: FakePartition[];
  readonly replicationFactor: number;
  readonly config: TopicConfig;
}

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
  private readonly waiters = new Set<() => void>();
  private readonly started = Date.now();

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
    return this.waiters.size;
  }

  requestsOf<T extends RequestType>(type: T): (RecordedRequest & { request: Extract<Request, { type: T }> })[] {
    return this.requests.filter((r): r is RecordedRequest & { request: Extract<Request, { type: T }> } => r.type === type);
  }

  createTopic(name: string, partitions: number, replicationFactor = Math.min(3, this.nodes.length), config: Partial<TopicConfig> = {}): FakeTopic {
    const n = this.nodes.length;
    const t: FakeTopic = {
      name,
      replicationFactor,
      config: { ...DEFAULT_TOPIC_CONFIG, ...config },
      partitions: Array.from({ length: partitions }, (_, p) => {
        const replicas = Array.from({ length: replicationFactor }, (_, r) => this.nodes[(p + r) % n].id);
        return { leader: replicas[0], leaderTerm: 1, replicas, log: [], logStart: 0, end: 0, producers: new Map() };
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
    this.wakeAll();
  }

  /** Appends records directly, as if produced. */
  append(topic: string, partition: number, input: readonly RecordInput[]): number {
    const p = this.partition(topic, partition);
    const bytes = encodeBatch(input, { baseOffset: p.end, now: Date.now() });
    const base = p.end;
    p.log.push({ baseOffset: base, lastOffset: base + input.length - 1, bytes });
    p.end += input.length;
    this.wakeAll();
    return base;
  }

  /** Drops whole batches below `offset`, as retention would. */
  truncateFront(topic: string, partition: number, offset: number): void {
    const p = this.partition(topic, partition);
    while (p.log.length > 0 && p.log[0].lastOffset < offset) p.log.shift();
    p.logStart = p.log[0]?.baseOffset ?? p.end;
  }

  /** Every record of a partition, in offset order. */
  records(topic: string, partition: number): DecodedRecord[] {
    return this.partition(topic, partition).log.flatMap((b) => [...records(b.bytes)]);
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

  async stop(): Promise<void> {
    this.coordinator.close();
    for (const n of this.nodes) await this.stopNode(n.id);
    this.wakeAll();
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

  private wakeAll(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
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
        return { results: req.batches.map((b) => this.produceOne(node, b, pf)) };
      case 'fetch':
        return { partitions: await this.fetch(node, req, pf) };
      case 'listOffsets':
        return { partitions: this.listOffsets(node, req, pf) };
      case 'createTopics':
        return this.onController(node) ?? this.createTopics(req);
      case 'deleteTopics':
        return this.onController(node) ?? this.deleteTopics(req);
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

  /** The error for a partition request at `node`, or the partition. */
  private route(node: string, topic: string, partition: number, pf: PartitionFault | null): ApiError | FakePartition {
    if (pf && (pf.fault.topic === undefined || (pf.fault.topic === topic && (pf.fault.partition === undefined || pf.fault.partition === partition)))) {
      return { code: pf.action.code, message: 'injected', ...(pf.action.leader ? { leader: this.ref(pf.action.leader) } : {}) };
    }
    const p = this.topics.get(topic)?.partitions[partition];
    if (!p) return { code: ErrorCode.UnknownTopicOrPartition, message: `no partition ${topic}/${partition}` };
    if (p.leader !== node) {
      return { code: ErrorCode.NotLeader, message: `${node} does not lead ${topic}/${partition}`, ...(p.leader ? { leader: this.ref(p.leader) } : {}) };
    }
    return p;
  }

  private produceOne(node: string, b: ProduceRequest['batches'][number], pf: PartitionFault | null): ProduceResult {
    const { topic, partition } = b;
    const routed = this.route(node, topic, partition, pf);
    if (!('log' in routed)) return { topic, partition, error: routed };
    const p = routed;
    const config = this.topics.get(topic)?.config ?? DEFAULT_TOPIC_CONFIG;
    if (b.records.length > config.maxMessageBytes) {
      return { topic, partition, error: { code: ErrorCode.RecordTooLarge, message: `batch of ${b.records.length} bytes is over ${config.maxMessageBytes}` } };
    }
    let header;
    try {
      header = verifyBatch(b.records);
    } catch (err) {
      return { topic, partition, error: { code: ErrorCode.CorruptMessage, message: (err as Error).message } };
    }
    const count = header.lastOffsetDelta + 1;
    let producer: ProducerState | undefined;
    if (header.producerId >= 0) {
      producer = p.producers.get(header.producerId) ?? { nextSequence: 0, batches: new Map() };
      const dup = producer.batches.get(header.baseSequence);
      if (dup && dup.count === count) return { topic, partition, baseOffset: dup.baseOffset };
      if (header.baseSequence !== producer.nextSequence) {
        return { topic, partition, error: { code: ErrorCode.OutOfOrderSequence, message: `expected sequence ${producer.nextSequence}, got ${header.baseSequence}` } };
      }
      p.producers.set(header.producerId, producer);
    }
    const bytes = Uint8Array.from(b.records);
    const base = p.end;
    writeBaseOffset(bytes, 0, base);
    p.log.push({ baseOffset: base, lastOffset: base + count - 1, bytes });
    p.end += count;
    if (producer) {
      producer.batches.set(header.baseSequence, { baseOffset: base, count });
      producer.nextSequence = header.baseSequence + count;
    }
    this.wakeAll();
    return { topic, partition, baseOffset: base };
  }

  private async fetch(node: string, req: FetchRequest, pf: PartitionFault | null): Promise<FetchedPartition[]> {
    const deadline = Date.now() + req.maxWaitMs;
    for (;;) {
      const result = req.partitions.map((fp): FetchedPartition => {
        const routed = this.route(node, fp.topic, fp.partition, pf);
        if (!('log' in routed)) return { topic: fp.topic, partition: fp.partition, error: routed, highWatermark: -1, logStartOffset: -1, batches: [] };
        const p = routed;
        const base = { topic: fp.topic, partition: fp.partition, highWatermark: p.end, logStartOffset: p.logStart };
        if (fp.offset < p.logStart || fp.offset > p.end) {
          return { ...base, error: { code: ErrorCode.OffsetOutOfRange, message: `offset ${fp.offset} is outside ${p.logStart}..${p.end}` }, batches: [] };
        }
        const out: Uint8Array[] = [];
        let bytes = 0;
        for (const b of p.log) {
          if (b.lastOffset < fp.offset) continue;
          if (out.length > 0 && bytes + b.bytes.length > fp.maxBytes) break;
          out.push(b.bytes);
          bytes += b.bytes.length;
        }
        return { ...base, batches: out };
      });
      const ready = result.some((r) => r.error !== undefined || r.batches.length > 0);
      const left = deadline - Date.now();
      if (ready || left <= 0) return result;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  private listOffsets(node: string, req: ListOffsetsRequest, pf: PartitionFault | null): ListedOffset[] {
    return req.partitions.map((q) => {
      const routed = this.route(node, q.topic, q.partition, pf);
      if (!('log' in routed)) return { topic: q.topic, partition: q.partition, error: routed, offset: -1 };
      const p = routed;
      if (q.spec === 'earliest') return { topic: q.topic, partition: q.partition, offset: p.logStart };
      if (q.spec === 'latest') return { topic: q.topic, partition: q.partition, offset: p.end };
      const ts = q.spec.timestamp;
      const hit = p.log.flatMap((b) => [...records(b.bytes)]).find((r) => r.timestamp >= ts);
      return { topic: q.topic, partition: q.partition, offset: hit ? hit.offset : -1, ...(hit ? { timestamp: hit.timestamp } : {}) };
    });
  }

  private createTopics(req: CreateTopicsRequest): Record<string, unknown> {
    const topics = req.topics.map((spec) => {
      const problem = topicNameProblem(spec.name);
      if (problem) return { name: spec.name, error: { code: ErrorCode.InvalidTopic, message: problem } };
      if (this.topics.has(spec.name)) return { name: spec.name, error: { code: ErrorCode.TopicAlreadyExists, message: `topic '${spec.name}' already exists` } };
      if (spec.replicationFactor > this.nodes.length) {
        return { name: spec.name, error: { code: ErrorCode.InvalidReplicationFactor, message: `replication factor ${spec.replicationFactor} is larger than the ${this.nodes.length} nodes` } };
      }
      this.createTopic(spec.name, spec.partitions, spec.replicationFactor, spec.config ?? {});
      return { name: spec.name };
    });
    return { topics };
  }

  private deleteTopics(req: DeleteTopicsRequest): Record<string, unknown> {
    const topics = req.topics.map((name) => {
      if (!this.topics.delete(name)) return { name, error: { code: ErrorCode.UnknownTopicOrPartition, message: `no topic ${name}` } };
      return { name };
    });
    this.wakeAll();
    return { topics };
  }

  private status(node: string): Record<string, unknown> {
    const replicas = (ids: readonly string[], end: number): { id: string; match: number; next: number; state: string }[] =>
      ids.map((id) => ({ id, match: end, next: end + 1, state: 'replicate' }));
    const groups = [
      { group: 'meta', role: this.controller === node ? 'leader' : 'follower', term: 1, leader: this.controller, commit: 10, applied: 10, firstIndex: 1, lastIndex: 10, replicas: replicas(this.nodes.map((n) => n.id), 10) },
      ...[...this.topics.values()].flatMap((t) =>
        t.partitions
          .map((p, i) => ({ p, i }))
          .filter(({ p }) => p.replicas.includes(node))
          .map(({ p, i }) => ({
            group: `${t.name}/${i}`,
            role: p.leader === node ? 'leader' : 'follower',
            term: p.leaderTerm,
            leader: p.leader,
            commit: p.log.length,
            applied: p.log.length,
            firstIndex: 1,
            lastIndex: p.log.length,
            replicas: p.leader === node ? replicas(p.replicas, p.log.length) : [],
            highWatermark: p.end,
            logStartOffset: p.logStart,
            logEndOffset: p.end,
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
      return req.topics.includes(topic);
    case 'transferLeadership':
      return req.topic === topic;
    case 'commitOffsets':
    case 'resetOffsets':
      return req.offsets.some((o) => hit(o.topic, o.partition));
    case 'fetchOffsets':
      return req.partitions?.some((p) => hit(p.topic, p.partition)) ?? false;
    case 'initProducerId':
    case 'status':
    case 'findCoordinator':
    case 'joinGroup':
    case 'syncGroup':
    case 'heartbeat':
    case 'leaveGroup':
    case 'listGroups':
    case 'describeGroups':
    case 'deleteGroups':
      return false;
    default: {
      const never: never = req;
      return never;
    }
  }
}
