/**
 * Leader balancing's hand-over: the controller asks a partition's leader to give leadership back
 * to the partition's preferred replica, and the leader decides here whether to start the transfer.
 *
 * Only to a replica that already holds the leader's whole log. A transfer to one still catching
 * up (a replica that just restarted, say) makes the leader refuse writes while it waits, for up
 * to an election timeout, and the controller asks again every round: writes would stall again
 * and again for the whole catch-up. Left alone, the replica catches up, and a later round hands
 * over at once.
 */
import type { Raft } from '../../raft/raft.js';
import { Role, type NodeId } from '../../raft/types.js';

export type HandOver = 'started' | 'behind' | 'not-leader';

/** Starts handing leadership of `raft`'s group to `to` if `to` is caught up; throws what `transferLeadership` throws. */
export function handOverToPreferred(raft: Raft, to: NodeId): HandOver {
  if (raft.role !== Role.Leader) return 'not-leader';
  const s = raft.status();
  const peer = s.peers.find((p) => p.id === to);
  if (peer !== undefined && peer.id !== s.id && peer.match < s.lastIndex) return 'behind';
  raft.transferLeadership(to);
  return 'started';
}
