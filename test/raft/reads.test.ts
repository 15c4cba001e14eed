import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { Role, type Message } from '../../raft/types.js';
import { Network } from './harness.js';

const ELECTION = 10;

function heartbeatOfRound(round: number, to?: string): (m: Message) => boolean {
  return (m) => m.type === 'heartbeat' && m.readRound === round && (to === undefined || m.to === to);
}

function isHeartbeatResp(m: Message): boolean {
  return m.type === 'heartbeatResp';
}

function contexts(net: Network, id: string): unknown[] {
  return net.member(id).readStates.map((r) => r.context);
}

/** Three members, a leading with its no-op committed everywhere. */
function stableGroup(): Network {
  const net = new Network();
  net.elect('a');
  return net;
}

describe('§6.4 ReadIndex', () => {
  it('§6.4: a read is answered only after a quorum answers a heartbeat sent after the read arrived', () => {
    const net = stableGroup();
    net.tick('a'); // a heartbeat that leaves before the read arrives
    net.processAll();
    const commitAtRead = net.commit('a');
    net.raft('a').readIndex('r1');
    net.processAll();

    net.deliver(heartbeatOfRound(0));
    net.processAll();
    net.deliver(isHeartbeatResp);
    net.processAll();
    const afterOldRound = contexts(net, 'a');
    net.deliver(heartbeatOfRound(1, 'b'));
    net.processAll();
    const beforeAnswer = contexts(net, 'a');
    net.deliver(isHeartbeatResp);
    net.processAll();

    expect(afterOldRound).toEqual([]);
    expect(beforeAnswer).toEqual([]);
    expect(net.member('a').readStates).toEqual([{ index: commitAtRead, context: 'r1' }]);
  });

  it('§6.4: a new leader holds reads back until it has committed an entry of its own term', () => {
    const net = new Network();
    net.raft('a').campaign();
    net.runUntil(() => net.role('a') === Role.Leader);
    net.raft('a').readIndex('r1');

    // Heartbeats go back and forth, but the no-op of the new term does not reach anyone.
    net.tick('a', 2);
    net.stabilize((m) => m.type === 'append');
    const whileUncommitted = contexts(net, 'a');
    const commitWhileUncommitted = net.commit('a');
    const answeredWhileUncommitted = net.trace.filter((t) => t.kind === 'deliver' && t.msg.type === 'heartbeatResp').length;
    net.tickAndStabilize(1, ['a']);

    expect(answeredWhileUncommitted).toBe(4);
    expect(commitWhileUncommitted).toBe(0);
    expect(whileUncommitted).toEqual([]);
    expect(net.commit('a')).toBe(1);
    expect(net.member('a').readStates).toEqual([{ index: 1, context: 'r1' }]);
  });

  it('§6.4: reads asked while a round is out are confirmed by the next round', () => {
    const net = stableGroup();
    net.raft('a').readIndex('r1');
    net.processAll();
    net.raft('a').readIndex('r2');
    net.raft('a').readIndex('r3');
    net.processAll();

    net.deliver(heartbeatOfRound(1));
    net.processAll();
    net.deliver(isHeartbeatResp);
    net.processAll();
    const afterFirstRound = contexts(net, 'a');
    const nextRoundOut = net.inFlight().filter(heartbeatOfRound(2)).length;
    net.stabilize();

    expect(afterFirstRound).toEqual(['r1']);
    expect(nextRoundOut).toBe(2);
    expect(contexts(net, 'a')).toEqual(['r1', 'r2', 'r3']);
  });

  it('§6.4: a read\'s index is the commit index when it arrived, not a later one', () => {
    const net = stableGroup();
    const commitAtRead = net.commit('a');
    net.raft('a').readIndex('r1');
    net.processAll();
    net.raft('a').propose([new TextEncoder().encode('later')]);

    net.stabilize();

    expect(net.commit('a')).toBe(commitAtRead + 1);
    expect(net.member('a').readStates).toEqual([{ index: commitAtRead, context: 'r1' }]);
  });

  it('§6.4: a leader that steps down reports its pending reads in readsDropped', () => {
    const net = stableGroup();
    net.isolate('a');
    net.raft('a').readIndex('r1');
    net.raft('a').readIndex('r2');

    for (let k = 0; k < 2 * ELECTION && net.role('a') === Role.Leader; k++) {
      net.tick('a');
      net.stabilize();
    }
    net.processAll();

    expect(net.role('a')).toBe(Role.Follower);
    expect(net.member('a').readStates).toEqual([]);
    expect(net.member('a').readsDropped).toEqual(['r1', 'r2']);
  });

  it('§6.4: a leader that steps down before committing in its term reports the reads it held back', () => {
    const net = new Network();
    net.raft('a').campaign();
    net.runUntil(() => net.role('a') === Role.Leader);
    net.raft('a').readIndex('early');

    net.raft('a').step({ type: 'heartbeat', from: 'b', to: 'a', term: net.term('a') + 1, commit: 0, readRound: 0 });
    net.processAll();

    expect(net.role('a')).toBe(Role.Follower);
    expect(net.member('a').readsDropped).toEqual(['early']);
  });

  it('§6.4: a read on a follower throws NOT_LEADER with the leader as hint', () => {
    const net = stableGroup();

    let err: unknown = null;
    try {
      net.raft('b').readIndex('r1');
    } catch (e) {
      err = e;
    }

    expect(err).toBeInstanceOf(RaftError);
    expect((err as RaftError).code).toBe(RaftErrorCode.NotLeader);
    expect((err as RaftError).leaderHint).toBe('a');
    expect((err as RaftError).retriable).toBe(true);
  });

  it('§6.4: a single-voter group answers a read at once, without messages', () => {
    const net = new Network({ ids: ['a'] });
    net.elect('a');
    const sentBefore = net.trace.length;

    net.raft('a').readIndex('r1');
    const rd = net.process('a');

    expect(rd?.readStates).toEqual([{ index: net.commit('a'), context: 'r1' }]);
    expect(net.commit('a')).toBe(1);
    expect(net.trace.length).toBe(sentBefore);
  });

  it('§6.4: a single voter just elected reads only once it has committed an entry of its own term', () => {
    // Entries 1-3 were committed (and acknowledged) in term 1, but the commit index is saved
    // lazily: the member restarts knowing only commit 1.
    const net = new Network({ ids: ['a'], logs: { a: [1, 1, 1] }, commit: 1 });
    net.raft('a').campaign();
    expect(net.role('a')).toBe(Role.Leader);

    net.raft('a').readIndex('r1');
    const rd = net.process('a');

    // Answering now, at the saved commit 1, would serve a state without entries 2 and 3.
    expect(rd?.readStates ?? []).toEqual([]);
    net.processAll();
    expect(net.member('a').readStates).toEqual([{ index: 4, context: 'r1' }]);
    expect(net.commit('a')).toBe(4);
  });
});
