/**
 * The client's view of the cluster: connections by node address, and a metadata cache (nodes,
 * controller, topics with each partition's leader). Partition requests go to the partition's
 * leader, admin requests to the controller. A NOT_LEADER that names a leader is followed directly;
 * other routing errors (NOT_LEADER without a hint, no leader, unknown topic, a lost connection,
 * a replica that stopped with STORAGE_ERROR) mark the cache stale, and the next attempt refreshes
 * it first. Metadata older than `metadataMaxAgeMs` counts as stale too (Kafka's metadata.max.age.ms),
 * so a client that is never told of a change still finds it.
 */
import type { Clock } from '../wire/clock.js';
import { ErrorCode, type MetadataResponse, type NodeRef, type RequestType, type ResponseMap, type TopicConfig } from '../wire/protocol.js';
import { Connection, type RequestOf, type TlsOptions } from './connection.js';
import { ClientErrorCode, RaftlogError, fromApiError, invalidArgument, shouldRetry, toRaftlogError } from './errors.js';
import type { Logger } from './logger.js';
import { withRetry, type RetryOptions } from './retry.js';

export interface ClusterConfig {
  /** Bootstrap addresses, "host:port". */
  readonly brokers: readonly string[];
  readonly connectionTimeoutMs: number;
  /** How long a request without its own server-side timeout may take. */
  readonly requestTimeoutMs: number;
  readonly retry: Required<RetryOptions>;
  /** Metadata older than this is refreshed before it is used. */
  readonly metadataMaxAgeMs: number;
  readonly logger: Logger;
  /** Time and timers of everything the client schedules itself (src/wire/clock.ts). */
  readonly clock: Clock;
  /** Connect to every node with TLS (wss); plain ws when absent. */
  readonly tls?: TlsOptions;
}

export interface CachedPartition {
  readonly partition: number;
  leader: string | null;
  leaderTerm: number;
  replicas: readonly string[];
}

export interface CachedTopic {
  readonly name: string;
  readonly partitions: CachedPartition[];
  readonly replicationFactor: number;
  readonly config: TopicConfig;
}

/** Slack on top of a server-side timeout before the client stops waiting itself. */
const TIMEOUT_SLACK_MS_MAX = 1000;
const TIMEOUT_SLACK_MS_MIN = 50;
/** How long a request any node can answer (metadata, find coordinator) waits for one node before asking the next. */
const ANY_NODE_ATTEMPT_MS_MAX = 1500;

/** The local timeout for a request that asks the node to wait up to `serverTimeoutMs`. */
export function localTimeout(serverTimeoutMs: number): number {
  return serverTimeoutMs + Math.min(TIMEOUT_SLACK_MS_MAX, Math.max(TIMEOUT_SLACK_MS_MIN, Math.ceil(serverTimeoutMs / 10)));
}

const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

/** Checks "host:port" broker addresses. */
export function parseBrokers(brokers: readonly string[]): string[] {
  if (!Array.isArray(brokers) || brokers.length === 0) throw invalidArgument('brokers must list at least one "host:port" address');
  return brokers.map((b) => {
    const m = typeof b === 'string' ? ADDRESS.exec(b.trim()) : null;
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw invalidArgument(`broker address '${String(b)}' is not "host:port"`);
    return b.trim();
  });
}

export class Cluster {
  readonly config: ClusterConfig;
  private readonly bootstrap: string[];
  private readonly connections = new Map<string, Connection>();
  private readonly nodes = new Map<string, string>();
  private controllerId: string | null = null;
  private readonly topics = new Map<string, CachedTopic>();
  private stale = false;
  /** When the cache was last refreshed from a node (0: never). */
  private refreshedAt = 0;
  private refreshing: Promise<void> | null = null;
  /** Metadata refreshes begun so far, and the number of the last one that ended (well or not). */
  private refreshesBegun = 0;
  private lastRefreshEnded = 0;
  /** The address that last answered a metadata request: tried first next time. */
  private lastGood: string | null = null;

  constructor(config: ClusterConfig) {
    this.config = config;
    this.bootstrap = parseBrokers(config.brokers);
  }

  get logger(): Logger {
    return this.config.logger;
  }

  get clock(): Clock {
    return this.config.clock;
  }

  connection(address: string): Connection {
    let c = this.connections.get(address);
    if (!c) {
      c = new Connection({ address, connectTimeoutMs: this.config.connectionTimeoutMs, clock: this.config.clock, ...(this.config.tls !== undefined ? { tls: this.config.tls } : {}) });
      this.connections.set(address, c);
    }
    return c;
  }

  /** Sends a request to a node by address, noting a lost connection as stale metadata. */
  async request<T extends RequestType>(address: string, req: RequestOf<T>, timeoutMs = this.config.requestTimeoutMs): Promise<ResponseMap[T]> {
    try {
      return await this.connection(address).request(req, timeoutMs);
    } catch (err) {
      if (err instanceof RaftlogError && err.code === ClientErrorCode.ConnectionError) this.markStale();
      throw err;
    }
  }

