/**
 * Where a new topic's partitions go. Each partition's preferred leader is the node that is
 * preferred leader of the fewest partitions so far (ties: fewest replicas, then node order), and
 * its other replicas are the nodes holding the fewest replicas, so both load and leadership
 * spread evenly across the cluster.
 */
import type { TopicRecord } from './commands.js';

export function placePartitions(nodes: readonly string[], existing: readonly TopicRecord[], partitions: number, replicationFactor: number): string[][] {
  const leads = new Map<string, number>(nodes.map((n) => [n, 0]));
  const replicas = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const t of existing) {
    for (const a of t.assignments) {
      a.forEach((n, i) => {
        if (!replicas.has(n)) return;
        replicas.set(n, replicas.get(n)! + 1);
        if (i === 0) leads.set(n, leads.get(n)! + 1);
      });
    }
  }
  const order = (a: string, b: string): number => nodes.indexOf(a) - nodes.indexOf(b);
  const out: string[][] = [];
  for (let p = 0; p < partitions; p++) {
    const leader = [...nodes].sort((a, b) => leads.get(a)! - leads.get(b)! || replicas.get(a)! - replicas.get(b)! || order(a, b))[0]!;
    // Followers: fewest replicas first, ties broken by ring order after the leader.
    const ring = (n: string): number => (nodes.indexOf(n) - nodes.indexOf(leader) + nodes.length) % nodes.length;
    const followers = nodes
      .filter((n) => n !== leader)
      .sort((a, b) => replicas.get(a)! - replicas.get(b)! || ring(a) - ring(b))
      .slice(0, replicationFactor - 1);
    const assignment = [leader, ...followers];
    for (const n of assignment) replicas.set(n, replicas.get(n)! + 1);
    leads.set(leader, leads.get(leader)! + 1);
    out.push(assignment);
  }
  return out;
}
