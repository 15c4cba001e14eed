import { describe, expect, it } from 'vitest';
import { applyChange, type Membership } from '../../raft/membership.js';
import type { PeerStatus } from '../../raft/types.js';
import { mayDeleteStray, nextMove, strayRemoved, type GroupView, type Move } from '../../src/partition/moves.js';

function peer(id: string, match: number, over: Partial<PeerStatus> = {}): PeerStatus {
  return { id, match, next: match + 1, state: 'replicate', learner: false, recentActive: true, rejoin: null, ...over };
}

function view(m: Membership, over: Partial<GroupView> = {}, matches: Record<string, number> = {}): GroupView {
  const ids = [...m.voters, ...m.learners];
  return { self: 'n1', membership: m, configCommitted: true, commit: 10, peers: ids.map((id) => peer(id, matches[id] ?? 10)), ...over };
}

/** Plays the moves out, every learner caught up at once and every transfer taken: the changes made, in order. */
function playOut(target: string[], start: Membership, self = 'n1'): string[] {
  let m = start;
  let leader = self;
  const steps: string[] = [];
  for (let k = 0; k < 20; k++) {
    const move: Move = nextMove(target, view(m, { self: leader }));
    if (move.kind === 'done') return steps;
    if (move.kind === 'wait') throw new Error(`waits: ${move.why}`);
    if (move.kind === 'transfer') {
      steps.push(`transfer ${move.to}`);
      leader = move.to;
      continue;
    }
    m = applyChange(m, move.change);
    steps.push(`${move.change.type} ${move.change.node}`);
    // Voters never fall below the target's size on the way.
    expect(m.voters.length).toBeGreaterThanOrEqual(Math.min(target.length, start.voters.length));
  }
  throw new Error('no end');
}

describe('moves: the partition leader drives its group toward the target, one change at a time', () => {
  it('moves: replacing a follower adds the new replica as a learner, promotes it, then removes the old one', () => {
    expect(playOut(['n1', 'n2', 'n4'], { voters: ['n1', 'n2', 'n3'], learners: [] })).toEqual(['addLearner n4', 'promote n4', 'remove n3']);
  });

  it('moves: a leader that leaves hands over to the target\'s preferred replica first, which then removes it', () => {
    expect(playOut(['n4', 'n2', 'n3'], { voters: ['n1', 'n2', 'n3'], learners: [] })).toEqual(['addLearner n4', 'promote n4', 'transfer n4', 'remove n1']);
  });

  it('moves: raising the replication factor adds every new replica as a learner (they catch up together), then promotes; lowering it only removes, the leader last', () => {
    expect(playOut(['n1', 'n2', 'n3', 'n4', 'n5'], { voters: ['n1', 'n2', 'n3'], learners: [] })).toEqual(['addLearner n4', 'addLearner n5', 'promote n4', 'promote n5']);
    expect(playOut(['n2'], { voters: ['n1', 'n2', 'n3'], learners: [] })).toEqual(['remove n3', 'transfer n2', 'remove n1']);
  });

  it('moves: a learner the target does not name is removed', () => {
    expect(playOut(['n1', 'n2', 'n3'], { voters: ['n1', 'n2', 'n3'], learners: ['n9'] })).toEqual(['remove n9']);
  });

  it('moves: nothing while the last change is uncommitted, or while a learner is behind (it says why)', () => {
    const m: Membership = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
    expect(nextMove(['n1', 'n2', 'n4'], view(m, { configCommitted: false }))).toEqual({ kind: 'wait', why: expect.stringContaining('not committed') });
    expect(nextMove(['n1', 'n2', 'n4'], view(m, {}, { n4: 3 }))).toEqual({ kind: 'wait', why: expect.stringContaining('n4 is catching up (3 of 10)') });
  });

  it('moves: a learner rejoining after losing data is not promoted until it is promoted back (raft/rejoin.ts)', () => {
    const m: Membership = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
    const g = view(m);
    const rejoining = { ...g, peers: g.peers.map((p) => (p.id === 'n4' ? { ...p, rejoin: 'abc' } : p)) };
    expect(nextMove(['n1', 'n2', 'n3', 'n4'], rejoining).kind).toBe('wait');
  });

  it('moves: the leader that must go waits when no target replica can take the lead', () => {
    const m: Membership = { voters: ['n1', 'n2'], learners: [] };
    expect(nextMove(['n2'], view(m, {}, { n2: 4 }))).toEqual({ kind: 'wait', why: expect.stringContaining('no replica of the target is caught up') });
  });

  it('moves: the target reached is done', () => {
    expect(nextMove(['n3', 'n1', 'n2'], view({ voters: ['n1', 'n2', 'n3'], learners: [] }))).toEqual({ kind: 'done' });
  });
});

describe('a replica moved off its node that no member tells of its removal', () => {
  const after = { voters: ['n3', 'n4', 'n5'], learners: [] };
  it('is told it was removed only by a leader whose latest configuration is committed and does not name it', () => {
    expect(strayRemoved({ membership: after, membershipCommitted: true }, 'n1')).toBe(true);
    expect(strayRemoved({ membership: after, membershipCommitted: false }, 'n1')).toBe(false);
    expect(strayRemoved({ membership: after, membershipCommitted: true }, 'n3')).toBe(false);
    expect(strayRemoved({ membership: { voters: ['n3', 'n4'], learners: ['n1'] }, membershipCommitted: true }, 'n1')).toBe(false);
  });

  it('acts on the answer only if it has taken nothing from that leader in that term, or from a later one', () => {
    expect(mayDeleteStray({ term: 3, lead: null }, 'n4', 5)).toBe(true);
    expect(mayDeleteStray({ term: 5, lead: null }, 'n4', 5)).toBe(true);
    expect(mayDeleteStray({ term: 5, lead: 'n3' }, 'n4', 5)).toBe(true);
    expect(mayDeleteStray({ term: 5, lead: 'n4' }, 'n4', 5)).toBe(false);
    expect(mayDeleteStray({ term: 6, lead: null }, 'n4', 5)).toBe(false);
  });
});
