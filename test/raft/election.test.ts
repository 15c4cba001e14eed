import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../raft/memory-storage.js';
import { Raft } from '../../raft/raft.js';
import { seededRandom } from '../../raft/random.js';
import { Role, type Message, type NodeId, type VoteRequest, type VoteResponse } from '../../raft/types.js';
import { Network, storageWithLog } from './harness.js';

const ELECTION = 10;

function voteRequest(from: string, to: string, term: number, lastIndex: number, lastTerm: number, type: 'vote' | 'preVote' = 'vote'): VoteRequest {
  return { type, from, to, term, lastIndex, lastTerm, transfer: false };
}

function responsesTo(net: Network, to: string): VoteResponse[] {
  return net.sent((m) => (m.type === 'voteResp' || m.type === 'preVoteResp') && m.to === to) as VoteResponse[];
}

describe('§5.2 leader election', () => {
  it('§5.2: a follower that hears nothing for an election timeout campaigns (asking every peer for a pre-vote first)', () => {
    const net = new Network();

    net.tick('a', ELECTION - 1);
    const before = net.role('a');
    net.tick('a', ELECTION);
    net.processAll();

    expect(before).toBe(Role.Follower);
    expect(net.role('a')).toBe(Role.PreCandidate);
    expect(net.term('a')).toBe(0);
    const asks = net.sent((m) => m.from === 'a');
    expect(asks.map((m) => `${m.type}>${m.to}@${m.term}`).sort()).toEqual(['preVote>b@1', 'preVote>c@1']);
  });

  it('§5.2: with pre-vote off, a follower whose timeout passes becomes a candidate of the next term and votes for itself', () => {
    const net = new Network({ preVote: false });

    net.tick('a', 2 * ELECTION);
    net.processAll();

    expect(net.role('a')).toBe(Role.Candidate);
    expect(net.term('a')).toBe(1);
    expect(net.raft('a').vote).toBe('a');
    expect(net.member('a').storage.hardState).toMatchObject({ term: 1, vote: 'a' });
    const asks = net.sent((m) => m.from === 'a');
    expect(asks.map((m) => `${m.type}>${m.to}@${m.term}`).sort()).toEqual(['vote>b@1', 'vote>c@1']);
  });

  it('§5.2: election timeouts are randomized within [electionTicks, 2*electionTicks)', () => {
    const waited: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const r = new Raft({ id: 'a', voters: ['a', 'b', 'c'], storage: new MemoryStorage(), random: seededRandom(seed), limits: { electionTicks: ELECTION } });
      let ticks = 0;
      while (r.role === Role.Follower && ticks < 10 * ELECTION) {
        r.tick();
        ticks++;
      }
      waited.push(ticks);
    }

    for (const t of waited) {
      expect(t).toBeGreaterThanOrEqual(ELECTION);
      expect(t).toBeLessThan(2 * ELECTION);
    }
    expect(new Set(waited).size).toBeGreaterThanOrEqual(4);
  });

  it('§5.2: a candidate that gets votes from a majority becomes leader, and the others follow it', () => {
    const net = new Network({ ids: ['a', 'b', 'c', 'd', 'e'] });
    net.isolate('d');
    net.isolate('e');

    net.raft('a').campaign();
    net.stabilize();

    expect(net.role('a')).toBe(Role.Leader);
    expect(net.term('a')).toBe(1);
    for (const id of ['b', 'c']) {
      expect(net.role(id)).toBe(Role.Follower);
      expect(net.lead(id)).toBe('a');
      expect(net.term(id)).toBe(1);
    }
  });

  it('§5.2: a candidate that gets votes from only a minority does not become leader', () => {
    const net = new Network({ ids: ['a', 'b', 'c', 'd', 'e'], preVote: false });
    for (const id of ['c', 'd', 'e']) net.isolate(id);

    net.raft('a').campaign();
    net.stabilize();

    expect(net.role('a')).toBe(Role.Candidate);
    expect(net.term('a')).toBe(1);
    expect(responsesTo(net, 'a').filter((m) => !m.reject).map((m) => m.from)).toEqual(['b']);
  });

  it('§5.2: a node grants at most one vote per term (but repeats its grant to the same candidate)', () => {
    const net = new Network();
    const b = net.raft('b');

    b.step(voteRequest('a', 'b', 1, 0, 0));
    b.step(voteRequest('c', 'b', 1, 0, 0));
    b.step(voteRequest('a', 'b', 1, 0, 0));
    net.processAll();

    const answers = net.sent((m) => m.type === 'voteResp').map((m) => `${m.to}:${(m as VoteResponse).reject ? 'reject' : 'grant'}`);
    expect(answers).toEqual(['a:grant', 'c:reject', 'a:grant']);
    expect(b.vote).toBe('a');
    expect(net.member('b').storage.hardState).toMatchObject({ term: 1, vote: 'a' });
  });

  it('§5.2: the vote is kept across a restart, so a restarted node still refuses a second candidate of that term', () => {
    const net = new Network();
    net.raft('b').step(voteRequest('a', 'b', 1, 0, 0));
    net.processAll();

    net.restart('b');
    net.raft('b').step(voteRequest('c', 'b', 1, 0, 0));
    net.processAll();

    const answers = net.sent((m) => m.type === 'voteResp').map((m) => `${m.to}:${(m as VoteResponse).reject ? 'reject' : 'grant'}`);
    expect(answers).toEqual(['a:grant', 'c:reject']);
    expect(net.raft('b').vote).toBe('a');
  });

  it('§5.2: a candidate that a majority refuses becomes a follower again', () => {
    const net = new Network({ logs: { a: [1, 1], b: [1, 1], c: [1] }, term: 1, commit: 1, preVote: false });

    net.raft('c').campaign();
    net.stabilize();

    expect(net.role('c')).toBe(Role.Follower);
    expect(net.term('c')).toBe(2);
    expect(net.lead('c')).toBeNull();
  });

  it('§5.2: a candidate that hears from a leader of its own term becomes its follower', () => {
    const net = new Network({ preVote: false });
    net.isolate('c');
    net.raft('c').campaign(); // c: candidate of term 1, unheard
    net.raft('a').campaign(); // a: candidate of term 1, wins with b's vote
    net.stabilize();
    expect(net.role('c')).toBe(Role.Candidate);
    expect(net.role('a')).toBe(Role.Leader);
    expect(net.term('c')).toBe(net.term('a'));
    net.heal();

    net.tick('a'); // a heartbeat of term 1
    net.stabilize();

    expect(net.role('c')).toBe(Role.Follower);
    expect(net.lead('c')).toBe('a');
    expect(net.term('c')).toBe(1);
    expect(net.shape('c')).toEqual(net.shape('a'));
  });

  it('§5.2: a pre-candidate that hears from a leader of its own term becomes its follower', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('c');
    net.raft('c').campaign();
    net.stabilize();
    expect(net.role('c')).toBe(Role.PreCandidate);
    net.heal();

    net.tick('a');
    net.stabilize();

    expect(net.role('c')).toBe(Role.Follower);
    expect(net.lead('c')).toBe('a');
    expect(net.term('c')).toBe(1);
    expect(net.role('a')).toBe(Role.Leader);
  });
});

