import { describe, expect, it } from 'vitest';
import { ReadOnly } from '../../raft/read-only.js';
import type { NodeId, ReadState } from '../../raft/types.js';

const VOTERS = ['a', 'b', 'c'];

/** Peer acks as a map; a peer missing from it has confirmed no round. */
function acks(rounds: Record<NodeId, number>): (id: NodeId) => number {
  return (id) => rounds[id] ?? 0;
}

describe('§6.4 ReadIndex rounds (raft/read-only.ts)', () => {
  it('§6.4: reads that arrive while a round is out all wait for the one round after it', () => {
    const ro = new ReadOnly();

    const started = [ro.add('r1', 5), ro.add('r2', 6), ro.add('r3', 7)];

    expect(started).toEqual([true, false, false]);
    expect(ro.round).toBe(1);
  });

  it('§6.4: a round a quorum confirmed releases its reads at their indexes, and sends the next round out for the reads waiting on it', () => {
    const ro = new ReadOnly();
    ro.add('r1', 5);
    ro.add('r2', 6);
    ro.add('r3', 7);
    const out: ReadState[] = [];

    const nextRound = ro.release(VOTERS, 'a', acks({ b: 1 }), out);

    expect(out).toEqual([{ index: 5, context: 'r1' }]);
    expect(nextRound).toBe(true);
    expect(ro.round).toBe(2);
    expect(ro.release(VOTERS, 'a', acks({ c: 2 }), out)).toBe(false);
    expect(out.map((s) => s.context)).toEqual(['r1', 'r2', 'r3']);
  });

  it('§6.4: the leader counts itself, but one peer is no quorum of five', () => {
    const ro = new ReadOnly();
    ro.add('r1', 5);
    const out: ReadState[] = [];

    const nextRound = ro.release(['a', 'b', 'c', 'd', 'e'], 'a', acks({ b: 1 }), out);

    expect(nextRound).toBe(false);
    expect(out).toEqual([]);
  });

  it('§6.4: reads held for the leader\'s first commit come back once, in arrival order', () => {
    const ro = new ReadOnly();
    ro.awaitCommit('h1');
    ro.awaitCommit('h2');

    const first = ro.takeAwaitingCommit();

    expect(first).toEqual(['h1', 'h2']);
    expect(ro.takeAwaitingCommit()).toEqual([]);
  });

  it('§6.4: a leader stepping down drops the reads waiting on rounds, then those held for its first commit', () => {
    const ro = new ReadOnly();
    ro.awaitCommit('h1');
    ro.add('r1', 5);
    ro.add('r2', 6);

    const dropped = ro.drop();

    expect(dropped).toEqual(['r1', 'r2', 'h1']);
    expect(ro.drop()).toEqual([]);
  });
});
