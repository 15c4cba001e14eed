/**
 * Network partitions through the chaos nodes' cut transport (`--chaos-endpoints`, network-cuts.ts):
 * `POST /chaos/network {"dropTo": [...], "dropFrom": [...]}` makes a node drop every peer frame it
 * would send to the listed peers and every frame it receives from them.
 *
 * A partition is a set of cut directed links `from → to` (frames from `from` never reach `to`);
 * each is applied on both ends (`from` drops to `to`, `to` drops from `from`), so it holds even
 * while one end's setting is being changed. Every node is told its full setting each time, so
 * the cluster is exactly in the state described. Client connections are not affected.
 */
import type { LocalCluster } from './cluster.js';

/** How a partition was made, for the history: the value of the nemesis `partition` event. */
export type PartitionSpec =
  /** Two (or more) sides that cannot reach each other, e.g. an isolated node or a minority. */
  | { readonly kind: 'isolate' | 'split'; readonly sides: readonly (readonly string[])[] }
  /** `left` and `right` cannot reach each other; `bridge` reaches both. */
  | { readonly kind: 'bridge'; readonly left: readonly string[]; readonly bridge: string; readonly right: readonly string[] }
  /** Frames from `from` to `to` are dropped; the other direction works. */
  | { readonly kind: 'one-way'; readonly from: readonly string[]; readonly to: readonly string[] };

export type Link = readonly [from: string, to: string];

/** The cut links of a partition. */
export function cutLinks(spec: PartitionSpec): Link[] {
  const both = (a: readonly string[], b: readonly string[]): Link[] =>
    a.flatMap((x) => b.flatMap((y): Link[] => [[x, y], [y, x]]));
  switch (spec.kind) {
    case 'isolate':
    case 'split': {
      const out: Link[] = [];
      spec.sides.forEach((side, i) => {
        for (const other of spec.sides.slice(i + 1)) out.push(...both(side, other));
      });
      return out;
    }
    case 'bridge':
      return both(spec.left, spec.right);
    case 'one-way':
      return spec.from.flatMap((x) => spec.to.map((y): Link => [x, y]));
  }
}

export interface Drops {
  readonly dropTo: string[];
  readonly dropFrom: string[];
}

/** Each node's setting for a set of cut links (every node of `nodes` gets one, possibly empty). */
export function dropsFor(nodes: readonly string[], links: readonly Link[]): Map<string, Drops> {
  const out = new Map<string, Drops>(nodes.map((n) => [n, { dropTo: [], dropFrom: [] }]));
  for (const [from, to] of links) {
    const a = out.get(from);
    const b = out.get(to);
    if (a === undefined || b === undefined) throw new Error(`partition names ${from} → ${to}, but the cluster has only ${nodes.join(', ')}`);
    if (!a.dropTo.includes(to)) a.dropTo.push(to);
    if (!b.dropFrom.includes(from)) b.dropFrom.push(from);
  }
  return out;
}

/** How long one POST /chaos/network may take. */
const NETWORK_TIMEOUT_MS = 2000;

export class ChaosEndpointError extends Error {
  override readonly name = 'ChaosEndpointError';
}

/** Sets one node's drops; throws ChaosEndpointError when the node does not take them. */
export async function setDrops(address: string, node: string, drops: Drops): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`http://${address}/chaos/network`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(drops),
      signal: AbortSignal.timeout(NETWORK_TIMEOUT_MS),
    });
  } catch (err) {
    throw new ChaosEndpointError(`node ${node} (${address}) did not take its network setting: ${(err as Error).message}`);
  }
  if (res.status === 404) {
    throw new ChaosEndpointError(`node ${node} has no /chaos/network endpoint: start the nodes with --chaos-endpoints`);
  }
  if (!res.ok) throw new ChaosEndpointError(`node ${node} refused its network setting: HTTP ${res.status} ${await res.text()}`);
}

/** Applies a set of cut links to every running node of the cluster (empty: heals). */
export async function applyLinks(cluster: LocalCluster, links: readonly Link[]): Promise<void> {
  const ids = cluster.nodes.map((n) => n.id);
  const drops = dropsFor(ids, links);
  await Promise.all(
    cluster.nodes.filter((n) => n.process !== null).map((n) => setDrops(n.address, n.id, drops.get(n.id)!)),
  );
}
