/**
 * Rejoining replicas (raft/rejoin.ts): a replica that lost data it may have acknowledged does not
 * vote or count until a committed entry promotes it, once it has caught up.
 */
import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { decodePromotion } from '../../raft/rejoin.js';
import { EntryKind, Role, type Message } from '../../raft/types.js';
import { Network, bytes, type NetworkOptions } from './harness.js';

const ELECTION = 10;

/** a leads; x is committed on a and c while b is cut off; then c loses its disk and comes back rejoining. */
function lostDiskAfterCommit(opts: NetworkOptions = {}): Network {
  const net = new Network(opts);
  net.elect('a');
  net.cut('a', 'b');
  net.raft('a').propose([bytes('x')]);
  net.stabilize();
  expect(net.commit('a')).toBe(2);
  net.member('c').wipe('c-inc-2');
  return net;
}

function responses(net: Network, from: string, type: Message['type']): Message[] {
  return net.sent((m) => m.from === from && m.type === type);
}

/** Whether `id` led a term in which it sent appends (it may have stepped down since). */
function led(net: Network, id: string): boolean {
  return net.sent((m) => m.from === id && m.type === 'append').length > 0;
}

describe('a replica that lost its data rejoins as a learner', () => {
  it('it never campaigns, and rejects votes and pre-votes', () => {
    const net = lostDiskAfterCommit();
    const since = net.trace.length;
    net.tick('c', 3 * ELECTION);
    net.processAll();
    expect(net.role('c')).toBe(Role.Follower);
    expect(net.raft('c').status().rejoin).toBe('c-inc-2');

    net.raft('c').step({ type: 'vote', from: 'b', to: 'c', term: 5, lastIndex: 1, lastTerm: 1, transfer: false });
    net.raft('c').step({ type: 'preVote', from: 'b', to: 'c', term: 6, lastIndex: 1, lastTerm: 1, transfer: false });
    net.processAll();
    const mine = net.trace.slice(since).filter((t) => t.kind === 'send' && t.msg.from === 'c').map((t) => t.msg);
    expect(mine.map((m) => (m.type === 'voteResp' || m.type === 'preVoteResp' ? [m.type, m.reject, m.rejoin] : [m.type]))).toEqual([
      ['voteResp', true, 'c-inc-2'],
      ['preVoteResp', true, 'c-inc-2'],
    ]);
    expect(net.raft('c').vote).toBeNull();
  });

  it('the entry committed on a and the lost c survives a dying: the lagging b cannot win with the new c', () => {
    const net = lostDiskAfterCommit();
    net.heal();
    net.isolate('a');
    const before = net.trace.length;
    net.tickAndStabilize(4 * ELECTION, ['b', 'c']);
    expect(net.trace.slice(before).some((t) => t.msg.type === 'append')).toBe(false);
    expect(net.role('b')).not.toBe(Role.Leader);
  });

  it('the same arrangement over a core whose rejoining replica votes elects b without the committed entry (the test catches it)', () => {
    const net = lostDiskAfterCommit({ unsafeMutations: { rejoinerVotes: true } });
    net.heal();
    net.isolate('a');
    net.tickAndStabilize(4 * ELECTION, ['b', 'c']);
    expect(led(net, 'b')).toBe(true);
    expect(net.shape('b')).not.toContain('2:1');
  });

  it('the leader forgets what the replica acknowledged before, probes it from what it answers, and catches it up (no commit beyond its log)', () => {
    const net = lostDiskAfterCommit();
    expect(net.peer('a', 'c').match).toBe(2);
    // The next heartbeat still names commit 2, which c no longer holds.
    net.tick('a');
    net.processAll();
    net.deliver((m) => m.to === 'c');
    net.processAll();
    expect(net.commit('c')).toBe(0);
    net.deliver((m) => m.to === 'a');
    expect(net.peer('a', 'c')).toMatchObject({ match: 0, state: 'probe', rejoin: 'c-inc-2' });
    net.stabilize();
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.commit('c')).toBe(net.commit('a'));
  });

  it('while it rejoins, its acknowledgements count in no quorum: with b away nothing new commits', () => {
    const net = lostDiskAfterCommit();
    net.tickAndStabilize(1, ['a']);
    net.raft('a').propose([bytes('y')]);
    net.stabilize();
    // c holds everything a has (the promotion a proposed for it, then y), acknowledged in vain.
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.peer('a', 'c')).toMatchObject({ match: net.lastIndex('a'), rejoin: 'c-inc-2' });
    expect(net.commit('a')).toBe(2);
    expect(net.raft('c').rejoin).toBe('c-inc-2');
    net.heal();
    net.tickAndStabilize(2, ['a']);
    expect(net.commit('a')).toBeGreaterThanOrEqual(3);
  });

  it('once caught up, a committed promotion makes it a voter again, durably, and it can lead', () => {
    const net = lostDiskAfterCommit();
    net.heal();
    net.tickAndStabilize(2, ['a']);
    const promotions = net.entries('a').filter((e) => e.kind === EntryKind.Config).map((e) => decodePromotion(e.data));
    expect(promotions).toEqual([{ promote: 'c', rejoin: 'c-inc-2' }]);
    expect(net.raft('c').rejoin).toBeNull();
    expect(net.member('c').storage.hardState.rejoin).toBeNull();
    net.tickAndStabilize(1, ['a']);
    expect(net.peer('a', 'c').rejoin).toBeNull();
    net.raft('a').transferLeadership('c');
    net.stabilize();
    expect(net.role('c')).toBe(Role.Leader);
  });

  it('a promotion it never applied (it came inside a snapshot it installed) is proposed again at its heartbeat answers', () => {
    const net = lostDiskAfterCommit();
    net.heal();
    // c catches up, but every append carrying its promotion is lost; the others commit it.
    const isPromotion = (m: Message): boolean => m.type === 'append' && m.to === 'c' && m.entries.some((e) => e.kind === EntryKind.Config);
    net.tick('a');
    net.stabilize(isPromotion);
    expect(net.raft('a').status().peers.find((p) => p.id === 'c')?.rejoin).toBe('c-inc-2');
    // The leader's log starts after the promotion now: c gets a snapshot past it, which it installs, not applies.
    net.member('a').storage.compact(net.commit('a'), bytes('state'));
    net.raft('a').propose([bytes('after')]);
    for (let k = 0; k < ELECTION; k++) {
      net.tick('a');
      net.stabilize(isPromotion);
    }
    expect(net.member('c').snapshots.length).toBeGreaterThan(0);
    // An election timeout after the first promotion, the leader asks again; this one c applies.
    for (let k = 0; k < 2 * ELECTION && net.raft('c').rejoin !== null; k++) net.tickAndStabilize(1, ['a']);
    expect(net.raft('c').rejoin).toBeNull();
    expect(net.entries('a').filter((e) => e.kind === EntryKind.Config).length).toBeGreaterThanOrEqual(1);
  });

  it('the promotion waits until the replica holds the log up to the commit index', () => {
    const net = lostDiskAfterCommit();
    net.heal();
    // The leader hears from c, but every append that would bring it entries is lost.
    for (let k = 0; k < 3 * ELECTION; k++) {
      net.tick('a');
      net.stabilize((m) => m.type === 'append' && m.to === 'c' && m.entries.length > 0);
    }
    expect(net.peer('a', 'c')).toMatchObject({ match: 0, rejoin: 'c-inc-2' });
    expect(net.entries('a').some((e) => e.kind === EntryKind.Config)).toBe(false);
    expect(net.raft('c').rejoin).toBe('c-inc-2');
  });

  it('a promotion of an earlier incarnation does not promote a replica that lost its data again', () => {
    const net = lostDiskAfterCommit();
    net.heal();
    net.tickAndStabilize(2, ['a']);
    expect(net.raft('c').rejoin).toBeNull();
    net.member('c').wipe('c-inc-3');
    // Replicated again, c holds the old promotion, committed, and it does not apply to c-inc-3.
    net.cut('a', 'b');
    net.tickAndStabilize(1, ['a']);
    expect(net.entries('c').some((e) => e.kind === EntryKind.Config && decodePromotion(e.data)?.rejoin === 'c-inc-2')).toBe(true);
    expect(net.raft('c').rejoin).toBe('c-inc-3');
    net.heal();
    net.tickAndStabilize(2, ['a']);
    const promoted = net.entries('a').filter((e) => e.kind === EntryKind.Config).map((e) => decodePromotion(e.data)?.rejoin);
    expect(promoted).toEqual(['c-inc-2', 'c-inc-3']);
    expect(net.raft('c').rejoin).toBeNull();
  });

  it('a leader does not hand leadership to a rejoining replica', () => {
    const net = lostDiskAfterCommit();
    net.tickAndStabilize(1, ['a']);
    let err: unknown = null;
    try {
      net.raft('a').transferLeadership('c');
    } catch (e) {
      err = e;
    }
    expect((err as RaftError).code).toBe(RaftErrorCode.ReplicaRejoining);
    expect((err as RaftError).retriable).toBe(true);
  });

  it('a follower told to commit beyond its log lost entries it acknowledged: it starts rejoining by itself', () => {
    const net = new Network();
    net.elect('a');
    net.raft('a').propose([bytes('x')]);
    net.raft('a').propose([bytes('y')]);
    net.stabilize();
    expect(net.peer('a', 'c').match).toBe(3);
    // c comes back with its last two entries gone, and nothing on its disk says so.
    net.member('c').cutLog(1, null);
    expect(net.raft('c').rejoin).toBeNull();
    net.tick('a');
    net.processAll();
    net.deliver((m) => m.to === 'c');
    net.processAll();
    const rejoin = net.raft('c').rejoin;
    expect(rejoin).not.toBeNull();
    expect(net.member('c').storage.hardState.rejoin).toBe(rejoin);
    expect(responses(net, 'c', 'heartbeatResp').at(-1)).toMatchObject({ rejoin });
    // From there, as any rejoining replica: caught up and promoted under that incarnation.
    net.stabilize();
    net.tickAndStabilize(2, ['a']);
    expect(net.entries('a').filter((e) => e.kind === EntryKind.Config).map((e) => decodePromotion(e.data))).toEqual([{ promote: 'c', rejoin }]);
    expect(net.raft('c').rejoin).toBeNull();
  });
});

