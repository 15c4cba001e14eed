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

    it(`§9.6: a live leader ignores ${type} requests at every tick of its election timeout, the last one too`, () => {
      const net = new Network();
      net.elect('a');
      const term = net.term('a');
      const last = net.lastIndex('a');
      const a = net.raft('a');
      for (let k = 0; k < 2 * ELECTION; k++) {
        net.tickAndStabilize(1);
        a.step(request(type, 'c', 'a', term + 1, last + 5, term));
        net.processAll();
        expect(net.sent((m) => m.from === 'a' && m.to === 'c' && (m.type === 'voteResp' || m.type === 'preVoteResp'))).toEqual([]);
        expect(a.role).toBe(Role.Leader);
        expect(a.term).toBe(term);
      }
    });

    it(`§9.6: a voter whose ticks run one behind the candidate's still answers ${type} requests (the lease is one tick short of the timeout)`, () => {
      const net = new Network();
      net.elect('a');
      const term = net.term('a');
      const last = net.lastIndex('b');
      net.isolate('a'); // the leader is gone; b last heard from it just now
      const answers = (): VoteResponse[] => net.sent((m) => m.from === 'b' && m.to === 'c' && (m.type === 'voteResp' || m.type === 'preVoteResp')) as VoteResponse[];

      net.tick('b', ELECTION - 2);
      net.raft('b').step(request(type, 'c', 'b', term + 1, last + 5, term));
      net.processAll();
      expect(answers()).toEqual([]); // still in its lease

      net.tick('b', 1); // c's timeout passed at ELECTION ticks; b, a tick behind, counts ELECTION - 1
      net.raft('b').step(request(type, 'c', 'b', term + 1, last + 5, term));
      net.processAll();
      expect(answers().map((m) => [m.type, m.reject])).toEqual([[type === 'vote' ? 'voteResp' : 'preVoteResp', false]]);
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

describe('§9.6 pre-vote between twins', () => {
  it('§9.6: two pre-candidates of one election with equally up-to-date logs: only the lower id gets the other\'s pre-vote, so the vote does not split', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    net.isolate('a'); // the leader is gone, and b and c time out in the same instant
    net.raft('c').campaign();
    net.raft('b').campaign();
    net.stabilize();

    const preVoteAnswers = net.sent((m) => m.type === 'preVoteResp' && m.from !== 'a') as VoteResponse[];
    expect(preVoteAnswers.map((m) => [m.from, m.to, m.reject])).toEqual(expect.arrayContaining([['c', 'b', false], ['b', 'c', true]]));
    expect(net.raft('b').role).toBe(Role.Leader);
    expect(net.term('b')).toBe(term + 1);
    expect(net.raft('c').role).toBe(Role.Follower);
    expect(net.raft('c').lead).toBe('b');
  });

  it('§9.6: between pre-candidates, a more up-to-date log still wins the other\'s pre-vote whatever the ids', () => {
    const net = new Network();
    net.elect('a');
    net.cut('a', 'b'); // b misses the next entry
    net.raft('a').propose([new Uint8Array([1])]);
    net.stabilize();
    net.isolate('a');
    net.raft('b').campaign();
    net.raft('c').campaign();
    net.stabilize();

    expect(net.raft('c').role).toBe(Role.Leader);
    expect(net.raft('b').lead).toBe('c');
  });
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
