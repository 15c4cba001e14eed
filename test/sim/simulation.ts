/**
 * A deterministic simulation of whole Raft clusters. Everything random comes from one seed: the
 * network (delay, loss, duplication, reordering, partitions, including one-way cuts and an
 * isolated leader), the disk (a crash keeps a random prefix of what was not synced), crashes and
 * restarts, log compaction, leadership transfers, and a client that proposes unique values and
 * asks for linearizable reads. The safety invariants (test/sim/invariants.ts) are checked after
 * every event. A run has four phases:
 *
 * 1. chaos: faults on a random schedule;
 * 2. heal: every node up, every link whole, no loss; a leader must commit a new proposal within
 *    `livenessBound` time units;
 * 3. settle, then the stability probe: cut one follower off from everyone for several election
 *    timeouts and reconnect it; the leader and every term must stay as they were (pre-vote);
 * 4. the end: every acknowledged value is in the common applied sequence, exactly once.
 *
 * A crash can also cost the node synced data (test/sim/disk.ts: wiped, log cut, hard state lost):
 * it restarts rejoining (raft/rejoin.ts), and the invariants hold through its catch-up and promotion.
 *
 * Time is in units; a node ticks every `TICK` units.
 */
import { Raft } from '../../raft/raft.js';
import { RaftError } from '../../raft/errors.js';
import { seededRandom } from '../../raft/random.js';
import type { CommitBroadcast, RaftLimits, UnsafeMutations } from '../../raft/config.js';
import { EntryKind, Role, type Entry, type Message, type NodeId, type Ready } from '../../raft/types.js';
import { durableCommit } from '../../src/host/raft-group.js';
import { SimDisk, type DiskDamage } from './disk.js';
import { EventQueue } from './heap.js';
import { InvariantViolation, Invariants, type NodeView } from './invariants.js';

export const TICK = 10;
const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 2;
const ELECTION_TIME = TICK * ELECTION_TICKS;

export interface HostMutations {
  /** Send a Ready's messages before its entries and hard state are synced. */
  sendBeforePersist?: boolean;
  /** Restart a node whose disk lost synced data as if nothing happened: it votes with what is left (the defect of issue 18 item 1). */
  ignoreDiskDamage?: boolean;
}

export type MutantName = keyof UnsafeMutations | keyof HostMutations;
export const MUTANTS: readonly MutantName[] = ['grantVoteWithoutLogCheck', 'commitPriorTermByCount', 'sendBeforePersist', 'skipPreVote', 'rejoinerVotes', 'ignoreDiskDamage'];
const HOST_MUTANTS: readonly MutantName[] = ['sendBeforePersist', 'ignoreDiskDamage'];

export interface SimOptions {
  readonly seed: number;
  readonly mutant?: MutantName;
  readonly trace?: boolean;
  /** Length of the chaos phase, in time units. */
  readonly chaosTime?: number;
}

export interface SimStats {
  events: number;
  time: number;
  nodes: number;
  leaders: number;
  proposals: number;
  acked: number;
  reads: number;
  crashes: number;
  partitions: number;
  compactions: number;
  snapshotsInstalled: number;
  /** Disks that lost synced data (wiped, log cut, hard state lost), and promotions of the replicas that rejoined. */
  damagedDisks: number;
  promotions: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly trace: readonly string[];
  readonly stats: SimStats;
}

type SimEvent =
  | { kind: 'tick'; node: number; inc: number }
  | { kind: 'deliver'; msg: Message }
  | { kind: 'sync'; node: number; inc: number }
  | { kind: 'propose' }
  | { kind: 'read' }
  | { kind: 'fault' }
  | { kind: 'restart'; node: number }
  | { kind: 'crashLeader'; node: number; term: number }
  | { kind: 'peerDown' | 'peerUp'; node: number; inc: number; peer: NodeId }
  | { kind: 'heal' }
  | { kind: 'probe'; step: 'isolate' | 'reconnect' | 'check' };

interface PendingRead {
  readonly id: number;
  /** Applied position of the newest value acknowledged before the read was asked; the read must see it. */
  readonly mustSee: number;
  index: number | null;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

class SimNode implements NodeView {
  core: Raft | null = null;
  readonly disk = new SimDisk();
  inc = 0;
  values: string[] = [];
  readyOut: Ready | null = null;
  wasLeader = false;
  /** The incarnation the node was last seen rejoining under (null: a voter). */
  rejoinSeen: string | null = null;
  reads = new Map<number, PendingRead>();