  nodeAddress(id: string): string | undefined {
    return this.nodes.get(id);
  }

  knownNodes(): NodeRef[] {
    return [...this.nodes].map(([id, address]) => ({ id, address }));
  }

  get controller(): string | null {
    return this.controllerId;
  }

  markStale(): void {
    this.stale = true;
  }

  get isStale(): boolean {
    return this.stale || (this.refreshedAt > 0 && this.clock.now() - this.refreshedAt > this.config.metadataMaxAgeMs);
  }

  /**
   * A mark for "metadata as of now": `refreshedSince(mark)` is true once a refresh that began
   * after this call has ended. A producer whose batch failed for want of a leader takes a mark and
   * waits for such a refresh before retrying that partition (and only that partition).
   */
  refreshMark(): number {
    return this.refreshesBegun;
  }

  refreshedSince(mark: number): boolean {
    return this.lastRefreshEnded > mark;
  }

  /**
   * One metadata request to the first node that answers (the last good one, known nodes, then
   * the bootstrap list). Updates the cache with what it returns.
   */
  async fetchMetadata(topics?: readonly string[]): Promise<MetadataResponse> {
    const md = await this.requestAny(topics === undefined ? { type: 'metadata' } : { type: 'metadata', topics });
    this.absorb(md, topics);
    this.refreshedAt = this.clock.now();
    return md;
  }

  /**
   * A request any node can answer (metadata, findCoordinator), sent to the first node that does:
   * the last good one, known nodes, then the bootstrap list. A retriable failure moves on to the
   * next node; any other failure is thrown at once.
   */
  async requestAny<T extends RequestType>(req: RequestOf<T>): Promise<ResponseMap[T]> {
    const candidates = [...new Set([...(this.lastGood ? [this.lastGood] : []), ...this.nodes.values(), ...this.bootstrap])];
    let last: RaftlogError | null = null;
    let allUnreachable = true;
    // Any node answers these from what it knows locally: one that does not answer soon is paused,
    // overloaded or cut off, and the next one is asked instead of waiting out the request timeout.
    const attemptMs = Math.min(this.config.requestTimeoutMs, ANY_NODE_ATTEMPT_MS_MAX);
    for (const address of candidates) {
      try {
        const answer = await this.connection(address).request(req, attemptMs);
        this.lastGood = address;
        return answer;
      } catch (err) {
        if (!(err instanceof RaftlogError)) throw err;
        if (this.lastGood === address) this.lastGood = null;
        last = err;
        if (err.code !== ClientErrorCode.ConnectionError) allUnreachable = false;
        if (!shouldRetry(err)) throw err;
      }
    }
    if (allUnreachable) {
      throw new RaftlogError(ClientErrorCode.ConnectionError, `cannot reach any broker at ${candidates.join(', ')} (${last?.message ?? 'no address'})`, {
        retriable: true,
        cause: last ?? undefined,
      });
    }
    throw last ?? invalidArgument(`no broker to send a ${req.type} request to`);
  }

  /** Learns a node's address from an error's hint (NOT_LEADER / NOT_COORDINATOR). */
  learnNode(ref: NodeRef): void {
    this.nodes.set(ref.id, ref.address);
  }

  /** Re-reads metadata of the topics in the cache (one request at a time, shared by callers). */
  refresh(): Promise<void> {
    if (this.refreshing === null) {
      const number = ++this.refreshesBegun;
      this.refreshing = (async () => {
        try {
          const known = [...this.topics.keys()];
          await this.fetchMetadata(known.length > 0 ? known : undefined);
          this.stale = false;
        } finally {
          this.refreshing = null;
          this.lastRefreshEnded = number;
        }
      })();
    }
    return this.refreshing;
  }

  /** Refreshes without anyone waiting on it: resolves when it ends, failures only logged. */
  refreshInBackground(): Promise<void> {
    return this.refresh().catch((err: unknown) => this.logger.debug(`metadata refresh failed: ${toRaftlogError(err).message}`));
  }

  async refreshIfStale(): Promise<void> {
    if (this.isStale) await this.refresh();
  }

  /** Metadata with retries inside the default retry policy. */
  metadataWithRetry(topics?: readonly string[]): Promise<MetadataResponse> {
    return withRetry(() => this.fetchMetadata(topics), this.config.retry, { clock: this.clock });
  }

  /** A topic from the cache, fetched when missing or stale; throws the topic's error. */
  async topic(name: string): Promise<CachedTopic> {
    if (this.isStale && this.topics.has(name)) await this.refresh();
    const cached = this.topics.get(name);
    if (cached) return cached;
    const md = await this.fetchMetadata([name]);
    const t = md.topics.find((x) => x.name === name);
    if (t?.error) throw fromApiError(t.error, { topic: name });
    const now = this.topics.get(name);
    if (!now) throw fromApiError({ code: ErrorCode.UnknownTopicOrPartition, message: `no metadata for topic '${name}'` }, { topic: name });
    return now;
  }

