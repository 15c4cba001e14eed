import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { ENTRY_OVERHEAD_BYTES, entryBytes } from '../../raft/storage.js';
import type { AppendRequest, Message } from '../../raft/types.js';
import { Network, bytes, payload } from './harness.js';

function thrown(f: () => unknown): RaftError | null {
  try {
    f();
    return null;
  } catch (e) {
    if (e instanceof RaftError) return e;
    throw e;
  }
}

function appendsTo(to: string): (m: Message) => boolean {
  return (m) => m.type === 'append' && m.to === to;
}

/** Replays the trace: the most appends with entries sent to `to` and not yet acknowledged at once. */
function maxInFlight(net: Network, to: string): number {
  const open: number[] = [];
  let max = 0;
  for (const t of net.trace) {
    const m = t.msg;
    if (t.kind === 'send' && m.type === 'append' && m.to === to && m.entries.length > 0) {
      open.push(m.entries[m.entries.length - 1]!.index);
      max = Math.max(max, open.length);
    } else if (t.kind === 'deliver' && m.type === 'appendResp' && m.from === to && !m.reject) {
      while (open.length > 0 && open[0]! <= m.index) open.shift();
    }
  }
  return max;
}

describe('flow control', () => {
  it('flow control: in Replicate state, appends in flight to a follower never exceed appendsInFlightMax', () => {
    // Every entry is bigger than appendBytesMax, so each append message carries one.
    const net = new Network({ limits: { appendsInFlightMax: 2, appendBytesMax: 30 } });
    net.elect('a');
    expect(net.peer('a', 'b').state).toBe('replicate');
    const before = net.trace.length;

    for (let k = 0; k < 10; k++) net.raft('a').propose([payload(10)]);
    net.processAll();
    const firstBurst = net.trace.slice(before).filter((t) => appendsTo('b')(t.msg)).length;
    net.stabilize();

    expect(firstBurst).toBe(2);
    expect(maxInFlight(net, 'b')).toBe(2);
    expect(maxInFlight(net, 'c')).toBe(2);
    expect(net.shape('b')).toEqual(net.shape('a'));
    expect(net.commit('b')).toBe(11);
  });

  it('flow control: the entries of one append message never exceed appendBytesMax, but a single larger entry still goes', () => {
    const net = new Network({ limits: { appendBytesMax: 100 } });
    net.elect('a');
    const before = net.trace.length;

    for (let k = 0; k < 6; k++) net.raft('a').propose([payload(20)]); // 44 bytes each: two fit
    const big = net.raft('a').propose([payload(150)]);
    net.stabilize();

    const appends = net.trace.slice(before).filter((t) => t.kind === 'send' && t.msg.type === 'append').map((t) => t.msg as AppendRequest);
    const sizes = appends.filter((m) => m.entries.length > 0).map((m) => m.entries.reduce((n, e) => n + entryBytes(e), 0));
    for (const m of appends) {
      const size = m.entries.reduce((n, e) => n + entryBytes(e), 0);
      if (m.entries.length > 1) expect(size).toBeLessThanOrEqual(100);
    }
    expect(sizes).toContain(88);
    expect(appends.some((m) => m.entries.length === 1 && m.entries[0]!.index === big.firstIndex)).toBe(true);
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.commit('c')).toBe(big.lastIndex);
  });

  it('flow control: a follower in Probe state gets one append until it answers or a heartbeat response comes', () => {
    const net = new Network();
    net.elect('a');
    net.raft('a').reportUnreachable('c');
    expect(net.peer('a', 'c').state).toBe('probe');
    net.cut('a', 'c');
    const before = net.trace.length;

    for (let k = 0; k < 3; k++) {
      net.raft('a').propose([bytes(`v${k}`)]);
      net.stabilize();
    }
    const whileSilent = net.trace.slice(before).filter((t) => t.kind === 'send' && appendsTo('c')(t.msg)).length;
    net.heal();
    net.tick('a');
    net.processAll();
    net.discard((m) => m.to === 'b');
    net.deliver(); // the heartbeat to c
    net.processAll();
    net.deliver(); // c's heartbeat response
    const rd = net.process('a');
    net.stabilize();

    expect(whileSilent).toBe(1);
    expect(rd?.messages.filter(appendsTo('c'))).toHaveLength(1);
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.peer('a', 'c').state).toBe('replicate');
  });

  it('flow control: a proposal to a follower throws NOT_LEADER with the leader as hint', () => {
    const net = new Network();
    net.elect('a');

    const err = thrown(() => net.raft('c').propose([bytes('x')]));

    expect(err?.code).toBe(RaftErrorCode.NotLeader);
    expect(err?.leaderHint).toBe('a');
    expect(err?.retriable).toBe(true);
    expect(err?.message).toContain('a');
  });

  it('flow control: proposals beyond uncommittedBytesMax throw UNCOMMITTED_BYTES_EXCEEDED and succeed again after commit', () => {
    const net = new Network({ limits: { uncommittedBytesMax: 100, entryBytesMax: 100 } });
    net.elect('a');
    const a = net.raft('a');

    a.propose([payload(60)]);
    const over = thrown(() => a.propose([payload(60)]));
    net.stabilize();
    const afterCommit = thrown(() => a.propose([payload(60)]));

    expect(over?.code).toBe(RaftErrorCode.UncommittedBytesExceeded);
    expect(over?.retriable).toBe(true);
    expect(over?.message).toContain('uncommittedBytesMax 100');
    expect(afterCommit).toBeNull();
  });

  it('flow control: in a single-voter group, a committed proposal no longer counts against uncommittedBytesMax', () => {
    const net = new Network({ ids: ['a'], limits: { uncommittedBytesMax: 100, entryBytesMax: 100 } });
    net.elect('a');
    const a = net.raft('a');

    const first = a.propose([payload(60)]);
    net.stabilize();
    const committed = net.commit('a');
    const second = thrown(() => a.propose([payload(60)]));

    expect(committed).toBe(first.lastIndex);
    expect(second).toBeNull();
  });

  it('flow control: entries count their header bytes against uncommittedBytesMax, so empty entries cannot pile up without bound', () => {
    // storage.ts: an entry counts for data plus ENTRY_OVERHEAD_BYTES in every byte limit.
    const net = new Network({ limits: { uncommittedBytesMax: 10 * ENTRY_OVERHEAD_BYTES, entryBytesMax: 1 } });
    net.elect('a');
    net.isolate('a'); // nothing commits
    const a = net.raft('a');

    let taken = 0;
    let err: RaftError | null = null;
    while (err === null && taken < 100) {
      err = thrown(() => a.propose([new Uint8Array(0)]));
      if (err === null) taken++;
    }

    expect(err?.code).toBe(RaftErrorCode.UncommittedBytesExceeded);
    expect(taken).toBe(10);
  });

  it('flow control: an entry over entryBytesMax throws ENTRY_TOO_LARGE, and one of exactly entryBytesMax is taken', () => {
    const net = new Network({ limits: { entryBytesMax: 100 } });
    net.elect('a');
    const a = net.raft('a');
    const last = net.lastIndex('a');

    const tooLarge = thrown(() => a.propose([payload(1), payload(101)]));
    const atLimit = thrown(() => a.propose([payload(100)]));

    expect(tooLarge?.code).toBe(RaftErrorCode.EntryTooLarge);
    expect(tooLarge?.retriable).toBe(false);
    expect(tooLarge?.message).toContain('101');
    expect(atLimit).toBeNull();
    expect(net.lastIndex('a')).toBe(last + 1);
  });

});
