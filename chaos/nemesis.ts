/**
 * The nemesis: injects one fault at a time on a schedule, records it (process -1), holds it, heals
 * it, and waits for the cluster to settle before the next. Faults:
 *
 * - `kill`: SIGKILL of a partition leader (producers are always running, so mid-produce), of the
 *   controller (metadata leader), of a random minority, or of every node; then, unless disabled,
 *   the power loss that goes with a crash (unsynced bytes of partition logs are lost, disk.ts);
 *   restart after the hold. History: `kill ["n1"]` ... `restart ["n1"]`.
 * - `pause`: SIGSTOP of one node (a partition leader, the controller, or any) for at least
 *   PAUSE_MS_MIN, longer than the election timeout; then SIGCONT. `pause ["n2"]` ... `resume ["n2"]`.
 * - `partition`: cut links through the nodes' chaos endpoint (net.ts): isolate a partition
 *   leader, the controller or a follower, split a majority from a minority, a bridge, or a one-way cut to or from a leader.
 *   `partition {kind, ...}` ... `heal`.
 * - `corrupt`: SIGKILL of one node, a torn write at the tail of one of its partition logs
 *   (disk.ts: past what was fsynced, so nothing acknowledged), restart; then wait until the node
 *   has caught up, which shows it recovered. `kill`, `corrupt {node, key, how, ...}`, `restart`.
 * - `bitflip`: SIGKILL of one node (a minority), one bit flipped in a frame it had synced, of a
 *   partition log or the metadata log (disk.ts), restart; the node must find it and rejoin, and
 *   nothing acknowledged may be lost. `kill`, `corrupt {node, key, how: 'bit-flip', ...}`, `restart`.
 *
 * - `disk-loss`: SIGKILL of one node, its data folder emptied, restart on the empty folder with its
 *   old flags: the node must see that it lost its data and rejoin (identity.ts, raft/rejoin.ts).
 *   With `leaderDies`, the worst case for a rejoiner: one follower of a partition is paused while
 *   the leader and the other follower take writes, then the leader dies with that follower's
 *   disk; the paused one resumes beside the empty one. Two of three replicas are up, but only one
 *   holds its data: the group must wait for the leader rather than elect the one that lags.
 *   `kill [leader, f]`, `corrupt {node: f, how: 'disk-loss'}`, `restart [f]` ... `restart [leader]`.
 * - `membership`: a node joins, a partition's replicas move, or a node is replaced by an empty one
 *   under its old id (chaos/membership.ts); after a replace, wait until its replicas caught up.
 * - `hostile`: one of the hostile clients' attacks (chaos/hostile.ts) on one node, for the hold;
 *   no node is stopped, paused or cut off. `attack {attack, node}` ... `attack {attack, node, ended, ...outcome}`.
 *
 * Nemesis events are an `invoke` when the action starts and an `ok` when it is in place (`fail`
 * when it could not be done). Values of kill/pause/restart/resume hold only node ids.
 */
import path from 'node:path';
import type { LocalCluster } from './cluster.js';
import { corruptTail, flipSyncedBit, loseUnsynced, readSyncLog, type CorruptMode } from './disk.js';
import type { MembershipNemesis, MembershipOp } from './membership.js';
import { applyLinks, cutLinks, type PartitionSpec } from './net.js';
import type { Recorder } from './recorder.js';
import type { NemesisFn } from './checker/history.js';
import { clusterView, META_GROUP, waitForCatchUp, waitForLeaders, type ClusterView } from './view.js';
import { pick, shuffle, type Stopper } from './workloads/context.js';
import { FETCH_ATTACKS, HOSTILE_ATTACKS, KAFKA_ATTACKS, attackTarget, type AttackOutcome, type HostileAttack, type HostileClients } from './hostile.js';

export const NEMESIS_KINDS = ['kill', 'pause', 'partition', 'corrupt', 'bitflip', 'disk-loss', 'membership', 'hostile'] as const;
export type NemesisKind = (typeof NEMESIS_KINDS)[number];

/** Whom a kill or pause hits. */
export type Target = 'partition-leader' | 'controller' | 'minority' | 'all' | 'follower' | 'any';

