/**
 * What the nodes say about themselves, through `GET /status` (src/node/node.ts `status()`): which
 * node leads each partition and the metadata group (the controller), and how far each replica's
 * commit and high watermark are. The nemesis picks its victims with this; the run waits on it.
 *
 * A partition group appears in /status as `"<topic>/<partition> (<group id>)"`, the metadata
 * group as `"meta"`. A node that does not answer (killed, paused, cut off) is left out.
 */
import type { GroupStatus, StatusResponse } from '../src/wire/protocol.js';
import type { LocalCluster } from './cluster.js';
import { sleep } from './cluster.js';

export const META_GROUP = 'meta';

/** How long one /status request may take before the node counts as not answering. */
const STATUS_TIMEOUT_MS = 1000;

export interface GroupView {
  /** `meta`, or a key `<topic>/<partition>`. */
  readonly name: string;
  /** The leader as the node that leads says (highest term wins), or null. */
  readonly leader: string | null;
  readonly term: number;
  /** node → that replica's status of the group. */
  readonly replicas: ReadonlyMap<string, GroupStatus>;
}

export interface ClusterView {
  /** Nodes that answered. */
  readonly up: readonly string[];
  readonly groups: ReadonlyMap<string, GroupView>;
}

/** The key (`topic/partition`) or `meta` of a /status group name. */
export function groupName(statusName: string): string {
  const m = / \(([^)]*)\)$/.exec(statusName);
  return m === null ? statusName : statusName.slice(0, m.index);
}

export async function nodeStatus(address: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<StatusResponse | null> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return (await res.json()) as StatusResponse;
  } catch {
    return null;
  }
}

export async function clusterView(cluster: LocalCluster, nodes: readonly string[] = cluster.nodes.map((n) => n.id)): Promise<ClusterView> {
  const answers = await Promise.all(
    nodes.map(async (id) => {
      const n = cluster.node(id);
      return { id, status: n.process === null ? null : await nodeStatus(n.address) };
    }),
  );
  const groups = new Map<string, { leader: string | null; term: number; replicas: Map<string, GroupStatus> }>();
  const up: string[] = [];
  for (const { id, status } of answers) {
    if (status === null) continue;
    up.push(id);
    for (const g of status.groups) {
      const name = groupName(g.group);
      let v = groups.get(name);
      if (v === undefined) {
        v = { leader: null, term: -1, replicas: new Map() };
        groups.set(name, v);
      }
      v.replicas.set(id, g);
      if (g.role === 'leader' && g.term > v.term) {
        v.leader = id;
        v.term = g.term;
      }
    }
  }
  const out = new Map<string, GroupView>();
  for (const [name, v] of groups) out.set(name, { name, leader: v.leader, term: v.term, replicas: v.replicas });
  return { up, groups: out };
}

/**
 * Waits until every group in `names` has a leader that every answering replica agrees on, and
 * every node in `nodes` answers; returns the view, or null after `timeoutMs` or as soon as one
 * of `nodes` is not running.
 */
export async function waitForLeaders(
  cluster: LocalCluster,
  names: readonly string[],
  timeoutMs: number,
  nodes: readonly string[] = cluster.nodes.map((n) => n.id),
): Promise<ClusterView | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A node that is not running cannot answer: the caller decides what to do about it.
    if (nodes.some((id) => cluster.node(id).process === null)) return null;
    const view = await clusterView(cluster, nodes);
    const settled =
      view.up.length === nodes.length &&
      names.every((name) => {
        const g = view.groups.get(name);
        if (g === undefined || g.leader === null) return false;
        return [...g.replicas.values()].every((r) => r.leader === g.leader);
      });
    if (settled) return view;
    if (Date.now() >= deadline) return null;
    await sleep(100);
  }
}

/**
 * Waits until every voter of every group in `names` (as its leader has them; a node that came
 * back, or a replica just promoted) has committed at least what its leader had committed when
 * the wait began; true if it happened. Learners and replicas on their way out do not count, so a
 * move in progress does not hold the wait up.
 */
export async function waitForCatchUp(cluster: LocalCluster, names: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const first = await waitForLeaders(cluster, names, timeoutMs);
  if (first === null) return false;
  const target = new Map<string, number>();
  for (const name of names) {
    const g = first.groups.get(name)!;
    target.set(name, g.replicas.get(g.leader!)!.commit);
  }
  for (;;) {
    const view = await clusterView(cluster);
    const done = names.every((name) => {
      const g = view.groups.get(name);
      const leader = g?.leader === null || g === undefined ? undefined : g.replicas.get(g.leader);
      if (g === undefined || leader === undefined) return false;
      const voters = leader.voters ?? [...g.replicas.keys()];
      return voters.every((id) => (g.replicas.get(id)?.commit ?? -1) >= target.get(name)!);
    });
    if (done) return true;
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
}
