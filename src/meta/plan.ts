/**
 * Where partitions' replicas should go next: one planner for every reason the controller moves
 * replicas by itself. Each reason is an intent the metadata holds (or, for a dead node, the
 * controller sees), and the planner turns the intents and the current targets into new targets:
 *
 *   1. evacuate: a partition whose target names a node that leaves (decommissioning, or dead for
 *      longer than --node-dead-after-ms) gets another node in its place, at the same position;
 *   2. resize: a partition of a topic whose replication factor changed (TopicRecord.resizing)
 *      gains or loses replicas until it has that many;
 *   3. rebalance, only while an operator's rebalance runs: a replica moves from the node holding
 *      the most to the one holding the fewest, until no two differ by more than one; then
 *      preferred leaders (the first of each target) are evened out the same way, by reordering a
 *      target (no data moves for that: moves.ts compares sets).
 *
 * Why one planner and level-triggered: the planner keeps no plan of its own. Each round the
 * controller asks it afresh from the metadata (src/node/placer.ts), so a plan never goes stale
 * when a node dies or comes back halfway, and a new controller carries on from the same intents
 * with nothing to hand over (CockroachDB's replicate queue and Kubernetes controllers work the
 * same way). What it returns is proposed as ordinary `reassignPartition` commands, and the moves
 * themselves are the partition leaders' (src/partition/moves.ts), one single-server change at a
 * time, so whatever the reason, a move is as safe as an operator's `partitions reassign`.
 *
 * New replicas go only on nodes that can take them now (active, connected, not dead), the least
 * loaded first (replicas, then preferred leaders, then node order), never twice in one target.
 * A partition in `busy` (its group is still moving) or without a live majority in its target
 * (its group has no leader to drive a move) is left alone; the second is reported in `blocked`
 * with what to do, as is a partition no node can take a replica of.
 *
 * Termination: every data step of the rebalance lowers the sum of squared replica counts, and
 * every leader step the sum of squared leader counts without changing replica counts, so
 * repeated planning reaches a fixpoint; evacuation and resizing strictly shrink what is left to
 * do. test/meta/plan.test.ts checks these properties.
 */
import { quorumSize } from '../../raft/quorum.js';
import { partitionGroupId, type NodeState, type TopicRecord } from './commands.js';

/** A node as the planner sees it. */
export interface PlanNode {
  readonly id: string;
  /** Absent: an ordinary member. */
  readonly state?: NodeState;
  /** Connected to the controller now (or the controller itself). */
  readonly live: boolean;
  /** Down for longer than --node-dead-after-ms: its replicas are moved off it. */
  readonly dead: boolean;
}

export interface PlanInput {
  readonly nodes: readonly PlanNode[];
  readonly topics: readonly TopicRecord[];
  /** Partition groups still moving: not planned again until they are at their target. */
  readonly busy: ReadonlySet<string>;
  /** An operator's rebalance runs. */
  readonly rebalance: boolean;
  /** Moves that change a replica set, at most (leader steps are bounded by LEADER_STEPS_MAX). */
  readonly limit: number;
}

export type MoveReason = 'decommission' | 'dead node' | 'replication factor' | 'rebalance' | 'leader balance';

export interface PlannedMove {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly from: readonly string[];
  readonly replicas: readonly string[];
  readonly reason: MoveReason;
  /** The node whose leaving or load the move is for (a leaving node, or the node a rebalance step unloads). */
  readonly node?: string;
  /** It changes the replica set (false: only the preferred leader changes). */
  readonly data: boolean;
}

/** A partition that needs a move the planner cannot make now, and why, with what to do. */
export interface BlockedPartition {
  readonly topic: string;
  readonly partition: number;
  readonly why: string;
}

export interface Plan {
  readonly moves: PlannedMove[];
  readonly blocked: BlockedPartition[];
  /** Partitions that need an evacuation or resize move beyond `limit` (they wait for a slot). */
  readonly waiting: number;
}

/** Leader-balancing steps (target reorders) in one plan, at most: they move no data, but each is a metadata entry. */
export const LEADER_STEPS_MAX = 16;

