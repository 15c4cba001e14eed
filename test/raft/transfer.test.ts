import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { Role, type AppendResponse } from '../../raft/types.js';
import { Network, bytes } from './harness.js';

const ELECTION = 10;

function proposeError(net: Network, id: string): RaftError | null {
  try {
    net.raft(id).propose([bytes('p')]);
    return null;
  } catch (e) {
    if (e instanceof RaftError) return e;
    throw e;
  }
}

/** a leads; c missed three entries while cut off and is reachable again. */
function withLaggingC(): Network {
  const net = new Network();
  net.elect('a');
  net.isolate('c');
  for (let k = 0; k < 3; k++) net.raft('a').propose([bytes(`v${k}`)]);
  net.stabilize();
  net.heal();
  return net;
}

describe('§3.10 leadership transfer', () => {
  it('§3.10: a transfer to an up-to-date follower sends TimeoutNow, and it wins past pre-vote and the voters\' lease', () => {
    const net = new Network();
    net.elect('a');
    const term = net.term('a');

    net.raft('a').transferLeadership('b');
    const rd = net.process('a');
    const sentBefore = net.trace.length;
    net.stabilize();

    expect(rd?.messages).toEqual([expect.objectContaining({ type: 'timeoutNow', to: 'b', term })]);
    expect(net.role('b')).toBe(Role.Leader);
    expect(net.term('b')).toBe(term + 1);
    expect(net.lead('a')).toBe('b');
    expect(net.lead('c')).toBe('b');
    const after = net.trace.slice(sentBefore).map((t) => t.msg);
    expect(after.filter((m) => m.type === 'preVote')).toEqual([]);
    expect(after.filter((m) => m.type === 'vote').every((m) => m.type === 'vote' && m.transfer)).toBe(true);
  });

  it('§3.10: a transfer to a lagging follower first brings its log up to date, then sends TimeoutNow', () => {
    const net = withLaggingC();
    const leaderLast = net.lastIndex('a');
    const term = net.term('a');
    expect(net.lastIndex('c')).toBeLessThan(leaderLast);

    net.raft('a').transferLeadership('c');
    const rd = net.process('a');
    net.stabilize();

    expect(rd?.messages.some((m) => m.type === 'timeoutNow')).toBe(false);
    const msgs = net.trace.map((t) => t.msg);
    const caughtUp = msgs.findIndex((m) => m.type === 'appendResp' && m.from === 'c' && !(m as AppendResponse).reject && m.index === leaderLast);
    const timeoutNow = msgs.findIndex((m) => m.type === 'timeoutNow' && m.to === 'c');
    expect(caughtUp).toBeGreaterThanOrEqual(0);
    expect(timeoutNow).toBeGreaterThan(caughtUp);
    expect(net.role('c')).toBe(Role.Leader);
    expect(net.term('c')).toBe(term + 1);
    expect(net.shape('c').slice(0, leaderLast)).toEqual(net.shape('a').slice(0, leaderLast));
  });

  it('§3.10: proposals are refused with TRANSFER_IN_PROGRESS during a transfer', () => {
    const net = withLaggingC();
    net.isolate('c');

    net.raft('a').transferLeadership('c');
    const err = proposeError(net, 'a');

    expect(err?.code).toBe(RaftErrorCode.TransferInProgress);
    expect(err?.retriable).toBe(true);
    expect(net.role('a')).toBe(Role.Leader);
  });

  it('§3.10: a transfer that does not finish within an election timeout is abandoned, and proposals are taken again', () => {
    const net = withLaggingC();
    net.isolate('c');
    net.raft('a').transferLeadership('c');

    net.tickAndStabilize(ELECTION - 1, ['a']);
    const stillRefused = proposeError(net, 'a');
    net.tickAndStabilize(1, ['a']);
    const afterTimeout = proposeError(net, 'a');

    expect(stillRefused?.code).toBe(RaftErrorCode.TransferInProgress);
    expect(afterTimeout).toBeNull();
    expect(net.role('a')).toBe(Role.Leader);
    expect(net.raft('a').status().transferee).toBeNull();
  });

  it('§3.10: a transfer asked of a follower throws NOT_LEADER with the leader as hint', () => {
    const net = new Network();
    net.elect('a');

    let err: unknown = null;
    try {
      net.raft('b').transferLeadership('c');
    } catch (e) {
      err = e;
    }

    expect(err).toBeInstanceOf(RaftError);
    expect((err as RaftError).code).toBe(RaftErrorCode.NotLeader);
    expect((err as RaftError).leaderHint).toBe('a');
  });
});