/**
 * A node creates the replica of a partition that was reassigned as a learner of the nodes it is
 * assigned with (src/partition/moves.ts joiningMembership) and writes that at its log start. A
 * reassignment that kept the same nodes (only their order, the preferred leader) changed nothing
 * in the group: its log holds no configuration entry, and its configuration is the one it was
 * created with, at the log start. The chaos run that found this (membership changes among kills
 * and partitions): n1 lost its disk and stayed a learner in its own eyes for good, a voter to the
 * others, never taking the leadership handed to it.
 */
describe('a replica created as a learner of a group whose log holds no configuration entry', () => {
  const joining = { voters: ['a', 'b'], learners: ['c'] };

  function lostDiskAfterReorder(rejoin: string | null): Network {
    const net = new Network();
    net.elect('a');
    net.raft('a').propose([bytes('x')]);
    net.stabilize();
    expect(net.entries('a').some((e) => e.kind === EntryKind.Config)).toBe(false);
    net.member('c').wipe(rejoin, joining);
    expect(net.raft('c').membership).toEqual(joining);
    return net;
  }

  it('rejoining: once caught up and promoted it holds its leader\'s configuration, durably, and takes the leadership handed to it', () => {
    const net = lostDiskAfterReorder('c-inc-2');
    net.tickAndStabilize(2, ['a']);
    expect(net.raft('c').rejoin).toBeNull();
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.raft('c').membership).toEqual(net.raft('a').membership);
    net.restart('c');
    expect(net.raft('c').membership).toEqual(net.raft('a').membership);
    net.tickAndStabilize(1, ['a']);
    net.raft('a').transferLeadership('c');
    net.stabilize();
    expect(net.role('c')).toBe(Role.Leader);
  });

  it('not rejoining (it never held the replica): its first append from the leader tells it the configuration, and it campaigns when the leader is gone', () => {
    const net = lostDiskAfterReorder(null);
    net.tickAndStabilize(1, ['a']);
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.raft('c').membership).toEqual(net.raft('a').membership);
    net.restart('c');
    expect(net.raft('c').membership).toEqual(net.raft('a').membership);
    net.isolate('a');
    net.isolate('b');
    net.tick('c', 3 * ELECTION);
    net.processAll();
    expect(net.role('c')).not.toBe(Role.Follower);
  });
});
