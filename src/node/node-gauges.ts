/**
 * What the node's gauges read (metrics.ts NodeGaugeSource), worked out from its partitions, Raft
 * groups, listeners and metadata; and the sampling of the followers of the partitions it leads
 * that in-sync replicas are judged by (src/partition/in-sync.ts), every IN_SYNC_SAMPLE_MS.
 *
 * prom-client collects every metric of the registry in one turn of the event loop, so each view
 * is worked out once per collection: it is kept until the next turn (PerTurn).
 */
import { Role, type NodeId } from '../../raft/types.js';
import type { RaftGroup } from '../host/raft-group.js';
import { ConsumerLag, type CommittedOffset, type LagCollection, type LagPartition } from '../groups/lag.js';
import { partitionGroupId, type TopicRecord } from '../meta/commands.js';
import { InSyncTracker, inSyncReplicas } from '../partition/in-sync.js';
import type { Partition } from '../partition/partition.js';
import { records } from '../wire/record-batch/decode.js';
import type { ConnectionListener, LedGauges, NodeGaugeSource, ReplicaGauges } from './metrics.js';

/** What the gauges read of a partition replica. */
export type GaugedPartition = Pick<Partition, 'topic' | 'partition' | 'highWatermark' | 'appliedIndex' | 'log' | 'group' | 'isReady'>;

/** What the gauges read of the node. */
export interface GaugedNode {
  readonly self: NodeId;
  /** Partition replicas hosted here, by group id. */
  readonly partitions: ReadonlyMap<string, GaugedPartition>;
  /** Replicas placed here that could not be opened, by group id. */
  readonly brokenPartitions: ReadonlyMap<string, string>;
  /** Every Raft group hosted here, the metadata's included. */
  groups(): Iterable<Pick<RaftGroup, 'failed'>>;
  /** The metadata as applied here; undefined until it is open. */
  meta(): { topics(): TopicRecord[]; allOffsets(): CommittedOffset[] } | undefined;
  /** The metadata group's term and whether this node leads it; null until it is open. */
  metaGroup(): { readonly leader: boolean; readonly term: number } | null;
  /** The peers this node is connected to now. */
  connectedPeers(): ReadonlySet<NodeId>;
  connections(): Readonly<Record<ConnectionListener, number>>;
  now(): number;
}

/** A value worked out at most once per turn of the event loop. */
class PerTurn<T> {
  private value: T | undefined;

  get(compute: () => T): T {
    if (this.value === undefined) {
      this.value = compute();
      setImmediate(() => (this.value = undefined));
    }
    return this.value;
  }
}

export class NodeGauges implements NodeGaugeSource {
  private readonly tracker = new InSyncTracker();
  private readonly lag = new ConsumerLag();
  /** Per led group and replica: the offset after its match index, kept while the match and the term stay (offsetAfterIndex may read the disk). */
  private readonly matchOffsets = new Map<string, { readonly term: number; readonly match: number; readonly offset: number }>();
  private readonly replicaView = new PerTurn<readonly ReplicaGauges[]>();
  private readonly ledView = new PerTurn<readonly LedGauges[]>();
  private readonly lagView = new PerTurn<LagCollection>();

  constructor(private readonly node: GaugedNode) {}

  /** Samples the followers of every partition led here (call every IN_SYNC_SAMPLE_MS). */
  sample(): void {
    const now = this.node.now();
    const connected = this.node.connectedPeers();
    const led = new Set<string>();
    for (const [id, p] of this.node.partitions) {
      if (!leads(p)) continue;
      const st = p.group.raft.status();
      led.add(id);
      this.tracker.sample(id, now, st.lastIndex, st.peers.flatMap((r) => (r.id === this.node.self ? [] : [{ id: r.id, match: r.match, connected: connected.has(r.id) }])));
    }
    this.tracker.retain(led);
    for (const k of [...this.matchOffsets.keys()]) if (!led.has(k.slice(0, k.indexOf('\u0000')))) this.matchOffsets.delete(k);
  }

  replicas(): readonly ReplicaGauges[] {
    return this.replicaView.get(() => {
      const out: ReplicaGauges[] = [];
      for (const p of this.node.partitions.values()) {
        out.push({
          topic: p.topic.name,
          partition: p.partition,
          highWatermark: p.highWatermark,
          logStartOffset: p.log.logStartOffset(),
          logEndOffset: p.log.logEndOffset(),
          bytes: p.log.status().bytes,
          leader: leads(p),
          stopped: p.group.failed !== null,
        });
      }
      return out;
    });
  }

