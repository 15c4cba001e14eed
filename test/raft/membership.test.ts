/**
 * Membership changes in the core (raft/membership.ts): configurations in the log, in effect when
 * appended; one single-server change at a time; learners; a removed leader stepping down; the
 * configuration kept across restarts and snapshots. The mutant cases show, on the same
 * arrangement, what each rule prevents.
 */
import { describe, expect, it } from 'vitest';
import type { UnsafeMutations } from '../../raft/config.js';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import type { MembershipChange } from '../../raft/membership.js';
import { Role, type SnapshotRequest } from '../../raft/types.js';
import { Network, bytes } from './harness.js';

const ELECTION = 10;

function changeError(net: Network, leader: string, change: MembershipChange): RaftError | null {
  try {
    net.raft(leader).proposeMembership(change);
    return null;
  } catch (e) {
    if (e instanceof RaftError) return e;
    throw e;
  }
}

function change(net: Network, leader: string, c: MembershipChange): void {
  net.raft(leader).proposeMembership(c);
  net.stabilize();
}

/** a leads a, b, c; d is a caught-up learner. */
function withLearnerD(unsafeMutations?: UnsafeMutations): Network {
  const net = new Network({ unsafeMutations });
  net.elect('a');
  net.addMember('d', { voters: ['a', 'b', 'c'], learners: ['d'] });
  change(net, 'a', { type: 'addLearner', node: 'd' });
  return net;
}

/**
 * `id` wins an election among voters that last heard from the old leader just now: they are first
 * ticked past their lease (ELECTION - 1 ticks, short of any election timeout of their own).
 */
function electPastLease(net: Network, id: string, voters: readonly string[]): void {
  for (const v of voters) if (v !== id) net.tick(v, ELECTION - 1);
  net.elect(id);
}

/** Proposes one entry on `leader`, stabilizes, and returns its index. */
function write(net: Network, leader: string, text: string): number {
  const { lastIndex } = net.raft(leader).propose([bytes(text)]);
  net.stabilize();
  return lastIndex;
}

describe('membership: learners', () => {
  it('membership: a learner receives the whole log but never campaigns', () => {
    const net = withLearnerD();
    write(net, 'a', 'x');

    expect(net.shape('d')).toEqual(net.shape('a'));
    expect(net.raft('d').membership).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });
    net.isolate('a');
    for (let k = 0; k < 4 * ELECTION; k++) net.tick('d');
    net.stabilize();
    expect(net.role('d')).toBe(Role.Follower);
    expect(net.sent((m) => m.from === 'd' && (m.type === 'preVote' || m.type === 'vote'))).toEqual([]);
  });

  it('membership: a learner\'s acknowledgement commits nothing', () => {
    const net = withLearnerD();
    const commit = net.commit('a');
    net.cut('a', 'b');
    net.cut('a', 'c');

    const x = write(net, 'a', 'x');

    expect(net.lastIndex('d')).toBe(x);
    expect(net.commit('a')).toBe(commit);
  });

  it('membership: a learner is promoted only once it holds the log up to the commit index (LEARNER_BEHIND, retriable, before)', () => {
    const net = new Network();
    net.elect('a');
    net.addMember('d', { voters: ['a', 'b', 'c'], learners: ['d'] });
    net.cutOneWay('a', 'd');
    change(net, 'a', { type: 'addLearner', node: 'd' });
    write(net, 'a', 'x');

    const err = changeError(net, 'a', { type: 'promote', node: 'd' });
    expect(err?.code).toBe(RaftErrorCode.LearnerBehind);
    expect(err?.retriable).toBe(true);

    net.heal();
    net.tickAndStabilize(3);
    expect(net.peer('a', 'd').match).toBe(net.commit('a'));
    change(net, 'a', { type: 'promote', node: 'd' });

    for (const id of ['a', 'b', 'c', 'd']) expect(net.raft(id).voters).toEqual(['a', 'b', 'c', 'd']);
    expect(net.peer('a', 'd').learner).toBe(false);
  });

  it('membership: a promoted voter counts: four voters need three acknowledgements', () => {
    const net = withLearnerD();
    change(net, 'a', { type: 'promote', node: 'd' });
    const commit = net.commit('a');

    net.isolate('c');
    const x = write(net, 'a', 'x');
    expect(net.commit('a')).toBe(x);

    net.isolate('d');
    write(net, 'a', 'y');
    expect(net.commit('a')).toBe(x);
    expect(commit).toBeLessThan(x);
  });
  it('membership: a learner whose promotion has not reached it votes for a candidate that counts it, so four voters with one of them gone still elect a leader', () => {
    const net = withLearnerD();
    net.raft('a').proposeMembership({ type: 'promote', node: 'd' });
    net.process('a');
    // Only b and c get the promotion; d does not, and a is gone before it commits.
    net.discard((m) => m.to === 'd');
    net.deliver();
    net.processAll();
    net.discard(() => true);
    expect(net.raft('b').voters).toEqual(['a', 'b', 'c', 'd']);
    expect(net.raft('d').voters).toEqual(['a', 'b', 'c']);
    net.isolate('a');

    // b needs three of a, b, c, d: c and d.
    electPastLease(net, 'b', ['c', 'd']);

    expect(net.sent((m) => m.type === 'voteResp' && m.from === 'd' && !m.reject)).toHaveLength(1);
    expect(net.role('b')).toBe(Role.Leader);
  });
});

