/**
 * A raftlog node: one process hosting the metadata group (or following it as a learner) and the
 * partition groups placed on it, serving peers on `/raft` and clients on `/client`, plus
 * `/status` and `/metrics` over HTTP, on one listener or on one each (`--client-listen`,
 * `--http-listen`: src/node/listeners.ts), with TLS or not (src/server/tls.ts); with `--kafka`,
 * Kafka clients too, on a listener of their own (src/kafka/listener.ts) that runs the same requests.
 *
 * Start-up: lock the data folder, open the metadata group (its log, hard state and LevelDB
 * state), open every partition the metadata places here, listen, connect to peers, tick.
 * A produce request's path: server/client-server.ts → server/handlers.ts → partition/partition.ts
 * (propose) → the group host (persist, sync, send) → followers → commit → partition.ts (apply,
 * answer). The server sees this node through the interfaces it declares (HttpNode, HandlerNode).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { UnsafeMutations } from '../../raft/config.js';
import { seededRandom } from '../../raft/random.js';
import { RaftError } from '../../raft/errors.js';
import type { Membership, MembershipChange } from '../../raft/membership.js';
import { Role, type NodeId, type PeerStatus } from '../../raft/types.js';
import { systemClock, type Clock } from '../../storage/clock.js';
import { CorruptLogError } from '../../storage/errors.js';
import { DiskAccounting } from '../../storage/disk-accounting.js';
import { nodeFileSystem, type FileSystem } from '../../storage/file-system.js';
import { SegmentFiles } from '../../storage/segment-files.js';
import { StateStore } from '../../storage/state-store.js';
import { TailCacheBudget } from '../../storage/tail-cache.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import type { GroupStatus, NodeRef, StatusResponse } from '../wire/protocol.js';
import { GroupHost, type DurabilityPolicy, type SyncMode } from '../host/group-host.js';
import { LogRecovery } from '../host/log-recovery.js';
import type { RaftGroup } from '../host/raft-group.js';
import { createLogger, type LogLevel, type Logger } from '../log.js';
import { partitionGroupId, type ClusterRecord, type TopicRecord } from '../meta/commands.js';
import type { MetaStateMachine } from '../meta/meta-state.js';
import { openMetaReplica } from '../meta/replica.js';
import type { Partition, PartitionPolicy } from '../partition/partition.js';
import { atTarget, describeMove, joiningMembership, mayDeleteStray, nextMove, removedFromGroup, strayRemoved, type Move } from '../partition/moves.js';
import { deletePartitionReplica, openPartitionReplica } from '../partition/replica.js';
import { HttpServer, type HttpRoute } from '../server/http.js';
import { consoleRoutes } from '../console/routes.js';
import { MetricSamples } from '../console/samples.js';
import { nodeDialTls, type DialTls, type NodeTls } from '../server/tls.js';
import { httpServers, listenersOf, type ClientListener, type NodeListeners, type PeerClientListeners } from './listeners.js';
import { KafkaListener } from '../kafka/listener.js';
import { PEER_FRAME_BYTES_MAX, type PeerFrame } from '../transport/peer-frames.js';
import { PeerTransport, type PeerIdentity, type PeerNetwork, type PeerNetworkFactory } from '../transport/peer-transport.js';
import { GroupCoordinator, type OffsetCommitPolicy } from '../groups/coordinator.js';
import { Controller } from './controller.js';
import { AclAdmin } from './acl-admin.js';
import { ALLOW_EVERYTHING, NodeAuthorizer, type AuthorizerMode, type RequestAuthorizer } from '../auth/node-authorizer.js';
import { SaslServer, type AuthMode } from '../server/sasl.js';
import { HttpAuth, type HttpAuthMetrics } from '../server/http-auth.js';
import { authWarning, httpPlaintextWarning } from './auth-mode.js';
import { bootstrapUserPending, type BootstrapUser } from './bootstrap-user.js';
import { joinCluster } from './join.js';
import { handOverToPreferred } from './hand-over.js';
import { NodeStartError } from '../errors.js';
import { NODE_DEFAULTS } from './defaults.js';
import { NodeIdentity, freshStart, sameVoters, type FreshStart } from './identity.js';
import { LeaderTable, type LeaderInfo } from './leaders.js';
import { FILES_RESERVED, NODE_LIMITS, SEGMENT_FILES_MAX, limitProblems, replicaLimit, replicaLimitHint, type ReplicaLimit } from './limits.js';
import { openFilesLimit } from './open-files.js';
import { NodeMetrics } from './metrics.js';
import { NodeGauges } from './node-gauges.js';
import { IN_SYNC_SAMPLE_MS } from '../partition/in-sync.js';
import { QuotaEnforcer } from '../server/quotas.js';

export interface NodeConfig {
  readonly id: NodeId;
  /** host:port this node listens on for peers (`/raft`), and for clients and HTTP unless the next two say otherwise. */
  readonly listen: string;
  /** host:port of the client listener (`/client`), what clients are told in metadata and redirects; `listen` when absent. */
  readonly clientListen?: string;
  /** host:port of the HTTP listener (`/status`, `/metrics`, added routes); `listen` when absent. */
  readonly httpListen?: string;
  /** TLS on the listeners it names, and on the connections to other nodes' listeners of those kinds (src/server/tls.ts); none when absent. */
  readonly tls?: NodeTls;
  /**
   * The nodes this one knows of at start, itself included: id → host:port. With --peers, the nodes
   * that created the cluster (its metadata learns of others as they join); with --join, only itself.
   */
  readonly nodes: ReadonlyMap<NodeId, string>;
  /** Addresses of running nodes to join the cluster through (--join); absent for a node of --peers. */
  readonly join?: readonly string[];
  readonly dataDir: string;
  readonly secret: string;
  readonly logLevel: LogLevel;
  /** Write logs here instead of stderr. */
  readonly logFile?: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly syncMode: SyncMode;
  readonly syncIntervalMs: number;
  /** Voters of the metadata group: the first this many nodes in id order; the rest are learners. */
  readonly metaVotersMax?: number;
  /** How often retention runs over every partition (default 30 s). */
  readonly retentionCheckMs?: number;
  /** Metadata entries applied between metadata snapshots (default 10,000). */
  readonly metaSnapshotEvery?: number;
  /** Segment size of the metadata log (default 8 MiB); whole segments are dropped after a snapshot. */
  readonly metaSegmentBytes?: number;
  /** A producer id with no write for this long is forgotten (default a day, as Kafka's). */
  readonly producerIdExpirationMs?: number;
  /** The controller moves the replicas of a node it has not had connected for this long (0 or absent: never). */
  readonly nodeDeadAfterMs?: number;
  /** `--recovery-bytes-per-sec`: the node's rate for catching replicas up by files (0, the default: unlimited). */
  readonly recoveryBytesPerSec?: number;
  /** host:port of the Kafka listener (src/kafka/), also what Kafka clients are told to connect to; none when absent. */
  readonly kafka?: string;
  /** A Kafka client's Metadata request may create the topics it names (Kafka's auto.create.topics.enable; src/kafka/auto-create.ts); off when absent. */
  readonly autoCreateTopics?: boolean;
  /** `--cache-bytes`: memory for the tail caches of all the node's partitions together (default 256 MiB; storage/tail-cache.ts). */
  readonly cacheBytes?: number;
  /** `--authorizer`: check every request against the cluster's ACLs (`acl`), or not (`none`, when absent; src/auth/). */
  readonly authorizer?: AuthorizerMode;
  // Client authentication (issue 22 §3)
  /** `--auth`: whether a client connection must authenticate before anything else (src/server/sasl.ts; options.ts gives its default). */
  readonly auth: AuthMode;
  /** Principals (`User:<name>`) that may do everything whatever the ACLs say: `--super-users`, and the bootstrap user. */
  readonly superUsers: readonly string[];
  /** The user the controller creates while the cluster has none (bootstrap-user.ts). */
  readonly bootstrapUser?: BootstrapUser;
  /** `--http-auth-metrics`: whether /metrics needs a user under `--auth sasl` (src/server/http-auth.ts; default none: open). */
  readonly httpAuthMetrics?: HttpAuthMetrics;
}

