import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { handOverToPreferred } from '../../src/node/hand-over.js';
import { bytes, Network } from '../raft/harness.js';

describe('leader balancing hands leadership back to the preferred replica', () => {
  it('only once the preferred replica holds the whole log: a replica still catching up is left alone, and writes go on', () => {
    const net = new Network();
    net.elect('a');
    net.cut('a', 'c');
    for (let i = 0; i < 5; i++) net.raft('a').propose([bytes(`x${i}`)]);
    net.stabilize();
    net.heal();

    // c, the preferred replica, is 5 entries behind: a transfer now would refuse writes until it caught up.
    expect(handOverToPreferred(net.raft('a'), 'c')).toBe('behind');
    expect(net.raft('a').status().transferee).toBeNull();
    expect(() => net.raft('a').propose([bytes('more')])).not.toThrow();

    net.stabilize();
    expect(handOverToPreferred(net.raft('a'), 'c')).toBe('started');
    net.stabilize();
    expect(net.lead('b')).toBe('c');
  });

  it('a non-leader does nothing', () => {
    const net = new Network();
    net.elect('a');
    expect(handOverToPreferred(net.raft('b'), 'c')).toBe('not-leader');
  });

  it('a transfer refused by the core still throws its typed error', () => {
    const net = new Network();
    net.elect('a');
    let err: unknown = null;
    try {
      handOverToPreferred(net.raft('a'), 'z');
    } catch (e) {
      err = e;
    }
    expect((err as RaftError).code).toBe(RaftErrorCode.UnknownNode);
  });
});
