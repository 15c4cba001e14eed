/**
 * Prometheus metrics of one node (GET /metrics), with prom-client; the README's "Monitoring"
 * section says what each means and the alert to set on it. Counters and histograms are counted as
 * things happen; gauges are read from the node's state each time the metrics are collected
 * (their `collect`), so a gauge with labels has exactly the series of what the node holds then.
 *
 * Series per node, at most (every label value comes from the node's state, none from a request):
 * - per partition replica hosted (at most the replicas its open-files limit allows, limits.ts
 *   replicaLimit; 2,000 at `ulimit -n` 4,096): 6 (`raftlog_partition_high_watermark`,
 *   `_log_end_offset`, `_log_start_offset`, `_bytes`, `_leader`, `_stopped`);
 * - per partition led, 2 (`_under_replicated`, `_in_sync_replicas`) and one per other replica
 *   (`raftlog_partition_replica_lag_records`): 4 at replication factor 3;
 * - consumer-group lag: 2 per group and partition led here, at most CONSUMER_LAG_SERIES_MAX pairs
 *   (src/groups/lag.ts);
 * - the rest: a few per node, per listener, per request type and outcome, per Raft group
 *   (`raftlog_leader_elections_total`) and per principal with a quota of its own.
 * A node of 2,000 replicas leading a third of them exports about 15,000 partition series; those
 * families are written by exposition.ts rather than by prom-client, which took 100-300 ms a scrape
 * to write them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Role } from '../../raft/types.js';
import { DISK_FILE_KINDS, type DiskFileKind, type DiskKindStats } from '../../storage/disk-accounting.js';
import type { TailCacheBudget } from '../../storage/tail-cache.js';
import type { LagCollection, LagRow } from '../groups/lag.js';
import type { GroupHost } from '../host/group-host.js';
import type { LogRecovery } from '../host/log-recovery.js';
import { FamilyRegistry, labelText, type GaugeFamily } from './exposition.js';

/** What the gauges read of the group host. */
export type HostGauges = Pick<GroupHost, 'all' | 'stats'>;

/** The listeners whose connections are counted (`raftlog_connections`). */
export const CONNECTION_LISTENERS = ['peer', 'client', 'http', 'kafka'] as const;
export type ConnectionListener = (typeof CONNECTION_LISTENERS)[number];

/** A partition replica hosted here, as the per-partition gauges read it. */
export interface ReplicaGauges {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: number;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  readonly bytes: number;
  readonly leader: boolean;
  readonly stopped: boolean;
}

/** A partition led here, as the leader's gauges read it. */
export interface LedGauges {
  readonly topic: string;
  readonly partition: number;
  readonly inSync: number;
  /** The replicas in sync, the leader first (their count is `inSync`). */
  readonly inSyncReplicas: readonly string[];
  readonly underReplicated: boolean;
  /** Per other replica (follower or learner): records of the leader's log it does not hold. */
  readonly replicaLag: readonly { readonly replica: string; readonly records: number }[];
}

/** What the gauges of partitions, connections, the metadata group and consumer lag read of the node (node-gauges.ts). */
export interface NodeGaugeSource {
  /** Every partition replica hosted here. */
  replicas(): readonly ReplicaGauges[];
  /** Replicas placed here that could not be opened (their partitions count as stopped here). */
  unopened(): readonly { readonly topic: string; readonly partition: number }[];
  /** The partitions led here. */
  led(): readonly LedGauges[];
  /** Raft groups hosted here stopped by a storage failure, and replicas that could not be opened. */
  stoppedGroups(): number;
  connections(): Readonly<Record<ConnectionListener, number>>;
  /** The metadata group as this node sees it; null before it is open. */
  meta(): { readonly leader: boolean; readonly term: number } | null;
  consumerLag(): LagCollection;
}