/**
 * The parts of a node that whoever builds it may replace; each left out is the production one.
 * `node cluster.js` (main.ts) replaces none. The chaos entry point (chaos/node-main.ts) passes
 * policies that cheat on purpose, a transport that cuts links, and the route that controls it.
 */
export interface NodeParts {
  /** The rules every partition keeps (default STRICT_PARTITION_POLICY). */
  readonly partition?: PartitionPolicy;
  /** How the group host makes a pass durable (default SYNC_THE_LOG). */
  readonly durability?: DurabilityPolicy;
  /** What the group coordinator does with offset commits (default REPLICATE_OFFSET_COMMITS). */
  readonly offsetCommits?: OffsetCommitPolicy;
  /** Builds the transport to peers (default: a PeerTransport). */
  readonly transport?: PeerNetworkFactory;
  /** More HTTP routes on the node's HTTP listener, by path (default: none). */
  readonly routes?: ReadonlyMap<string, HttpRoute>;
  /** The disk every replica on the node runs on (default nodeFileSystem; the chaos entry point can arm fault points on it). */
  readonly fs?: FileSystem;
  /** The Raft core of every group on the node broken in a named way (default none; chaos mutants only). */
  readonly unsafeMutations?: UnsafeMutations;
  /** The process's limit on open files (default: read from the system, open-files.ts; null: not known, nothing refused). */
  readonly openFilesLimit?: () => number | null;
}

const GOSSIP_MS = 1000;
/** How often `/status` walks the data folder again for its size. */
const DISK_USAGE_EVERY_MS = 5_000;
/** How often a partition leader takes the next step toward its partition's target replicas (src/partition/moves.ts). */
const MOVES_EVERY_MS = 200;
/** How often a replica moved off this node asks its group's leader whether it is still a member. */
const STRAY_ASK_MS = 2000;
/** How often a new folder waiting to hear from its peers says so. */
const FRESH_NOTE_MS = 5000;
/**
 * Recent entries one partition keeps in memory for replication, applying and tail reads, at most:
 * 8 MiB covers several hundred milliseconds of a busy partition, and older reads come from the
 * page cache. Its ring grows to this only while the partition is busy and its share of the node's
 * --cache-bytes allows (storage/tail-cache.ts), so the node's total does not grow with its partitions.
 */
const PARTITION_TAIL_CACHE_BYTES = 8 * 1024 * 1024;
/** A partition with no append for this long frees its tail cache's ring (its readers go to the page cache). */
const TAIL_CACHE_IDLE_MS = 30_000;
/** How often the rings of partitions gone idle are freed. */
const TAIL_CACHE_RELEASE_EVERY_MS = 10_000;
/**
 * Replicas are opened for at most this long in one turn of the event loop, the rest in the turns
 * after: creating one takes a few fsyncs, so a topic of hundreds of partitions opened at once held
 * the loop for seconds, past every group's election timeout (the metadata group's too).
 */
const OPEN_REPLICAS_MS_MAX = 20;

export class RaftlogNode {
  readonly logger: Logger;
  readonly host: GroupHost;
  /** Streams partition logs to replicas far behind, and takes them in (catch-up by files). */
  readonly recovery: LogRecovery;
  readonly transport: PeerNetwork;
  readonly leaders = new LeaderTable();
  readonly partitions = new Map<string, Partition>();
  readonly metrics: NodeMetrics;
  /** What the metrics' gauges read of this node, and the in-sync sampling of the partitions it leads. */
  private readonly gauges: NodeGauges;
  /** The recent counters the web console charts (src/console/samples.ts). */
  readonly samples: MetricSamples;
  /** Client quotas, enforced on what this node serves (src/server/quotas.ts), at the rates the metadata holds. */
  readonly quotas: QuotaEnforcer;
  readonly controller: Controller;
  readonly coordinator: GroupCoordinator;
  /** Who may do what (`--authorizer`, src/auth/node-authorizer.ts). */
  readonly authorizer: RequestAuthorizer;
  /** The controller's ACL requests (acl-admin.ts). */
  readonly acls: AclAdmin;
  /** Client authentication on both listeners (src/server/sasl.ts). */
  readonly sasl: SaslServer;
  /** Who HTTP requests are: HTTP Basic and the console's sessions under `--auth sasl` (src/server/http-auth.ts). */
  readonly httpAuth: HttpAuth;
  meta!: MetaStateMachine;
  private metaGroup!: RaftGroup;
  private store!: StateStore;
  private ledger!: SyncLedger;
  identity!: NodeIdentity;
  /** What each peer said of itself when it last connected: its cluster ('' for none) and folder incarnation. */
  readonly peerIdentities = new Map<NodeId, PeerIdentity>();
  /** The listeners of peers, clients and HTTP: one server per address (listeners.ts httpServers). */
  private servers: HttpServer[] = [];
  private kafka: KafkaListener | null = null;
  /** Where this node listens, each use at its address. */
  readonly listeners: NodeListeners;
  /**
   * Each peer's client listener, as its gossip says (peer-frames.ts `leaders`, as its Kafka
   * listener): where clients are sent for it. Kept while it is down; a peer that never said is
   * taken to serve clients at its peer address, as a node does unless given --client-listen.
   */
  private readonly peerClients: PeerClientListeners = new Map();
  /** Each peer's Kafka listener, as its gossip says (peer-frames.ts `leaders`); forgotten while it is down. */
  private readonly peerKafka = new Map<NodeId, string>();
  /** The disk and the clock every replica on this node runs on (storage/file-system.ts, storage/clock.ts). */
  private readonly fs: FileSystem;
  /** What the node writes to that disk and syncs, by kind of file (storage/disk-accounting.ts; /metrics). */
  private readonly diskAccounting: DiskAccounting;
  private readonly clock: Clock = systemClock;
  private timers: NodeJS.Timeout[] = [];
  private readonly startedAt = Date.now();
  private stopping = false;
  private readonly random: () => number;
  /**
   * Resolves, with what to tell the operator, once a peer has told this node that the cluster
   * decommissioned it (its folder is marked, identity.ts). The launcher stops the node then: it
   * holds no replica, and its metadata is no longer kept up to date.
   */
  readonly retired: Promise<string>;
  private tellRetired!: (why: string) => void;
  /** The bytes every partition's tail cache shares (--cache-bytes). */
  readonly cacheBudget: TailCacheBudget;
  /** Sealed segment files open at once, all logs together. */
  private readonly segmentFiles: SegmentFiles;
  /** The open-files limit this node runs under and the replicas it leaves room for; null when not known. */
  readonly replicaLimit: ReplicaLimit | null;

