import { describe, expect, it } from 'vitest';
import type { SnapshotRequest } from '../../raft/types.js';
import { Network, bytes } from './harness.js';

describe('log start (compaction)', () => {
  it('log start: a follower that needs entries before the leader\'s first index is sent a snapshot, installs it from its next Ready, and replication continues', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('c');
    for (let k = 0; k < 5; k++) net.raft('a').propose([bytes(`v${k}`)]);
    net.stabilize();
    const snapIndex = net.commit('a');
    const term = net.term('a');
    net.member('a').storage.compact(snapIndex, bytes('state@6'));
    net.raft('a').propose([bytes('after-compaction')]);
    net.stabilize();
    expect(net.raft('a').firstIndex()).toBe(snapIndex + 1);
    net.heal();

    net.tickAndStabilize(1, ['a']);

    const snaps = net.sent((m) => m.type === 'snapshot' && m.to === 'c') as SnapshotRequest[];
    expect(snaps).toHaveLength(1);
    // It carries the configuration in effect at its index, which the follower's log starts from.
    const membership = { voters: ['a', 'b', 'c'], learners: [] };
    expect(snaps[0]!.snapshot).toEqual({ index: snapIndex, term, data: bytes('state@6'), membership });
    const installed = net.member('c').readies.filter((rd) => rd.snapshot !== null);
    expect(installed).toHaveLength(1);
    expect(installed[0]!.snapshot).toEqual({ index: snapIndex, term, data: bytes('state@6'), membership });
    expect(installed[0]!.mustSync).toBe(true);
    expect(net.member('c').storage.firstIndex()).toBe(snapIndex + 1);
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.commit('c')).toBe(net.commit('a'));
    expect(net.member('c').applied.map((e) => e.index)).toEqual([1, snapIndex + 1]);

    const { lastIndex } = net.raft('a').propose([bytes('later')]);
    net.stabilize();

    expect(net.commit('c')).toBe(lastIndex);
    expect(net.member('c').applied.at(-1)?.index).toBe(lastIndex);
    expect(net.peer('a', 'c')).toMatchObject({ state: 'replicate', match: lastIndex });
  });

  it('log start: a snapshot that is lost is sent again after an election timeout', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('c');
    for (let k = 0; k < 3; k++) net.raft('a').propose([bytes(`v${k}`)]);
    net.stabilize();
    net.member('a').storage.compact(net.commit('a'), bytes('state'));
    net.heal();
    net.tick('a');
    net.stabilize((m) => m.type === 'snapshot');
    const lost = net.trace.filter((t) => t.kind === 'drop' && t.msg.type === 'snapshot').length;
    expect(net.peer('a', 'c').state).toBe('snapshot');

    net.tickAndStabilize(10, ['a']);

    expect(lost).toBe(1);
    expect(net.member('c').snapshots).toHaveLength(1);
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.peer('a', 'c').state).toBe('replicate');
  });

  it('log start: a restarted follower resumes from the snapshot it installed', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('c');
    for (let k = 0; k < 3; k++) net.raft('a').propose([bytes(`v${k}`)]);
    net.stabilize();
    net.member('a').storage.compact(net.commit('a'), bytes('state'));
    net.heal();
    net.tickAndStabilize(1, ['a']);
    const commit = net.commit('c');

    net.restart('c');

    expect(net.raft('c').firstIndex()).toBe(commit + 1);
    expect(net.commit('c')).toBe(commit);
    expect(net.raft('c').applied).toBe(commit);
    expect(net.raft('c').hasReady()).toBe(false);
  });
});