export type PartitionShape =
  | 'isolate-leader'
  | 'isolate-controller'
  | 'isolate-follower'
  | 'majority-minority'
  | 'bridge'
  | 'one-way-from-leader'
  | 'one-way-to-leader';

export type FaultSpec =
  | { readonly kind: 'kill'; readonly target: Target; readonly holdMs: number }
  | { readonly kind: 'pause'; readonly target: Exclude<Target, 'all' | 'minority'>; readonly holdMs: number }
  | { readonly kind: 'partition'; readonly shape: PartitionShape; readonly holdMs: number }
  | { readonly kind: 'corrupt'; readonly holdMs: number }
  | { readonly kind: 'bitflip'; readonly holdMs: number }
  | { readonly kind: 'disk-loss'; readonly leaderDies: boolean; readonly holdMs: number }
  | { readonly kind: 'membership'; readonly op: MembershipOp; readonly holdMs: number }
  | { readonly kind: 'hostile'; readonly attack: HostileAttack; readonly holdMs: number };

/** Longer than the longest election timeout (16 ticks of 50 ms) with room to spare. */
export const PAUSE_MS_MIN = 1500;
/** How long a disk-loss with `leaderDies` lets the leader and one follower write past the other. */
const LAG_MS = 1500;
/** Restarts of a node that would not come up, at the final heal. */
const RESTART_ATTEMPTS_MAX = 3;
/** How long the cluster may take to have leaders again after a heal. */
const SETTLE_MS_MAX = 30_000;

export interface NemesisEnv {
  readonly cluster: LocalCluster;
  readonly recorder: Recorder;
  readonly random: () => number;
  /** The history keys (`topic/partition`): the groups whose leaders faults aim at. */
  readonly keys: readonly string[];
  /** The sync tracker's log name under each data folder; null: kills lose nothing unsynced. */
  readonly syncLog: string | null;
  /** What `corrupt` damages (default `torn-write`: nothing acknowledged; see disk.ts). */
  readonly corruptMode?: CorruptMode;
  /** Runs `membership` faults (absent: a membership fault is a calm gap). */
  readonly membership?: MembershipNemesis;
  /** Runs `hostile` faults: the attacker process, and the topic its fetches name (absent: a hostile fault is a calm gap). */
  readonly hostile?: { readonly clients: HostileClients; readonly topic: string; readonly partitions: number };
  readonly log: (line: string) => void;
}

/** One injected fault, for the run summary. */
export interface FaultRecord {
  readonly kind: NemesisKind;
  what: string;
  /** Nanoseconds on the history's clock. */
  readonly startNs: number;
  endNs: number | null;
}

export interface ScheduleOptions {
  readonly kinds: readonly NemesisKind[];
  /** Healthy time before each fault, ms: [min, max]. */
  readonly gapMs: readonly [number, number];
  /** How long each fault is held, ms: [min, max]. */
  readonly holdMs: readonly [number, number];
  /** The attacks a `hostile` fault picks from (default: all but those that need a Kafka listener). */
  readonly attacks?: readonly HostileAttack[];
}

/** The attacks a cluster can be given: the Kafka ones only when its nodes have Kafka listeners. */
export function hostileAttacks(kafka: boolean): HostileAttack[] {
  return HOSTILE_ATTACKS.filter((a) => kafka || !KAFKA_ATTACKS.includes(a));
}

/** The next fault of a random schedule. */
export function randomFault(random: () => number, o: ScheduleOptions): FaultSpec {
  const holdMs = between(random, o.holdMs);
  const kind = pick(random, o.kinds);
  switch (kind) {
    case 'kill': {
      const r = random();
      const target: Target = r < 0.35 ? 'partition-leader' : r < 0.6 ? 'controller' : r < 0.9 ? 'minority' : 'all';
      return { kind, target, holdMs };
    }
    case 'pause': {
      const r = random();
      return { kind, target: r < 0.4 ? 'partition-leader' : r < 0.7 ? 'controller' : 'any', holdMs: Math.max(holdMs, PAUSE_MS_MIN) };
    }
    case 'partition': {
      const shapes: PartitionShape[] = ['isolate-leader', 'isolate-controller', 'isolate-follower', 'majority-minority', 'bridge', 'one-way-from-leader', 'one-way-to-leader'];
      return { kind, shape: pick(random, shapes), holdMs };
    }
    case 'corrupt':
    case 'bitflip':
      return { kind, holdMs: Math.min(holdMs, 2000) };
    case 'disk-loss':
      return { kind, leaderDies: random() < 0.5, holdMs: Math.min(holdMs, 3000) };
    case 'membership': {
      // Moves most often: each one is a whole add-catch-up-promote-remove sequence.
      const r = random();
      const op: MembershipOp = r < 0.45 ? 'move' : r < 0.65 ? 'replace' : r < 0.85 ? 'join' : 'decommission';
      return { kind, op, holdMs };
    }
    case 'hostile':
      return { kind, attack: pick(random, o.attacks ?? hostileAttacks(false)), holdMs };
  }
}

