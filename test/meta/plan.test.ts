/**
 * The planner of replica moves (src/meta/plan.ts): decommission, dead-node re-replication,
 * replication factor changes and rebalance, as properties over random clusters: every target it
 * proposes is a valid replica list; new replicas land only on nodes that can take them; busy
 * partitions and the move bound are respected; planning again and again reaches a fixpoint, and
 * at the fixpoint every intent is met or the partition is reported as blocked; a rebalance ends
 * with replica counts within one of each other.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionGroupId, type NodeState, type TopicRecord } from '../../src/meta/commands.js';
import { LEADER_STEPS_MAX, canTakeReplicas, isLeaving, planMoves, type PlanInput, type PlanNode, type PlannedMove } from '../../src/meta/plan.js';
import { DEFAULT_TOPIC_CONFIG } from '../../src/wire/protocol.js';

const ROUNDS_MAX = 2000;

function topic(name: string, assignments: string[][], extra: Partial<TopicRecord> = {}): TopicRecord {
  return { name, id: `t-${name}`, partitions: assignments.length, replicationFactor: assignments[0]!.length, config: DEFAULT_TOPIC_CONFIG, assignments, ...extra };
}

function node(id: string, o: { state?: NodeState; live?: boolean; dead?: boolean } = {}): PlanNode {
  return { id, live: o.live ?? true, dead: o.dead ?? false, ...(o.state !== undefined ? { state: o.state } : {}) };
}

/** The topics after `moves`, as the metadata applies reassignPartition (a resize ends once every target has the factor). */
function apply(topics: readonly TopicRecord[], moves: readonly PlannedMove[]): TopicRecord[] {
  return topics.map((t) => {
    const mine = moves.filter((m) => m.topicId === t.id);
    if (mine.length === 0) return t;
    const assignments = t.assignments.map((a, p) => [...(mine.find((m) => m.partition === p)?.replicas ?? a)]);
    const { resizing, ...rest } = t;
    return { ...rest, assignments, ...(resizing !== undefined && !assignments.every((a) => a.length === t.replicationFactor) ? { resizing } : {}) };
  });
}

/** Plans and applies until nothing is left to plan; the last plan's blocked list, and every move made. */
function converge(input: PlanInput): { topics: TopicRecord[]; blocked: ReturnType<typeof planMoves>['blocked']; moves: PlannedMove[] } {
  let topics = [...input.topics];
  const all: PlannedMove[] = [];
  for (let round = 0; round < ROUNDS_MAX; round++) {
    const plan = planMoves({ ...input, topics });
    if (plan.moves.length === 0) return { topics, blocked: plan.blocked, moves: all };
    all.push(...plan.moves);
    topics = apply(topics, plan.moves);
  }
  throw new Error(`no fixpoint after ${ROUNDS_MAX} rounds`);
}

/** A random cluster: 2 to 7 nodes (some leaving, down or dead unless `healthy`), 1 to 3 topics of 1 to 6 partitions, some resizing. */
function cluster(o: { healthy?: boolean } = {}): fc.Arbitrary<PlanInput> {
  return fc.integer({ min: 2, max: 7 }).chain((n) => {
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const nodeArb = fc.record({
      state: fc.constantFrom<NodeState | undefined>(undefined, undefined, undefined, undefined, 'decommissioning', 'decommissioned'),
      live: o.healthy ? fc.constant(true) : fc.constantFrom(true, true, false),
      dead: o.healthy ? fc.constant(false) : fc.constantFrom(false, false, false, true),
    });
    const assignment = fc.shuffledSubarray(ids, { minLength: 1, maxLength: Math.min(n, 5) });
    const topicArb = (name: string) =>
      fc.record({ assignments: fc.array(assignment, { minLength: 1, maxLength: 6 }), rf: fc.option(fc.integer({ min: 1, max: Math.min(n, 5) }), { nil: undefined }) }).map(({ assignments, rf }) =>
        topic(name, assignments, rf === undefined ? {} : { replicationFactor: rf, resizing: { maxMoves: 2 } }),
      );
    return fc.record({
      nodes: fc.tuple(...ids.map(() => nodeArb)).map((ns) => ns.map((x, i) => node(ids[i]!, { ...(x.state !== undefined ? { state: x.state } : {}), live: x.live && !x.dead, dead: x.dead }))),
      topics: fc.integer({ min: 1, max: 3 }).chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => topicArb(`topic${i}`)))),
      rebalance: fc.boolean(),
      limit: fc.integer({ min: 1, max: 6 }),
      busy: fc.constant(new Set<string>()),
    });
  });
}

