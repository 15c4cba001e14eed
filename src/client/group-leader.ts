/**
 * The group leader's step of a rebalance: decode every member's metadata, look up the partition
 * counts of the topics they subscribe to, run the assignor the coordinator chose, check its
 * answer and encode each member's assignment.
 */
import type { JoinGroupResponse } from '../wire/protocol.js';
import { decodeMetadata, encodeAssignment } from './assignors/protocol.js';
import { tpKey, type Assignor, type GroupAssignment, type GroupMember } from './assignors/types.js';
import type { Cluster } from './cluster.js';
import { ClientErrorCode, RaftlogError, toRaftlogError } from './errors.js';

export interface LeaderAssignment {
  readonly assignments: { memberId: string; assignment: Uint8Array }[];
  /** The partition counts it was computed from, to notice when they change. */
  readonly counts: Map<string, number>;
}

export async function assignAsLeader(
  cluster: Cluster,
  groupId: string,
  assignors: readonly Assignor[],
  protocol: string,
  members: JoinGroupResponse['members'],
): Promise<LeaderAssignment> {
  const assignor = assignors.find((a) => a.name === protocol);
  if (!assignor) {
    throw new RaftlogError(ClientErrorCode.ProtocolError, `group '${groupId}': the coordinator chose the assignor '${protocol}', which this member did not offer (${assignors.map((a) => a.name).join(', ')})`);
  }
  const decoded: GroupMember[] = members.map((m) => {
    try {
      const md = decodeMetadata(m.metadata, `metadata of member ${m.memberId}`);
      return { memberId: m.memberId, topics: md.topics, owned: md.owned, generation: md.generation };
    } catch (err) {
      cluster.logger.warn(`group '${groupId}': member ${m.memberId} gets no partitions: ${toRaftlogError(err).message}`);
      return { memberId: m.memberId, topics: [], owned: [], generation: -1 };
    }
  });
  const wanted = [...new Set(decoded.flatMap((m) => m.topics))].sort();
  const counts = new Map<string, number>();
  if (wanted.length > 0) {
    const md = await cluster.metadataWithRetry(wanted);
    for (const t of md.topics) {
      if (t.error) cluster.logger.warn(`group '${groupId}': topic '${t.name}' is subscribed but gets no owner: ${t.error.message}`);
      else counts.set(t.name, t.partitions.length);
    }
  }
  const result = assignor.assign({ members: decoded, partitions: counts });
  checkAssignment(assignor.name, result, counts);
  return { assignments: decoded.map((m) => ({ memberId: m.memberId, assignment: encodeAssignment(result.get(m.memberId) ?? []) })), counts };
}

/** An assignor's answer (maybe a custom one) must give each existing partition at most one owner. */
function checkAssignment(name: string, result: GroupAssignment, counts: ReadonlyMap<string, number>): void {
  const seen = new Map<string, string>();
  for (const [member, lists] of result) {
    for (const l of lists) {
      for (const p of l.partitions) {
        const count = counts.get(l.topic);
        if (count === undefined || p >= count) throw new RaftlogError(ClientErrorCode.ProtocolError, `assignor '${name}' assigned ${l.topic}/${p}, which does not exist`);
        const k = tpKey(l.topic, p);
        const other = seen.get(k);
        if (other !== undefined) throw new RaftlogError(ClientErrorCode.ProtocolError, `assignor '${name}' gave ${l.topic}/${p} to both ${other} and ${member}`);
        seen.set(k, member);
      }
    }
  }
}