  constructor(readonly id: NodeId, readonly index: number) {}

  private raft(): Raft {
    if (this.core === null) throw new Error(`${this.id} is down`);
    return this.core;
  }
  term(): number {
    return this.raft().term;
  }
  commit(): number {
    return this.raft().committed;
  }
  isLeader(): boolean {
    return this.core !== null && this.core.role === Role.Leader;
  }
  firstIndex(): number {
    return this.raft().firstIndex();
  }
  lastIndex(): number {
    return this.raft().lastIndex();
  }
  termAt(i: number): number | null {
    return this.raft().termAt(i);
  }
  entryAt(i: number): Entry | null {
    const r = this.raft();
    if (i < r.firstIndex() || i > r.lastIndex()) return null;
    return r.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0] ?? null;
  }
}

export class Simulation {
  private readonly rand: () => number;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly nodes: SimNode[] = [];
  private readonly inv = new Invariants();
  private readonly mutations: UnsafeMutations;
  private readonly host: HostMutations;
  private readonly limits: Partial<RaftLimits>;
  /** Odd seeds run the partition groups' piggybacked commit broadcast (from the seed, not `rand`, so every seed's schedule is what it was). */
  private readonly commitBroadcast: CommitBroadcast;
  private readonly traceOn: boolean;
  readonly trace: string[] = [];
  readonly stats: SimStats;

  private now = 0;
  private readonly chaosEnd: number;
  private phase: 'chaos' | 'heal' | 'probe' | 'done' = 'chaos';
  private healedAt = 0;
  private readonly livenessBound = 40 * ELECTION_TIME;
  private livenessMet = false;
  private blocked = new Set<string>();
  private lossRate = 0;
  private dupRate = 0.01;
  private spikes = 0.03;
  private slowDisk = false;
  private valueSeq = 0;
  private damageSeq = 0;
  private readSeq = 0;
  /** Proposals awaiting their entry's application on the node that took them. */
  private readonly proposals = new Map<string, { value: string; at: number }>();
  private readonly acked = new Set<string>();
  private probe: { leader: NodeId; term: number; isolated: NodeId } | null = null;
  /** Mean time between faults, and the chance that a new leader is killed soon after winning. */
  private readonly faultGap: number;
  private readonly quickLeaderCrash: number;

  constructor(readonly options: SimOptions) {
    const seed = options.seed;
    this.rand = seededRandom(seed * 7919 + 17);
    this.traceOn = options.trace === true;
    const m = options.mutant;
    this.mutations = m !== undefined && !HOST_MUTANTS.includes(m) ? { [m]: true } : {};
    this.host = m !== undefined && HOST_MUTANTS.includes(m) ? { [m]: true } : {};
    const n = this.rand() < 0.5 ? 3 : 5;
    // Small message and window limits on some seeds, so entries cross in several messages.
    this.limits = {
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: HEARTBEAT_TICKS,
      appendBytesMax: this.pick([40, 80, 1024 * 1024]),
      appendsInFlightMax: this.pick([1, 2, 8, 64]),
    };
    this.commitBroadcast = seed % 2 === 1 ? 'piggyback' : 'eager';
    this.chaosEnd = options.chaosTime ?? 60 * ELECTION_TIME;
    // Some seeds are calm, some are storms: many short reigns are what expose commit-rule bugs.
    this.faultGap = this.pick([400, 200, 80]);
    this.quickLeaderCrash = this.pick([0, 0.15, 0.4]);
    this.stats = { events: 0, time: 0, nodes: n, leaders: 0, proposals: 0, acked: 0, reads: 0, crashes: 0, partitions: 0, compactions: 0, snapshotsInstalled: 0, damagedDisks: 0, promotions: 0 };
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    for (let i = 0; i < n; i++) {
      const node = new SimNode(ids[i]!, i);
      this.nodes.push(node);
      this.start(node, ids);
    }
    this.queue.push(this.rand() * 30, { kind: 'propose' });
    this.queue.push(this.rand() * 80, { kind: 'read' });
    this.queue.push(100 + this.rand() * 300, { kind: 'fault' });
    this.queue.push(this.chaosEnd, { kind: 'heal' });
  }