describe('a lost connection to the leader', () => {
  it('makes its followers campaign within a few ticks instead of an election timeout, and one of them wins', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    // a's process dies: its connections close, and both followers hear of it.
    net.isolate('a');
    net.raft('b').reportUnreachable('a');
    net.raft('c').reportUnreachable('a');
    expect(net.lead('b')).toBeNull();
    expect(net.lead('c')).toBeNull();
    // Three ticks, a third of the shortest election timeout.
    net.tickAndStabilize(3, ['b', 'c']);
    const leaders = ['b', 'c'].filter((id) => net.role(id) === Role.Leader);
    expect(leaders).toHaveLength(1);
    expect(net.term(leaders[0]!)).toBe(term + 1);
  });

  it('without that report, the followers wait out their election timeout', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('a');
    net.tickAndStabilize(3, ['b', 'c']);
    expect(net.role('b')).toBe(Role.Follower);
    expect(net.role('c')).toBe(Role.Follower);
  });

  it('does not unseat a leader that is alive: the follower that still hears it ignores the pre-vote, and the lost follower follows again', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    // Only b's connection to a broke (and is back a moment later); c still hears a.
    net.cut('a', 'b');
    net.raft('b').reportUnreachable('a');
    net.tickAndStabilize(3, ['b']);
    expect(net.role('b')).toBe(Role.PreCandidate);
    net.heal();
    net.tickAndStabilize(ELECTION, ['a', 'b', 'c']);
    expect(net.role('a')).toBe(Role.Leader);
    expect(net.term('a')).toBe(term);
    expect(net.lead('b')).toBe('a');
    expect(net.term('b')).toBe(term);
  });

  it('is ignored by a follower whose leader is someone else', () => {
    const net = new Network();
    net.elect('a');
    net.raft('b').reportUnreachable('c');
    expect(net.lead('b')).toBe('a');
    net.tickAndStabilize(3, ['b']);
    expect(net.role('b')).toBe(Role.Follower);
  });
});