describe('membership: one change at a time', () => {
  it('membership: a second change while the first is uncommitted is refused (MEMBERSHIP_CHANGE_IN_PROGRESS, retriable), and taken once it commits', () => {
    const net = new Network();
    net.elect('a');
    net.addMember('d', { voters: ['a', 'b', 'c'], learners: ['d'] });
    net.addMember('e', { voters: ['a', 'b', 'c'], learners: ['e'] });

    net.raft('a').proposeMembership({ type: 'addLearner', node: 'd' });
    const err = changeError(net, 'a', { type: 'addLearner', node: 'e' });
    expect(err?.code).toBe(RaftErrorCode.MembershipChangeInProgress);
    expect(err?.retriable).toBe(true);

    net.stabilize();
    change(net, 'a', { type: 'addLearner', node: 'e' });
    expect(net.raft('a').learners).toEqual(['d', 'e']);
  });

  it('membership: a new leader proposes no change before it has committed an entry of its own term', () => {
    const net = new Network();
    net.raft('a').campaign();
    net.runUntil(() => net.role('a') === Role.Leader);
    expect(net.raft('a').termAt(net.commit('a'))).not.toBe(net.term('a'));

    const err = changeError(net, 'a', { type: 'remove', node: 'c' });
    expect(err?.code).toBe(RaftErrorCode.MembershipChangeInProgress);
    expect(err?.message).toContain('has not committed an entry of its term');

    net.stabilize();
    expect(changeError(net, 'a', { type: 'remove', node: 'c' })).toBeNull();
  });

  it('membership: changes that are not one single-server step are refused (INVALID_MEMBERSHIP_CHANGE, not retriable)', () => {
    const net = new Network();
    net.elect('a');
    const cases: MembershipChange[] = [
      { type: 'addLearner', node: 'b' },
      { type: 'promote', node: 'b' },
      { type: 'promote', node: 'z' },
      { type: 'remove', node: 'z' },
      { type: 'addLearner', node: '' },
    ];
    for (const c of cases) {
      const err = changeError(net, 'a', c);
      expect(err?.code, `${c.type} ${c.node}`).toBe(RaftErrorCode.InvalidMembershipChange);
      expect(err?.retriable).toBe(false);
    }
    const single = new Network({ ids: ['a'] });
    single.elect('a');
    expect(changeError(single, 'a', { type: 'remove', node: 'a' })?.message).toContain('last voter');
  });
});

describe('membership: in effect when appended', () => {
  it('membership: a configuration counts from the moment it is in the log, and a log that loses it goes back to the one before', () => {
    const net = new Network();
    net.elect('a');
    net.raft('a').proposeMembership({ type: 'remove', node: 'c' });
    net.process('a');
    net.discard(() => true);
    // Uncommitted, and already a's configuration.
    expect(net.raft('a').voters).toEqual(['a', 'b']);
    expect(net.raft('a').status().membershipIndex).toBeGreaterThan(net.commit('a'));

    net.isolate('a');
    electPastLease(net, 'b', ['c']);
    net.heal();
    net.tickAndStabilize(2);

    expect(net.lead('a')).toBe('b');
    expect(net.raft('a').voters).toEqual(['a', 'b', 'c']);
    expect(net.shape('a')).toEqual(net.shape('b'));
  });
});