  constructor(
    readonly config: NodeConfig,
    private readonly parts: NodeParts = {},
  ) {
    this.logger = createLogger(config.id, config.logLevel, config.logFile);
    this.diskAccounting = new DiskAccounting(parts.fs ?? nodeFileSystem);
    this.fs = this.diskAccounting.fs;
    this.cacheBudget = new TailCacheBudget(config.cacheBytes ?? NODE_DEFAULTS.cacheBytes);
    this.segmentFiles = new SegmentFiles(this.fs, SEGMENT_FILES_MAX);
    this.replicaLimit = replicaLimit((parts.openFilesLimit ?? openFilesLimit)());
    this.random = seededRandom(hashString(config.id) ^ (Date.now() & 0x7fffffff));
    this.listeners = listenersOf(config);
    this.retired = new Promise((resolve) => (this.tellRetired = resolve));
    const transport = parts.transport ?? ((o) => new PeerTransport(o));
    this.transport = transport({
      self: config.id,
      nodes: config.nodes,
      secret: config.secret,
      logger: this.logger,
      frameBytesMax: PEER_FRAME_BYTES_MAX,
      sendBufferBytesMax: 256 * 1024 * 1024,
      // Peer TLS is mutual (server/tls.ts): both ways, every connection this transport dials or
      // accepts is then TLS with a CA-signed certificate (server/http.ts refuses a /raft upgrade
      // without one), and the cluster's nodes run the same --tls. TLS then authenticates every
      // byte, and the frames carry no MACs of their own (peer-frames.ts); otherwise they do.
      frameMac: this.dialTls('peer') === undefined,
      ...(this.dialTls('peer') !== undefined ? { tls: this.dialTls('peer')! } : {}),
      onFrame: (from, frame) => this.onPeerFrame(from, frame),
      identity: () => this.identity?.peerIdentity(this.metaHasEntries()) ?? { cluster: '', inc: '', member: false },
      onPeerIdentity: (peer, id) => this.onPeerIdentity(peer, id),
      onJoin: (req) => this.controller.admitJoin(req),
      onPeerUp: (peer) => {
        this.host.peerUp(peer);
        this.gossip();
        // What this node knows of the cluster's nodes, for a peer that knows less (one whose
        // folder is new knows only --peers until its metadata replica catches up).
        this.transport.send(peer, { t: 'nodes', nodes: [...this.peerAddresses()] });
      },
      onPeerDown: (peer) => {
        this.leaders.forget(peer);
        this.peerKafka.delete(peer);
        this.host.peerDown(peer);
      },
    });
    this.host = new GroupHost({
      clock: this.clock,
      tickMs: config.tickMs,
      syncMode: config.syncMode,
      syncIntervalMs: config.syncIntervalMs,
      durability: parts.durability,
      logger: this.logger,
      send: (group, m) => this.transport.sendRaft(group, m),
      onSyncRound: (ms) => this.metrics.logSyncSeconds.observe(ms / 1000),
      onLeadershipChange: (groups) => {
        for (const g of groups) {
          const { role, lead, term } = g.raft;
          if (role === Role.Leader) this.metrics.leaderElections.inc({ group: g.id });
          this.logger.info({ group: g.id, role, leader: lead, term }, role === Role.Leader ? `leading ${g.id} in term ${term}` : `${g.id}: ${role} in term ${term}, leader ${lead ?? 'not known'}`);
        }
        this.gossip();
      },
    });
    this.recovery = new LogRecovery({
      self: config.id,
      host: this.host,
      fs: this.fs,
      clock: this.clock,
      send: (to, m) => this.transport.send(to, { t: 'recovery', m }),
      bytesPerSec: config.recoveryBytesPerSec ?? NODE_DEFAULTS.recoveryBytesPerSec,
      logger: this.logger,
    });
    this.host.recovery = this.recovery;
    this.gauges = this.nodeGauges();
    this.metrics = new NodeMetrics(config.id, this.host, this.recovery, this.cacheBudget, this.gauges, this.diskAccounting.byKind);
    this.samples = new MetricSamples(this);
    this.controller = new Controller(this);
    const node = this;
    this.authorizer =
      (config.authorizer ?? 'none') === 'acl'
        ? new NodeAuthorizer({ superUsers: config.superUsers ?? [], source: () => node.meta as MetaStateMachine | undefined, logger: this.logger, denials: this.metrics.authorizationDenials })
        : ALLOW_EVERYTHING;
    this.acls = new AclAdmin({
      get meta() {
        return node.meta;
      },
      logger: this.logger,
      isController: () => this.isController(),
      controllerId: () => this.controllerId(),
    });
    this.sasl = new SaslServer({ mode: config.auth, self: config.id, secret: config.secret, logger: this.logger, users: () => node.meta, loginProblem: () => this.loginProblem() });
    this.httpAuth = new HttpAuth({
      mode: config.auth,
      metrics: config.httpAuthMetrics ?? 'none',
      node: config.id,
      passwords: this.sasl,
      logger: this.logger,
      failures: this.metrics.httpLoginFailures,
      plaintextWarning: httpPlaintextWarning(config.auth, this.listeners.http, config.tls?.listeners.has('http') === true),
    });
    this.quotas = new QuotaEnforcer(
      // No rate holds until the metadata is open.
      { quota: (entity) => (node.meta as MetaStateMachine | undefined)?.quota(entity) },
      () => performance.now(),
      { bytes: this.metrics.quotaBytes, throttleSeconds: this.metrics.quotaThrottleSeconds, throttled: this.metrics.quotaThrottled },
    );
    this.coordinator = new GroupCoordinator(
      {
        get meta() {
          return node.meta;
        },
        logger: this.logger,
        clock: this.clock,
        isController: () => this.isController(),
        controllerId: () => this.controllerId(),
      },
      parts.offsetCommits,
    );
  }