/** Whether a node takes no new replicas and loses the ones it has. */
export function isLeaving(n: PlanNode): boolean {
  return n.state !== undefined || n.dead;
}

/** Whether a node may be given new replicas now. */
export function canTakeReplicas(n: PlanNode): boolean {
  return n.state === undefined && n.live && !n.dead;
}

/** Per partition being planned: its current target, which this plan may already have changed. */
interface Slot {
  readonly topic: TopicRecord;
  readonly partition: number;
  replicas: string[];
  planned: boolean;
}

export function planMoves(input: PlanInput): Plan {
  const nodes = new Map(input.nodes.map((n) => [n.id, n]));
  const order = new Map(input.nodes.map((n, i) => [n.id, i]));
  const slots: Slot[] = [];
  for (const t of input.topics) t.assignments.forEach((a, p) => slots.push({ topic: t, partition: p, replicas: [...a], planned: input.busy.has(partitionGroupId(t.id, p)) }));
  const load = new Map<string, number>(input.nodes.map((n) => [n.id, 0]));
  const leads = new Map<string, number>(input.nodes.map((n) => [n.id, 0]));
  for (const s of slots) count(s.replicas, +1);
  const moves: PlannedMove[] = [];
  const blocked: BlockedPartition[] = [];
  let waiting = 0;
  let dataMoves = 0;

  function count(replicas: readonly string[], by: number): void {
    replicas.forEach((n, i) => {
      if (load.has(n)) load.set(n, load.get(n)! + by);
      if (i === 0 && leads.has(n)) leads.set(n, leads.get(n)! + by);
    });
  }
  const takers = (): string[] => input.nodes.filter(canTakeReplicas).map((n) => n.id);
  const leastLoaded = (candidates: readonly string[]): string[] =>
    [...candidates].sort((a, b) => load.get(a)! - load.get(b)! || leads.get(a)! - leads.get(b)! || order.get(a)! - order.get(b)!);
  const live = (id: string): boolean => nodes.get(id)?.live === true;
  const where = (s: Slot): string => `${s.topic.name}/${s.partition}`;
  /** Why the slot's group cannot take a move now (no live majority: no leader to drive it), or null. */
  const stuck = (s: Slot): string | null => {
    const down = s.replicas.filter((id) => !live(id));
    if (s.replicas.length - down.length >= quorumSize(s.replicas.length)) return null;
    return `${where(s)} has no live majority (${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down of ${s.replicas.join(', ')}): it has no leader to move it; start ${down.length === 1 ? 'that node' : 'those nodes'} again`;
  };
  const commit = (s: Slot, replicas: string[], reason: MoveReason, node: string | undefined): void => {
    const data = !sameSet(replicas, s.replicas);
    moves.push({ topic: s.topic.name, topicId: s.topic.id, partition: s.partition, from: [...s.replicas], replicas, reason, ...(node !== undefined ? { node } : {}), data });
    count(s.replicas, -1);
    count(replicas, +1);
    s.replicas = replicas;
    s.planned = true;
    if (data) dataMoves++;
  };
  const room = (): boolean => dataMoves < input.limit;

  // 1. Evacuate leaving nodes.
  for (const s of slots) {
    if (s.planned) continue;
    const leaving = s.replicas.filter((id) => nodes.get(id) === undefined || isLeaving(nodes.get(id)!));
    if (leaving.length === 0) continue;
    const why = stuck(s);
    if (why !== null) {
      blocked.push({ topic: s.topic.name, partition: s.partition, why });
      continue;
    }
    const free = leastLoaded(takers().filter((id) => !s.replicas.includes(id)));
    if (free.length < leaving.length) {
      const have = takers();
      blocked.push({
        topic: s.topic.name,
        partition: s.partition,
        why: `no node can take ${where(s)}'s replica on ${leaving.join(', ')}: ${have.length === 0 ? 'no node is up and active' : `every node up and active (${have.join(', ')}) holds one already`}; start or add a node, or lower the topic's replication factor (raftlog topics alter ${s.topic.name} --replication-factor ${s.replicas.length - leaving.length})`,
      });
      continue;
    }
    if (!room()) {
      waiting++;
      continue;
    }
    const reason: MoveReason = leaving.some((id) => nodes.get(id)?.state !== undefined) ? 'decommission' : 'dead node';
    const next = s.replicas.map((id) => (leaving.includes(id) ? free.shift()! : id));
    commit(s, next, reason, leaving[0]);
  }

  // 2. Resize topics whose replication factor changed.
  for (const s of slots) {
    const rf = s.topic.replicationFactor;
    if (s.planned || s.topic.resizing === undefined || s.replicas.length === rf) continue;
    const why = stuck(s);
    if (why !== null) {
      blocked.push({ topic: s.topic.name, partition: s.partition, why });
      continue;
    }
    let next: string[];
    if (s.replicas.length < rf) {
      const free = leastLoaded(takers().filter((id) => !s.replicas.includes(id)));
      if (free.length < rf - s.replicas.length) {
        blocked.push({ topic: s.topic.name, partition: s.partition, why: `${where(s)} needs ${rf} replicas, but only ${s.replicas.length + free.length} nodes are up and active; start or add nodes, or choose a lower replication factor` });
        continue;
      }
      next = [...s.replicas, ...free.slice(0, rf - s.replicas.length)];
    } else {
      // Leaving replicas go first, then those down, then (keeping the preferred leader) the most loaded.
      next = shrink(s.replicas, rf, (id, i) => [nodes.get(id) === undefined || isLeaving(nodes.get(id)!) ? 1 : 0, live(id) ? 0 : 1, i === 0 ? 0 : 1, load.get(id) ?? 0]);
    }
    if (!room()) {
      waiting++;
      continue;
    }
    commit(s, next, 'replication factor', undefined);
  }

  if (!input.rebalance) return { moves, blocked, waiting };

  // 3. Even out replica counts among the nodes that can take replicas, then preferred leaders.
  const movable = (s: Slot): boolean => !s.planned && stuck(s) === null;
  while (room()) {
    const step = replicaStep(slots, takers(), load, movable);
    if (step === null) break;
    const [s, d, r] = step;
    commit(s, s.replicas.map((id) => (id === d ? r : id)), 'rebalance', d);
  }
  for (let k = 0; k < LEADER_STEPS_MAX; k++) {
    const step = leaderStep(slots, takers(), leads, movable);
    if (step === null) break;
    const [s, d, r] = step;
    commit(s, s.replicas.map((id) => (id === d ? r : id === r ? d : id)), 'leader balance', d);
  }
  return { moves, blocked, waiting };
}

