/**
 * The controller's replica moves: every PLACE_EVERY_MS it reads the intents the metadata holds
 * (nodes decommissioning, topics changing replication factor, a rebalance) and the nodes it has
 * not had connected for --node-dead-after-ms, asks the planner (src/meta/plan.ts) for the next
 * targets, and proposes them as `reassignPartition` commands. The partition leaders then move
 * their groups (src/partition/moves.ts). It also takes the last step of a decommission: once no
 * partition holds the node, the node leaves the metadata group's configuration, and is recorded
 * as decommissioned.
 *
 * Moves at once. Each intent names how many of its moves may run at once (MOVES_AT_ONCE_DEFAULT
 * unless asked), counting every move in the cluster, whoever started it. The metadata holds only
 * targets; whether a group is there is in its own log, which its leader knows. So each partition
 * leader tells its peers, in the leader gossip it sends anyway (src/node/leaders.ts), which of
 * the groups it leads are not at their target yet, as of the metadata index it has applied. A
 * move this controller started counts until its leader has said "at target" with that index or
 * a later one; any group a leader says is moving counts too. This is pacing only: a move is safe
 * whatever runs beside it, so a late or lost report costs time, never data. A metadata command
 * per finished move would be exact but would cost a metadata write per move and a way for
 * partition leaders to propose to the controller, which they do not have.
 *
 * Failover. Everything a new controller needs is in the metadata: the intents, and the targets
 * set so far; the planner recomputes the rest. It waits REPORTS_SETTLE_MS after taking over, to
 * hear every leader's report, before it starts a move or ends a decommission.
 *
 * Dead nodes (off unless --node-dead-after-ms is given): measured from when this controller last
 * had the node connected, or took over; a node that comes back stops being dead, and the moves
 * already started go on (it can be rebalanced onto again). A move that cannot be made (too few
 * nodes up, a partition without a live majority) is never forced: it is logged once and listed
 * in the controller's /status with what to do.
 */
import { isMember, type Membership, type MembershipChange } from '../../raft/membership.js';
import { quorumSize } from '../../raft/quorum.js';
import { RaftError } from '../../raft/errors.js';
import type { NodeId } from '../../raft/types.js';
import type { Logger } from '../log.js';
import { partitionGroupId, type MetaCommand, type TopicRecord } from '../meta/commands.js';
import type { MetaResult, MetaStateMachine } from '../meta/meta-state.js';
import { planMoves, type BlockedPartition, type PlanNode, type PlannedMove } from '../meta/plan.js';
import { LIMITS, MOVES_AT_ONCE_DEFAULT, type ControllerStatus, type NodeLifecycle } from '../wire/protocol.js';

/** How often the controller plans and starts replica moves. */
export const PLACE_EVERY_MS = 500;
/** How long a new controller waits for the partition leaders' reports of their moves (two gossip rounds and some) before it starts moves. */
export const REPORTS_SETTLE_MS = 2500;

/** What the placer needs of its node. */
export interface PlacerHost {
  readonly config: { readonly id: NodeId; readonly nodeDeadAfterMs?: number };
  readonly logger: Logger;
  readonly meta: Pick<MetaStateMachine, 'isReady' | 'node' | 'topics' | 'appliedIndex' | 'rebalance'>;
  readonly transport: { isConnected(peer: NodeId): boolean };
  isController(): boolean;
  nodeIds(): NodeId[];
  /** Partition groups not at their target, as their leaders say (src/node/leaders.ts). */
  movingGroups(): ReadonlySet<string>;
  /** Whether the leader of `group` has said it is at its target, having applied metadata index `index` or later. */
  groupAtTarget(group: string, index: number): boolean;
  /** The metadata group's configuration, and whether it is committed. */
  metaMembership(): { membership: Membership; committed: boolean };
  /** Proposes a change of the metadata group's configuration (throws RaftError as Raft.proposeMembership). */
  changeMetaMembership(change: MembershipChange): void;
}

export class Placer {
  private active = false;
  private running = false;
  /** When this node last took over as controller. */
  private since = 0;
  /** Moves this controller started and has not heard finished: group → metadata index of the new target. */
  private readonly started = new Map<string, number>();
  /** When this controller last had each node connected (or took over). */
  private readonly lastSeen = new Map<NodeId, number>();
  private readonly dead = new Set<NodeId>();
  /** What was last logged as blocked, so each reason is logged once. */
  private loggedBlocked = new Set<string>();
  private last: ControllerStatus;

