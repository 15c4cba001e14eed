/**
 * The metadata group in the host simulation (host-simulation.ts): every simulated node hosts a
 * replica of it, opened as a node opens its own (src/meta/replica.ts: replica-trust, the state
 * store reconciled with the log and its snapshot, MetaStateMachine, RaftGroup) on the node's
 * simulated disk and a simulated LevelDB (sim-state-store.ts), in the node's GroupHost beside its
 * partitions. A crash reopens it from what the disk and the store kept.
 *
 * Placement stays fixed (the partitions do not come from the metadata), but clients use the group:
 * - committers resume from a group's committed offset (`assign`, seek committed), commit offsets
 *   and read them back (`commit`, `fetchCommitted`), recorded in the CHECKER.md history, whose
 *   checker proves the committed offset of each (group, key) a linearizable register and every
 *   resume position one an acknowledged commit allows; requests go to the controller as the group
 *   coordinator sends them (commitOffsets with generation -1, a ReadIndex before a fetch);
 * - an admin creates topics and takes producer ids, checked here: a topic is created once, an
 *   acknowledged topic is in every later read with the id it was given, and no producer id is
 *   given out twice.
 * After every event: the Raft invariants of invariants.ts on the metadata log. After the heal: a
 * metadata write succeeds within the bound, final reads of every committed offset, and replicas
 * that applied the same entries hold the same state.
 *
 * Faults of its own, at a crash: the store loses what LevelDB may lose (sim-state-store.ts), and
 * now and then its folder is removed, as an operator rebuilding it does.
 */
import path from 'node:path';
import pino from 'pino';
import type { RaftLimits } from '../../raft/config.js';
import { RaftError } from '../../raft/errors.js';
import { seededRandom } from '../../raft/random.js';
import { Role, type Entry, type NodeId, type ReadState, type Snapshot, type SoftState } from '../../raft/types.js';
import { CorruptLogError } from '../../storage/errors.js';
import type { Clock } from '../../storage/clock.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { SegmentLog } from '../../storage/segment-log.js';
import { StateStore } from '../../storage/state-store.js';
import type { SyncLedger } from '../../storage/sync-ledger.js';
import type { HistoryEvent } from '../../chaos/checker/history.js';
import type { GroupHost } from '../../src/host/group-host.js';
import type { GroupStateMachine } from '../../src/host/raft-group.js';
import type { MetaCommand, TopicRecord } from '../../src/meta/commands.js';
import type { MetaResult, MetaStateMachine, OffsetResults } from '../../src/meta/meta-state.js';
import { openMetaReplica, type MetaReplica } from '../../src/meta/replica.js';
import { InvariantViolation, Invariants, type NodeView } from './invariants.js';
import { SimStateDisk, type StateFault } from './sim-state-store.js';
import { NodeStartError } from '../../src/errors.js';
import type { Life, World } from './world.js';

const quiet = pino({ level: 'silent' });
/** How long a client waits for a metadata change, and for a ReadIndex. */
const PROPOSE_WAIT_MS = 600;
const READ_WAIT_MS = 300;
/** Chance that a crashed node's state store folder is removed before it restarts. */
const STORE_REMOVED_CHANCE = 0.05;
/** Commits per committer process before it ends and the next resumes. */
const COMMIT_ROUNDS = 20;
const GROUPS = ['g1', 'g2'] as const;
/** The metadata log's cache of recent entries (a node's default, 32 MiB, allocated at each open, would cost more than the run). */
const TAIL_CACHE_BYTES = 64 * 1024;

/** What the metadata simulation reads of a simulated node. */
export interface MetaSimNode {
  readonly id: NodeId;
  readonly root: string;
  readonly up: boolean;
  readonly life: Life;
  readonly host: GroupHost | null;
  readonly ledger: SyncLedger | null;
  readonly fs: FileSystem | null;
  readonly clock: Clock | null;
  /** Its disk came back empty: its replicas start as rejoining learners. */
  readonly wiped: boolean;
}