/**
 * Pairs (d, r) of nodes whose `weight` differs by two or more, the widest gaps first: d the
 * heavier. Only among `takers`, so nothing moves onto or off a node that is down or leaving.
 */
function* unevenPairs(takers: readonly string[], weight: ReadonlyMap<string, number>): Generator<[string, string]> {
  const heavyFirst = [...takers].sort((a, b) => weight.get(b)! - weight.get(a)! || a.localeCompare(b));
  for (const d of heavyFirst) {
    for (const r of [...heavyFirst].reverse()) {
      if (weight.get(d)! - weight.get(r)! < 2) break;
      yield [d, r];
    }
  }
}

/**
 * A replica step: a slot with a replica on d and none on r, preferably one d does not lead (so
 * preferred leaders stay put). Once d holds more than r there is such a slot unless the ones
 * left are busy or stuck: d is in more slots than r, so in at least one r is not.
 */
function replicaStep(slots: readonly Slot[], takers: readonly string[], load: ReadonlyMap<string, number>, movable: (s: Slot) => boolean): [Slot, string, string] | null {
  for (const [d, r] of unevenPairs(takers, load)) {
    const candidates = slots.filter((s) => movable(s) && s.replicas.includes(d) && !s.replicas.includes(r));
    const pick = candidates.find((s) => s.replicas[0] !== d) ?? candidates[0];
    if (pick !== undefined) return [pick, d, r];
  }
  return null;
}