describe('a connection that comes up', () => {
  /** Ticks each of `ids` in turn, delivering everything between (each node's ticks run at their own phase). */
  const tickInTurn = (net: Network, n: number, ids: readonly NodeId[]): void => {
    for (let k = 0; k < n; k++) {
      for (const id of ids) {
        net.tick(id);
        net.stabilize();
      }
    }
  };
  /**
   * a dies while b and c cannot reach each other yet (one of them has just restarted and the other
   * has not redialled it): both stand, and their requests are lost. Then their connection comes up.
   */
  const standApart = (): Network => {
    const net = new Network();
    net.elect('a');
    net.isolate('a');
    net.cut('b', 'c');
    net.raft('b').reportUnreachable('a');
    net.raft('c').reportUnreachable('a');
    tickInTurn(net, 3, ['b', 'c']);
    expect([net.role('b'), net.role('c')]).toEqual([Role.PreCandidate, Role.PreCandidate]);
    net.heal();
    net.isolate('a');
    return net;
  };

  it('makes a pre-candidate that has no answer from that peer ask it again at once, and one of them wins without another tick', () => {
    const net = standApart();
    const term = net.term('b');
    net.raft('b').reportReachable('c');
    net.raft('c').reportReachable('b');
    net.stabilize();
    // Both asked at once; the lower id gets the other's pre-vote (no split vote).
    expect(net.role('b')).toBe(Role.Leader);
    expect(net.term('b')).toBe(term + 1);
    expect(net.lead('c')).toBe('b');
  });

  it('makes a candidate whose vote request was lost ask again, for the same term', () => {
    const net = new Network({ preVote: false });
    net.elect('a');
    net.isolate('a');
    net.cut('b', 'c');
    net.raft('c').reportUnreachable('a');
    net.raft('b').campaign();
    net.stabilize();
    expect(net.role('b')).toBe(Role.Candidate);
    const term = net.term('b');
    net.heal();
    net.isolate('a');
    net.raft('b').reportReachable('c');
    net.stabilize();
    expect(net.role('b')).toBe(Role.Leader);
    expect(net.term('b')).toBe(term);
  });

  it('without that report, they wait out their election timeout', () => {
    const net = standApart();
    tickInTurn(net, 3, ['b', 'c']);
    expect(net.role('b')).toBe(Role.PreCandidate);
    expect(net.role('c')).toBe(Role.PreCandidate);
  });

  it('changes nothing for a leader and its followers', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');
    for (const [id, peer] of [['a', 'b'], ['b', 'c'], ['c', 'a']] as const) net.raft(id).reportReachable(peer);
    net.tickAndStabilize(3);
    expect(net.role('a')).toBe(Role.Leader);
    expect(net.term('a')).toBe(term);
    expect([net.lead('b'), net.lead('c')]).toEqual(['a', 'a']);
  });
});