/** What it needs of the simulation. */
export interface MetaSimContext {
  readonly world: World;
  readonly random: () => number;
  readonly history: {
    newProcess(): number;
    add(process: number, type: HistoryEvent['type'], f: HistoryEvent['f'], value: unknown, node?: string, error?: string): void;
  };
  readonly nodes: readonly MetaSimNode[];
  /** The topic whose partitions the simulation runs (created in the metadata first). */
  readonly topic: TopicRecord;
  readonly keys: readonly string[];
  readonly limits: Partial<RaftLimits>;
  readonly electionMs: number;
  readonly stats: MetaSimStats;
  phase(): string;
  log(line: string): void;
  /** The promise, or a timeout after `ms`. */
  within<T>(p: Promise<T>, ms: number): Promise<T>;
  /** A disk call's latency on `node`; `fn` is dropped if the node dies first. */
  diskLatency(node: MetaSimNode, fn: () => void): void;
  /** The node's process stops soon (a group of it stopped) and restarts. */
  crashSoon(node: MetaSimNode, why: string): void;
  /** Ends the run with this error. */
  fail(err: Error): void;
}

export interface MetaSimStats {
  leaders: number;
  commits: number;
  commitsAcked: number;
  fetches: number;
  topicsCreated: number;
  producerIds: number;
  /** Log starts moved by a snapshot taken here, and snapshots taken from a leader. */
  compactions: number;
  snapshotsInstalled: number;
  /** Replicas opened as rejoining learners (their disk lost what they acknowledged). */
  rejoins: number;
  storesRemoved: number;
  storeBatchesLost: number;
  /** Batches (or syncs) of a state store that failed on purpose. */
  storeFailures: number;
}

export function emptyMetaStats(): MetaSimStats {
  return { leaders: 0, commits: 0, commitsAcked: 0, fetches: 0, topicsCreated: 0, producerIds: 0, compactions: 0, snapshotsInstalled: 0, rejoins: 0, storesRemoved: 0, storeBatchesLost: 0, storeFailures: 0 };
}

type Outcome<T> = { readonly kind: 'ok'; readonly value: T; readonly node: NodeId } | { readonly kind: 'fail' | 'info'; readonly error: string; readonly node?: NodeId };

/** One node's metadata replica and store, across its incarnations. */
class Slot {
  replica: MetaReplica | null = null;
  /** The invariants' view of the open replica. */
  view: NodeView | null = null;
  ledTerm = -1;
  logStart = 0;
  constructor(
    readonly node: MetaSimNode,
    readonly store: SimStateDisk,
  ) {}
}

export class SimMeta {
  private readonly slots = new Map<NodeId, Slot>();
  private readonly inv = new Invariants();
  private readonly segmentBytes: number;
  private readonly snapshotEvery: number;
  private guess: NodeId | null = null;
  /** Acknowledged topic creations: name → id. */
  private readonly topicsAcked = new Map<string, { id: string; at: number }>();
  /** The id every read so far saw for a topic. */
  private readonly topicIds = new Map<string, string>();
  private readonly producerIds = new Set<number>();
  private nextTopic = 0;

  constructor(private readonly ctx: MetaSimContext) {
    this.segmentBytes = this.pick([1024, 8 * 1024 * 1024]);
    this.snapshotEvery = this.pick([8, 40, 10_000]);
    for (const n of ctx.nodes) {
      const store = new SimStateDisk({
        schedule: (sync, fn) => {
          // An unsynced LevelDB write is a memory copy and a write(2), microseconds: it lands at
          // once (a kill right after keeps it; a power loss may lose it). A sync takes a disk's time.
          if (sync) ctx.diskLatency(n, fn);
          else fn();
        },
        random: ctx.random,
        onFault: () => ctx.stats.storeFailures++,
      });
      this.slots.set(n.id, new Slot(n, store));
    }
  }

  private dir(node: MetaSimNode): string {
    return path.posix.join(node.root, 'meta');
  }

  // -----------------------------------------------------------------------------------------------
  // The replicas