describe('membership: removing members', () => {
  it('membership: a leader that removes itself does not count itself while the removal is uncommitted', () => {
    const net = new Network();
    net.elect('a');
    const commit = net.commit('a');
    net.cut('a', 'c');

    net.raft('a').proposeMembership({ type: 'remove', node: 'a' });
    net.stabilize();

    // b and c are the voters now: b's acknowledgement and a's own are not a majority of them.
    expect(net.raft('a').voters).toEqual(['b', 'c']);
    expect(net.commit('a')).toBe(commit);
    expect(net.role('a')).toBe(Role.Leader);
  });

  it('membership: a removed leader steps down once its removal commits, hands over to an up-to-date voter, and never campaigns again', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');

    change(net, 'a', { type: 'remove', node: 'a' });

    expect(net.sent((m) => m.type === 'timeoutNow' && m.from === 'a')).toHaveLength(1);
    expect(net.role('a')).toBe(Role.Follower);
    const leader = ['b', 'c'].find((id) => net.role(id) === Role.Leader);
    expect(leader).toBeDefined();
    expect(net.term(leader!)).toBe(term + 1);
    expect(net.raft(leader!).voters).toEqual(['b', 'c']);

    const before = net.trace.length;
    net.isolate(leader!);
    for (let k = 0; k < 4 * ELECTION; k++) net.tick('a');
    net.stabilize();
    expect(net.trace.slice(before).filter((t) => t.kind === 'send' && t.msg.from === 'a' && t.msg.type.endsWith('ote'))).toEqual([]);
  });

  it('membership: a removal that would leave too few voters able to count (the others rejoining) is refused, retriable', () => {
    const net = new Network();
    net.elect('a');
    write(net, 'a', 'x');
    net.isolate('c');
    net.member('c').wipe('c-again');
    write(net, 'a', 'y');
    // c answers a heartbeat as a rejoining replica (it counts for nothing until it has caught
    // up), and what a sends it next is lost.
    net.heal();
    net.tick('a', 1);
    net.processAll();
    net.deliver((m) => m.to === 'c' && m.type === 'heartbeat');
    net.processAll();
    net.deliver((m) => m.from === 'c');
    net.processAll();
    net.discard((m) => m.to === 'c');
    expect(net.peer('a', 'c').rejoin).toBe('c-again');

    const err = changeError(net, 'a', { type: 'remove', node: 'b' });
    expect(err?.code).toBe(RaftErrorCode.MembershipChangeInProgress);
    expect(err?.retriable).toBe(true);
    expect(err?.message).toContain('rejoining');
  });

  it('membership: a removed follower is sent its removal and told it committed, then nothing, and does not campaign', () => {
    const net = new Network();
    net.elect('a');
    change(net, 'a', { type: 'remove', node: 'c' });
    net.tickAndStabilize(1, ['a']);

    expect(net.raft('c').voters).toEqual(['a', 'b']);
    expect(net.commit('c')).toBeGreaterThanOrEqual(net.raft('c').status().membershipIndex);
    expect(net.raft('a').status().peers.map((p) => p.id).sort()).toEqual(['a', 'b']);
    const before = net.trace.length;
    write(net, 'a', 'x');
    net.tickAndStabilize(2, ['a']);
    expect(net.trace.slice(before).some((t) => t.msg.to === 'c')).toBe(false);
    net.isolate('a');
    for (let k = 0; k < 4 * ELECTION; k++) net.tick('c');
    net.stabilize();
    expect(net.role('c')).toBe(Role.Follower);
    expect(net.sent((m) => m.from === 'c' && (m.type === 'preVote' || m.type === 'vote'))).toEqual([]);
  });

  it('membership: a member removed while it was cut off is taken back when it campaigns, sent its removal and the commit, and then stops', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('c');
    change(net, 'a', { type: 'remove', node: 'c' });
    // c never hears of it, and a gives up on telling it after an election timeout.
    net.tickAndStabilize(2 * ELECTION, ['a', 'b']);
    expect(net.raft('a').status().peers.map((p) => p.id).sort()).toEqual(['a', 'b']);
    expect(net.raft('c').voters).toEqual(['a', 'b', 'c']);
    net.heal();

    // c takes itself for a voter still, and asks for pre-votes.
    for (let k = 0; k < 2 * ELECTION; k++) net.tick('c');
    net.stabilize();
    net.tickAndStabilize(3, ['a']);

    expect(net.raft('c').voters).toEqual(['a', 'b']);
    expect(net.commit('c')).toBeGreaterThanOrEqual(net.raft('c').status().membershipIndex);
    expect(net.role('a')).toBe(Role.Leader);
    const before = net.trace.length;
    for (let k = 0; k < 4 * ELECTION; k++) net.tick('c');
    net.stabilize();
    expect(net.trace.slice(before).filter((t) => t.kind === 'send' && t.msg.from === 'c')).toEqual([]);
  });

  it('membership: a leader that lost its lead right after proposing its own removal may campaign among the new voters, and leads only to commit it', () => {
    const net = new Network();
    net.elect('a');
    net.raft('a').proposeMembership({ type: 'remove', node: 'a' });
    net.process('a');
    // Only a holds its removal; b and c hear nothing more from it, and a steps down.
    net.discard(() => true);
    net.isolate('a');
    net.tickAndStabilize(2 * ELECTION, ['a']);
    expect(net.role('a')).toBe(Role.Follower);
    net.heal();
    // b and c are ticked past their lease; a, which alone holds the whole log, campaigns.
    net.tick('b', ELECTION - 1);
    net.tick('c', ELECTION - 1);
    net.raft('a').campaign();
    net.stabilize();
    net.tickAndStabilize(2);

    const leader = ['b', 'c'].find((id) => net.role(id) === Role.Leader);
    expect(leader).toBeDefined();
    for (const id of ['a', 'b', 'c']) expect(net.raft(id).voters).toEqual(['b', 'c']);
    expect(net.commit(leader!)).toBeGreaterThanOrEqual(net.raft(leader!).status().membershipIndex);
  });
});