  constructor(
    private readonly node: PlacerHost,
    private readonly propose: (cmd: MetaCommand, deadline: number) => Promise<MetaResult>,
  ) {
    this.last = this.emptyStatus();
  }

  onControllerChange(isController: boolean): void {
    this.active = isController;
    this.started.clear();
    this.dead.clear();
    this.loggedBlocked = new Set();
    this.since = Date.now();
    for (const id of this.node.nodeIds()) this.lastSeen.set(id, this.since);
  }

  /** The last round's view (for /status). */
  status(): ControllerStatus {
    return this.last;
  }

  /** Each node as the planner sees it now. */
  nodes(now = Date.now()): PlanNode[] {
    const deadAfter = this.node.config.nodeDeadAfterMs ?? 0;
    return this.node.nodeIds().map((id) => {
      const live = id === this.node.config.id || this.node.transport.isConnected(id);
      if (live) this.lastSeen.set(id, now);
      const state = this.node.meta.node(id)?.decommission?.state;
      const dead = deadAfter > 0 && !live && state !== 'decommissioned' && now - (this.lastSeen.get(id) ?? now) >= deadAfter;
      return { id, live, dead, ...(state !== undefined ? { state } : {}) };
    });
  }

  /** Partition groups moving now: those leaders say are moving, and those this controller started and has not heard finished. */
  inFlight(topics: readonly TopicRecord[]): Set<string> {
    const moving = new Set(this.node.movingGroups());
    const groups = new Set(topics.flatMap((t) => t.assignments.map((_, p) => partitionGroupId(t.id, p))));
    for (const [g, index] of this.started) {
      if (!groups.has(g) || this.node.groupAtTarget(g, index)) this.started.delete(g);
      else moving.add(g);
    }
    return moving;
  }

  /** One round: plan, start what the bounds allow, take decommissions a step further. */
  async round(): Promise<void> {
    if (!this.active || this.running || !this.node.isController() || !this.node.meta.isReady()) return;
    this.running = true;
    try {
      await this.place();
    } catch (err) {
      this.node.logger.debug({ err: (err as Error).message }, 'planning replica moves failed; will retry');
    } finally {
      this.running = false;
    }
  }

  private async place(): Promise<void> {
    const now = Date.now();
    const meta = this.node.meta;
    const nodes = this.nodes(now);
    this.noteDead(nodes, now);
    let topics = meta.topics();
    const moving = this.inFlight(topics);
    const rebalance = meta.rebalance();
    const settled = now - this.since >= REPORTS_SETTLE_MS;
    const bound = (m: Pick<PlannedMove, 'reason' | 'node' | 'topic'>): number => {
      switch (m.reason) {
        case 'decommission':
          return meta.node(m.node ?? '')?.decommission?.maxMoves ?? MOVES_AT_ONCE_DEFAULT;
        case 'dead node':
          return MOVES_AT_ONCE_DEFAULT;
        case 'replication factor':
          return topics.find((t) => t.name === m.topic)?.resizing?.maxMoves ?? MOVES_AT_ONCE_DEFAULT;
        case 'rebalance':
        case 'leader balance':
          return rebalance?.maxMoves ?? MOVES_AT_ONCE_DEFAULT;
      }
    };
    const widest = Math.max(
      MOVES_AT_ONCE_DEFAULT,
      rebalance?.maxMoves ?? 0,
      ...nodes.map((n) => meta.node(n.id)?.decommission?.maxMoves ?? 0),
      ...topics.map((t) => t.resizing?.maxMoves ?? 0),
    );
    const plan = planMoves({ nodes, topics, busy: moving, rebalance: rebalance !== undefined, limit: Math.max(0, widest - moving.size) });
    let waiting = plan.waiting;
    if (settled) {
      const deadline = now + PLACE_EVERY_MS * 4;
      for (const m of plan.moves) {
        if (m.data && moving.size >= bound(m)) {
          waiting++;
          continue;
        }
        const group = partitionGroupId(m.topicId, m.partition);
        const r = await this.propose({ type: 'reassignPartition', topic: m.topic, topicId: m.topicId, partition: m.partition, replicas: [...m.replicas] }, deadline);
        if (!r.ok) {
          this.node.logger.warn({ topic: m.topic, partition: m.partition, err: r.message }, `could not start moving ${m.topic}/${m.partition}: ${r.message}`);
          continue;
        }
        if (m.data) {
          this.started.set(group, meta.appliedIndex());
          moving.add(group);
        }
        this.node.logger.info(
          { topic: m.topic, partition: m.partition, from: m.from, to: m.replicas, reason: m.reason, for: m.node },
          `${describeReason(m)}: ${m.topic}/${m.partition} ${m.from.join(',')} -> ${m.replicas.join(',')}${m.data ? ` (${moving.size} of at most ${bound(m)} moves running)` : ''}`,
        );
      }
      topics = meta.topics();
    }
    this.noteBlocked(plan.blocked);
    const decommissions: { node: string; step: string }[] = [];
    for (const n of nodes) {
      if (n.state !== 'decommissioning') continue;
      decommissions.push({ node: n.id, step: settled ? await this.advanceDecommission(n.id, nodes, topics, moving) : 'waiting for the partition leaders to report (this controller just took over)' });
    }
    if (settled && rebalance !== undefined && moving.size === 0 && !plan.moves.some((m) => m.reason === 'rebalance' || m.reason === 'leader balance')) {
      const r = await this.propose({ type: 'finishRebalance' }, now + PLACE_EVERY_MS * 4);
      if (r.ok) this.node.logger.info('rebalance finished: replicas and preferred leaders are spread as evenly as the partitions allow');
    }
    this.last = this.describe(this.nodes(now), now, moving, topics, waiting, plan.blocked, decommissions, meta.rebalance());
  }