  /** The cached topic, if any (no request). */
  cachedTopic(name: string): CachedTopic | undefined {
    return this.topics.get(name);
  }

  /** The address of a partition's leader per the cache; throws a retriable error when unknown. */
  leaderAddress(topic: string, partition: number): string {
    const t = this.topics.get(topic);
    const p = t?.partitions[partition];
    if (!t || !p) {
      this.markStale();
      throw fromApiError({ code: ErrorCode.UnknownTopicOrPartition, message: 'not in the metadata cache' }, { topic, partition });
    }
    const address = p.leader === null ? undefined : this.nodes.get(p.leader);
    if (address === undefined) {
      this.markStale();
      throw fromApiError({ code: ErrorCode.LeaderNotAvailable, message: p.leader === null ? 'no leader is known' : `leader ${p.leader} has no known address` }, { topic, partition });
    }
    return address;
  }

  /**
   * Learns from a partition-level failure: follow a leader hint, or mark the metadata stale so
   * that it is refreshed before the next try. True when the partition's leader is now in doubt.
   */
  notePartitionError(topic: string, partition: number, err: RaftlogError): boolean {
    if (err.leader) {
      this.nodes.set(err.leader.id, err.leader.address);
      const p = this.topics.get(topic)?.partitions[partition];
      if (p && p.leader !== err.leader.id) {
        this.logger.info(`${topic}/${partition}: leader moved to ${err.leader.id} (${err.leader.address})`);
        p.leader = err.leader.id;
      }
      return false;
    }
    switch (err.code) {
      case ErrorCode.NotLeader:
      case ErrorCode.LeaderNotAvailable:
      case ErrorCode.UnknownTopicOrPartition:
      case ErrorCode.ShuttingDown:
      case ErrorCode.StorageError:
      case ErrorCode.RequestTimedOut:
      case ClientErrorCode.ConnectionError:
      case ClientErrorCode.ProtocolError:
        this.markStale();
        return true;
      default:
        return false;
    }
  }

  /** Sends an admin request to the controller, following NOT_LEADER hints, with retries. */
  toController<T extends RequestType>(req: RequestOf<T>, timeoutMs: number, retry: Required<RetryOptions> = this.config.retry): Promise<ResponseMap[T]> {
    return withRetry(
      async () => {
        const address = await this.controllerAddress();
        try {
          return await this.connection(address).request(req, timeoutMs);
        } catch (err) {
          if (err instanceof RaftlogError) this.noteControllerError(err);
          throw err;
        }
      },
      retry,
      { clock: this.clock, onRetry: () => this.refreshIfStale() },
    );
  }

  private async controllerAddress(): Promise<string> {
    if (this.controllerId === null || this.isStale) await this.refresh();
    const address = this.controllerId === null ? undefined : this.nodes.get(this.controllerId);
    if (address === undefined) {
      this.markStale();
      throw new RaftlogError(ErrorCode.LeaderNotAvailable, 'the cluster has no controller (metadata leader) yet', { retriable: true });
    }
    return address;
  }

  private noteControllerError(err: RaftlogError): void {
    if (err.code === ErrorCode.NotLeader && err.leader) {
      this.nodes.set(err.leader.id, err.leader.address);
      this.controllerId = err.leader.id;
      return;
    }
    if (shouldRetry(err)) {
      this.controllerId = null;
      this.markStale();
    }
  }

  private absorb(md: MetadataResponse, asked: readonly string[] | undefined): void {
    for (const n of md.nodes) this.nodes.set(n.id, n.address);
    this.controllerId = md.controller;
    const seen = new Set<string>();
    for (const t of md.topics) {
      seen.add(t.name);
      if (t.error) {
        this.topics.delete(t.name);
        continue;
      }
      const old = this.topics.get(t.name);
      const partitions = t.partitions
        .map((p) => {
          const before = old?.partitions[p.partition];
          // A node with older news (a lower term) does not override what a newer one said.
          if (before && before.leaderTerm > p.leaderTerm) return before;
          return { partition: p.partition, leader: p.leader, leaderTerm: p.leaderTerm, replicas: p.replicas };
        })
        .sort((a, b) => a.partition - b.partition);
      this.topics.set(t.name, { name: t.name, partitions, replicationFactor: t.replicationFactor, config: t.config });
    }
    // A topic asked for by name that is not in the answer, or every topic missing from a full
    // listing, is gone.
    for (const name of asked ?? [...this.topics.keys()]) if (!seen.has(name)) this.topics.delete(name);
  }

  close(): void {
    for (const c of this.connections.values()) c.close();
    this.connections.clear();
  }
}