  /** Opens the node's replica (it is starting: its host, ledger and disk are set). */
  open(node: MetaSimNode): void {
    const slot = this.slot(node);
    const life = node.life;
    const ids = this.ctx.nodes.map((n) => n.id);
    openMetaReplica({
      dir: this.dir(node),
      self: node.id,
      voters: ids,
      learners: [],
      fs: node.fs!,
      clock: node.clock!,
      ledger: node.ledger!,
      host: node.host!,
      fresh: node.wiped ? 'rejoin' : 'voter',
      segmentBytes: this.segmentBytes,
      tailCacheBytes: TAIL_CACHE_BYTES,
      snapshotEveryEntries: this.snapshotEvery,
      limits: this.ctx.limits,
      openStore: (dir) => StateStore.load(slot.store.open(dir), dir),
      events: { topicsChanged: () => undefined, controllerChanged: () => undefined, clusterKnown: () => undefined, nodesChanged: () => undefined },
      random: seededRandom(Math.floor(this.ctx.random() * 2 ** 31)),
      logger: quiet,
    }).then(
      (r) => {
        if (!life.alive) return;
        slot.replica = r;
        slot.view = this.view(node);
        slot.logStart = r.group.log.firstIndex();
        if (r.group.raft.rejoin !== null) this.ctx.stats.rejoins++;
        this.observeApplies(node, r);
        this.inv.onReopen(slot.view);
      },
      (err: unknown) => {
        if (!life.alive) return;
        const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        // A write the simulator failed on purpose while the replica opened: the node fails to
        // start, saying so (NodeStartError), and is started again, as an operator (or systemd) does.
        if (err instanceof NodeStartError && /injected by the simulator/.test(err.message)) this.ctx.crashSoon(node, `it failed to start: ${why}`);
        else this.ctx.fail(new InvariantViolation(`${node.id} cannot open its metadata replica: ${why}`));
      },
    );
  }

  /** The node stopped (`power`: its disk and store lose what was not synced). */
  onCrash(node: MetaSimNode, how: 'power' | 'process'): void {
    const slot = this.slot(node);
    slot.replica = null;
    slot.view = null;
    slot.ledTerm = -1;
    const lostBefore = slot.store.stats.lostBatches;
    if (how === 'power') slot.store.crash();
    else slot.store.kill();
    this.ctx.stats.storeBatchesLost += slot.store.stats.lostBatches - lostBefore;
    if (this.ctx.random() < STORE_REMOVED_CHANCE && slot.store.remove(path.posix.join(this.dir(node), 'state'))) {
      this.ctx.stats.storesRemoved++;
      this.ctx.log(`${node.id}'s metadata state store is removed (rebuilt at restart from the log and its snapshot)`);
    }
  }

  /** The next batch (or synced batch) of the node's state store fails with EIO; null: none does. */
  failNextStoreWrite(node: MetaSimNode, kind: StateFault | null): void {
    this.slot(node).store.failNext(kind);
  }

  /** The node's disk lost synced data (host-simulation.ts, damage); `wipe`: all of it. */
  onDamage(node: MetaSimNode, kind: 'wipe' | 'cut' | 'hardState'): void {
    this.inv.onDamagedDisk(node.id);
    if (kind === 'wipe') this.slot(node).store.wipe(node.root);
  }

  /** The node's metadata replica is a rejoining learner (it may lack what it acknowledged). */
  rejoining(node: MetaSimNode): boolean {
    const r = this.slot(node).replica;
    return r !== null && r.group.raft.rejoin !== null;
  }