export function between(random: () => number, [lo, hi]: readonly [number, number]): number {
  return Math.round(lo + random() * (hi - lo));
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  /** Problems of the nemesis itself (a node that would not restart, a cluster that did not settle). */
  readonly problems: string[] = [];
  /** Nodes that exited without the nemesis stopping them (each was restarted, so that the run could go on). */
  readonly ownExits: { readonly node: string; readonly exit: string; readonly atNs: number }[] = [];
  /** What each hostile attack came to, in order. */
  readonly attacks: AttackOutcome[] = [];
  private readonly killed = new Set<string>();
  private readonly paused = new Set<string>();
  private partitioned = false;

  constructor(private readonly env: NemesisEnv) {}

  private get ids(): string[] {
    return this.env.cluster.nodes.map((n) => n.id);
  }

  /** Injects faults from `next` until the stopper stops, one at a time, `gap()` ms apart. */
  async run(stopper: Stopper, next: () => FaultSpec, gap: () => number): Promise<void> {
    while (!stopper.isStopped) {
      await stopper.sleep(gap());
      if (stopper.isStopped) break;
      await this.apply(next(), stopper);
    }
  }

  /** Injects one fault, holds it (less if the run stops), heals it and lets the cluster settle. */
  async apply(spec: FaultSpec, stopper: Stopper): Promise<void> {
    await this.reviveCrashed();
    const view = await clusterView(this.env.cluster);
    switch (spec.kind) {
      case 'kill': {
        const nodes = this.targets(spec.target, view);
        const record = await this.crash(nodes, 'kill', `kill ${nodes.join(',')} (${spec.target})`);
        await stopper.sleep(spec.holdMs);
        await this.restart(nodes);
        this.end(record);
        break;
      }
      case 'pause': {
        const nodes = this.targets(spec.target, view);
        const record = this.begin('pause', `pause ${nodes.join(',')} (${spec.target})`);
        this.action('pause', nodes, () => {
          for (const n of nodes) this.env.cluster.pause(n);
          for (const n of nodes) this.paused.add(n);
        });
        await stopper.sleep(spec.holdMs);
        this.resume();
        this.end(record);
        break;
      }
      case 'partition': {
        const p = this.partitionSpec(spec.shape, view);
        const record = this.begin('partition', `partition ${describePartition(p)} (${spec.shape})`);
        await this.actionAsync('partition', p, async () => {
          await applyLinks(this.env.cluster, cutLinks(p));
          this.partitioned = true;
        });
        await stopper.sleep(spec.holdMs);
        await this.heal();
        this.end(record);
        break;
      }
      case 'corrupt': {
        const node = pick(this.env.random, this.ids);
        // The crash that tears the write: no power loss cut, the damage below stands for it.
        const record = await this.crash([node], 'corrupt', `corrupt ${node}`, false);
        const c = this.env.recorder;
        const dataDir = this.env.cluster.node(node).dataDir;
        c.nemesis('invoke', 'corrupt', { node });
        try {
          const synced = this.env.syncLog === null ? null : readSyncLog(path.join(dataDir, this.env.syncLog));
          const done = corruptTail(dataDir, this.env.random, this.env.corruptMode ?? 'torn-write', synced);
          if (done === null) {
            c.nemesis('fail', 'corrupt', { node }, 'no partition log to damage');
          } else {
            c.nemesis('ok', 'corrupt', { node, key: done.key, file: path.basename(done.file), how: done.how, at: done.at, bytes: done.bytes });
            this.env.log(`corrupt ${node}: ${done.how}, ${done.bytes} bytes at ${done.at} of ${done.key} (${path.basename(done.file)})`);
          }
        } catch (err) {
          c.nemesis('fail', 'corrupt', { node }, (err as Error).message);
        }
        await stopper.sleep(spec.holdMs);
        await this.restart([node]);
        this.end(record);
        if (!(await waitForCatchUp(this.env.cluster, this.env.keys, SETTLE_MS_MAX))) {
          this.problem(`after corrupting ${node}, its replicas did not catch up within ${SETTLE_MS_MAX} ms (see ${node}'s log)`);
        }
        break;
      }
      case 'bitflip': {
        const node = pick(this.env.random, this.ids);
        const record = await this.crash([node], 'corrupt', `bit flip on ${node}`, false);
        const c = this.env.recorder;
        const dataDir = this.env.cluster.node(node).dataDir;
        c.nemesis('invoke', 'corrupt', { node, how: 'bit-flip' });
        try {
          const synced = this.env.syncLog === null ? null : readSyncLog(path.join(dataDir, this.env.syncLog));
          const f = flipSyncedBit(dataDir, this.env.random, synced);
          if (f === null) {
            c.nemesis('fail', 'corrupt', { node, how: 'bit-flip' }, 'no synced frame to damage');
          } else {
            c.nemesis('ok', 'corrupt', { node, key: f.key, file: path.basename(f.file), how: 'bit-flip', at: f.at, bit: f.bit, frameAt: f.frameAt, frameBytes: f.frameBytes });
            this.env.log(`bit flip on ${node}: bit ${f.bit} of byte ${f.at} (frame at ${f.frameAt}, ${f.frameBytes} bytes) of ${f.key} (${path.basename(f.file)})`);
          }
        } catch (err) {
          c.nemesis('fail', 'corrupt', { node, how: 'bit-flip' }, (err as Error).message);
        }
        await stopper.sleep(spec.holdMs);
        await this.restart([node]);
        this.end(record);
        if (!(await waitForCatchUp(this.env.cluster, this.env.keys, SETTLE_MS_MAX))) {
          this.problem(`after flipping a bit on ${node}, its replicas did not catch up within ${SETTLE_MS_MAX} ms (see ${node}'s log)`);
        }
        break;
      }
      case 'disk-loss': {
        await this.loseDisk(spec, view, stopper);
        break;
      }
      case 'membership': {
        const m = this.env.membership;
        if (m === undefined) break;
        const record = this.begin('membership', `membership ${spec.op}`);
        const what = await m.apply(spec.op, this.killed);
        if (what !== null) record.what = what;
        this.end(record);
        if (spec.op === 'replace' && what !== null && !(await waitForCatchUp(this.env.cluster, this.env.keys, SETTLE_MS_MAX))) {
          this.problem(`after ${what}, its replicas did not catch up within ${SETTLE_MS_MAX} ms`);
        }
        break;
      }
      case 'hostile': {
        const h = this.env.hostile;
        if (h === undefined) break;
        const running = this.env.cluster.nodes.filter((n) => n.process !== null);
        if (running.length === 0) break;
        // The fetch attacks aim at a partition leader, with the partitions it leads: fetches answered by another node's NOT_LEADER would cost it nothing.
        const fetching = FETCH_ATTACKS.includes(spec.attack);
        const leader = fetching ? this.leaderOf(pick(this.env.random, this.env.keys), view) : null;
        const n = running.find((x) => x.id === leader) ?? pick(this.env.random, running);
        const led = Array.from({ length: h.partitions }, (_, p) => p).filter((p) => view.groups.get(`${h.topic}/${p}`)?.leader === n.id);
        const value = { attack: spec.attack, node: n.id };
        const record = this.begin('hostile', `${spec.attack} on ${n.id}`);
        const c = this.env.recorder;
        // Two actions, as a kill and its restart: the attack begins, and it ends (with what it came to).
        c.nemesis('invoke', 'attack', value);
        c.nemesis('ok', 'attack', value);
        const o = await h.clients.run({
          attack: spec.attack,
          target: attackTarget(n),
          topic: h.topic,
          partitions: fetching && led.length > 0 ? led : Array.from({ length: h.partitions }, (_, p) => p),
          nodes: running.map(attackTarget),
          holdMs: spec.holdMs,
        });
        this.attacks.push(o);
        const summary = `${o.connections} connections: ${o.closed} closed, ${o.answered} answered, ${o.open} left open; ${o.detail}`;
        const ended = { ...value, node: o.node, ended: true, connections: o.connections, closed: o.closed, answered: o.answered, open: o.open, asExpected: o.asExpected };
        c.nemesis('invoke', 'attack', ended);
        c.nemesis('ok', 'attack', ended);
        this.end(record);
        record.what = `${spec.attack} on ${o.node}: ${summary}`;
        this.env.log(`attack ${spec.attack} on ${o.node}: ${summary}${o.asExpected ? '' : ` (expected: ${o.expected})`}`);
        break;
      }
    }
    await this.settle(`after ${spec.kind}`);
  }

  /** Waits for every group to have a leader, restarting (and reporting) nodes that died on their own. */
  async settle(when: string): Promise<void> {
    for (let attempt = 0; attempt < RESTART_ATTEMPTS_MAX; attempt++) {
      await this.reviveCrashed();
      if ((await waitForLeaders(this.env.cluster, [...this.env.keys, META_GROUP], SETTLE_MS_MAX)) !== null) return;
      if (this.env.cluster.nodes.every((n) => n.process !== null || this.killed.has(n.id))) {
        this.problem(`${when}, some group had no leader for ${SETTLE_MS_MAX} ms`);
        return;
      }
    }
    this.problem(`${when}, nodes kept dying on their own`);
  }

  /**
   * Nodes the nemesis did not stop that are not running crashed by themselves: a bug in the node,
   * reported as a problem with the end of its log; restarted so that the run can go on.
   */
  async reviveCrashed(): Promise<void> {
    const dead = this.env.cluster.nodes.filter((n) => n.process === null && !this.killed.has(n.id));
    for (const n of dead) {
      this.ownExits.push({ node: n.id, exit: n.exit ?? 'unknown', atNs: this.env.recorder.now() });
      const tail = this.env.cluster.tail(n, 3).split('\n').map((l) => l.slice(0, 600)).join(' / ');
      this.problem(`node ${n.id} exited on its own (${n.exit ?? 'unknown'}); the end of ${n.logFile}: ${tail}`);
      try {
        await this.env.cluster.restart(n.id);
      } catch (err) {
        this.killed.add(n.id);
        this.problem(`node ${n.id} would not restart: ${(err as Error).message.split('\n')[0]}`);
      }
    }
  }

  /** The final heal: every node running, resumed and connected. */
  async healAll(): Promise<void> {
    await this.reviveCrashed();
    if (this.paused.size > 0) this.resume();
    for (let attempt = 0; attempt < RESTART_ATTEMPTS_MAX && this.killed.size > 0; attempt++) await this.restart([...this.killed]);
    await this.heal();
  }

  // -----------------------------------------------------------------------------------------------

  private targets(target: Target, view: ClusterView): string[] {
    const random = this.env.random;
    const ids = this.ids;
    const minoritySize = Math.floor((ids.length - 1) / 2);
    switch (target) {
      case 'partition-leader':
        return [this.leaderOf(pick(random, this.env.keys), view)];
      case 'controller':
        return [this.leaderOf(META_GROUP, view)];
      case 'minority':
        return shuffle(random, ids).slice(0, 1 + Math.floor(random() * minoritySize));
      case 'all':
        return ids;
      case 'follower':
        return [this.followerOf(pick(random, this.env.keys), view)];
      case 'any':
        return [pick(random, ids)];
    }
  }

  private leaderOf(group: string, view: ClusterView): string {
    return view.groups.get(group)?.leader ?? pick(this.env.random, this.ids);
  }

  private followerOf(group: string, view: ClusterView): string {
    const g = view.groups.get(group);
    const followers = g === undefined ? [] : [...g.replicas.keys()].filter((n) => n !== g.leader);
    return followers.length > 0 ? pick(this.env.random, followers) : pick(this.env.random, this.ids);
  }

  private partitionSpec(shape: PartitionShape, view: ClusterView): PartitionSpec {
    const random = this.env.random;
    const ids = this.ids;
    const rest = (out: readonly string[]): string[] => ids.filter((n) => !out.includes(n));
    const leader = (): string => this.leaderOf(pick(random, this.env.keys), view);
    switch (shape) {
      case 'isolate-leader': {
        const l = leader();
        return { kind: 'isolate', sides: [[l], rest([l])] };
      }
      case 'isolate-controller': {
        const l = this.leaderOf(META_GROUP, view);
        return { kind: 'isolate', sides: [[l], rest([l])] };
      }
      case 'isolate-follower': {
        const f = this.followerOf(pick(random, this.env.keys), view);
        return { kind: 'isolate', sides: [[f], rest([f])] };
      }
      case 'majority-minority': {
        const minority = shuffle(random, ids).slice(0, 1 + Math.floor(random() * Math.floor((ids.length - 1) / 2)));
        return { kind: 'split', sides: [minority, rest(minority)] };
      }
      case 'bridge': {
        const order = shuffle(random, ids);
        const leftSize = Math.floor((ids.length - 1) / 2);
        return { kind: 'bridge', left: order.slice(0, leftSize), bridge: order[leftSize]!, right: order.slice(leftSize + 1) };
      }
      case 'one-way-from-leader': {
        const l = leader();
        return { kind: 'one-way', from: [l], to: rest([l]) };
      }
      case 'one-way-to-leader': {
        const l = leader();
        return { kind: 'one-way', from: rest([l]), to: [l] };
      }
    }
  }

  private async loseDisk(spec: Extract<FaultSpec, { kind: 'disk-loss' }>, view: ClusterView, stopper: Stopper): Promise<void> {
    const c = this.env.recorder;
    const key = pick(this.env.random, this.env.keys);
    const g = view.groups.get(key);
    const followers = g === undefined ? [] : [...g.replicas.keys()].filter((n) => n !== g.leader);
    if (spec.leaderDies && (g?.leader === null || g === undefined || followers.length < 2)) {
      this.problem(`disk-loss: ${key} has no leader and two followers to aim at`);
      return;
    }
    const leader = spec.leaderDies ? g!.leader! : null;
    const [lost, lagging] = spec.leaderDies ? shuffle(this.env.random, followers) : [pick(this.env.random, this.ids), undefined];
    const record = this.begin('disk-loss', spec.leaderDies ? `${key}: ${lagging} lags, then its leader ${leader} dies with ${lost}'s disk` : `disk of ${lost} lost`);
    if (lagging !== undefined) {
      this.action('pause', [lagging], () => {
        this.env.cluster.pause(lagging);
        this.paused.add(lagging);
      });
      await stopper.sleep(LAG_MS);
    }
    const victims = leader !== null ? [leader, lost!] : [lost!];
    await this.kill(victims, false);
    c.nemesis('invoke', 'corrupt', { node: lost, how: 'disk-loss' });
    try {
      this.env.cluster.wipe(lost!);
      c.nemesis('ok', 'corrupt', { node: lost, how: 'disk-loss' });
      this.env.log(`disk of ${lost} lost: its data folder is empty`);
    } catch (err) {
      c.nemesis('fail', 'corrupt', { node: lost, how: 'disk-loss' }, (err as Error).message);
    }
    if (lagging !== undefined) this.resume();
    await this.restart([lost!]);
    await stopper.sleep(spec.holdMs);
    if (leader !== null) await this.restart([leader]);
    this.end(record);
    if (!(await waitForCatchUp(this.env.cluster, this.env.keys, SETTLE_MS_MAX))) {
      this.problem(`after losing ${lost}'s disk, its replicas did not catch up within ${SETTLE_MS_MAX} ms`);
    }
  }

  /** SIGKILL, then the power loss that goes with it. */
  private async crash(nodes: readonly string[], kind: 'kill' | 'corrupt', what: string, powerLoss = true): Promise<FaultRecord> {
    const record = this.begin(kind, what);
    await this.kill(nodes, powerLoss);
    return record;
  }

  /** SIGKILL, then (with `powerLoss`) the loss of what the nodes had not fsynced. */
  private async kill(nodes: readonly string[], powerLoss: boolean): Promise<void> {
    await this.actionAsync('kill', [...nodes], async () => {
      await Promise.all(nodes.map((n) => this.env.cluster.kill(n, 'SIGKILL')));
      for (const n of nodes) this.killed.add(n);
    });
    if (this.env.syncLog !== null && powerLoss) {
      for (const n of nodes) {
        const dataDir = this.env.cluster.node(n).dataDir;
        const lost = loseUnsynced(dataDir, path.join(dataDir, this.env.syncLog));
        const bytes = lost.reduce((s, l) => s + (l.from - l.to), 0);
        if (lost.length > 0) this.env.log(`power loss on ${n}: ${bytes} unsynced bytes of ${lost.length} segment(s) lost`);
      }
    }
  }

  private async restart(nodes: readonly string[]): Promise<void> {
    const c = this.env.recorder;
    c.nemesis('invoke', 'restart', [...nodes]);
    const failures: string[] = [];
    await Promise.all(
      nodes.map(async (n) => {
        try {
          await this.env.cluster.restart(n);
          this.killed.delete(n);
        } catch (err) {
          failures.push(`${n}: ${(err as Error).message.split('\n')[0]}`);
        }
      }),
    );
    const up = nodes.filter((n) => !this.killed.has(n));
    if (failures.length === 0) c.nemesis('ok', 'restart', [...nodes]);
    else {
      // Only the nodes that came back are healed; the rest stay down until the final heal.
      if (up.length > 0) c.nemesis('ok', 'restart', up);
      else c.nemesis('fail', 'restart', [...nodes], failures.join('; '));
      this.problem(`restart failed: ${failures.join('; ')}`);
    }
    this.env.log(`restart ${nodes.join(',')}${failures.length > 0 ? ` (failed: ${failures.join('; ')})` : ''}`);
  }

  private resume(): void {
    const nodes = [...this.paused];
    this.action('resume', nodes, () => {
      for (const n of nodes) this.env.cluster.resume(n);
      this.paused.clear();
    });
  }

  private async heal(): Promise<void> {
    await this.actionAsync('heal', null, async () => {
      await applyLinks(this.env.cluster, []);
      this.partitioned = false;
    });
  }

  private action(f: NemesisFn, value: unknown, act: () => void): void {
    const c = this.env.recorder;
    c.nemesis('invoke', f, value);
    try {
      act();
      c.nemesis('ok', f, value);
      this.env.log(`${f} ${value === null ? '' : JSON.stringify(value)}`);
    } catch (err) {
      c.nemesis('fail', f, value, (err as Error).message);
      this.problem(`${f} failed: ${(err as Error).message}`);
    }
  }

  private async actionAsync(f: NemesisFn, value: unknown, act: () => Promise<void>): Promise<void> {
    const c = this.env.recorder;
    c.nemesis('invoke', f, value);
    try {
      await act();
      c.nemesis('ok', f, value);
      this.env.log(`${f} ${value === null ? '' : JSON.stringify(value)}`);
    } catch (err) {
      c.nemesis('fail', f, value, (err as Error).message);
      this.problem(`${f} failed: ${(err as Error).message}`);
    }
  }

  private begin(kind: NemesisKind, what: string): FaultRecord {
    const r: FaultRecord = { kind, what, startNs: this.env.recorder.now(), endNs: null };
    this.faults.push(r);
    return r;
  }

  private end(r: FaultRecord): void {
    r.endNs = this.env.recorder.now();
  }

  private problem(p: string): void {
    this.problems.push(p);
    this.env.log(`nemesis: ${p}`);
  }

  /** Whether anything is still broken (for the final heal's check). */
  get healthy(): boolean {
    return this.killed.size === 0 && this.paused.size === 0 && !this.partitioned;
  }
}

function describePartition(p: PartitionSpec): string {
  switch (p.kind) {
    case 'isolate':
    case 'split':
      return p.sides.map((s) => s.join(',')).join(' | ');
    case 'bridge':
      return `${p.left.join(',')} | ${p.bridge} | ${p.right.join(',')} (${p.bridge} reaches both)`;
    case 'one-way':
      return `${p.from.join(',')} -/-> ${p.to.join(',')}`;
  }
}
