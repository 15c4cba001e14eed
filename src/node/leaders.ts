/**
 * Who leads which group, as far as this node knows. For groups hosted here the Raft state is
 * exact; for the others, each node tells every peer which groups it leads (on every change and
 * every `gossipMs`), and the newest term wins. Clients only use this as a hint: a wrong answer
 * costs them a NOT_LEADER redirect.
 *
 * With its claims a peer says which of the groups it leads are still moving toward their target
 * replicas (src/partition/moves.ts), as of the metadata index it has applied. The controller paces
 * its own moves by it (src/node/placer.ts): a wrong or late report only starts a move early or
 * late, as each move is safe by itself.
 */
import type { NodeId } from '../../raft/types.js';

export interface LeaderInfo {
  readonly leader: NodeId | null;
  readonly term: number;
}

export class LeaderTable {
  private readonly remote = new Map<string, { leader: NodeId; term: number }>();
  /** Per peer, the groups it leads that are moving, as of which metadata index. */
  private readonly moves = new Map<NodeId, { moving: ReadonlySet<string>; meta: number }>();

  /** A peer says it leads exactly `groups` (group, term) now, of which `moving` are not at their target as of metadata index `meta`. */
  fromPeer(peer: NodeId, groups: readonly (readonly [string, number])[], moving: readonly string[] = [], meta = 0): void {
    this.moves.set(peer, { moving: new Set(moving), meta });
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
    this.moves.delete(peer);
  }

  /** The groups the peers lead that they last said were moving. */
  moving(): Set<string> {
    const out = new Set<string>();
    for (const m of this.moves.values()) for (const g of m.moving) out.add(g);
    return out;
  }

  /** Whether the peer believed to lead `group` last said it is at its target, having applied metadata index `index` or later. */
  atTarget(group: string, index: number): boolean {
    const lead = this.remote.get(group)?.leader;
    const m = lead === undefined ? undefined : this.moves.get(lead);
    return m !== undefined && m.meta >= index && !m.moving.has(group);
  }

  get(group: string): LeaderInfo {
    return this.remote.get(group) ?? { leader: null, term: 0 };
  }
}