  unopened(): readonly { readonly topic: string; readonly partition: number }[] {
    const broken = this.node.brokenPartitions;
    if (broken.size === 0) return [];
    const out: { topic: string; partition: number }[] = [];
    for (const t of this.node.meta()?.topics() ?? []) {
      t.assignments.forEach((_, p) => {
        if (broken.has(partitionGroupId(t.id, p))) out.push({ topic: t.name, partition: p });
      });
    }
    return out;
  }

  led(): readonly LedGauges[] {
    return this.ledView.get(() => {
      const now = this.node.now();
      const topics = new Map((this.node.meta()?.topics() ?? []).map((t) => [t.id, t]));
      const connected = this.node.connectedPeers();
      const out: LedGauges[] = [];
      for (const [id, p] of this.node.partitions) {
        if (!leads(p)) continue;
        const st = p.group.raft.status();
        const view = inSyncReplicas({
          self: this.node.self,
          voters: st.membership.voters,
          target: topics.get(p.topic.id)?.assignments[p.partition] ?? [],
          peers: st.peers,
          connected: (r) => connected.has(r),
          caughtUp: (r) => this.tracker.caughtUp(id, r, now),
        });
        const end = p.log.logEndOffset();
        const replicaLag: { replica: string; records: number }[] = [];
        for (const r of st.peers) {
          if (r.id === this.node.self) continue;
          const offset = r.match >= st.lastIndex ? end : this.offsetAfter(id, p, st.term, r.id, r.match);
          if (offset !== null) replicaLag.push({ replica: r.id, records: Math.max(0, end - offset) });
        }
        out.push({ topic: p.topic.name, partition: p.partition, inSync: view.inSync.length, inSyncReplicas: view.inSync, underReplicated: view.underReplicated, replicaLag });
      }
      return out;
    });
  }

  /** The leader's offset after Raft index `match` (null if the log cannot say). */
  private offsetAfter(group: string, p: GaugedPartition, term: number, replica: NodeId, match: number): number | null {
    const key = `${group}\u0000${replica}`;
    const known = this.matchOffsets.get(key);
    if (known !== undefined && known.term === term && known.match === match) return known.offset;
    try {
      const offset = p.log.offsetAfterIndex(match);
      this.matchOffsets.set(key, { term, match, offset });
      return offset;
    } catch {
      return null;
    }
  }

  stoppedGroups(): number {
    let n = this.node.brokenPartitions.size;
    for (const g of this.node.groups()) if (g.failed !== null) n++;
    return n;
  }

  connections(): Readonly<Record<ConnectionListener, number>> {
    return this.node.connections();
  }

  meta(): { readonly leader: boolean; readonly term: number } | null {
    return this.node.metaGroup();
  }

  consumerLag(): LagCollection {
    return this.lagView.get(() => {
      const meta = this.node.meta();
      if (meta === undefined) return { rows: [], omittedRecords: 0, omittedSeconds: 0 };
      const ready = new Map<string, LagPartition>();
      for (const p of this.node.partitions.values()) if (p.isReady()) ready.set(`${p.topic.name}/${p.partition}`, lagPartition(p));
      if (ready.size === 0) return { rows: [], omittedRecords: 0, omittedSeconds: 0 };
      return this.lag.collect(meta.allOffsets(), (topic, partition) => ready.get(`${topic}/${partition}`), this.node.now());
    });
  }
}

/** Leading the partition's group, and the group runs. */
function leads(p: GaugedPartition): boolean {
  return p.group.failed === null && p.group.raft.role === Role.Leader;
}

/** A ready leader's partition as the consumer lag reads it: the record timestamps come from its own log. */
function lagPartition(p: GaugedPartition): LagPartition {
  return {
    highWatermark: p.highWatermark,
    logStartOffset: () => p.log.logStartOffset(),
    timestampAt: (offset) => {
      try {
        for (const b of p.log.readBatches(offset, 1, p.appliedIndex).batches) for (const r of records(b)) if (r.offset >= offset) return r.timestamp;
      } catch {
        // a record that cannot be read (gone to retention meanwhile, a damaged batch) leaves the lag in seconds unknown
      }
      return null;
    },
  };
}
