/**
 * What `raftlog nodes status <id>` shows: per partition that the node holds or is leaving, its
 * target (the metadata's), the group as its leader has it (voters, learners), the step the move
 * waits on (the leader's /status `move`) and what blocks it, with the node's own state and the
 * step its decommission waits on (the controller's /status). Built from the answers `raftlog
 * status` gathers, by a pure function so that what it says about each case is tested alone.
 */
import type { TopicDescription } from '../../client/index.js';
import type { ControllerStatus, GroupStatus, NodeLifecycle } from '../../wire/protocol.js';
import type { NodeAnswer } from './status.js';

export interface PartitionProgress {
  /** 'topic/partition'. */
  readonly partition: string;
  readonly target: readonly string[];
  readonly leader: string | null;
  /** The group's configuration as its leader has it (absent while no leader answers). */
  readonly voters?: readonly string[];
  readonly learners?: readonly string[];
  /** The leader's next step, or what it waits for. */
  readonly move?: string;
  /** Why the move does not go on now, when something stands in its way. */
  readonly blockedBy?: string;
  /** The controller cannot make the move at all: what `blockedBy` says needs an operator. */
  readonly stuck?: boolean;
}

export interface NodeProgress {
  readonly node: string;
  readonly state: NodeLifecycle | 'unknown';
  readonly up: boolean;
  /** What the node is in the metadata group's configuration ('unknown' without the controller's answer). */
  readonly meta: 'voter' | 'learner' | 'none' | 'unknown';
  /** The step its decommission waits on, while it is being decommissioned. */
  readonly step?: string;
  /** The controller's moves running in the whole cluster. */
  readonly movesRunning?: number;
  readonly partitions: readonly PartitionProgress[];
}

/** The node's progress, from every node's status answer (one of which is the controller's) and the topics' targets. */
export function nodeProgress(node: string, answers: readonly NodeAnswer[], topics: readonly TopicDescription[]): NodeProgress {
  const up = new Set(answers.filter((a) => 'status' in a).map((a) => a.id));
  let controller: ControllerStatus | undefined;
  for (const a of answers) if ('status' in a && a.status.controller !== undefined) controller = a.status.controller;
  const leaderGroups = new Map<string, GroupStatus>();
  for (const a of answers) {
    if (!('status' in a)) continue;
    for (const g of a.status.groups) if (g.role === 'leader') leaderGroups.set(g.group.split(' ')[0]!, g);
  }
  const seen = controller?.nodes.find((n) => n.id === node);
  const partitions: PartitionProgress[] = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      const name = `${t.name}/${p.partitionId}`;
      const g = leaderGroups.get(name);
      const members = [...(g?.voters ?? []), ...(g?.learners ?? [])];
      if (!p.replicas.includes(node) && !members.includes(node)) continue;
      const blocked = controller?.blocked.find((b) => b.topic === t.name && b.partition === p.partitionId)?.why;
      const row: PartitionProgress = {
        partition: name,
        target: p.replicas,
        leader: g?.leader ?? null,
        ...(g?.voters !== undefined ? { voters: g.voters } : {}),
        ...(g?.learners !== undefined ? { learners: g.learners } : {}),
        ...(g?.move !== undefined ? { move: g.move } : {}),
      };
      const why = blocked ?? blockerOf(row, node, seen?.state ?? 'active', up, controller);
      partitions.push(why === undefined ? row : { ...row, blockedBy: why, ...(blocked !== undefined ? { stuck: true } : {}) });
    }
  }
  const step = controller?.decommissions.find((d) => d.node === node)?.step;
  return {
    node,
    state: seen?.state ?? 'unknown',
    up: up.has(node),
    meta: seen?.meta ?? 'unknown',
    ...(step !== undefined ? { step } : {}),
    ...(controller !== undefined ? { movesRunning: controller.moving.length } : {}),
    partitions,
  };
}

/** What stands in the way of a partition's move, as the leader's step and the nodes that are down tell it (undefined: nothing does). */
function blockerOf(row: PartitionProgress, node: string, state: NodeLifecycle, up: ReadonlySet<string>, controller: ControllerStatus | undefined): string | undefined {
  const involved = [...new Set([...row.target, ...(row.voters ?? []), ...(row.learners ?? [])])];
  const down = involved.filter((id) => !up.has(id));
  const isAre = (ids: readonly string[]): string => `${ids.join(', ')} ${ids.length === 1 ? 'is' : 'are'} down`;
  if (row.leader === null) return `no leader answers${down.length > 0 ? ` (${isAre(down)})` : ''}`;
  const waiting = /^waiting: (.*)$/.exec(row.move ?? '');
  if (waiting !== null) {
    const learner = /^learner (\S+) is catching up/.exec(waiting[1]!)?.[1];
    if (learner !== undefined && !up.has(learner)) return isAre([learner]);
    return waiting[1];
  }
  if (row.move !== undefined) return down.length > 0 ? isAre(down) : undefined;
  // At its target, which still names a node that leaves: its move has not started.
  if (state !== 'active' && row.target.includes(node)) {
    const running = controller?.moving.length;
    return `waiting for a move slot${running !== undefined ? ` (${running} move${running === 1 ? '' : 's'} running)` : ''}`;
  }
  return undefined;
}