  run(): SimResult {
    try {
      while (this.phase !== 'done') {
        const ev = this.queue.pop();
        if (ev === undefined) throw new InvariantViolation('the event queue ran dry');
        this.now = ev.time;
        this.stats.events++;
        this.handle(ev.item);
        if (this.phase === 'heal' && !this.livenessMet && this.now > this.healedAt + this.livenessBound) {
          throw new InvariantViolation(`liveness: no new proposal committed within ${this.livenessBound} units of healing (${this.livenessBound / ELECTION_TIME} election timeouts)`);
        }
      }
      this.checkEnd();
      this.stats.time = this.now;
      return { seed: this.options.seed, ok: true, trace: this.trace, stats: this.stats };
    } catch (err) {
      this.stats.time = this.now;
      const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      this.log(`FAILED: ${msg}`);
      return { seed: this.options.seed, ok: false, error: `t=${this.now}: ${msg}`, trace: this.trace, stats: this.stats };
    }
  }

  // ---------------------------------------------------------------------------------------------

  private handle(ev: SimEvent): void {
    switch (ev.kind) {
      case 'tick': {
        const node = this.nodes[ev.node]!;
        if (node.core === null || node.inc !== ev.inc) return;
        this.queue.push(this.now + TICK, ev);
        node.core.tick();
        this.after(node);
        return;
      }
      case 'deliver': {
        const m = ev.msg;
        const node = this.byId(m.to);
        if (node.core === null || this.blocked.has(`${m.from}>${m.to}`)) return;
        if (this.traceOn) this.log(`deliver ${fmt(m)}`);
        node.core.step(m);
        this.after(node);
        return;
      }
      case 'sync': {
        const node = this.nodes[ev.node]!;
        if (node.core === null || node.inc !== ev.inc) return;
        this.finishReady(node);
        return;
      }
      case 'propose':
        this.queue.push(this.now + 10 + this.rand() * 30, ev);
        this.propose();
        return;
      case 'read':
        this.queue.push(this.now + 30 + this.rand() * 80, ev);
        this.read();
        return;
      case 'fault':
        if (this.phase !== 'chaos') return;
        this.queue.push(this.now + this.faultGap * (0.2 + this.rand() * 1.6), ev);
        this.fault();
        return;
      case 'crashLeader': {
        const node = this.nodes[ev.node]!;
        if (this.phase === 'chaos' && node.isLeader() && node.core!.term === ev.term) this.crash(node);
        return;
      }
      case 'restart':
        this.restart(this.nodes[ev.node]!);
        return;
      case 'peerDown':
      case 'peerUp': {
        const node = this.nodes[ev.node]!;
        if (node.core === null || node.inc !== ev.inc) return;
        if (ev.kind === 'peerUp') node.core.reportReachable(ev.peer);
        else node.core.reportUnreachable(ev.peer);
        this.after(node);
        return;
      }
      case 'heal':
        this.heal();
        return;
      case 'probe':
        this.probeStep(ev.step);
        return;
    }
  }

  /** Processes whatever an input made ready, and checks the node. */
  private after(node: SimNode): void {
    this.pump(node);
    this.observe(node);
  }

  private observe(node: SimNode): void {
    if (node.core === null) return;
    this.inv.checkMonotonic(node);
    const rejoin = node.core.rejoin;
    if (rejoin !== node.rejoinSeen) {
      if (rejoin === null) {
        this.stats.promotions++;
        if (this.traceOn) this.log(`${node.id} is promoted: a voter again`);
      }
      node.rejoinSeen = rejoin;
    }
    const leader = node.core.role === Role.Leader;
    if (leader && !node.wasLeader) {
      this.stats.leaders++;
      if (this.traceOn) this.log(`${node.id} becomes leader of term ${node.core.term}`);
      this.inv.onLeader(node);
      if (this.phase === 'chaos' && this.rand() < this.quickLeaderCrash) {
        this.queue.push(this.now + this.rand() * 40, { kind: 'crashLeader', node: node.index, term: node.core.term });
      }
    }
    node.wasLeader = leader;
  }

  // ---------------------------------------------------------------------------------------------
  // The host: Ready handling, obeying (or, for the mutant, breaking) persist-before-send, and
  // sending a leader's messages first when the Ready allows it (sendFirst).

  /** A leader's Ready may send before it is synced; the mutant host sends every Ready that way. */
  private sendsFirst(rd: Ready): boolean {
    return this.host.sendBeforePersist === true || rd.sendFirst;
  }

