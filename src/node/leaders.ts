/**
 * Who leads which group, as far as this node knows. For groups hosted here the Raft state is
 * exact; for the others, each node tells every peer which groups it leads (on every change and
 * every `gossipMs`), and the newest term wins. Clients only use this as a hint: a wrong answer
 * costs them a NOT_LEADER redirect.
 */
import type { NodeId } from '../../raft/types.js';

export interface LeaderInfo {
  readonly leader: NodeId | null;
  readonly term: number;
}

export class LeaderTable {
  private readonly remote = new Map<string, { leader: NodeId; term: number }>();

  /** A peer says it leads exactly `groups` (group, term) now. */
  fromPeer(peer: NodeId, groups: readonly (readonly [string, number])[]): void {
    const claimed = new Set<string>();
    for (const [g, term] of groups) {
      claimed.add(g);
      const cur = this.remote.get(g);
      if (cur === undefined || cur.term <= term) this.remote.set(g, { leader: peer, term });
    }
    for (const [g, info] of this.remote) if (info.leader === peer && !claimed.has(g)) this.remote.delete(g);
  }

  /** A peer went away: its claims are no longer believed. */
  forget(peer: NodeId): void {
    for (const [g, info] of this.remote) if (info.leader === peer) this.remote.delete(g);
  }

  get(group: string): LeaderInfo {
    return this.remote.get(group) ?? { leader: null, term: 0 };
  }
}