  // -----------------------------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    const c = this.config;
    const problems = limitProblems(NODE_LIMITS);
    if (problems.length > 0) throw new NodeStartError(`this build's size limits do not fit together: ${problems.join('; ')}. Fix the constants named in src/node/limits.ts`);
    const limit = this.replicaLimit;
    if (limit !== null && limit.openFiles < FILES_RESERVED) {
      throw new NodeStartError(`ulimit -n ${limit.openFiles} is too low to run a node, which keeps ${FILES_RESERVED} files for connections and its own use before any partition: raise ulimit -n (to several thousand for a node with many partitions)`);
    }
    this.prepareDataDir();
    this.identity = NodeIdentity.open(c.dataDir, c.id, c.join !== undefined ? null : this.foundingVoters());
    this.ledger = SyncLedger.open(c.dataDir, this.fs, this.clock);
    // A folder of a node that ran before opens its metadata at once. A new one listens first, to
    // ask its peers whether it is rejoining (identity.ts), or to join the cluster (join.ts); until
    // it knows, it serves only /status.
    if (!this.identity.fresh) {
      await this.openMeta('voter');
      this.checkReplicaLimit();
    }
    // The web console (src/console/) on the HTTP listener, beside the routes of whoever built the node.
    const routes = new Map([...consoleRoutes(this, this.samples), ...(this.parts.routes ?? [])]);
    for (const [address, uses] of httpServers(this.listeners)) {
      const tls = c.tls !== undefined && [...uses].some((u) => c.tls!.listeners.has(u)) ? { tls: { pem: c.tls.pem, clientAuth: c.tls.clientAuth } } : {};
      const server = new HttpServer(this, uses.has('http') ? routes : undefined, undefined, { uses, ...tls, ...(uses.has('http') ? { auth: this.httpAuth } : {}) });
      this.servers.push(server);
      await server.listen(address);
    }
    this.host.start();
    this.transport.start();
    // A node started with --join asks until its metadata replica holds entries: until then it
    // knows no peer but those the cluster tells it of.
    if (c.join !== undefined && !this.metaHasEntries()) {
      const fresh = await this.join(c.join);
      if (fresh === null) return;
      if (this.identity.fresh) await this.openMeta(fresh);
    } else if (this.identity.fresh) {
      const fresh = await this.freshStart();
      if (this.stopping) return;
      await this.openMeta(fresh);
    }
    this.peersChanged();
    this.syncPartitions();
    // Once the metadata is open, so that a Kafka client's first Metadata request sees the topics.
    if (c.kafka !== undefined && !this.stopping) {
      this.kafka = new KafkaListener(this, undefined, c.tls?.listeners.has('kafka') === true ? { tls: { pem: c.tls.pem, clientAuth: c.tls.clientAuth } } : {});
      await this.kafka.listen(c.kafka);
    }
    this.timers.push(setInterval(() => this.gossip(), GOSSIP_MS));
    this.timers.push(setInterval(() => this.driveMoves(), MOVES_EVERY_MS));
    this.timers.push(setInterval(() => this.enforceRetention(), c.retentionCheckMs ?? NODE_DEFAULTS.retentionCheckMs));
    this.timers.push(setInterval(() => this.releaseIdleCaches(), TAIL_CACHE_RELEASE_EVERY_MS));
    this.timers.push(setInterval(() => this.gauges.sample(), IN_SYNC_SAMPLE_MS));
    this.samples.start();
    this.controller.start();
    this.coordinator.start();
    this.logAuthorizer();
    const id = this.identity.identity;
    this.logger.info(
      { listen: c.listen, listeners: this.listeners, tls: [...(c.tls?.listeners ?? [])], ...(c.kafka !== undefined ? { kafka: c.kafka } : {}), nodes: Object.fromEntries(this.nodeAddresses()), sync: c.syncMode, partitions: this.partitions.size, incarnation: id.incarnation, cluster: id.cluster, openFiles: limit?.openFiles ?? null, replicasMax: limit?.replicas ?? null, cacheBytes: this.cacheBudget.totalBytes },
      `node ${c.id} listening on ${this.describeListeners()}`,
    );
    const clients = [c.clientListen ?? c.listen, ...(c.kafka !== undefined ? [c.kafka] : [])];
    const open = authWarning(c.auth, clients);
    if (open !== null) this.logger.warn({ auth: c.auth }, open);
    else this.logger.info({ auth: c.auth, superUsers: c.superUsers }, c.auth === 'sasl' ? `clients must authenticate (--auth sasl)${c.bootstrapUser !== undefined ? `; bootstrap user ${c.bootstrapUser.name}` : ''}` : 'clients need not authenticate (--auth none): every client listener is on loopback');
    const http = this.httpAuth.status();
    if (http.warning !== undefined) this.logger.warn({ http: this.listeners.http }, http.warning);
    else if (c.auth === 'sasl') this.logger.info({ http: this.listeners.http, metrics: http.metrics }, `HTTP requests must authenticate (HTTP Basic, or the console's login) but for /health, the console's pages${http.metrics === 'open' ? ' and /metrics (--http-auth-metrics required closes it)' : ''}`);
  }

  /** Says at start what clients may do: everything (`--authorizer none`), or what the ACLs allow. */
  private logAuthorizer(): void {
    const superUsers = this.config.superUsers ?? [];
    if (!this.authorizer.enforcing) {
      this.logger.info({ authorizer: 'none' }, 'authorizer none: every client may do everything; --authorizer acl checks each request against the ACLs (raftlog acls)');
    } else if (superUsers.length === 0) {
      this.logger.warn({ authorizer: 'acl', superUsers }, 'authorizer acl with no super user: clients may do only what the ACLs allow, and with no ACL nothing (the ACLs themselves can be changed only by a principal allowed to alter the cluster)');
    } else {
      this.logger.info({ authorizer: 'acl', superUsers }, `authorizer acl: requests are checked against the ACLs; super users ${superUsers.join(', ')} bypass them`);
    }
  }

  /** Stops cleanly: no new requests, waiters failed, logs synced and closed. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info('stopping');
    for (const t of this.timers) clearInterval(t);
    this.samples.stop();
    this.controller.stop();
    this.coordinator.stop();
    await this.kafka?.close();
    for (const server of this.servers) await server.close();
    await this.host.stop();
    this.transport.close();
    for (const p of this.partitions.values()) {
      p.close('the node is shutting down');
      p.saveProducerState();
      p.group.close();
    }
    this.metaGroup?.close();
    await this.store?.close();
    await this.ledger?.close();
    this.releaseLock();
    this.logger.info('stopped');
    this.logger.flush();
  }

  private prepareDataDir(): void {
    const dir = this.config.dataDir;
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK);
    } catch (err) {
      throw new NodeStartError(`cannot use the data folder ${dir}: ${(err as Error).message}. Choose another with --data, or fix its permissions.`);
    }
    const lock = path.join(dir, 'LOCK');
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new NodeStartError(`cannot write to the data folder ${dir}: ${(err as Error).message}`);
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new NodeStartError(`the data folder ${dir} is in use by process ${pid}; stop that node first, or give this one another --data folder`);
      }
      fs.writeFileSync(lock, String(process.pid));
    }
  }

  private releaseLock(): void {
    try {
      fs.rmSync(path.join(this.config.dataDir, 'LOCK'));
    } catch {
      // already gone
    }
  }

  /**
   * Every node of the cluster and its address: those the metadata knows (each node registered by
   * the controller, joined ones included, decommissioned ones too), and those of --peers it does
   * not know yet.
   */
  nodeAddresses(): ReadonlyMap<NodeId, string> {
    if (this.addresses !== null) return this.addresses;
    const nodes = new Map([...this.config.nodes, ...this.toldNodes]);
    for (const n of this.meta?.nodes() ?? []) if (n.address !== undefined) nodes.set(n.node, n.address);
    nodes.set(this.config.id, this.config.listen);
    const sorted = new Map([...nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    // Kept until the node set changes (peersChanged): requests ask for addresses often.
    if (this.meta !== undefined) this.addresses = sorted;
    return sorted;
  }

  private addresses: ReadonlyMap<NodeId, string> | null = null;

  /** Ids of all nodes, in order. */
  nodeIds(): NodeId[] {
    return [...this.nodeAddresses().keys()];
  }

  /** The metadata group's first voters by --peers: the first `metaVotersMax` ids in order (identity.ts checks them). */
  private foundingVoters(): NodeId[] {
    return [...this.config.nodes.keys()].sort().slice(0, this.metaVotersMax());
  }

  /** The metadata group's voters, at most (the controller promotes learners up to this many). */
  metaVotersMax(): number {
    return this.config.metaVotersMax ?? NODE_DEFAULTS.metaVotersMax;
  }

  /** The node set changed (a node joined or moved): the transport dials whom the metadata names. */
  private peersChanged(): void {
    this.addresses = null;
    this.peers = null;
    if (this.stopping) return;
    this.transport.setPeers(this.peerAddresses(), this.retiredAddresses());
  }

  /** Decommissioned nodes and their last addresses: told so if they come back (peer-transport.ts). */
  private retiredAddresses(): ReadonlyMap<NodeId, string> {
    const retired = new Map<NodeId, string>();
    const known = this.nodeAddresses();
    for (const n of this.meta?.nodes() ?? []) {
      // A node decommissioned before the controller registered it has no address in its record: --peers has it.
      const address = n.address ?? known.get(n.node);
      if (n.decommission?.state === 'decommissioned' && n.node !== this.config.id && address !== undefined) retired.set(n.node, address);
    }
    return retired;
  }

  /** A peer says the cluster decommissioned this node: the folder is marked, and the launcher stops it. */
  private onRetired(from: NodeId): void {
    if (this.stopping) return;
    const why = this.identity.markDecommissioned(from);
    this.logger.warn({ by: from }, `${why}; stopping`);
    this.tellRetired(why);
  }

  /** The nodes to keep connected to (self included): all but those decommissioned, to which nothing is left to say. */
  peerAddresses(): ReadonlyMap<NodeId, string> {
    if (this.peers !== null) return this.peers;
    const peers = new Map(this.nodeAddresses());
    for (const id of this.retiredAddresses().keys()) peers.delete(id);
    // Kept until the node set changes, as nodeAddresses (every peer that connects is sent it).
    if (this.meta !== undefined) this.peers = peers;
    return peers;
  }

  private peers: ReadonlyMap<NodeId, string> | null = null;

  /**
   * Joins the cluster through the --join addresses (join.ts); resolves with how the metadata
   * replica starts, or null if the node stopped first.
   */
  private async join(seeds: readonly string[]): Promise<FreshStart | null> {
    const id = this.identity.identity;
    this.logger.info({ seeds }, `joining the cluster through ${seeds.join(', ')}`);
    const tls = this.dialTls('peer');
    const answer = await joinCluster({ self: this.config.id, address: this.config.listen, inc: id.incarnation, secret: this.config.secret, seeds, logger: this.logger, stopped: () => this.stopping, ...(tls !== undefined ? { tls } : {}) });
    if (answer === null) return null;
    const why = this.identity.joined(answer.cluster, answer.founders);
    if (why !== null) throw new NodeStartError(`${why}: give this node an empty --data folder to join cluster ${answer.cluster}`);
    for (const [id, address] of answer.nodes) this.toldNodes.set(id, address);
    this.peersChanged();
    this.logger.info({ cluster: answer.cluster, nodes: Object.fromEntries(this.toldNodes), rejoin: answer.rejoin }, `joined cluster ${answer.cluster}${answer.rejoin ? ` under an id it knew before: its replicas here rejoin as learners until they have caught up` : ''}`);
    return answer.rejoin ? 'rejoin' : 'voter';
  }

  /**
   * Nodes other nodes told this one of, when it joined (join.ts) or when a peer connected (its
   * `nodes` frame), that the metadata does not name yet: what lets a node whose metadata replica
   * is new or behind reach a node that joined after --peers was written.
   */
  private readonly toldNodes = new Map<NodeId, string>();

  /** A peer told this node of the nodes it knows: the ones new here become peers too. */
  private onNodesTold(from: NodeId, nodes: readonly (readonly [NodeId, string])[]): void {
    const known = this.nodeAddresses();
    const added = nodes.filter(([id]) => !known.has(id) && this.meta?.node(id)?.decommission?.state !== 'decommissioned');
    if (added.length === 0) return;
    for (const [id, address] of added) this.toldNodes.set(id, address);
    this.logger.info({ from, nodes: Object.fromEntries(added) }, `${from} told of node(s) ${added.map(([id]) => id).join(', ')} this node did not know`);
    this.peersChanged();
  }

  /**
   * What a new folder's metadata replica is (identity.ts): asks the peers whether the cluster
   * exists, and waits until they have said enough.
   */
  private async freshStart(): Promise<FreshStart> {
    const voters = this.identity.identity.metaVoters;
    const heard = this.peerIdentities;
    let nextNote = Date.now() + FRESH_NOTE_MS;
    for (;;) {
      if (this.stopping) return 'rejoin';
      const d = freshStart(this.config.id, voters, heard);
      if (d !== null) {
        if (d.cluster !== null) this.identity.learnCluster(d.cluster);
        if (d.start === 'rejoin') {
          this.logger.warn({ cluster: d.cluster, incarnation: this.identity.identity.incarnation }, `this data folder is new, but the cluster${d.cluster !== null ? ` ${d.cluster}` : ''} exists: node ${this.config.id} rejoins it as a new replica (its replicas are learners until they have caught up)`);
        } else {
          this.logger.info({ voters }, `a new cluster: no metadata voter of ${voters.join(', ')} knows of one yet`);
        }
        return d.start;
      }
      if (Date.now() >= nextNote) {
        nextNote = Date.now() + FRESH_NOTE_MS;
        this.logger.warn({ heard: [...heard.keys()], voters }, `this data folder is new: waiting to hear from a majority of the metadata voters (${voters.join(', ')}) whether the cluster already exists; heard from ${heard.size === 0 ? 'none' : [...heard.keys()].join(', ')}. Start the other nodes, or check --peers and the secret`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** This node's metadata replica holds entries (what a new folder's peers tell it: a cluster exists). */
  private metaHasEntries(): boolean {
    const g = this.metaGroup;
    return g !== undefined && (g.raft.lastIndex() > 0 || g.raft.firstIndex() > 1);
  }

  private onPeerIdentity(peer: NodeId, id: PeerIdentity): void {
    this.peerIdentities.set(peer, id);
    // A folder from before the cluster was named learns its name from a peer that knows it.
    if (id.cluster !== '' && this.identity !== undefined && this.identity.identity.cluster === null && !this.identity.fresh) this.identity.learnCluster(id.cluster);
  }

  /** The metadata log named the cluster: it must be the one this folder belongs to, created with these voters. */
  private onClusterKnown(rec: ClusterRecord): void {
    const voters = this.identity.identity.metaVoters;
    const why =
      this.identity.learnCluster(rec.clusterId) ??
      (sameVoters(rec.metaVoters, voters) ? null : `the cluster was created with metadata voters ${rec.metaVoters.join(', ')}, but this node's folder says ${voters.join(', ')}: start every node with the --peers list the cluster was created with, or with --join`);
    if (why !== null) this.metaGroup.fail(new Error(`${why}; this node will not take part in the metadata group`));
  }

  private async openMeta(fresh: FreshStart): Promise<void> {
    const voters = this.identity.identity.metaVoters;
    const r = await openMetaReplica({
      dir: path.join(this.config.dataDir, 'meta'),
      self: this.config.id,
      voters,
      // The first configuration, until the log holds one: every other node of --peers is a
      // learner; a node that joined is a learner of a group whose voters its leader tells it.
      learners: [...this.config.nodes.keys(), this.config.id].filter((id, i, all) => !voters.includes(id) && all.indexOf(id) === i),
      fs: this.fs,
      clock: this.clock,
      ledger: this.ledger,
      host: this.host,
      fresh,
      segmentBytes: this.config.metaSegmentBytes ?? NODE_DEFAULTS.metaSegmentBytes,
      files: this.segmentFiles,
      snapshotEveryEntries: this.config.metaSnapshotEvery ?? NODE_DEFAULTS.metaSnapshotEvery,
      limits: this.raftLimits(),
      ...(this.parts.unsafeMutations !== undefined ? { unsafeMutations: this.parts.unsafeMutations } : {}),
      openStore: (dir) => StateStore.open(dir),
      events: {
        topicsChanged: () => this.syncPartitions(),
        controllerChanged: (is: boolean) => {
          this.controller.onControllerChange(is);
          this.coordinator.onControllerChange(is);
        },
        clusterKnown: (rec: ClusterRecord) => this.onClusterKnown(rec),
        nodesChanged: () => this.peersChanged(),
      },
      onFail: (err) => {
        if (err instanceof CorruptLogError) {
          this.logger.error(`the metadata log on this node is corrupt (${err.message}); this node takes no part in the metadata group until it restarts, when it verifies the log, keeps what is intact and rejoins the group as a learner: restart it`);
        }
      },
      random: this.random,
      logger: this.logger,
    });
    this.store = r.store;
    this.meta = r.meta;
    this.metaGroup = r.group;
  }

  raftLimits(): { electionTicks: number; heartbeatTicks: number } {
    return { electionTicks: this.config.electionTicks, heartbeatTicks: this.config.heartbeatTicks };
  }

  /**
   * Opens the partitions the metadata places on this node, and deletes the replicas it no longer
   * needs: of a deleted topic, or of a partition moved off this node once this replica knows its
   * removal is committed (until then the group may still count on it: raft/membership.ts).
   */
  syncPartitions(): void {
    if (this.stopping) return;
    const wanted = this.placedHere();
    const topics = new Map(this.meta.topics().map((t) => [t.id, t]));
    for (const id of this.brokenPartitions.keys()) if (!wanted.has(id)) this.brokenPartitions.delete(id);
    for (const [id, p] of this.partitions) {
      if (wanted.has(id)) {
        // A topic's config may change while it runs (alter-config).
        const now = topics.get(p.topic.id);
        if (now !== undefined) p.reconfigure(now.config);
        continue;
      }
      const deleted = !topics.has(p.topic.id);
      if (!deleted && !removedFromGroup(p.group.raft, this.config.id)) continue;
      this.dropReplica(id, p, deleted ? 'the topic was deleted' : 'the partition moved off this node');
    }
    this.toOpen = [...wanted].filter(([id]) => !this.partitions.has(id)).map(([id, w]) => ({ id, ...w }));
    this.openQueued();
  }

  /** Replicas placed here and not open yet, to open next (openQueued). */
  private toOpen: { readonly id: string; readonly topic: TopicRecord; readonly partition: number }[] = [];
  private openingLater = false;

  /**
   * Opens the queued replicas for up to OPEN_REPLICAS_MS_MAX, and the rest in the next turns of the
   * event loop, so that ticks, heartbeats and requests are served in between. One the metadata no
   * longer places here by then is skipped.
   */
  private openQueued(): void {
    const t0 = performance.now();
    let n = 0;
    for (; n < this.toOpen.length && !this.stopping; n++) {
      if (n > 0 && performance.now() - t0 >= OPEN_REPLICAS_MS_MAX) break;
      const { id, topic, partition } = this.toOpen[n]!;
      const now = this.meta.topic(topic.name);
      if (this.partitions.has(id) || now?.id !== topic.id || !now.assignments[partition]?.includes(this.config.id)) continue;
      this.openPartition(id, now, partition);
    }
    this.toOpen = this.toOpen.slice(n);
    if (this.toOpen.length === 0 || this.stopping || this.openingLater) return;
    this.openingLater = true;
    setImmediate(() => {
      this.openingLater = false;
      this.openQueued();
    });
  }

  /** The partitions the metadata places on this node (their target replicas name it), by group id. */
  private placedHere(): Map<string, { topic: TopicRecord; partition: number }> {
    const wanted = new Map<string, { topic: TopicRecord; partition: number }>();
    for (const t of this.meta.topics()) {
      t.assignments.forEach((replicas, p) => {
        if (replicas.includes(this.config.id)) wanted.set(partitionGroupId(t.id, p), { topic: t, partition: p });
      });
    }
    return wanted;
  }

  /**
   * At start, before any replica is opened: a node whose metadata places more replicas on it than
   * its open-files limit leaves room for does not start, rather than run out of descriptors half
   * way through opening them (and then for its connections).
   */
  private checkReplicaLimit(): void {
    const limit = this.replicaLimit;
    const replicas = this.placedHere().size;
    if (limit === null || replicas <= limit.replicas) return;
    throw new NodeStartError(`this node holds ${replicas} partition replicas, more than its open-files limit allows: ${replicaLimitHint(limit, replicas)} and start it again, or move replicas off it from the other nodes (raftlog partitions reassign)`);
  }

  /** Frees the tail cache rings of partitions with no append for TAIL_CACHE_IDLE_MS (their share goes to busy ones). */
  private releaseIdleCaches(): void {
    for (const p of this.partitions.values()) p.log.releaseIdleCache(TAIL_CACHE_IDLE_MS);
  }

  /**
   * Each partition this node leads takes its next step toward its target replicas
   * (src/partition/moves.ts); what it waits for is kept for /status.
   */
  private driveMoves(): void {
    if (this.stopping) return;
    const topics = new Map(this.meta.topics().map((t) => [t.id, t]));
    let deletable = false;
    // A move that finished here is told at once: the controller paces its moves by it.
    const moving = this.movingHere();
    if ([...this.movingLed].some((id) => !moving.has(id))) this.gossip();
    this.movingLed = moving;
    for (const [id, p] of this.partitions) {
      const raft = p.group.raft;
      const topic = topics.get(p.topic.id);
      if (raft.role !== Role.Leader || p.group.failed !== null || topic === undefined) {
        this.moves.delete(id);
        // A replica moved off this node goes once it knows its removal is committed; until then it
        // asks the group's leader now and then, in case no member would tell it.
        if (topic !== undefined && !topic.assignments[p.partition]!.includes(this.config.id)) {
          if (removedFromGroup(raft, this.config.id)) deletable = true;
          else this.askIfStray(id, raft.role === Role.Leader);
        }
        continue;
      }
      const target = topic.assignments[p.partition]!;
      // Most groups are where they should be: that costs no status.
      if (atTarget(target, raft.membership)) {
        this.moves.delete(id);
        continue;
      }
      const st = raft.status();
      const move = nextMove(target, { self: this.config.id, membership: st.membership, configCommitted: raft.membershipCommitted, commit: st.commit, peers: st.peers });
      if (move.kind === 'done') {
        this.moves.delete(id);
        continue;
      }
      this.moves.set(id, move);
      try {
        if (move.kind === 'change') {
          raft.proposeMembership(move.change);
          p.group.wake();
          this.logger.info({ partition: p.name, change: move.change }, `${p.name}: ${move.change.type} ${move.change.node} (moving toward replicas ${target.join(',')})`);
        } else if (move.kind === 'transfer' && st.transferee === null) {
          this.logger.info({ partition: p.name, to: move.to }, `${p.name}: handing leadership to ${move.to}, as this node leaves the partition`);
          p.transferLeadership(move.to, 2000).catch(() => undefined);
        }
      } catch (err) {
        // A step refused for now (a learner behind, a change in flight) is asked again next round.
        if (!(err instanceof RaftError && err.retriable)) this.logger.warn({ partition: p.name, err: (err as Error).message }, `${p.name}: cannot take the next step of its move: ${(err as Error).message}`);
      }
    }
    if (deletable) this.syncPartitions();
  }

  /** When each replica moved off this node last asked its group's leader whether it is still a member. */
  private readonly strayAsked = new Map<string, number>();

  private askIfStray(group: string, leading: boolean): void {
    // Whom the peers say leads it: this replica's own view is what is stale.
    const leader = this.leaders.get(group).leader;
    const now = Date.now();
    if (leading || leader === null || leader === this.config.id || now - (this.strayAsked.get(group) ?? 0) < STRAY_ASK_MS) return;
    this.strayAsked.set(group, now);
    this.transport.send(leader, { t: 'stray', group });
  }

  /** A leader said this node's replica of `group` is no member of its committed configuration: it goes. */
  private onRemoved(from: NodeId, group: string, term: number): void {
    const p = this.partitions.get(group);
    const topic = p !== undefined ? this.meta.topics().find((t) => t.id === p.topic.id) : undefined;
    if (p === undefined || topic === undefined || topic.assignments[p.partition]!.includes(this.config.id)) return;
    if (p.group.failed === null && !mayDeleteStray(p.group.raft, from, term)) return;
    this.dropReplica(group, p, `the partition moved off this node, and its leader ${from} says its committed configuration does not name this node`);
  }

  /** Deletes a replica this node no longer holds (src/partition/replica.ts deletePartitionReplica), and forgets it. */
  private dropReplica(id: string, p: Partition, why: string): void {
    this.partitions.delete(id);
    this.strayAsked.delete(id);
    deletePartitionReplica(p, { host: this.host, ledger: this.ledger, fs: this.fs, logger: this.logger }, why);
    this.logger.info({ partition: p.name }, `removed the replica of ${p.name} (${why})`);
  }

  /** Per partition led here, the step its move waits on or takes next (for /status). */
  readonly moves = new Map<string, Move>();
  /** The partitions led here that were moving at the last round of driveMoves. */
  private movingLed = new Set<string>();

  private openPartition(id: string, topic: TopicRecord, partition: number): void {
    const limit = this.replicaLimit;
    if (limit !== null && this.partitions.size >= limit.replicas) {
      // Placed here anyway (by a controller that judged by a higher limit than this node's, or by a move): refused, not opened into EMFILE.
      const why = `this node already holds ${this.partitions.size} replicas, all its open-files limit allows: ${replicaLimitHint(limit, this.partitions.size + 1)} and restart the node, or move replicas off it`;
      if (this.brokenPartitions.get(id) !== why) this.logger.error({ partition: `${topic.name}/${partition}` }, `partition ${topic.name}/${partition} cannot start on this node: ${why}`);
      this.brokenPartitions.set(id, why);
      return;
    }
    this.brokenPartitions.delete(id);
    let p: Partition;
    try {
      p = openPartitionReplica({
        group: id,
        dir: path.join(this.config.dataDir, 'partitions', `${topic.name}-${partition}-${topic.id}`),
        topic,
        partition,
        self: this.config.id,
        fs: this.fs,
        clock: this.clock,
        ledger: this.ledger,
        host: this.host,
        // While this node's metadata replica rejoins, a replica it finds missing may be one it held before.
        fresh: this.metaGroup.raft.rejoin !== null ? 'rejoin' : 'voter',
        // A partition reassigned since its creation has a running group: a new replica joins it as a
        // learner (a founder would campaign with an empty log; a set of them could elect each other).
        ...(topic.moved?.[partition] === true ? { membership: joiningMembership(topic.assignments[partition]!, this.config.id) } : {}),
        tailCacheBytes: PARTITION_TAIL_CACHE_BYTES,
        cacheBudget: this.cacheBudget,
        files: this.segmentFiles,
        limits: this.raftLimits(),
        producerIdExpirationMs: this.config.producerIdExpirationMs ?? NODE_DEFAULTS.producerIdExpirationMs,
        policy: this.parts.partition,
        ...(this.parts.unsafeMutations !== undefined ? { unsafeMutations: this.parts.unsafeMutations } : {}),
        random: this.random,
        logger: this.logger,
      });
    } catch (err) {
      const why = (err as Error).message;
      this.logger.error({ partition: `${topic.name}/${partition}`, err: why }, `partition ${topic.name}/${partition} cannot start on this node: ${why}`);
      this.brokenPartitions.set(id, why);
      return;
    }
    p.group.onFail = (err) => {
      // Found corrupt while running: reopened at once, verified, and rejoining (replica-trust.ts).
      if (err instanceof CorruptLogError && !this.stopping) this.clock.soon(() => this.reopenPartition(id));
    };
    this.partitions.set(id, p);
  }

  /** Closes a replica whose log turned out corrupt and opens it again, repaired and rejoining. */
  private reopenPartition(id: string): void {
    const p = this.partitions.get(id);
    if (p === undefined || this.stopping) return;
    this.partitions.delete(id);
    this.host.remove(id);
    p.close('the replica found its log corrupt and is being repaired');
    p.group.close();
    const topic = this.meta.topics().find((t) => t.id === p.topic.id);
    if (topic === undefined) return;
    this.logger.warn({ partition: p.name }, `${p.name}: reopening the replica to repair its log`);
    this.openPartition(id, topic, p.partition);
  }

  /** Partitions that could not be opened here, with why (reported in /status). */
  readonly brokenPartitions = new Map<string, string>();

  private enforceRetention(): void {
    for (const p of this.partitions.values()) {
      try {
        const n = p.enforceRetention();
        if (n > 0) this.logger.info({ partition: p.name, segments: n }, `retention dropped ${n} segment(s) of ${p.name}`);
        const expired = p.expireProducers();
        if (expired > 0) this.logger.info({ partition: p.name, producers: expired }, `${p.name}: forgot ${expired} producer id(s) with no write for ${this.config.producerIdExpirationMs ?? NODE_DEFAULTS.producerIdExpirationMs} ms`);
      } catch (err) {
        p.group.fail(err);
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Peers

  private onPeerFrame(from: NodeId, frame: PeerFrame): void {
    switch (frame.t) {
      case 'raft':
        for (const [group, m] of frame.m) this.host.step(group, m);
        return;
      case 'leaders':
        this.leaders.fromPeer(from, frame.groups, frame.moving, frame.meta);
        if (frame.kafka !== undefined) this.peerKafka.set(from, frame.kafka);
        else this.peerKafka.delete(from);
        if (frame.client !== undefined) this.peerClients.set(from, { address: frame.client, tls: frame.clientTls === true });
        else this.peerClients.delete(from);
        return;
      case 'transfer': {
        this.handOver(frame.group, frame.to);
        return;
      }
      case 'nodes':
        this.onNodesTold(from, frame.nodes);
        return;
      case 'recovery':
        this.recovery.receive(from, frame.m);
        return;
      case 'stray': {
        const g = this.host.get(frame.group);
        if (g !== undefined && g.failed === null && g.raft.role === Role.Leader && strayRemoved(g.raft, from)) this.transport.send(from, { t: 'removed', group: frame.group, term: g.raft.term });
        return;
      }
      case 'removed':
        this.onRemoved(from, frame.group, frame.term);
        return;
      case 'retired':
        this.onRetired(from);
        return;
      case 'challenge':
      case 'auth':
      case 'welcome':
      case 'join':
      case 'joined':
      case 'joinRefused':
        return;
    }
  }

  /** Hands leadership of a group led here to its preferred replica, if that replica is caught up (hand-over.ts). */
  handOver(group: string, to: NodeId): void {
    const g = this.host.get(group);
    if (g === undefined || g.failed !== null) return;
    try {
      if (handOverToPreferred(g.raft, to) !== 'started') return;
      this.logger.info({ group, to }, `handing leadership of ${group} to ${to} (its preferred leader)`);
      this.host.schedule();
    } catch (err) {
      this.logger.debug({ group, err: (err as Error).message }, 'leadership transfer refused');
    }
  }

  /** Tells every peer which groups this node leads, and which of those are still moving (as of the metadata applied here). */
  gossip(): void {
    const groups: [string, number][] = [];
    // A group stopped by a storage failure leads nothing, whatever its core last said.
    for (const g of this.host.all()) if (g.failed === null && g.raft.role === Role.Leader) groups.push([g.id, g.raft.term]);
    const meta = this.meta?.appliedIndex() ?? 0;
    const client = this.clientListener(this.config.id);
    this.transport.broadcast({ t: 'leaders', groups, moving: [...this.movingHere()], meta, ...(this.config.kafka !== undefined ? { kafka: this.config.kafka } : {}), client: client.address, ...(client.tls ? { clientTls: true } : {}) });
  }

  /** The partitions led here whose group is not at its target replicas, or has not committed reaching it. */
  private movingHere(): Set<string> {
    const out = new Set<string>();
    if (this.meta === undefined) return out;
    const topics = new Map(this.meta.topics().map((t) => [t.id, t]));
    for (const [id, p] of this.partitions) {
      const raft = p.group.raft;
      const target = topics.get(p.topic.id)?.assignments[p.partition];
      if (p.group.failed !== null || raft.role !== Role.Leader || target === undefined) continue;
      if (!atTarget(target, raft.membership) || !raft.membershipCommitted) out.add(id);
    }
    return out;
  }

  /** Partition groups not at their target, as their leaders (this node, and peers by gossip) say. */
  movingGroups(): Set<string> {
    const out = this.leaders.moving();
    for (const g of this.movingHere()) out.add(g);
    return out;
  }

  /** Whether the leader of `group` says it is at its target, having applied metadata index `index` or later. */
  groupAtTarget(group: string, index: number): boolean {
    const p = this.partitions.get(group);
    if (p !== undefined && p.group.failed === null && p.group.raft.role === Role.Leader) return this.meta.appliedIndex() >= index && !this.movingHere().has(group);
    return this.leaders.atTarget(group, index);
  }

  /** host:port of the Kafka listener of each node known to run one, this one included (src/kafka/brokers.ts). */
  kafkaAddresses(): ReadonlyMap<NodeId, string> {
    const out = new Map(this.peerKafka);
    if (this.config.kafka !== undefined) out.set(this.config.id, this.config.kafka);
    return out;
  }

  // -----------------------------------------------------------------------------------------------
  // Views

  /** A node as clients are told of it: its id and its client listener's address. */
  nodeRef(id: NodeId | null): NodeRef | undefined {
    if (id === null) return undefined;
    if (id !== this.config.id && !this.peerClients.has(id) && !this.nodeAddresses().has(id)) return undefined;
    return { id, address: this.clientListener(id).address };
  }

  /** The client listener of node `id`: this node's own, a peer's as its gossip said, or else its peer address (where a node without --client-listen serves clients). */
  clientListener(id: NodeId): ClientListener {
    if (id === this.config.id) return { address: this.listeners.client, tls: this.config.tls?.listeners.has('client') === true };
    return this.peerClients.get(id) ?? { address: this.nodeAddresses().get(id) ?? '', tls: false };
  }

  /** What this node presents and trusts when it dials a listener of this kind that takes TLS; undefined when its own of that kind takes none (the cluster's do alike). */
  dialTls(kind: 'peer' | 'client'): DialTls | undefined {
    const t = this.config.tls;
    return t !== undefined && t.listeners.has(kind) ? nodeDialTls(t.pem) : undefined;
  }

  /** How to reach node `id`'s client listener (auto-create.ts forwards to the controller's): its address, and TLS when it takes it. */
  clientDial(id: NodeId): { address: string; tls?: DialTls } | undefined {
    const ref = this.nodeRef(id);
    if (ref === undefined) return undefined;
    const l = this.clientListener(id);
    const pem = this.config.tls?.pem;
    return { address: ref.address, ...(l.tls ? { tls: pem !== undefined ? nodeDialTls(pem) : {} } : {}) };
  }

  /** The listeners, as the start-up line says them: "peers 127.0.0.1:7001 (TLS), clients ...". */
  private describeListeners(): string {
    const t = this.config.tls?.listeners;
    const one = (what: string, at: string, kind: 'peer' | 'client' | 'http' | 'kafka'): string => `${what} ${at}${t?.has(kind) === true ? ' (TLS)' : ''}`;
    const l = this.listeners;
    const http = l.peer === l.client && l.peer === l.http ? [one('peers, clients and HTTP', l.peer, 'peer')] : [one('peers', l.peer, 'peer'), one('clients', l.client, 'client'), one('HTTP', l.http, 'http')];
    return [...http, ...(l.kafka !== undefined ? [one('Kafka', l.kafka, 'kafka')] : [])].join(', ');
  }

  leaderOf(group: string): LeaderInfo {
    const local = this.host.get(group);
    if (local !== undefined && local.failed === null) return { leader: local.raft.lead, term: local.raft.term };
    return this.leaders.get(group);
  }

  metaMembership(): { membership: Membership; committed: boolean; peers: readonly PeerStatus[] } {
    const raft = this.metaGroup.raft;
    return { membership: raft.membership, committed: raft.membershipCommitted, peers: raft.role === Role.Leader ? raft.status().peers : [] };
  }

  changeMetaMembership(change: MembershipChange): void {
    this.metaGroup.raft.proposeMembership(change);
    this.metaGroup.wake();
  }

  isController(): boolean {
    return this.metaGroup !== undefined && this.metaGroup.failed === null && this.metaGroup.raft.role === Role.Leader;
  }

  controllerId(): NodeId | null {
    if (this.metaGroup === undefined || this.metaGroup.failed !== null) return null;
    return this.metaGroup.raft.lead;
  }

  /**
   * Why this node cannot answer from its metadata now (null when it can): it has not opened its
   * metadata group yet, the group stopped, its replica is rejoining after losing its data and
   * has not caught up, or its metadata does not record this node on this data folder yet (it
   * would answer with no topics, or old ones, and know no users). Clients ask another node, and
   * SaslServer refuses logins as retriable meanwhile. A replica in good standing answers from
   * what it has applied, as a Kafka broker from its cache: a moment behind at worst, and
   * partition requests go to leaders that check.
   *
   * The record of this node under its folder's incarnation marks a replica that has caught up at
   * least to the moment it was let in, as a KRaft broker is fenced until it has registered and
   * caught up: a node that joins (join.ts) is recorded before it is answered, so once its replica
   * has applied that record it holds every user and topic created before. A node of a new cluster
   * is recorded in the controller's first round (controller.ts register), right after the cluster
   * is named; until then there is no user to log in as anyway.
   */
  metadataProblem(): string | null {
    const g = this.metaGroup;
    if (g === undefined) return this.config.join !== undefined ? 'it is joining the cluster' : 'it is starting';
    if (g.failed !== null) return `its metadata group stopped (${g.failed})`;
    if (g.raft.rejoin !== null) return 'its metadata replica lost its data and is catching up from the others';
    if (removedFromGroup(g.raft, this.config.id)) return 'it was removed from the metadata group (decommissioned), so its metadata is no longer kept up to date';
    const recorded = this.meta.node(this.config.id);
    if (recorded?.incarnation !== this.identity.identity.incarnation) {
      return this.meta.cluster() === undefined
        ? 'its metadata replica has received none of the metadata yet (it has just joined the cluster, or the cluster is being created)'
        : 'its metadata replica has not yet caught up to the record of this node (it has just joined the cluster, or runs on a new data folder) and is receiving the metadata';
    }
    return null;
  }

  /**
   * Why this node cannot check a login now (null: it can): its metadata cannot be trusted to hold
   * the users (metadataProblem), or under `--auth sasl` the cluster has no user yet and the
   * controller is creating the bootstrap user (bootstrap-user.ts).
   */
  private loginProblem(): string | null {
    const problem = this.metadataProblem();
    if (problem !== null || this.config.auth !== 'sasl') return problem;
    return bootstrapUserPending(this.config.bootstrapUser, this.meta.hasUsers());
  }

  /** Bytes under the data folder, walked again at most every DISK_USAGE_EVERY_MS (a status request must stay cheap). */
  private diskUsage(): number {
    const now = Date.now();
    if (this.disk === null || now - this.disk.at >= DISK_USAGE_EVERY_MS) this.disk = { at: now, bytes: folderBytes(this.config.dataDir) };
    return this.disk.bytes;
  }

  private disk: { at: number; bytes: number } | null = null;

  /** The node as its gauges read it (node-gauges.ts). */
  private nodeGauges(): NodeGauges {
    const node = this;
    return new NodeGauges({
      self: this.config.id,
      partitions: this.partitions,
      brokenPartitions: this.brokenPartitions,
      groups: () => this.host.all(),
      meta: () => node.meta as MetaStateMachine | undefined,
      metaGroup: () => (this.metaGroup === undefined ? null : { leader: this.isController(), term: this.metaGroup.raft.term }),
      connectedPeers: () => new Set(this.transport.peerStatus().flatMap((p) => (p.connected ? [p.id] : []))),
      connections: () => {
        let client = 0;
        let http = 0;
        for (const s of this.servers) {
          client += s.clients.connections;
          http += s.httpConnections;
        }
        return { peer: this.transport.peerStatus().filter((p) => p.connected).length, client, http, kafka: this.kafka?.connections ?? 0 };
      },
      now: () => Date.now(),
    });
  }

  /** Raft entries the followers of the groups this node leads lack, summed (the console's replica lag chart). */
  followerLag(): number {
    let lag = 0;
    for (const g of this.host.all()) {
      const s = g.raft.status();
      if (s.role !== Role.Leader) continue;
      for (const p of s.peers) if (p.id !== this.config.id) lag += Math.max(0, s.lastIndex - p.match);
    }
    return lag;
  }

  status(): StatusResponse {
    const groups: GroupStatus[] = [];
    // The in-sync view of the partitions led here, as the metrics have it (node-gauges.ts).
    const led = new Map(this.gauges.led().map((l) => [`${l.topic}/${l.partition}`, l]));
    for (const g of this.host.all()) {
      const s = g.raft.status();
      const p = this.partitions.get(g.id);
      const inSync = p !== undefined && g.failed === null ? led.get(p.name) : undefined;
      groups.push({
        group: p !== undefined ? `${p.name} (${g.id})` : g.id,
        role: g.failed !== null ? 'stopped' : s.role,
        ...(s.rejoin !== null ? { rejoining: s.rejoin } : {}),
        term: s.term,
        leader: s.lead,
        commit: s.commit,
        applied: s.applied,
        firstIndex: s.firstIndex,
        lastIndex: s.lastIndex,
        replicas: s.peers.map((r) => ({ id: r.id, match: r.match, next: r.next, state: r.state, ...(r.learner ? { learner: true } : {}), ...(r.rejoin !== null ? { rejoining: true } : {}) })),
        voters: s.membership.voters,
        learners: s.membership.learners,
        membershipCommitted: g.raft.membershipCommitted,
        ...(this.moves.has(g.id) ? { move: describeMove(this.moves.get(g.id)!) } : {}),
        ...(p !== undefined ? { highWatermark: p.highWatermark, logStartOffset: p.log.logStartOffset(), logEndOffset: p.log.logEndOffset(), logBytes: p.log.status().bytes } : {}),
        ...(inSync !== undefined ? { inSync: inSync.inSyncReplicas, underReplicated: inSync.underReplicated } : {}),
        ...(g.failed !== null ? { error: g.failed } : {}),
      });
    }
    for (const [id, why] of this.brokenPartitions) {
      groups.push({ group: id, role: 'stopped', term: 0, leader: null, commit: 0, applied: 0, firstIndex: 0, lastIndex: 0, replicas: [], error: why });
    }
    return {
      node: this.config.id,
      address: this.config.listen,
      listeners: { ...this.listeners, tls: [...(this.config.tls?.listeners ?? [])] },
      ...(this.identity !== undefined ? { incarnation: this.identity.identity.incarnation, cluster: this.identity.identity.cluster ?? '' } : {}),
      uptimeMs: Date.now() - this.startedAt,
      diskBytes: this.diskUsage(),
      peers: this.transport.peerStatus().map((p) => ({ id: p.id, address: p.address, connected: p.connected, frameMac: p.frameMac })),
      groups,
      ...(this.isController() ? { controller: this.controller.status() } : {}),
      recovery: { ...this.recovery.stats, transfers: this.recovery.transfers() },
      auth: this.config.auth,
      http: this.httpAuth.status(),
    };
  }
}

/** Bytes of the regular files under `dir` (0 for what cannot be read: a file deleted meanwhile). */
function folderBytes(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += folderBytes(p);
    else if (e.isFile()) {
      try {
        total += fs.statSync(p).size;
      } catch {
        // gone meanwhile
      }
    }
  }
  return total;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