export class NodeMetrics {
  /** The node's metrics, and after them the families of many series (partitionFamilies: exposition.ts says why). */
  readonly registry: Registry = new FamilyRegistry(this.partitionFamilies(), () => this.nodeLabels);
  private nodeLabels: Readonly<Record<string, string>> = {};
  readonly requests = new Counter({ name: 'raftlog_requests_total', help: 'Client requests by type and outcome', labelNames: ['type', 'outcome'] as const, registers: [this.registry] });
  readonly requestSeconds = new Histogram({
    name: 'raftlog_request_seconds',
    help: 'Client request latency by type',
    labelNames: ['type'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly producedBytes = new Counter({ name: 'raftlog_produced_bytes_total', help: 'Record batch bytes accepted for writing', registers: [this.registry] });
  readonly fetchedBytes = new Counter({ name: 'raftlog_fetched_bytes_total', help: 'Record batch bytes served to consumers', registers: [this.registry] });
  readonly replyBytes = new Gauge({
    name: 'raftlog_client_reply_bytes',
    help: 'Bytes of replies client connections hold: reserved by fetches being served, and sent but not yet taken by the client (src/server/reply-budget.ts)',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly slowClientsClosed = new Counter({
    name: 'raftlog_slow_clients_closed_total',
    help: 'Client connections closed for leaving their replies unread (src/server/reply-budget.ts)',
    labelNames: ['listener'] as const,
    registers: [this.registry],
  });
  readonly authorizationDenials = new Counter({
    name: 'raftlog_authorization_denied_total',
    help: 'Requests, or their topics, partitions or groups, refused by the ACLs (--authorizer acl), by resource type and operation',
    labelNames: ['resource_type', 'operation'] as const,
    registers: [this.registry],
  });
  readonly httpLoginFailures = new Counter({
    name: 'raftlog_http_login_failures_total',
    help: "Failed logins on the HTTP listener (HTTP Basic, the console's login; src/server/http-auth.ts): 'credentials', a wrong name or password; 'locked_out', refused unchecked while the host is locked out",
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  // Client quotas (src/server/quotas.ts): a principal with a quota of its own has its own label (up
  // to QUOTA_METRIC_PRINCIPALS_MAX of them), every other principal is counted under '<others>'.
  readonly quotaBytes = new Counter({
    name: 'raftlog_quota_bytes_total',
    help: 'Record batch bytes produced to and fetched from this node, by principal and direction (produce, fetch)',
    labelNames: ['principal', 'direction'] as const,
    registers: [this.registry],
  });
  readonly quotaThrottleSeconds = new Counter({
    name: 'raftlog_quota_throttle_seconds_total',
    help: 'Throttle time this node gave client connections for going over their quota, by principal and direction',
    labelNames: ['principal', 'direction'] as const,
    registers: [this.registry],
  });
  readonly quotaThrottled = new Counter({
    name: 'raftlog_quota_throttled_total',
    help: 'Replies that throttled their connection for going over a quota, by principal and direction',
    labelNames: ['principal', 'direction'] as const,
    registers: [this.registry],
  });
  readonly leaderElections = new Counter({ name: 'raftlog_leader_elections_total', help: 'Times this node became leader of a group', labelNames: ['group'] as const, registers: [this.registry] });
  readonly groupsLed: Gauge = new Gauge({ name: 'raftlog_groups_led', help: 'Raft groups this node leads', registers: [this.registry], collect: () => this.groupsLed.set(this.hostGroups(true)) });
  readonly groups: Gauge = new Gauge({ name: 'raftlog_groups', help: 'Raft groups hosted on this node', registers: [this.registry], collect: () => this.groups.set(this.hostGroups(false)) });
  readonly hostPasses: Gauge = new Gauge({ name: 'raftlog_ready_passes', help: 'Ready passes run by the group host', registers: [this.registry], collect: () => this.hostPasses.set(this.host.stats.passes) });
  readonly logSyncSeconds = new Histogram({
    name: 'raftlog_log_sync_seconds',
    help: 'Duration of each round of log fdatasyncs (--sync fsync): every acknowledged write waits on one, so a slow disk shows here first',
    buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048],
    registers: [this.registry],
  });
  readonly hostSyncs: Gauge = new Gauge({ name: 'raftlog_log_syncs', help: 'fdatasync calls made by the group host', registers: [this.registry], collect: () => this.hostSyncs.set(this.host.stats.syncs) });

  // What the node wrote to disk and synced, by kind of file (storage/disk-accounting.ts): beside
  // process_* and /proc/<pid>/io, where the disk bytes go.
  readonly diskWrittenBytes: Gauge = new Gauge({
    name: 'raftlog_disk_written_bytes',
    help: 'Bytes this node wrote to its data folder since it started, by kind of file (segment, segment-index, sync-ledger, hard-state, log-metadata, producer-state, other); LevelDB (the metadata store) is not counted',
    labelNames: ['file'] as const,
    registers: [this.registry],
    collect: () => {
      for (const k of DISK_FILE_KINDS) this.diskWrittenBytes.set({ file: k }, this.disk?.[k].bytes ?? 0);
    },
  });
  readonly diskSyncs: Gauge = new Gauge({
    name: 'raftlog_disk_syncs',
    help: 'fsync and fdatasync calls this node made since it started, by kind of file (as raftlog_disk_written_bytes; other counts folders)',
    labelNames: ['file'] as const,
    registers: [this.registry],
    collect: () => {
      for (const k of DISK_FILE_KINDS) this.diskSyncs.set({ file: k }, this.disk?.[k].syncs ?? 0);
    },
  });

  readonly recoverySentBytes: Gauge = new Gauge({
    name: 'raftlog_recovery_sent_bytes',
    help: 'Bytes of partition logs this node streamed to replicas catching up by files, since it started',
    registers: [this.registry],
    collect: () => this.recoverySentBytes.set(this.recovery?.stats.bytesSent ?? 0),
  });
  readonly recoveryReceivedBytes: Gauge = new Gauge({
    name: 'raftlog_recovery_received_bytes',
    help: 'Bytes of partition logs this node took in from leaders to catch up by files, since it started',
    registers: [this.registry],
    collect: () => this.recoveryReceivedBytes.set(this.recovery?.stats.bytesReceived ?? 0),
  });
  readonly recoveryTransfers: Gauge = new Gauge({
    name: 'raftlog_recovery_transfers',
    help: 'Catch-up transfers by direction and outcome since the node started (in_progress: now)',
    labelNames: ['direction', 'outcome'] as const,
    registers: [this.registry],
    collect: () => {
      const r = this.recovery;
      if (r === null) return;
      const now = r.transfers();
      this.recoveryTransfers.set({ direction: 'sent', outcome: 'started' }, r.stats.sendsStarted);
      this.recoveryTransfers.set({ direction: 'sent', outcome: 'finished' }, r.stats.sendsFinished);
      this.recoveryTransfers.set({ direction: 'sent', outcome: 'failed' }, r.stats.sendsFailed);
      this.recoveryTransfers.set({ direction: 'received', outcome: 'completed' }, r.stats.receivesCompleted);
      this.recoveryTransfers.set({ direction: 'received', outcome: 'installed' }, r.stats.installs);
      this.recoveryTransfers.set({ direction: 'received', outcome: 'failed' }, r.stats.receivesFailed);
      this.recoveryTransfers.set({ direction: 'sent', outcome: 'in_progress' }, now.filter((t) => t.direction === 'sending').length);
      this.recoveryTransfers.set({ direction: 'received', outcome: 'in_progress' }, now.filter((t) => t.direction === 'receiving').length);
    },
  });

  readonly tailCacheBytes: Gauge = new Gauge({
    name: 'raftlog_tail_cache_bytes',
    help: "Bytes of the partitions' tail cache rings allocated now, all partitions together (at most about --cache-bytes)",
    registers: [this.registry],
    collect: () => this.tailCacheBytes.set(this.cacheBudget?.allocatedBytes ?? 0),
  });

  readonly groupsStopped: Gauge = new Gauge({
    name: 'raftlog_groups_stopped',
    help: 'Raft groups on this node (partitions and the metadata) stopped by a storage failure, and partition replicas that could not be opened; /status has each one and its error',
    registers: [this.registry],
    collect: () => this.groupsStopped.set(this.source?.stoppedGroups() ?? 0),
  });

  readonly connections: Gauge = new Gauge({
    name: 'raftlog_connections',
    help: 'Connections open now, by listener: peer (other nodes connected), client (/client), http (connections that sent an HTTP request), kafka',
    labelNames: ['listener'] as const,
    registers: [this.registry],
    collect: () => {
      const c = this.source?.connections();
      for (const l of CONNECTION_LISTENERS) this.connections.set({ listener: l }, c?.[l] ?? 0);
    },
  });

  readonly metaLeader: Gauge = new Gauge({
    name: 'raftlog_meta_leader',
    help: 'Whether this node leads the metadata group, and so is the controller and the group coordinator (1), or not (0)',
    registers: [this.registry],
    collect: () => this.metaLeader.set(this.source?.meta()?.leader === true ? 1 : 0),
  });
  readonly metaTerm: Gauge = new Gauge({
    name: 'raftlog_meta_term',
    help: "The metadata group's Raft term as this node knows it: it goes up by one or more at each election",
    registers: [this.registry],
    collect: () => {
      this.metaTerm.reset();
      const m = this.source?.meta() ?? null;
      if (m !== null) this.metaTerm.set(m.term);
    },
  });

  // Consumer-group lag (src/groups/lag.ts), on the leader of each partition: the pairs are families (below).
  readonly consumerLagOmitted: Gauge = new Gauge({
    name: 'raftlog_consumer_group_lag_omitted',
    help: 'Group and partition pairs led here whose lag is not exported this time: lag=records past CONSUMER_LAG_SERIES_MAX, lag=seconds past CONSUMER_LAG_READS_MAX or unreadable (src/groups/lag.ts)',
    labelNames: ['lag'] as const,
    registers: [this.registry],
    collect: () => {
      const c = this.source?.consumerLag();
      this.consumerLagOmitted.set({ lag: 'records' }, c?.omittedRecords ?? 0);
      this.consumerLagOmitted.set({ lag: 'seconds' }, c?.omittedSeconds ?? 0);
    },
  });

  constructor(
    node: string,
    private readonly host: HostGauges,
    private readonly recovery: Pick<LogRecovery, 'stats' | 'transfers'> | null = null,
    private readonly cacheBudget: Pick<TailCacheBudget, 'allocatedBytes'> | null = null,
    private readonly source: NodeGaugeSource | null = null,
    private readonly disk: Readonly<Record<DiskFileKind, DiskKindStats>> | null = null,
  ) {
    this.nodeLabels = { node };
    this.registry.setDefaultLabels({ node });
    // The runtime's own (nodejs_*, process_*): among them the event loop's delay,
    // nodejs_eventloop_lag_seconds and its p50/p90/p99 since the last collection.
    collectDefaultMetrics({ register: this.registry });
  }

  /**
   * The gauges of one series per partition replica, per partition led, and per consumer group and
   * partition led (the README's "Monitoring" says what each is for).
   */
  private partitionFamilies(): GaugeFamily[] {
    // A row's labels are written once, for all its families (rows are the source's, kept for one collection).
    const written = new WeakMap<object, string>();
    const labels = (p: { readonly topic: string; readonly partition: number }): string => {
      let l = written.get(p);
      if (l === undefined) written.set(p, (l = labelText({ topic: p.topic, partition: String(p.partition) })));
      return l;
    };
    const lagLabels = (r: LagRow): string => {
      let l = written.get(r);
      if (l === undefined) written.set(r, (l = labelText({ group: r.group, topic: r.topic, partition: String(r.partition) })));
      return l;
    };
    const replica = (name: string, help: string, value: (r: ReplicaGauges) => number): GaugeFamily => ({
      name,
      help,
      collect: (emit) => {
        for (const r of this.source?.replicas() ?? []) emit(labels(r), value(r));
      },
    });
    const led = (name: string, help: string, value: (l: LedGauges) => number): GaugeFamily => ({
      name,
      help,
      collect: (emit) => {
        for (const l of this.source?.led() ?? []) emit(labels(l), value(l));
      },
    });
    return [
      replica('raftlog_partition_high_watermark', "The offset after the last committed record this replica has applied (the leader's is the partition's: what consumers read up to)", (r) => r.highWatermark),
      replica('raftlog_partition_log_end_offset', "The offset after the last record in this replica's log, committed or not", (r) => r.logEndOffset),
      replica('raftlog_partition_log_start_offset', "The first offset this replica's log holds (retention and deletes move it)", (r) => r.logStartOffset),
      replica('raftlog_partition_bytes', "Bytes of this replica's log segments on disk", (r) => r.bytes),
      replica('raftlog_partition_leader', 'Whether this node leads the partition (1) or not (0)', (r) => (r.leader ? 1 : 0)),
      {
        name: 'raftlog_partition_stopped',
        help: "Whether this node's replica of the partition is stopped by a storage failure, or could not be opened (1), or runs (0); /status has the error",
        collect: (emit) => {
          for (const r of this.source?.replicas() ?? []) emit(labels(r), r.stopped ? 1 : 0);
          for (const r of this.source?.unopened() ?? []) emit(labels(r), 1);
        },
      },
      led('raftlog_partition_under_replicated', 'On the leader: 1 while fewer replicas are in sync than the partition has (src/partition/in-sync.ts), else 0', (l) => (l.underReplicated ? 1 : 0)),
      led('raftlog_partition_in_sync_replicas', 'On the leader: replicas in sync, the leader included (src/partition/in-sync.ts)', (l) => l.inSync),
      {
        name: 'raftlog_partition_replica_lag_records',
        help: "On the leader, per other replica (follower or learner): records of the leader's log it does not hold yet",
        collect: (emit) => {
          for (const l of this.source?.led() ?? []) for (const r of l.replicaLag) emit(`${labels(l)},${labelText({ replica: r.replica })}`, r.records);
        },
      },
      {
        name: 'raftlog_consumer_group_lag_records',
        help: 'Per consumer group and partition led here: records the group has not consumed (the high watermark minus its committed offset)',
        collect: (emit) => {
          for (const r of this.source?.consumerLag().rows ?? []) emit(lagLabels(r), r.records);
        },
      },
      {
        name: 'raftlog_consumer_group_lag_seconds',
        help: 'Per consumer group and partition led here: seconds since the first record the group has not consumed was written (by its timestamp); 0 when caught up',
        collect: (emit) => {
          for (const r of this.source?.consumerLag().rows ?? []) if (r.seconds !== null) emit(lagLabels(r), r.seconds);
        },
      },
    ];
  }

  /** Groups hosted here, or only those this node leads. */
  private hostGroups(led: boolean): number {
    let n = 0;
    for (const g of this.host.all()) if (!led || g.raft.role === Role.Leader) n++;
    return n;
  }
}