describe('membership: kept across restarts and snapshots', () => {
  it('membership: a promotion survives a restart of every member (etcd\'s unpersisted learner promotion)', () => {
    const net = withLearnerD();
    change(net, 'a', { type: 'promote', node: 'd' });
    for (const id of ['a', 'b', 'c', 'd']) net.restart(id);

    for (const id of ['a', 'b', 'c', 'd']) expect(net.raft(id).membership).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    net.elect('d');
    net.isolate('c');
    const x = write(net, 'd', 'x');
    expect(net.commit('d')).toBe(x);
    net.isolate('b');
    write(net, 'd', 'y');
    expect(net.commit('d')).toBe(x);
  });

  it('membership: a snapshot carries the configuration at its index, and a learner that starts from one knows it is a learner, after a restart too', () => {
    const net = withLearnerD();
    net.addMember('e', { voters: ['a', 'b', 'c'], learners: ['d', 'e'] });
    net.cutOneWay('a', 'e');
    change(net, 'a', { type: 'addLearner', node: 'e' });
    write(net, 'a', 'x');
    const snapIndex = net.commit('a');
    net.member('a').storage.compact(snapIndex, bytes('state'));
    net.heal();

    net.tickAndStabilize(2, ['a']);

    const snaps = net.sent((m) => m.type === 'snapshot' && m.to === 'e') as SnapshotRequest[];
    expect(snaps[0]?.snapshot.membership).toEqual({ voters: ['a', 'b', 'c'], learners: ['d', 'e'] });
    expect(net.raft('e').membership).toEqual({ voters: ['a', 'b', 'c'], learners: ['d', 'e'] });
    net.restart('e');
    expect(net.raft('e').membership).toEqual({ voters: ['a', 'b', 'c'], learners: ['d', 'e'] });
    expect(net.shape('e')).toEqual(net.shape('a'));
  });
});