  private pump(node: SimNode): void {
    const core = node.core;
    if (core === null || node.readyOut !== null || !core.hasReady()) return;
    const rd = core.ready();
    node.readyOut = rd;
    // In the real host's order (src/host/raft-group.ts): the hard state is durable before the
    // entries are written, so a log never holds an entry of a term above its hard state's.
    if (rd.snapshot !== null) node.disk.write({ kind: 'snapshot', snapshot: rd.snapshot });
    if (rd.hardState !== null) node.disk.write({ kind: 'hardState', hardState: { ...rd.hardState, commit: durableCommit(rd.hardState.commit, rd) } });
    if (rd.entries.length > 0) {
      node.disk.write({ kind: 'append', entries: rd.entries });
      this.inv.onAppend(node, rd.entries);
    }
    if (this.sendsFirst(rd)) this.sendAll(rd.messages);
    if (rd.mustSync) {
      const delay = this.slowDisk ? 1 + this.rand() * 40 : 1 + this.rand() * 4;
      this.queue.push(this.now + delay, { kind: 'sync', node: node.index, inc: node.inc });
    } else {
      this.finishReady(node);
    }
  }

  private finishReady(node: SimNode): void {
    const core = node.core!;
    const rd = node.readyOut!;
    if (rd.mustSync) {
      node.disk.sync();
      this.inv.onSynced(node.id, node.disk.durableHardState());
    }
    if (!this.sendsFirst(rd)) this.sendAll(rd.messages);
    if (rd.snapshot !== null) this.installSnapshot(node, rd.snapshot.data);
    this.apply(node, rd.committedEntries);
    for (const rs of rd.readStates) {
      const r = node.reads.get(rs.context as number);
      if (r !== undefined) r.index = rs.index;
    }
    for (const c of rd.readsDropped) node.reads.delete(c as number);
    core.advance(rd);
    node.readyOut = null;
    this.serveReads(node);
    this.pump(node);
    this.observe(node);
  }

  private apply(node: SimNode, entries: readonly Entry[]): void {
    let from = Infinity;
    let to = 0;
    for (const e of entries) {
      let value: string | null = null;
      let position: number | null = null;
      if (e.kind === EntryKind.Normal) {
        value = dec.decode(e.data);
        position = node.values.length;
        node.values.push(value);
      }
      this.inv.onApply(node, e, position, value);
      from = Math.min(from, e.index);
      to = Math.max(to, e.index);
      const p = this.proposals.get(`${node.id}:${e.index}:${e.term}`);
      if (p !== undefined) {
        this.proposals.delete(`${node.id}:${e.index}:${e.term}`);
        this.acked.add(p.value);
        this.stats.acked++;
        if (this.phase === 'heal' && p.at >= this.healedAt) this.livenessMet = true;
      }
    }
    if (to > 0) this.inv.checkLeaders(this.nodes.filter((n) => n.core !== null), from, to);
  }

  private installSnapshot(node: SimNode, data: Uint8Array): void {
    const values = JSON.parse(dec.decode(data)) as string[];
    this.inv.onSnapshotValues(node.id, values);
    node.values = values;
    this.stats.snapshotsInstalled++;
  }

  private serveReads(node: SimNode): void {
    const core = node.core!;
    for (const [id, r] of node.reads) {
      if (r.index === null || core.applied < r.index) continue;
      node.reads.delete(id);
      if (node.values.length <= r.mustSee) {
        throw new InvariantViolation(`stale read: read ${id} on ${node.id} saw ${node.values.length} values at index ${r.index}, but value ${r.mustSee} was acknowledged before it began`);
      }
    }
  }

  private sendAll(msgs: readonly Message[]): void {
    for (const m of msgs) {
      if (this.rand() < this.lossRate) continue;
      this.queue.push(this.now + this.delay(), { kind: 'deliver', msg: m });
      if (this.rand() < this.dupRate) this.queue.push(this.now + this.delay(), { kind: 'deliver', msg: m });
    }
  }

  private delay(): number {
    return this.rand() < this.spikes ? 10 + this.rand() * 80 : 1 + this.rand() * 7;
  }

  // ---------------------------------------------------------------------------------------------
  // Clients

