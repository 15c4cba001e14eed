/**
 * Which replicas of a partition are in sync with its leader, as Kafka's in-sync replicas (ISR):
 * what `raftlog_partition_under_replicated` and `raftlog_partition_in_sync_replicas` report
 * (src/node/metrics.ts). A replica other than the leader is in sync while
 *
 * - it is a voter of the group (a learner is still catching up, a rejoining replica counts in no
 *   quorum: raft/rejoin.ts),
 * - its node is connected to the leader's, and
 * - within the last REPLICA_LAG_MS_MAX it has held every entry the leader held at some moment
 *   (Kafka's replica.lag.time.max.ms, 30 s there): it keeps up, even if never exactly at the end
 *   of a log that grows all the time.
 *
 * The leader samples its groups every IN_SYNC_SAMPLE_MS (node.ts). At a sample, a replica whose
 * match index reaches the leader's last index is caught up now; one that reaches the last index of
 * the previous sample was caught up then (it is one sample behind, fetching steadily). A replica
 * seen for the first time (a new leadership, a replica just added) is given REPLICA_LAG_MS_MAX
 * from then to show it: a new leader knows nothing of its followers' logs until they answer. One
 * whose node is not connected at a sample is out of sync until it has caught up again after it
 * reconnects, however short its absence: it may have missed anything written meanwhile.
 *
 * Pure: the caller gives the times, indexes and connections.
 */
import type { NodeId } from '../../raft/types.js';

/** How long a replica may go without holding all the leader held, and stay in sync. */
export const REPLICA_LAG_MS_MAX = 10_000;
/** How often a leader samples its followers' match indexes for it (a tenth of REPLICA_LAG_MS_MAX). */
export const IN_SYNC_SAMPLE_MS = 1000;

interface GroupSamples {
  /** When the last sample was taken, and the leader's last index then. */
  at: number;
  lastIndex: number;
  /** Per replica, the last time it held every entry the leader held then. */
  readonly caughtUp: Map<NodeId, number>;
}

export class InSyncTracker {
  private readonly groups = new Map<string, GroupSamples>();

  constructor(private readonly lagMsMax = REPLICA_LAG_MS_MAX) {}

  /** A sample of `group`, led here, at `now`: the leader's last index, and each other replica's match index and whether its node is connected. */
  sample(group: string, now: number, lastIndex: number, replicas: readonly { readonly id: NodeId; readonly match: number; readonly connected: boolean }[]): void {
    let g = this.groups.get(group);
    if (g === undefined) {
      g = { at: now, lastIndex, caughtUp: new Map() };
      this.groups.set(group, g);
    }
    const seen = new Set<NodeId>();
    for (const r of replicas) {
      seen.add(r.id);
      let t = g.caughtUp.get(r.id) ?? (r.connected ? now : -Infinity);
      if (!r.connected) t = -Infinity;
      else if (r.match >= lastIndex) t = now;
      else if (r.match >= g.lastIndex) t = Math.max(t, g.at);
      g.caughtUp.set(r.id, t);
    }
    for (const id of [...g.caughtUp.keys()]) if (!seen.has(id)) g.caughtUp.delete(id);
    g.at = now;
    g.lastIndex = lastIndex;
  }

  /** Whether `replica` of `group` held all the leader held within REPLICA_LAG_MS_MAX before `now` (false if never sampled). */
  caughtUp(group: string, replica: NodeId, now: number): boolean {
    const t = this.groups.get(group)?.caughtUp.get(replica);
    return t !== undefined && now - t <= this.lagMsMax;
  }

  /** Forgets the groups not in `led`: a leadership taken again later starts afresh. */
  retain(led: ReadonlySet<string>): void {
    for (const id of [...this.groups.keys()]) if (!led.has(id)) this.groups.delete(id);
  }

  /** Groups sampled (for tests: bounded by the groups led). */
  get size(): number {
    return this.groups.size;
  }
}

/** One replica as the leader's Raft status has it (raft/types.ts PeerStatus). */
export interface ReplicaProgress {
  readonly id: NodeId;
  readonly match: number;
  readonly learner: boolean;
  readonly rejoin: string | null;
}

export interface InSyncView {
  /** The replicas counted in sync, the leader first. */
  readonly inSync: readonly NodeId[];
  /** The replicas the partition should have: its voters and its target replicas in the metadata together. */
  readonly replicas: number;
  /** Fewer in sync than replicas. */
  readonly underReplicated: boolean;
}

/**
 * The in-sync replicas of a group led by `self`: itself, and each other voter that is connected
 * and caught up (InSyncTracker). Counted against the voters and the metadata's target together, so
 * that a partition moving replicas, or one whose target names a replica not added yet, is under-replicated
 * until the move is done, as in Kafka during a reassignment.
 */
export function inSyncReplicas(o: {
  readonly self: NodeId;
  readonly voters: readonly NodeId[];
  readonly target: readonly NodeId[];
  readonly peers: readonly ReplicaProgress[];
  readonly connected: (id: NodeId) => boolean;
  readonly caughtUp: (id: NodeId) => boolean;
}): InSyncView {
  const voters = new Set(o.voters);
  const inSync = [o.self];
  for (const p of o.peers) {
    if (p.id === o.self || !voters.has(p.id) || p.learner || p.rejoin !== null) continue;
    if (o.connected(p.id) && o.caughtUp(p.id)) inSync.push(p.id);
  }
  const replicas = new Set([...o.voters, ...o.target, o.self]).size;
  return { inSync, replicas, underReplicated: inSync.length < replicas };
}