describe('membership: what each rule prevents (the same arrangement over a core broken on purpose)', () => {
  /**
   * a leads a, b, c with caught-up learners d and e, and promotes both while b and c hear nothing:
   * a, d and e are a majority of a, b, c, d, e, and b and c a majority of a, b, c.
   */
  function promoteTwoWhileCut(unsafe: boolean): { net: Network; x: number | null } {
    const net = withLearnerD(unsafe ? { twoChangesInFlight: true } : undefined);
    net.addMember('e', { voters: ['a', 'b', 'c'], learners: ['d', 'e'] });
    change(net, 'a', { type: 'addLearner', node: 'e' });
    net.cut('a', 'b');
    net.cut('a', 'c');
    net.raft('a').proposeMembership({ type: 'promote', node: 'd' });
    if (changeError(net, 'a', { type: 'promote', node: 'e' }) !== null) return { net, x: null };
    const x = write(net, 'a', 'x');
    return { net, x };
  }

  it('membership: two changes in flight (mutant twoChangesInFlight) let two majorities that share no member commit: an entry committed by a, d, e is lost to the leader b and c elect', () => {
    const { net, x } = promoteTwoWhileCut(true);
    expect(x).not.toBeNull();
    expect(net.commit('a')).toBeGreaterThanOrEqual(x!);

    // The network splits into a, d, e and b, c.
    for (const [p, q] of [['a', 'b'], ['a', 'c'], ['d', 'b'], ['d', 'c'], ['e', 'b'], ['e', 'c']] as const) net.cut(p, q);
    electPastLease(net, 'b', ['c']);
    for (let k = 0; k < 10 && net.commit('b') < x!; k++) write(net, 'b', 'y');
    expect(net.commit('b')).toBeGreaterThanOrEqual(x!);
    expect(net.raft('b').termAt(x!)).not.toBe(net.raft('a').termAt(x!));
  });

  it('membership: with one change at a time, the second promotion waits and nothing is committed without b or c', () => {
    const { net, x } = promoteTwoWhileCut(false);
    expect(x).toBeNull();
    write(net, 'a', 'y');
    expect(net.raft('a').status().membershipIndex).toBeGreaterThan(net.commit('a'));
  });

  /** Five voters; d and e are removed one after the other; then a is cut from b and c and writes. */
  function removeTwoThenWrite(unsafeMutations?: UnsafeMutations): { net: Network; x: number } {
    const net = new Network({ ids: ['a', 'b', 'c', 'd', 'e'], unsafeMutations });
    net.elect('a');
    change(net, 'a', { type: 'remove', node: 'd' });
    change(net, 'a', { type: 'remove', node: 'e' });
    net.cut('a', 'b');
    net.cut('a', 'c');
    return { net, x: write(net, 'a', 'x') };
  }

  it('membership: a leader that still counts removed voters (mutant countRemovedVoters) commits with a, d, e, and b and c elect a leader without the entry', () => {
    const { net, x } = removeTwoThenWrite({ countRemovedVoters: true });
    expect(net.commit('a')).toBe(x);

    net.isolate('a');
    electPastLease(net, 'b', ['c']);
    for (let k = 0; k < 10 && net.commit('b') < x; k++) write(net, 'b', 'y');
    expect(net.commit('b')).toBeGreaterThanOrEqual(x);
    expect(net.raft('b').termAt(x)).not.toBe(net.raft('a').termAt(x));
  });

  it('membership: removed voters count for nothing: the same write stays uncommitted', () => {
    const { net, x } = removeTwoThenWrite();
    expect(net.raft('a').voters).toEqual(['a', 'b', 'c']);
    expect(net.commit('a')).toBeLessThan(x);
  });

  /** a promotes d while d is cut off, then c goes down: a and b are a majority of a, b, c. */
  function promoteLaggingThenLoseC(unsafeMutations?: UnsafeMutations): { net: Network; promoted: boolean; x: number } {
    const net = new Network({ unsafeMutations });
    net.elect('a');
    net.addMember('d', { voters: ['a', 'b', 'c'], learners: ['d'] });
    net.cutOneWay('a', 'd');
    change(net, 'a', { type: 'addLearner', node: 'd' });
    const promoted = changeError(net, 'a', { type: 'promote', node: 'd' }) === null;
    net.stabilize();
    net.isolate('c');
    return { net, promoted, x: write(net, 'a', 'x') };
  }

  it('membership: promoting a learner that is behind (mutant promoteBeforeCaughtUp) stalls the group while a majority of its old voters is up', () => {
    const { net, promoted, x } = promoteLaggingThenLoseC({ promoteBeforeCaughtUp: true });
    expect(promoted).toBe(true);
    expect(net.raft('a').voters).toEqual(['a', 'b', 'c', 'd']);
    expect(net.commit('a')).toBeLessThan(x);
  });

  it('membership: refusing that promotion keeps the group writable', () => {
    const { net, promoted, x } = promoteLaggingThenLoseC();
    expect(promoted).toBe(false);
    expect(net.commit('a')).toBe(x);
  });
});