  private leader(): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes) {
      if (n.isLeader() && (best === null || n.core!.term > best.core!.term)) best = n;
    }
    return best;
  }

  private propose(): void {
    // Usually the leader, sometimes anyone (who must refuse unless it leads).
    const node = this.rand() < 0.9 ? this.leader() : this.nodes[Math.floor(this.rand() * this.nodes.length)]!;
    if (node === null || node.core === null) return;
    const count = this.rand() < 0.2 ? 1 + Math.floor(this.rand() * 3) : 1;
    const values = Array.from({ length: count }, () => `v${this.valueSeq++}`);
    try {
      const r = node.core.propose(values.map((v) => enc.encode(v)));
      this.stats.proposals += count;
      for (let k = 0; k < count; k++) this.proposals.set(`${node.id}:${r.firstIndex + k}:${r.term}`, { value: values[k]!, at: this.now });
      if (this.traceOn) this.log(`propose ${values.join(',')} to ${node.id} at ${r.firstIndex}/${r.term}`);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
    this.after(node);
  }

  private read(): void {
    const node = this.leader();
    if (node === null || node.core === null) return;
    let mustSee = -1;
    for (const v of this.acked) mustSee = Math.max(mustSee, this.inv.positionOfValue(v) ?? -1);
    const id = this.readSeq++;
    try {
      node.core.readIndex(id);
      node.reads.set(id, { id, mustSee, index: null });
      this.stats.reads++;
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
    this.after(node);
  }

  // ---------------------------------------------------------------------------------------------
  // Faults

  private fault(): void {
    const r = this.rand();
    const up = this.nodes.filter((n) => n.core !== null);
    const leader = this.leader();
    if (r < 0.15 && up.length > 1) {
      this.crash(up[Math.floor(this.rand() * up.length)]!);
    } else if (r < 0.28 && leader !== null) {
      this.crash(leader);
    } else if (r < 0.4) {
      this.partitionRandom();
    } else if (r < 0.5 && leader !== null) {
      this.isolate(leader.id);
      this.log(`isolate the leader ${leader.id}`);
    } else if (r < 0.58) {
      const a = this.randomId();
      const b = this.randomId();
      if (a !== b) {
        this.blocked.add(`${a}>${b}`);
        this.stats.partitions++;
        this.log(`cut ${a}→${b} one way`);
      }
    } else if (r < 0.72) {
      this.blocked.clear();
      this.log('heal the network');
    } else if (r < 0.8) {
      this.lossRate = this.pick([0, 0, 0.05, 0.15, 0.3]);
      this.spikes = this.pick([0.01, 0.03, 0.1]);
      this.slowDisk = this.rand() < 0.3;
      this.log(`network loss ${this.lossRate}, delay spikes ${this.spikes}, slow disk ${this.slowDisk}`);
    } else if (r < 0.9) {
      const n = up[Math.floor(this.rand() * up.length)];
      if (n !== undefined) this.compact(n);
    } else if (leader !== null && leader.core !== null) {
      const to = this.randomId();
      try {
        leader.core.transferLeadership(to);
        this.log(`transfer leadership ${leader.id} → ${to}`);
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
      this.after(leader);
    }
  }

  private crash(node: SimNode): void {
    this.log(`crash ${node.id}`);
    this.stats.crashes++;
    node.core = null;
    node.readyOut = null;
    node.reads.clear();
    node.wasLeader = false;
    node.inc++;
    node.disk.crash(this.rand);
    const damage = this.damageFor(node);
    if (damage !== null) {
      const rejoin = `${node.id}-r${++this.damageSeq}`;
      const what = node.disk.damage(damage, this.rand, this.host.ignoreDiskDamage === true ? null : rejoin);
      this.stats.damagedDisks++;
      this.inv.onDamagedDisk(node.id);
      this.log(`${node.id}'s disk ${what}: it will rejoin as ${rejoin}`);
    }
    // Half the crashes close the node's connections, as a killed process's do (its peers hear of
    // it a moment later: Raft.reportUnreachable); the rest vanish silently, as a lost machine does.
    if (this.rand() < 0.5) {
      for (const other of this.nodes) {
        if (other !== node && other.core !== null) this.queue.push(this.now + 1 + this.rand() * 5, { kind: 'peerDown', node: other.index, inc: other.inc, peer: node.id });
      }
    }
    this.queue.push(this.now + 20 + this.rand() * 3 * this.faultGap, { kind: 'restart', node: node.index });
  }

  /**
   * Whether this crash also costs the node synced data, and how. Only while every other node is a
   * voter in good standing (up or down): a majority must keep what it acknowledged, or nothing
   * could be elected, and that is data loss no protocol can undo.
   */
  private damageFor(node: SimNode): DiskDamage | null {
    const r = this.rand();
    if (r >= 0.3) return null;
    const others = this.nodes.filter((n) => n !== node);
    if (others.some((n) => this.rejoining(n))) return null;
    return r < 0.12 ? 'wipe' : r < 0.24 ? 'cut' : 'hardState';
  }

  /** The node is rejoining after its disk lost data (as its core says, or its disk when it is down). */
  private rejoining(n: SimNode): boolean {
    return (n.core?.rejoin ?? n.disk.durableHardState().rejoin ?? null) !== null;
  }

  private restart(node: SimNode): void {
    if (node.core !== null) return;
    this.log(`restart ${node.id}`);
    this.start(node, this.nodes.map((n) => n.id));
    const hs = node.disk.durableHardState();
    this.inv.onRestart(node.id, hs, node);
    this.observe(node);
    // The restarted node and each live peer connect a moment later (Raft.reportReachable).
    for (const other of this.nodes) {
      if (other === node || other.core === null) continue;
      this.queue.push(this.now + 1 + this.rand() * 5, { kind: 'peerUp', node: other.index, inc: other.inc, peer: node.id });
      this.queue.push(this.now + 1 + this.rand() * 5, { kind: 'peerUp', node: node.index, inc: node.inc, peer: other.id });
    }
  }

  private start(node: SimNode, ids: NodeId[]): void {
    const storage = node.disk.live;
    const snap = storage.snapshot();
    node.values = snap.index > 0 ? (JSON.parse(dec.decode(snap.data)) as string[]) : [];
    node.core = new Raft({
      id: node.id,
      voters: ids,
      storage,
      // As the real host does: the commit index rides with the hard state, which is durable before
      // the entries it may name, so after a crash it can run ahead of the log (raft-group.ts).
      hardState: { ...storage.hardState, commit: Math.min(storage.hardState.commit, storage.lastIndex()) },
      applied: snap.index,
      random: seededRandom(Math.floor(this.rand() * 2 ** 31)),
      limits: this.limits,
      commitBroadcast: this.commitBroadcast,
      unsafeMutations: this.mutations,
    });
    node.inc++;
    this.queue.push(this.now + 1 + this.rand() * TICK, { kind: 'tick', node: node.index, inc: node.inc });
  }

  private compact(node: SimNode): void {
    const core = node.core!;
    const applied = core.applied;
    if (node.readyOut !== null || applied <= core.firstIndex()) return;
    node.disk.write({ kind: 'compact', index: applied, data: enc.encode(JSON.stringify(node.values)) });
    this.stats.compactions++;
    this.log(`compact ${node.id} up to ${applied}`);
  }

  private partitionRandom(): void {
    const side = new Set(this.nodes.filter(() => this.rand() < 0.5).map((n) => n.id));
    this.blocked.clear();
    for (const a of this.nodes) {
      for (const b of this.nodes) {
        if (side.has(a.id) !== side.has(b.id)) this.blocked.add(`${a.id}>${b.id}`);
      }
    }
    this.stats.partitions++;
    this.log(`partition {${[...side].join(',')}} from the rest`);
  }

  private isolate(id: NodeId): void {
    for (const n of this.nodes) {
      if (n.id === id) continue;
      this.blocked.add(`${id}>${n.id}`);
      this.blocked.add(`${n.id}>${id}`);
    }
    this.stats.partitions++;
  }

  private heal(): void {
    this.phase = 'heal';
    this.healedAt = this.now;
    this.blocked.clear();
    this.lossRate = 0;
    this.spikes = 0;
    this.dupRate = 0;
    this.slowDisk = false;
    this.log('heal everything');
    for (const n of this.nodes) this.restart(n);
    this.queue.push(this.now + ELECTION_TIME, { kind: 'probe', step: 'isolate' });
  }

  // ---------------------------------------------------------------------------------------------
  // Stability probe: a follower cut off and reconnected must not depose a healthy leader.

  private probeStep(step: 'isolate' | 'reconnect' | 'check'): void {
    if (step === 'isolate') {
      const leader = this.leader();
      const settled =
        leader !== null &&
        this.nodes.every((n) => n.core !== null && n.core.term === leader.core!.term && n.core.lead === leader.id && n.core.rejoin === null);
      if (!this.livenessMet || leader === null || !settled) {
        if (this.now > this.healedAt + 2 * this.livenessBound) {
          const how = this.nodes.map((n) => `${n.id}: ${n.core === null ? 'down' : `${n.core.role} of term ${n.core.term}${n.core.rejoin !== null ? `, rejoining as ${n.core.rejoin}` : ''}`}`).join('; ');
          throw new InvariantViolation(`liveness: the cluster did not settle under one leader within ${2 * this.livenessBound} units of healing (${how})`);
        }
        this.queue.push(this.now + ELECTION_TIME, { kind: 'probe', step: 'isolate' });
        return;
      }
      this.phase = 'probe';
      const followers = this.nodes.filter((n) => n !== leader);
      const f = followers[Math.floor(this.rand() * followers.length)]!;
      this.probe = { leader: leader.id, term: leader.core!.term, isolated: f.id };
      this.isolate(f.id);
      this.log(`probe: isolate follower ${f.id} from leader ${leader.id} of term ${leader.core!.term}`);
      this.queue.push(this.now + 6 * ELECTION_TIME, { kind: 'probe', step: 'reconnect' });
    } else if (step === 'reconnect') {
      this.blocked.clear();
      this.log('probe: reconnect');
      this.queue.push(this.now + 6 * ELECTION_TIME, { kind: 'probe', step: 'check' });
    } else {
      const p = this.probe!;
      for (const n of this.nodes) {
        if (n.term() !== p.term) {
          throw new InvariantViolation(`disruption: ${n.id} is at term ${n.term()} after ${p.isolated} was cut off and reconnected; the healthy leader ${p.leader} led term ${p.term}`);
        }
      }
      if (!this.byId(p.leader).isLeader()) throw new InvariantViolation(`disruption: leader ${p.leader} was deposed after ${p.isolated} reconnected`);
      this.phase = 'done';
    }
  }

  private checkEnd(): void {
    for (const v of this.acked) {
      if (this.inv.positionOfValue(v) === undefined) throw new InvariantViolation(`lost write: acknowledged value ${v} was never applied`);
    }
  }

  // ---------------------------------------------------------------------------------------------

  private byId(id: NodeId): SimNode {
    return this.nodes.find((n) => n.id === id)!;
  }

  private randomId(): NodeId {
    return this.nodes[Math.floor(this.rand() * this.nodes.length)]!.id;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private log(line: string): void {
    if (this.traceOn) this.trace.push(`t=${this.now.toFixed(1)} ${line}`);
  }
}

function fmt(m: Message): string {
  const head = `${m.type} ${m.from}→${m.to} t${m.term}`;
  switch (m.type) {
    case 'append': {
      const n = m.entries.length;
      const ents = n === 0 ? '[]' : `[${m.entries[0]!.index}/${m.entries[0]!.term}..${m.entries[n - 1]!.index}/${m.entries[n - 1]!.term}]`;
      return `${head} prev=${m.prevIndex}/${m.prevTerm} ${ents} c=${m.commit}`;
    }
    case 'appendResp':
      return m.reject ? `${head} reject ${m.index} hint=${m.conflictIndex}/${m.conflictTerm}` : `${head} ok ${m.index}`;
    case 'preVote':
    case 'vote':
      return `${head} last=${m.lastIndex}/${m.lastTerm}${m.transfer ? ' transfer' : ''}`;
    case 'preVoteResp':
    case 'voteResp':
      return `${head} ${m.reject ? 'rejected' : 'granted'}`;
    case 'heartbeat':
      return `${head} c=${m.commit} round=${m.readRound}`;
    case 'heartbeatResp':
      return `${head} round=${m.readRound}`;
    case 'snapshot':
      return `${head} at ${m.snapshot.index}/${m.snapshot.term}`;
    case 'timeoutNow':
      return head;
  }
}

/** Runs one seed; on failure, runs it again with tracing to explain it. */
export function runSeed(seed: number, mutant?: MutantName, chaosTime?: number): SimResult {
  const opts = { seed, ...(mutant !== undefined ? { mutant } : {}), ...(chaosTime !== undefined ? { chaosTime } : {}) };
  const r = new Simulation(opts).run();
  if (r.ok) return r;
  return new Simulation({ ...opts, trace: true }).run();
}