describe('planMoves: every move it proposes', () => {
  it('is a list of known nodes, each once; new replicas go only on nodes that can take them; evacuations and rebalances keep the count, resizes reach the factor', () => {
    fc.assert(
      fc.property(cluster(), (input) => {
        const byId = new Map(input.nodes.map((n) => [n.id, n]));
        const plan = planMoves(input);
        for (const m of plan.moves) {
          expect(new Set(m.replicas).size).toBe(m.replicas.length);
          for (const id of m.replicas) expect(byId.has(id)).toBe(true);
          for (const id of m.replicas.filter((x) => !m.from.includes(x))) expect(canTakeReplicas(byId.get(id)!)).toBe(true);
          const t = input.topics.find((x) => x.id === m.topicId)!;
          expect(m.from).toEqual(t.assignments[m.partition]);
          if (m.reason === 'replication factor') expect(m.replicas).toHaveLength(t.replicationFactor);
          else expect(m.replicas).toHaveLength(m.from.length);
          if (m.reason === 'decommission' || m.reason === 'dead node') {
            // Only the leaving replicas are replaced.
            for (const gone of m.from.filter((x) => !m.replicas.includes(x))) expect(isLeaving(byId.get(gone)!)).toBe(true);
          }
          if (m.reason === 'leader balance') expect([...m.replicas].sort()).toEqual([...m.from].sort());
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never touches a busy partition, plans each partition once, and stays within the bound on data moves and leader steps', () => {
    fc.assert(
      fc.property(cluster(), fc.infiniteStream(fc.boolean()), (input, coin) => {
        const busy = new Set<string>();
        for (const t of input.topics) for (let p = 0; p < t.partitions; p++) if (coin.next().value) busy.add(partitionGroupId(t.id, p));
        const plan = planMoves({ ...input, busy });
        const keys = plan.moves.map((m) => partitionGroupId(m.topicId, m.partition));
        expect(new Set(keys).size).toBe(keys.length);
        for (const k of keys) expect(busy.has(k)).toBe(false);
        expect(plan.moves.filter((m) => m.data).length).toBeLessThanOrEqual(input.limit);
        expect(plan.moves.filter((m) => !m.data).length).toBeLessThanOrEqual(LEADER_STEPS_MAX);
      }),
      { numRuns: 500 },
    );
  });
});

describe('planMoves, planned again and again', () => {
  it('reaches a fixpoint where no target names a leaving node and every resize is done, except partitions it reports as blocked', () => {
    fc.assert(
      fc.property(cluster(), (input) => {
        const { topics, blocked } = converge(input);
        const byId = new Map(input.nodes.map((n) => [n.id, n]));
        const isBlocked = (t: TopicRecord, p: number): boolean => blocked.some((b) => b.topic === t.name && b.partition === p);
        for (const t of topics) {
          t.assignments.forEach((a, p) => {
            if (isBlocked(t, p)) return;
            expect(a.some((id) => isLeaving(byId.get(id)!))).toBe(false);
            if (t.resizing !== undefined) expect(a).toHaveLength(t.replicationFactor);
          });
        }
        for (const b of blocked) expect(b.why).toMatch(/start|add|lower|choose/);
      }),
      { numRuns: 300 },
    );
  });

  it('ends a rebalance of a healthy cluster with replica counts within one of each other among the nodes that can take replicas', () => {
    fc.assert(
      fc.property(cluster({ healthy: true }), (input) => {
        const { topics, blocked } = converge({ ...input, rebalance: true });
        fc.pre(blocked.length === 0);
        const takers = input.nodes.filter(canTakeReplicas).map((n) => n.id);
        const load = takers.map((id) => topics.flatMap((t) => t.assignments).filter((a) => a.includes(id)).length);
        expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('proposes nothing for a cluster with no intent: no node leaving, no resize, no rebalance', () => {
    fc.assert(
      fc.property(cluster({ healthy: true }), (input) => {
        const nodes = input.nodes.map((n) => node(n.id));
        const topics = input.topics.map(({ resizing: _, ...t }) => t);
        expect(planMoves({ ...input, nodes, topics, rebalance: false }).moves).toEqual([]);
      }),
    );
  });
});

describe('planMoves: cases an operator meets', () => {
  const four = ['n1', 'n2', 'n3', 'n4'].map((id) => node(id));

  it('decommissioning n3 of four: each of its replicas goes to the node that holds fewest, in its place in the list', () => {
    const nodes = four.map((n) => (n.id === 'n3' ? node('n3', { state: 'decommissioning' }) : n));
    const t = topic('orders', [['n1', 'n2', 'n3'], ['n3', 'n1', 'n2'], ['n2', 'n3', 'n4']]);
    const plan = planMoves({ nodes, topics: [t], busy: new Set(), rebalance: false, limit: 10 });
    expect(plan.moves.map((m) => [m.partition, m.replicas, m.reason])).toEqual([
      [0, ['n1', 'n2', 'n4'], 'decommission'],
      [1, ['n4', 'n1', 'n2'], 'decommission'],
      [2, ['n2', 'n1', 'n4'], 'decommission'],
    ]);
  });

  it('releases no more data moves than the bound, and counts the rest as waiting', () => {
    const nodes = four.map((n) => (n.id === 'n3' ? node('n3', { state: 'decommissioning' }) : n));
    const t = topic('orders', [['n1', 'n2', 'n3'], ['n3', 'n1', 'n2'], ['n2', 'n3', 'n4']]);
    const plan = planMoves({ nodes, topics: [t], busy: new Set([partitionGroupId(t.id, 0)]), rebalance: false, limit: 1 });
    expect(plan.moves.map((m) => m.partition)).toEqual([1]);
    expect(plan.waiting).toBe(1);
  });

  it('reports a partition no remaining node can take, and one with no live majority, with what to do', () => {
    const nodes = [node('n1'), node('n2', { live: false }), node('n3', { state: 'decommissioning', live: false })];
    const t = topic('orders', [['n1', 'n2', 'n3'], ['n1', 'n3']]);
    const plan = planMoves({ nodes, topics: [t], busy: new Set(), rebalance: false, limit: 10 });
    expect(plan.moves).toEqual([]);
    expect(plan.blocked).toEqual([
      { topic: 'orders', partition: 0, why: expect.stringMatching(/orders\/0 has no live majority \(n2, n3 are down of n1, n2, n3\).*start those nodes again/) },
      { topic: 'orders', partition: 1, why: expect.stringMatching(/orders\/1 has no live majority \(n3 is down of n1, n3\)/) },
    ]);
    const full = planMoves({ nodes: [node('n1'), node('n2'), node('n3', { state: 'decommissioning' })], topics: [t], busy: new Set(), rebalance: false, limit: 10 });
    expect(full.blocked[0]!.why).toMatch(/no node can take orders\/0's replica on n3: every node up and active \(n1, n2\) holds one already; .*raftlog topics alter orders --replication-factor 2/);
  });

  it('a dead node is evacuated like a leaving one; a node merely down is not', () => {
    const t = topic('orders', [['n1', 'n2', 'n3']]);
    const dead = planMoves({ nodes: [node('n1'), node('n2'), node('n3', { live: false, dead: true }), node('n4')], topics: [t], busy: new Set(), rebalance: false, limit: 10 });
    expect(dead.moves).toMatchObject([{ replicas: ['n1', 'n2', 'n4'], reason: 'dead node', node: 'n3' }]);
    const down = planMoves({ nodes: [node('n1'), node('n2'), node('n3', { live: false }), node('n4')], topics: [t], busy: new Set(), rebalance: false, limit: 10 });
    expect(down.moves).toEqual([]);
  });

  it('a replication factor 1 -> 3 adds the least loaded nodes after the existing replica; 3 -> 1 keeps the preferred leader', () => {
    const grow = topic('orders', [['n2'], ['n1']], { replicationFactor: 3, resizing: { maxMoves: 2 } });
    expect(planMoves({ nodes: four, topics: [grow], busy: new Set(), rebalance: false, limit: 10 }).moves.map((m) => m.replicas)).toEqual([
      ['n2', 'n3', 'n4'],
      // n2 leads a partition already: n3 and n4 lead none.
      ['n1', 'n3', 'n4'],
    ]);
    const cut = topic('orders', [['n2', 'n3', 'n4']], { replicationFactor: 1, resizing: { maxMoves: 2 } });
    expect(planMoves({ nodes: four, topics: [cut], busy: new Set(), rebalance: false, limit: 10 }).moves.map((m) => m.replicas)).toEqual([['n2']]);
  });

  it('a rebalance after a fourth node joined empty moves replicas onto it, then evens out preferred leaders', () => {
    const t = topic('orders', [['n1', 'n2', 'n3'], ['n2', 'n3', 'n1'], ['n3', 'n1', 'n2'], ['n1', 'n3', 'n2']]);
    const { topics } = converge({ nodes: four, topics: [t], busy: new Set(), rebalance: true, limit: 2 });
    const load = (id: string): number => topics[0]!.assignments.filter((a) => a.includes(id)).length;
    expect(['n1', 'n2', 'n3', 'n4'].map(load)).toEqual([3, 3, 3, 3]);
    const leads = (id: string): number => topics[0]!.assignments.filter((a) => a[0] === id).length;
    expect(['n1', 'n2', 'n3', 'n4'].map(leads)).toEqual([1, 1, 1, 1]);
  });
});
