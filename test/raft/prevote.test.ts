import { describe, expect, it } from 'vitest';
import { Role, type VoteRequest, type VoteResponse } from '../../raft/types.js';
import { Network } from './harness.js';

const ELECTION = 10;

function request(type: 'vote' | 'preVote', from: string, to: string, term: number, lastIndex: number, lastTerm: number): VoteRequest {
  return { type, from, to, term, lastIndex, lastTerm, transfer: false };
}

describe('§9.6 pre-vote', () => {
  it('§9.6: a partitioned node\'s pre-votes fail and its term does not rise', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    net.isolate('c');

    for (let k = 0; k < 5 * ELECTION; k++) {
      net.tick('c');
      net.stabilize();
    }

    const preVotes = net.trace.filter((t) => t.msg.type === 'preVote' && t.msg.from === 'c');
    expect(preVotes.length).toBeGreaterThanOrEqual(4);
    expect(net.sent((m) => m.type === 'preVoteResp' && m.to === 'c')).toEqual([]);
    expect(net.term('c')).toBe(term);
    expect(net.member('c').storage.hardState.term).toBe(term);
    expect(net.role('c')).toBe(Role.PreCandidate);
  });

  it('§9.6: after a partitioned node reconnects, the leader keeps leading at the same term', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    net.isolate('c');
    net.tickAndStabilize(5 * ELECTION);
    net.heal();
    const healedAt = net.trace.length;

    net.raft('c').campaign(); // at once, before any heartbeat reaches it
    net.tickAndStabilize(3 * ELECTION);

    const delivered = net.trace.slice(healedAt).filter((t) => t.kind === 'deliver' && t.msg.type === 'preVote' && t.msg.from === 'c');
    expect(delivered.map((t) => t.msg.to).sort()).toEqual(['a', 'b']);
    expect(net.role('a')).toBe(Role.Leader);
    for (const id of ['a', 'b', 'c']) expect(net.term(id)).toBe(term);
    expect(net.role('c')).toBe(Role.Follower);
    expect(net.lead('c')).toBe('a');
  });

  for (const type of ['preVote', 'vote'] as const) {
    it(`§9.6: a node that heard from a live leader within the election timeout ignores ${type} requests`, () => {
      const net = new Network();
      net.elect('a');
      const term = net.term('a');
      const last = net.lastIndex('b');
      const b = net.raft('b');

      b.step(request(type, 'c', 'b', term + 1, last + 5, term));
      net.processAll();

      expect(b.term).toBe(term);
      expect(b.vote).toBe('a');
      expect(b.lead).toBe('a');
      expect(net.sent((m) => m.from === 'b' && m.to === 'c')).toEqual([]);
    });

    it(`§9.6: once the election timeout passes without the leader, a node answers ${type} requests`, () => {
      const net = new Network();
      net.elect('a');
      const term = net.term('a');
      const last = net.lastIndex('b');
      net.isolate('b');
      net.tick('b', ELECTION);
      net.stabilize();

      net.raft('b').step(request(type, 'c', 'b', term + 1, last + 5, term));
      net.processAll();

      const answer = net.sent((m) => m.from === 'b' && m.to === 'c' && (m.type === 'voteResp' || m.type === 'preVoteResp')) as VoteResponse[];
      expect(answer.map((m) => [m.type, m.reject])).toEqual([[type === 'vote' ? 'voteResp' : 'preVoteResp', false]]);
      expect(net.term('b')).toBe(type === 'vote' ? term + 1 : term);
    });
  }
});

describe('§6.2 check-quorum', () => {
  it('§6.2: a leader that hears from no quorum for an election timeout steps down', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    net.isolate('a');

    net.tickAndStabilize(ELECTION - 1, ['a']);
    const early = net.role('a');
    net.tickAndStabilize(ELECTION + 1, ['a']);

    expect(early).toBe(Role.Leader);
    expect(net.role('a')).toBe(Role.Follower);
    expect(net.lead('a')).toBeNull();
    expect(net.term('a')).toBe(term);
  });

  it('§6.2: a leader that hears from a quorum keeps leading through many election timeouts', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    net.isolate('c');

    net.tickAndStabilize(5 * ELECTION, ['a', 'b']);

    expect(net.role('a')).toBe(Role.Leader);
    expect(net.term('a')).toBe(term);
  });
});
