/**
 * A follower behind the leader's cold log (raft/leader.ts, raft/storage.ts hotFirstIndex): the
 * leader never reads cold entries for it on its own. Far behind (more than snapshotColdBytesMin
 * of committed cold log), it is sent a snapshot at the commit index, which the host streams as the
 * log's files and reports on (Raft.reportSnapshot, as etcd's ReportSnapshot); a little behind, it
 * gets appends once the storage has read the entries ahead (readAhead). The leader's storage here
 * is a MemoryStorage told which part of it is cold.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryStorage } from '../../raft/memory-storage.js';
import type { Snapshot, SnapshotRequest } from '../../raft/types.js';
import { Network, bytes } from './harness.js';

/** Makes the entries before `hot` cold in `s`, each counting `bytesEach`; readAhead answers from `ready`, and its calls are counted. */
function coldBefore(s: MemoryStorage, hot: number, bytesEach: number): { ready: boolean; asked: number[] } {
  const state = { ready: false, asked: [] as number[] };
  s.hotFirstIndex = () => hot;
  s.coldBytes = (from?: number) => Math.max(0, hot - (from ?? hot)) * bytesEach;
  s.readAhead = (from?: number) => {
    state.asked.push(from ?? 0);
    return state.ready;
  };
  // A storage whose snapshot is its log: up to the index asked, never past what it holds.
  s.snapshot = (upTo?: number): Snapshot => {
    const index = Math.min(upTo ?? s.firstIndex() - 1, s.lastIndex());
    return { index, term: s.term(index), data: bytes('files') };
  };
  return state;
}

/** a leads; c missed 8 committed entries; a then appends one more that is not committed (b is cut off too). */
function behind(limits: { snapshotColdBytesMin: number }, mutate = false): Network {
  const net = new Network({ limits, ...(mutate ? { unsafeMutations: { snapshotPastCommit: true } } : {}) });
  net.elect('a');
  net.isolate('c');
  for (let k = 0; k < 8; k++) net.raft('a').propose([bytes(`v${k}`)]);
  net.stabilize();
  net.isolate('b');
  net.raft('a').propose([bytes('not committed')]);
  net.stabilize();
  net.heal();
  net.isolate('b');
  return net;
}

describe('a follower behind the leader\'s cold log', () => {
  it('far behind: is sent a snapshot at the commit index, never past it, and it waits while the host streams it', () => {
    const net = behind({ snapshotColdBytesMin: 100 });
    const commit = net.commit('a');
    expect(net.lastIndex('a')).toBe(commit + 1);
    coldBefore(net.member('a').storage, net.lastIndex('a'), 1000);

    // The host does not send a snapshot of a log as a message: it streams it (dropped here).
    net.tick('a', 2);
    net.stabilize((m) => m.type === 'snapshot');

    const snaps = net.sent((m) => m.type === 'snapshot' && m.to === 'c') as SnapshotRequest[];
    expect(snaps.length).toBeGreaterThan(0);
    expect(snaps.every((m) => m.snapshot.index === commit)).toBe(true);
    expect(net.peer('a', 'c').state).toBe('snapshot');
    // The host streams it: no timeout, however long it takes.
    const sent = snaps.length;
    net.raft('a').reportSnapshot('c', commit, 'sending');
    for (let k = 0; k < 30; k++) {
      net.tick('a');
      net.stabilize((m) => m.type === 'snapshot');
    }
    expect(net.peer('a', 'c').state).toBe('snapshot');
    expect(net.sent((m) => m.type === 'snapshot' && m.to === 'c')).toHaveLength(sent);
  });

  it('a snapshot the host reports finished is followed by a probe after it; one reported failed is sent again', () => {
    const net = behind({ snapshotColdBytesMin: 100 });
    const commit = net.commit('a');
    coldBefore(net.member('a').storage, net.lastIndex('a'), 1000);
    net.tick('a', 2);
    net.stabilize((m) => m.type === 'snapshot');
    net.raft('a').reportSnapshot('c', commit, 'sending');
    const before = net.sent((m) => m.type === 'snapshot' && m.to === 'c').length;

    net.raft('a').reportSnapshot('c', commit, 'failed');
    expect(net.peer('a', 'c').state).toBe('probe');
    net.tick('a', 4);
    net.stabilize((m) => m.type === 'snapshot');
    expect(net.sent((m) => m.type === 'snapshot' && m.to === 'c').length).toBeGreaterThan(before);

    // This time it arrives, and the host says so: the follower is probed after it and replicates.
    net.raft('a').reportSnapshot('c', commit, 'finished');
    expect(net.peer('a', 'c')).toMatchObject({ state: 'probe', next: commit + 1 });
    // A report for a snapshot the peer no longer waits for changes nothing.
    net.raft('a').reportSnapshot('c', commit, 'failed');
    expect(net.peer('a', 'c')).toMatchObject({ state: 'probe', next: commit + 1 });
  });

  it('a little behind: gets appends only once the storage has read the cold entries ahead, and then at once', () => {
    const net = behind({ snapshotColdBytesMin: 1_000_000 });
    const cold = coldBefore(net.member('a').storage, net.lastIndex('a'), 10);
    const earlier = net.sent().length;
    net.tickAndStabilize(4, ['a']);
    const since = net.sent().slice(earlier);
    expect(since.filter((m) => m.type === 'snapshot')).toHaveLength(0);
    expect(cold.asked.length).toBeGreaterThan(0);
    const from = cold.asked[cold.asked.length - 1]!;
    expect(since.filter((m) => m.type === 'append' && m.to === 'c' && m.entries.some((e) => e.index === from))).toHaveLength(0);
    expect(net.lastIndex('c')).toBeLessThan(from);

    // The host says the entries are in memory: they go at once, without waiting for a heartbeat.
    cold.ready = true;
    net.raft('a').entriesReadAhead();
    net.stabilize();
    expect(net.lastIndex('c')).toBe(net.lastIndex('a'));
  });

  it('a new replica (it needs the log from its start) is sent the log as a snapshot, however few bytes are cold', () => {
    const net = behind({ snapshotColdBytesMin: 1_000_000 });
    net.member('c').wipe(null);
    const commit = net.commit('a');
    coldBefore(net.member('a').storage, net.lastIndex('a'), 10);
    net.tick('a', 2);
    net.stabilize((m) => m.type === 'snapshot');
    const snaps = net.sent((m) => m.type === 'snapshot' && m.to === 'c') as SnapshotRequest[];
    expect(snaps.length).toBeGreaterThan(0);
    expect(snaps[0]!.snapshot.index).toBe(commit);
  });

  it('under the snapshotPastCommit mutant the snapshot reaches the uncommitted tail (what the host simulation must catch)', () => {
    const net = behind({ snapshotColdBytesMin: 100 }, true);
    coldBefore(net.member('a').storage, net.lastIndex('a'), 1000);
    net.tick('a', 2);
    net.stabilize((m) => m.type === 'snapshot');
    const snaps = net.sent((m) => m.type === 'snapshot' && m.to === 'c') as SnapshotRequest[];
    expect(snaps[0]!.snapshot.index).toBe(net.lastIndex('a'));
    expect(snaps[0]!.snapshot.index).toBeGreaterThan(net.commit('a'));
  });
});