  /**
   * The next step of a node's decommission, once no target names it: wait for every move to
   * finish (a group may still count on it), then remove it from the metadata group's
   * configuration, then record it as decommissioned. Returns what it waits on, for /status.
   */
  private async advanceDecommission(id: NodeId, nodes: readonly PlanNode[], topics: readonly TopicRecord[], moving: ReadonlySet<string>): Promise<string> {
    const holding = topics.flatMap((t) => t.assignments.flatMap((a, p) => (a.includes(id) ? [`${t.name}/${p}`] : [])));
    if (holding.length > 0) return `moving ${holding.length} partition${holding.length === 1 ? '' : 's'} off ${id} (${holding.slice(0, 5).join(', ')}${holding.length > 5 ? ', ...' : ''})`;
    if (moving.size > 0) {
      const names = new Map(topics.flatMap((t) => t.assignments.map((_, p) => [partitionGroupId(t.id, p), `${t.name}/${p}`] as const)));
      const list = [...moving].slice(0, 5).map((g) => names.get(g) ?? g);
      return `waiting for ${moving.size} move${moving.size === 1 ? '' : 's'} to finish (${list.join(', ')}${moving.size > 5 ? ', ...' : ''}) before ${id} leaves the metadata group`;
    }
    const { membership, committed } = this.node.metaMembership();
    if (!committed) return 'waiting for the metadata group to commit its last configuration change';
    if (isMember(membership, id)) {
      const live = new Set(nodes.filter((n) => n.live).map((n) => n.id));
      const problem = metaRemovalProblem(membership, id, (n) => live.has(n));
      if (problem !== null) return `blocked: ${problem}`;
      try {
        this.node.changeMetaMembership({ type: 'remove', node: id });
        this.node.logger.info({ leaving: id }, `decommission of ${id}: it holds no replica any more; removing it from the metadata group`);
        return `leaving the metadata group`;
      } catch (err) {
        if (err instanceof RaftError && err.retriable) return `waiting to leave the metadata group: ${err.message}`;
        throw err;
      }
    }
    const r = await this.propose({ type: 'setNodeState', node: id, state: 'decommissioned', maxMoves: MOVES_AT_ONCE_DEFAULT }, Date.now() + PLACE_EVERY_MS * 4);
    if (!r.ok) return `recording ${id} as decommissioned failed: ${r.message}`;
    this.node.logger.warn({ leaving: id }, `node ${id} is decommissioned: it holds no replica and is not in the metadata group; it stops by itself once a peer tells it (or stop it now)`);
    return 'decommissioned';
  }

