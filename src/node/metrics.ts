/**
 * Prometheus metrics of one node (GET /metrics), with prom-client. The gauges of the group host
 * read it each time the metrics are collected.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Role } from '../../raft/types.js';
import type { TailCacheBudget } from '../../storage/tail-cache.js';
import type { GroupHost } from '../host/group-host.js';
import type { LogRecovery } from '../host/log-recovery.js';

/** What the gauges read of the group host. */
export type HostGauges = Pick<GroupHost, 'all' | 'stats'>;

export class NodeMetrics {
  readonly registry = new Registry();
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

  constructor(
    node: string,
    private readonly host: HostGauges,
    private readonly recovery: Pick<LogRecovery, 'stats' | 'transfers'> | null = null,
    private readonly cacheBudget: Pick<TailCacheBudget, 'allocatedBytes'> | null = null,
  ) {
    this.registry.setDefaultLabels({ node });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Groups hosted here, or only those this node leads. */
  private hostGroups(led: boolean): number {
    let n = 0;
    for (const g of this.host.all()) if (!led || g.raft.role === Role.Leader) n++;
    return n;
  }
}