/** A leader step: a slot d leads in which r holds a replica, so the two swap places. */
function leaderStep(slots: readonly Slot[], takers: readonly string[], leads: ReadonlyMap<string, number>, movable: (s: Slot) => boolean): [Slot, string, string] | null {
  for (const [d, r] of unevenPairs(takers, leads)) {
    const pick = slots.find((s) => movable(s) && s.replicas[0] === d && s.replicas.includes(r));
    if (pick !== undefined) return [pick, d, r];
  }
  return null;
}

/**
 * `replicas` down to `rf`, dropping first those `rank` puts highest (tuples compared element by
 * element), later positions first among equals.
 */
function shrink(replicas: readonly string[], rf: number, rank: (id: string, position: number) => readonly number[]): string[] {
  const ranked = replicas.map((id, i) => ({ id, i, r: rank(id, i) }));
  ranked.sort((a, b) => {
    for (let k = 0; k < a.r.length; k++) if (a.r[k] !== b.r[k]) return b.r[k]! - a.r[k]!;
    return b.i - a.i;
  });
  const drop = new Set(ranked.slice(0, replicas.length - rf).map((x) => x.id));
  return replicas.filter((id) => !drop.has(id));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Moves a whole plan may count before it stops (a dry run of a very large cluster says "at least"). */
export const PLAN_MOVES_COUNTED_MAX = 10_000;

/**
 * Every move the planner would make from here to its fixpoint, were each done at once: what a
 * rebalance's dry run shows. Stops counting at PLAN_MOVES_COUNTED_MAX (complete: false).
 */
export function wholePlan(input: Omit<PlanInput, 'busy' | 'limit'>): { moves: PlannedMove[]; complete: boolean } {
  let topics = [...input.topics];
  const moves: PlannedMove[] = [];
  while (moves.length < PLAN_MOVES_COUNTED_MAX) {
    const step = planMoves({ ...input, topics, busy: new Set(), limit: PLAN_MOVES_COUNTED_MAX - moves.length });
    if (step.moves.length === 0) return { moves, complete: true };
    moves.push(...step.moves);
    topics = applyMoves(topics, step.moves);
  }
  return { moves, complete: false };
}

/** The topics once `moves` are their targets, as the metadata applies reassignPartition (meta-state.ts): a resize ends when every target has the factor. */
export function applyMoves(topics: readonly TopicRecord[], moves: readonly PlannedMove[]): TopicRecord[] {
  return topics.map((t) => {
    const mine = moves.filter((m) => m.topicId === t.id);
    if (mine.length === 0) return t;
    const assignments = t.assignments.map((a, p) => [...(mine.findLast((m) => m.partition === p)?.replicas ?? a)]);
    const { resizing, ...rest } = t;
    const resized = resizing === undefined || assignments.every((a) => a.length === t.replicationFactor);
    return { ...rest, assignments, ...(resized ? {} : { resizing }) };
  });
}

/**
 * Why `node` cannot start leaving (null: it can) as far as partitions go: the active nodes left
 * must be able to hold every partition it holds (as many replicas as its target has, or as its
 * topic's new replication factor while that changes). Says which partitions and what to do.
 */
export function decommissionCapacityProblem(nodes: readonly PlanNode[], topics: readonly TopicRecord[], node: string): string | null {
  const left = nodes.filter((n) => n.state === undefined && n.id !== node).map((n) => n.id);
  const short: string[] = [];
  const lower = new Map<string, number>();
  for (const t of topics) {
    t.assignments.forEach((a, p) => {
      if (!a.includes(node)) return;
      const need = t.resizing !== undefined ? t.replicationFactor : a.length;
      if (need <= left.length) return;
      short.push(`${t.name}/${p} (${need} replicas)`);
      lower.set(t.name, left.length);
    });
  }
  if (short.length === 0) return null;
  const fixes = [...lower].map(([name, rf]) => `raftlog topics alter ${name} --replication-factor ${rf}`);
  return (
    `the ${left.length} node${left.length === 1 ? '' : 's'} left after ${node} (${left.join(', ') || 'none'}) cannot hold ${short.slice(0, 5).join(', ')}${short.length > 5 ? ` and ${short.length - 5} more` : ''}: ` +
    `add a node first, or lower the replication factor (${fixes.slice(0, 3).join('; ')}${fixes.length > 3 ? '; ...' : ''})`
  );
}