describe('§5.1 terms', () => {
  it('§5.1: a leader that receives a message of a higher term adopts the term and becomes a follower', () => {
    const net = new Network({ checkQuorum: false });
    net.elect('a');
    net.isolate('a');
    net.elect('b');
    const newTerm = net.term('b');
    expect(net.role('a')).toBe(Role.Leader);

    net.heal();
    net.tick('b'); // a heartbeat of the new term
    net.stabilize();

    expect(newTerm).toBe(2);
    expect(net.role('a')).toBe(Role.Follower);
    expect(net.term('a')).toBe(newTerm);
    expect(net.lead('a')).toBe('b');
    expect(net.member('a').storage.hardState.term).toBe(newTerm);
  });

  it('§5.1: an append of an older term is ignored, and its answer makes the stale leader step down', () => {
    const net = new Network({ checkQuorum: false });
    net.elect('a');
    net.isolate('a');
    net.elect('b');
    const bLog = net.shape('b');
    net.heal();

    net.raft('a').propose([new TextEncoder().encode('stale')]);
    net.stabilize();

    expect(net.shape('b')).toEqual(bLog);
    expect(net.shape('c')).toEqual(bLog);
    expect(net.term('b')).toBe(2);
    expect(net.role('b')).toBe(Role.Leader);
    expect(net.role('a')).toBe(Role.Follower);
    expect(net.term('a')).toBe(2);
    const answers = net.sent((m) => m.type === 'appendResp' && m.to === 'a' && m.term === 2);
    expect(answers.length).toBeGreaterThan(0);
  });

  it('§5.1: a vote request of an older term is ignored', () => {
    const net = new Network({ logs: { b: [1, 2] }, term: 3 });
    const b = net.raft('b');

    b.step(voteRequest('a', 'b', 2, 10, 2));
    net.processAll();

    expect(b.term).toBe(3);
    expect(b.vote).toBeNull();
    expect(net.sent((m) => m.type === 'voteResp' && !(m as VoteResponse).reject)).toEqual([]);
  });
});

describe('§5.4.1 election restriction', () => {
  const cases: { name: string; lastIndex: number; lastTerm: number; granted: boolean }[] = [
    { name: 'a lower last term, even with a longer log', lastIndex: 10, lastTerm: 1, granted: false },
    { name: 'the same last term and a shorter log', lastIndex: 2, lastTerm: 2, granted: false },
    { name: 'the same last term and the same length', lastIndex: 3, lastTerm: 2, granted: true },
    { name: 'a higher last term, even with a shorter log', lastIndex: 1, lastTerm: 3, granted: true },
  ];
  for (const kind of ['vote', 'preVote'] as const) {
    for (const c of cases) {
      it(`§5.4.1: a ${kind} request from a candidate with ${c.name} is ${c.granted ? 'granted' : 'refused'}`, () => {
        const storage = storageWithLog([1, 1, 2], { term: 2, vote: null, commit: 0 });
        const r = new Raft({ id: 'b', voters: ['a', 'b', 'c'], storage, hardState: storage.hardState, random: seededRandom(1) });

        r.step(voteRequest('a', 'b', 3, c.lastIndex, c.lastTerm, kind));
        const rd = r.ready();

        const answer = rd.messages.find((m: Message) => m.to === 'a') as VoteResponse | undefined;
        expect(answer?.type).toBe(kind === 'vote' ? 'voteResp' : 'preVoteResp');
        expect(answer?.reject).toBe(!c.granted);
        expect(r.vote).toBe(kind === 'vote' && c.granted ? 'a' : null);
      });
    }
  }

  it('§5.4.1: a candidate whose log lacks a committed entry cannot win', () => {
    const net = new Network({ logs: { a: [1, 1], b: [1, 1], c: [1] }, term: 1, commit: 2, preVote: false });

    net.raft('c').campaign();
    net.stabilize();

    expect(net.role('c')).not.toBe(Role.Leader);
    expect(responsesTo(net, 'c').every((m) => m.reject)).toBe(true);
    expect(responsesTo(net, 'c')).toHaveLength(2);
  });
});