  private noteDead(nodes: readonly PlanNode[], now: number): void {
    for (const n of nodes) {
      if (n.dead && !this.dead.has(n.id)) {
        this.dead.add(n.id);
        const held = this.node.meta.topics().reduce((k, t) => k + t.assignments.filter((a) => a.includes(n.id)).length, 0);
        this.node.logger.error(
          { dead: n.id, downMs: now - (this.lastSeen.get(n.id) ?? now), replicas: held },
          `node ${n.id} has been down for ${Math.round((now - (this.lastSeen.get(n.id) ?? now)) / 1000)} s, longer than --node-dead-after-ms ${this.node.config.nodeDeadAfterMs}: moving its ${held} replica(s) to other nodes`,
        );
      } else if (!n.dead && this.dead.delete(n.id)) {
        this.node.logger.warn({ back: n.id }, `node ${n.id} is back: its replicas not moved yet stay on it (the moves started go on; raftlog partitions rebalance spreads replicas onto it again)`);
      }
    }
  }

  private noteBlocked(blocked: readonly BlockedPartition[]): void {
    const now = new Set(blocked.map((b) => b.why));
    for (const why of now) if (!this.loggedBlocked.has(why)) this.node.logger.warn({ why }, `cannot move a replica now: ${why}`);
    this.loggedBlocked = now;
  }

  private describe(
    nodes: readonly PlanNode[],
    now: number,
    moving: ReadonlySet<string>,
    topics: readonly TopicRecord[],
    waiting: number,
    blocked: readonly BlockedPartition[],
    decommissions: { node: string; step: string }[],
    rebalance: { maxMoves: number } | undefined,
  ): ControllerStatus {
    const { membership } = this.node.metaMembership();
    const names = new Map(topics.flatMap((t) => t.assignments.map((_, p) => [partitionGroupId(t.id, p), `${t.name}/${p}`] as const)));
    return {
      nodes: nodes.map((n) => ({
        id: n.id,
        state: (n.state ?? 'active') satisfies NodeLifecycle,
        live: n.live,
        dead: n.dead,
        ...(n.live ? {} : { downMs: now - (this.lastSeen.get(n.id) ?? now) }),
        meta: membership.voters.includes(n.id) ? 'voter' : membership.learners.includes(n.id) ? 'learner' : 'none',
      })),
      moving: [...moving].map((g) => names.get(g) ?? g).slice(0, LIMITS.plannedMovesListedMax),
      waiting,
      blocked: blocked.slice(0, LIMITS.plannedMovesListedMax),
      ...(rebalance !== undefined ? { rebalance: { maxMoves: rebalance.maxMoves } } : {}),
      decommissions,
      nodeDeadAfterMs: this.node.config.nodeDeadAfterMs ?? 0,
    };
  }

  private emptyStatus(): ControllerStatus {
    return { nodes: [], moving: [], waiting: 0, blocked: [], decommissions: [], nodeDeadAfterMs: this.node.config.nodeDeadAfterMs ?? 0 };
  }
}

/**
 * Why removing `node` from the metadata group's configuration would leave it unable to commit
 * (null: it would not): its voters left must be a live majority of themselves.
 */
export function metaRemovalProblem(m: Membership, node: NodeId, live: (id: NodeId) => boolean): string | null {
  if (!m.voters.includes(node)) return null;
  const left = m.voters.filter((id) => id !== node);
  if (left.length === 0) return `${node} is the metadata group's only voter`;
  const up = left.filter(live);
  if (up.length >= quorumSize(left.length)) return null;
  const down = left.filter((id) => !live(id));
  return `removing ${node} from the metadata group would leave voters ${left.join(', ')} with ${up.length} up, short of a majority (${quorumSize(left.length)} of ${left.length}): start ${down.join(', ')} first`;
}

function describeReason(m: PlannedMove): string {
  switch (m.reason) {
    case 'decommission':
      return `decommission of ${m.node}`;
    case 'dead node':
      return `node ${m.node} is dead`;
    case 'replication factor':
      return `replication factor of ${m.topic}`;
    case 'rebalance':
      return `rebalance (unloading ${m.node})`;
    case 'leader balance':
      return `rebalance of preferred leaders (unloading ${m.node})`;
  }
}
