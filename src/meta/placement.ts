/**
 * Where partitions' replicas go: a new topic's, placed here, and a partition's new target list
 * an operator names, checked here (reassignmentProblem).
 *
 * A new topic: each partition's preferred leader is the node that is preferred leader of the
 * fewest partitions so far (ties: fewest replicas, then node order), and its other replicas are
 * the nodes holding the fewest replicas, so both load and leadership spread evenly across the
 * cluster.
 */
import { MEMBERS_MAX } from '../../raft/membership.js';
import { ErrorCode, type ApiError, type PartitionReassignment } from '../wire/protocol.js';
import type { TopicRecord } from './commands.js';

/**
 * A partition's target replicas, at most: a move adds every new replica before it removes any
 * (src/partition/moves.ts), so while it runs the group holds the old and the new replicas, up
 * to twice this many, and a group holds at most MEMBERS_MAX.
 */
export const REASSIGN_REPLICAS_MAX = Math.floor(MEMBERS_MAX / 2);

/**
 * Why `r` cannot be the new target of its partition (null: it can), given the partition's topic
 * as the metadata holds it, the cluster's node ids, and the nodes leaving it (which take no
 * replica the partition does not hold already). Every message says what to do instead.
 */
export function reassignmentProblem(topic: TopicRecord | undefined, r: PartitionReassignment, nodes: readonly string[], leaving: ReadonlySet<string> = new Set()): ApiError | null {
  const where = `${r.topic}/${r.partition}`;
  if (topic === undefined) return { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${r.topic}' does not exist (list the topics with: raftlog topics list)` };
  if (r.partition >= topic.partitions) {
    return { code: ErrorCode.UnknownTopicOrPartition, message: `topic '${r.topic}' has ${topic.partitions} partition${topic.partitions === 1 ? '' : 's'} (0..${topic.partitions - 1}); there is no partition ${r.partition}` };
  }
  const known = nodes.join(', ');
  if (r.replicas.length === 0) return { code: ErrorCode.InvalidReplicationFactor, message: `${where} needs at least 1 replica: name the nodes that should hold it (of ${known})` };
  if (r.replicas.length > nodes.length) {
    return { code: ErrorCode.InvalidReplicationFactor, message: `${where} cannot have ${r.replicas.length} replicas: the cluster has ${nodes.length} nodes (${known}); name at most ${nodes.length}` };
  }
  if (r.replicas.length > REASSIGN_REPLICAS_MAX) {
    return { code: ErrorCode.InvalidReplicationFactor, message: `${where} cannot have ${r.replicas.length} replicas: a partition has at most ${REASSIGN_REPLICAS_MAX}; name fewer` };
  }
  const twice = r.replicas.find((n, i) => r.replicas.indexOf(n) !== i);
  if (twice !== undefined) return { code: ErrorCode.InvalidReplicaAssignment, message: `the replicas for ${where} name node '${twice}' more than once: name each node once` };
  const unknown = r.replicas.filter((n) => !nodes.includes(n));
  if (unknown.length > 0) {
    return { code: ErrorCode.InvalidReplicaAssignment, message: `${unknown.map((n) => `'${n}'`).join(', ')} ${unknown.length === 1 ? 'is not a node' : 'are not nodes'} of this cluster: name replicas among its nodes (${known})` };
  }
  const onto = r.replicas.filter((n) => leaving.has(n) && !topic.assignments[r.partition]!.includes(n));
  if (onto.length > 0) {
    return { code: ErrorCode.InvalidReplicaAssignment, message: `${onto.join(', ')} ${onto.length === 1 ? 'is' : 'are'} leaving the cluster (decommissioned or being decommissioned) and take${onto.length === 1 ? 's' : ''} no new replicas: name other nodes` };
  }
  return null;
}

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