  /** Sees every entry a replica applies, on its way to the state machine. */
  private observeApplies(node: MetaSimNode, r: MetaReplica): void {
    const inner = r.group.sm;
    const view = this.view(node);
    const sm: GroupStateMachine = {
      apply: (entries: readonly Entry[]) => {
        for (const e of entries) this.inv.onApply(view, e, null, null);
        return inner.apply(entries);
      },
      restore: (s: Snapshot, log: SegmentLog) => {
        this.ctx.stats.snapshotsInstalled++;
        this.ctx.log(`${node.id} takes the metadata snapshot at ${s.index}/${s.term} from its leader`);
        return inner.restore(s, log);
      },
      onSoftState: (s: SoftState, term: number) => inner.onSoftState(s, term),
      onPersisted: (index: number, term: number) => inner.onPersisted(index, term),
      onReadStates: (states: readonly ReadState[], dropped: readonly unknown[]) => inner.onReadStates(states, dropped),
    };
    r.group.sm = sm;
  }

  private view(node: MetaSimNode): NodeView {
    const group = (): MetaReplica['group'] => {
      const r = this.slot(node).replica;
      if (r === null) throw new Error(`${node.id} has no metadata replica open now`);
      return r.group;
    };
    return {
      id: node.id,
      term: () => group().raft.term,
      commit: () => group().raft.committed,
      isLeader: () => group().raft.role === Role.Leader,
      firstIndex: () => group().log.firstIndex(),
      lastIndex: () => group().log.lastIndex(),
      termAt: (i) => {
        const log = group().log;
        return i < log.firstIndex() - 1 || i > log.lastIndex() ? null : log.term(i);
      },
      entryAt: (i) => {
        const log = group().log;
        if (i < log.firstIndex() || i > log.lastIndex()) return null;
        return log.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0] ?? null;
      },
    };
  }

  /** After every event: a stopped group stops its node; the Raft invariants on the metadata log. */
  observe(): void {
    for (const slot of this.slots.values()) {
      const node = slot.node;
      const g = slot.replica?.group;
      const view = slot.view;
      if (!node.up || g === undefined || view === null) continue;
      if (g.failed !== null) {
        // As on a node: the metadata group is not reopened while running; an operator restarts it.
        if (this.ctx.phase() !== 'done') this.ctx.crashSoon(node, `the metadata group stopped: ${g.failed}`);
        continue;
      }
      this.inv.checkMonotonic(view);
      if (g.log.firstIndex() > slot.logStart) {
        slot.logStart = g.log.firstIndex();
        this.ctx.stats.compactions++;
      }
      if (g.raft.role === Role.Leader && slot.ledTerm !== g.raft.term) {
        slot.ledTerm = g.raft.term;
        this.ctx.stats.leaders++;
        this.ctx.log(`${node.id} leads the metadata group in term ${g.raft.term}`);
        try {
          this.inv.onLeader(view);
        } catch (err) {
          if (!(err instanceof CorruptLogError)) throw err;
          g.fail(err);
        }
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Clients

  clients(): Promise<void>[] {
    const out = [this.admin()];
    const committers = this.ctx.random() < 0.3 ? 2 : 1;
    for (let i = 0; i < committers; i++) out.push(this.committer());
    return out;
  }

  private chaos(): boolean {
    return this.ctx.phase() === 'chaos';
  }

  /** Creates the simulation's topic (commits of its offsets need it), then topics and producer ids. */
  private async admin(): Promise<void> {
    const t = this.ctx.topic;
    while (this.chaos() && !this.topicsAcked.has(t.name)) {
      const r = await this.createTopic(t.name, t.partitions, t.assignments);
      if (r === 'exists') break;
      await this.ctx.world.sleep(10 + this.ctx.random() * 20);
    }
    while (this.chaos()) {
      const r = this.ctx.random();
      if (r < 0.3) await this.createTopic(`x${this.nextTopic++}`, 1, [this.ctx.nodes.slice(0, 3).map((n) => n.id)]);
      else if (r < 0.6) await this.producerId();
      else await this.readTopics();
      await this.ctx.world.sleep(40 + this.ctx.random() * 120);
    }
  }

  private async createTopic(name: string, partitions: number, assignments: readonly (readonly string[])[]): Promise<'ok' | 'exists' | 'fail' | 'info'> {
    const r = await this.proposeOnce({ type: 'createTopic', name, partitions, replicationFactor: assignments[0]!.length, config: this.ctx.topic.config, assignments });
    if (r.kind === 'ok') {
      const rec = r.value as TopicRecord;
      if (this.topicsAcked.has(name)) this.violation(`topic ${name} was created twice (ids ${this.topicsAcked.get(name)!.id} and ${rec.id})`);
      this.topicsAcked.set(name, { id: rec.id, at: this.ctx.world.now });
      this.ctx.stats.topicsCreated++;
      return 'ok';
    }
    if (r.kind === 'fail' && r.error.startsWith('TOPIC_ALREADY_EXISTS')) return 'exists';
    return r.kind;
  }

  private async producerId(): Promise<boolean> {
    const r = await this.proposeOnce({ type: 'initProducerId' });
    if (r.kind !== 'ok') return false;
    const id = (r.value as { producerId: number }).producerId;
    if (this.producerIds.has(id)) this.violation(`producer id ${id} was given out twice`);
    this.producerIds.add(id);
    this.ctx.stats.producerIds++;
    return true;
  }

  /** A linearizable read of the topics: every topic acknowledged before it began is there, with its id. */
  private async readTopics(): Promise<boolean> {
    const began = this.ctx.world.now;
    const r = await this.readOnce((m) => m.topics());
    if (r.kind !== 'ok') return false;
    const seen = new Map(r.value.map((t) => [t.name, t.id]));
    for (const [name, a] of this.topicsAcked) {
      if (a.at >= began) continue;
      const id = seen.get(name);
      if (id === undefined) this.violation(`topic ${name}, created at ${a.at.toFixed(1)} ms, is missing from a read of ${r.node} that began at ${began.toFixed(1)} ms`);
      if (id !== a.id) this.violation(`topic ${name} was created with id ${a.id}, but a read of ${r.node} finds id ${id}`);
    }
    for (const [name, id] of seen) {
      const before = this.topicIds.get(name);
      if (before !== undefined && before !== id) this.violation(`topic ${name} had id ${before}, and a later read of ${r.node} finds id ${id}`);
      this.topicIds.set(name, id);
    }
    return true;
  }

  /**
   * Processes of one (group, key) each: resume from the committed offset, then commit further
   * offsets, now and then reading the commit back. A process ends after an unknown outcome.
   */
  private async committer(): Promise<void> {
    await this.ctx.world.sleep(this.ctx.random() * 50);
    while (this.chaos()) {
      const proc = this.ctx.history.newProcess();
      const group = this.pick(GROUPS);
      const key = this.pick(this.ctx.keys);
      this.ctx.history.add(proc, 'invoke', 'assign', { group, keys: [key], seek: 'committed' });
      const a = await this.readOnce((m) => this.committed(m, group, key));
      if (a.kind !== 'ok') {
        this.ctx.history.add(proc, 'fail', 'assign', null, a.node, a.error);
        await this.ctx.world.sleep(10 + this.ctx.random() * 20);
        continue;
      }
      let position = a.value ?? 0;
      this.ctx.history.add(proc, 'ok', 'assign', { start: { [key]: position } }, a.node);
      for (let round = 0; round < COMMIT_ROUNDS && this.chaos(); round++) {
        position += 1 + Math.floor(this.ctx.random() * 4);
        if ((await this.commit(proc, group, key, position)) === 'info') break;
        if (this.ctx.random() < 0.4) await this.fetchCommitted(proc, group, key);
        await this.ctx.world.sleep(20 + this.ctx.random() * 60);
      }
    }
  }

  private committed(m: MetaStateMachine, group: string, key: string): number | null {
    return m.offset(group, this.ctx.topic.name, this.ctx.keys.indexOf(key))?.offset ?? null;
  }

  /** One commit, as the coordinator proposes it for a consumer outside group membership. */
  private async commit(proc: number, group: string, key: string, offset: number): Promise<'ok' | 'fail' | 'info'> {
    this.ctx.history.add(proc, 'invoke', 'commit', { group, offsets: { [key]: offset } });
    this.ctx.stats.commits++;
    const partition = this.ctx.keys.indexOf(key);
    const r = await this.proposeOnce({ type: 'commitOffsets', group, generation: -1, memberId: '', offsets: [{ topic: this.ctx.topic.name, partition, offset, metadata: '' }], at: this.ctx.world.now });
    if (r.kind === 'ok') {
      // Applied, but refused for the partition (the topic is not created yet): nothing was written.
      const refused = (r.value as OffsetResults).find((x) => x.error !== undefined);
      if (refused !== undefined) {
        this.ctx.history.add(proc, 'fail', 'commit', null, r.node, `${refused.error!.code}: ${refused.error!.message}`);
        return 'fail';
      }
      this.ctx.stats.commitsAcked++;
      this.ctx.history.add(proc, 'ok', 'commit', null, r.node);
      return 'ok';
    }
    this.ctx.history.add(proc, r.kind, 'commit', null, r.node, r.error);
    return r.kind;
  }

  private async fetchCommitted(proc: number, group: string, key: string): Promise<'ok' | 'fail'> {
    this.ctx.history.add(proc, 'invoke', 'fetchCommitted', { group, keys: [key] });
    this.ctx.stats.fetches++;
    const r = await this.readOnce((m) => this.committed(m, group, key));
    if (r.kind !== 'ok') {
      this.ctx.history.add(proc, 'fail', 'fetchCommitted', null, r.node, r.error);
      return 'fail';
    }
    this.ctx.history.add(proc, 'ok', 'fetchCommitted', { offsets: { [key]: r.value } }, r.node);
    return 'ok';
  }

  /**
   * Proposes on the controller the client believes in, once. `fail` only when the command
   * certainly did not take effect: refused before it was proposed, refused by the state machine,
   * or its index taken by another controller's entry. No answer in time is `info`.
   */
  private async proposeOnce(cmd: MetaCommand): Promise<Outcome<unknown>> {
    const t = this.target();
    if (t === null) return { kind: 'fail', error: 'no metadata replica is up' };
    const { node, meta } = t;
    if (!meta.isReady()) {
      this.redirect(node, meta);
      return { kind: 'fail', node: node.id, error: 'NOT_COORDINATOR: not the controller, or not caught up in its term' };
    }
    let p: Promise<MetaResult>;
    try {
      p = meta.propose(cmd);
    } catch (err) {
      this.redirect(node, meta);
      return { kind: 'fail', node: node.id, error: (err as Error).message };
    }
    try {
      const r = await this.ctx.within(p, PROPOSE_WAIT_MS);
      return r.ok ? { kind: 'ok', value: r.value, node: node.id } : { kind: 'fail', node: node.id, error: `${r.code}: ${r.message}` };
    } catch (err) {
      this.redirect(node, meta);
      return { kind: err instanceof RaftError ? 'fail' : 'info', node: node.id, error: (err as Error).message };
    }
  }

  /** Reads on the controller after a ReadIndex round (as the coordinator's fetchOffsets). */
  private async readOnce<T>(read: (m: MetaStateMachine) => T): Promise<Outcome<T>> {
    const t = this.target();
    if (t === null) return { kind: 'fail', error: 'no metadata replica is up' };
    const { node, meta } = t;
    if (!meta.isReady()) {
      this.redirect(node, meta);
      return { kind: 'fail', node: node.id, error: 'NOT_COORDINATOR: not the controller, or not caught up in its term' };
    }
    try {
      await this.ctx.within(meta.linearizable(), READ_WAIT_MS);
    } catch (err) {
      this.redirect(node, meta);
      return { kind: 'fail', node: node.id, error: (err as Error).message };
    }
    return { kind: 'ok', value: read(meta), node: node.id };
  }

  /** The node a client asks: the controller it was told of, or any node with its replica open. */
  private target(): { node: MetaSimNode; meta: MetaStateMachine } | null {
    const open = (n: MetaSimNode | undefined): MetaStateMachine | null => (n !== undefined && n.up ? (this.slot(n).replica?.meta ?? null) : null);
    const g = this.guess === null ? undefined : this.ctx.nodes.find((n) => n.id === this.guess);
    const gm = open(g);
    if (g !== undefined && gm !== null && this.ctx.random() < 0.9) return { node: g, meta: gm };
    const candidates = this.ctx.nodes.filter((n) => open(n) !== null);
    const n = candidates[Math.floor(this.ctx.random() * candidates.length)];
    return n === undefined ? null : { node: n, meta: open(n)! };
  }

  private redirect(node: MetaSimNode, meta: MetaStateMachine): void {
    const lead = meta.controller();
    if (lead !== null && lead !== node.id) this.guess = lead;
    else if (this.guess === node.id) this.guess = null;
  }

  // -----------------------------------------------------------------------------------------------
  // After the heal

  /**
   * A metadata write within the bound (liveness), a final read of every (group, key)'s committed
   * offset, the topics read back, and replicas that applied the same entries agreeing on the
   * state. False once the deadline passed (the failure is set).
   */
  async finalRound(deadline: number): Promise<boolean> {
    while (!(await this.producerId())) {
      if (this.ctx.world.now > deadline) return this.liveness('took no write');
      await this.ctx.world.sleep(this.ctx.electionMs);
    }
    for (const group of GROUPS) {
      for (const key of this.ctx.keys) {
        const proc = this.ctx.history.newProcess();
        while ((await this.fetchCommitted(proc, group, key)) !== 'ok') {
          if (this.ctx.world.now > deadline) return this.liveness(`did not answer the final read of ${group} ${key}`);
          await this.ctx.world.sleep(this.ctx.electionMs);
        }
      }
    }
    while (!(await this.readTopics())) {
      if (this.ctx.world.now > deadline) return this.liveness('did not answer the final read of the topics');
      await this.ctx.world.sleep(this.ctx.electionMs);
    }
    await this.checkAgreement(deadline);
    return true;
  }

  private liveness(what: string): false {
    const states = this.ctx.nodes
      .map((n) => {
        const g = this.slot(n).replica?.group;
        if (!n.up) return `${n.id}: down`;
        if (g === undefined) return `${n.id}: not open`;
        return `${n.id}: ${g.raft.role} of term ${g.raft.term}${g.raft.rejoin !== null ? ' (rejoining)' : ''}${g.failed !== null ? ` stopped: ${g.failed}` : ''}`;
      })
      .join('; ');
    this.ctx.fail(new InvariantViolation(`liveness: the metadata group ${what} within the bound after healing (${states})`));
    return false;
  }

  /** Waits (within the deadline) until the running replicas applied as far as each other, then compares their states. */
  private async checkAgreement(deadline: number): Promise<void> {
    const running = (): { node: NodeId; store: StateStore }[] =>
      this.ctx.nodes.flatMap((n) => {
        const r = this.slot(n).replica;
        return n.up && r !== null && r.group.failed === null ? [{ node: n.id, store: r.store }] : [];
      });
    while (this.ctx.world.now < deadline && new Set(running().map((r) => r.store.appliedIndex())).size > 1) await this.ctx.world.sleep(this.ctx.electionMs);
    const byIndex = new Map<number, { node: NodeId; state: string }>();
    for (const { node, store } of running()) {
      const state = JSON.stringify(store.entries(''));
      const at = store.appliedIndex();
      const other = byIndex.get(at);
      if (other === undefined) byIndex.set(at, { node, state });
      else if (other.state !== state) this.violation(`metadata replicas ${other.node} and ${node} applied up to ${at} but hold different states:\n${other.state.slice(0, 800)}\n${state.slice(0, 800)}`);
    }
  }

  // -----------------------------------------------------------------------------------------------

  private violation(msg: string): void {
    this.ctx.fail(new InvariantViolation(msg));
  }

  private slot(node: MetaSimNode): Slot {
    return this.slots.get(node.id)!;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.ctx.random() * xs.length)]!;
  }
}
