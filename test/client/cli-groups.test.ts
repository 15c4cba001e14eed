import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { FakeCluster } from './fake-broker.js';
import { cliIo, eventually, runCli } from './helpers.js';

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = await FakeCluster.start();
});
afterEach(async () => {
  await cluster.stop();
});

const cli = (args: string): ReturnType<typeof runCli> => runCli(cluster, args);

const lines = (s: string): string[] => s.split('\n').filter((l) => l.length > 0);

describe('raftlog CLI: consumer groups', () => {
  it('consume --group commits what it printed and leaves; the next member resumes there', async () => {
    cluster.createTopic('jobs', 1);
    cluster.append('jobs', 0, ['a', 'b', 'c', 'd'].map((v) => ({ key: null, value: Buffer.from(v) })));
    const first = await cli('consume jobs --group workers --from-beginning --max-messages 2 --max-wait-ms 100');
    expect(first.code).toBe(0);
    expect(first.out).toBe('partition 0 offset 0 key (null) value a\npartition 0 offset 1 key (null) value b\n');
    expect(first.err).toContain('raftlog: group workers, generation 1: reading partition 0 of jobs');
    expect(cluster.coordinator.committed('workers', 'jobs', 0)).toBe(2);
    expect(cluster.coordinator.groups.get('workers')?.members.size).toBe(0);
    const second = await cli('consume jobs --group workers --max-messages 2 --max-wait-ms 100');
    expect(second.out).toBe('partition 0 offset 2 key (null) value c\npartition 0 offset 3 key (null) value d\n');
    expect(cluster.coordinator.committed('workers', 'jobs', 0)).toBe(4);
    const usage = await cli('consume jobs --group workers --partition 0');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('leave out --partition and --offset');
  });

  it('groups list and describe: state, generation, members with partitions, committed offsets and lag', async () => {
    cluster.createTopic('orders', 2);
    cluster.append('orders', 0, ['a', 'b', 'c'].map((v) => ({ key: null, value: Buffer.from(v) })));
    cluster.append('orders', 1, ['x'].map((v) => ({ key: null, value: Buffer.from(v) })));
    // A member that follows until interrupted.
    const abort = new AbortController();
    const x = cliIo(cluster, '', abort.signal);
    const following = main(['consume', 'orders', '--group', 'billing', '--from-beginning', '--max-wait-ms', '100'], x.io);
    await eventually(() => x.out.length === 4);
    await eventually(() => cluster.coordinator.committed('billing', 'orders', 0) === 3, 3000);
    cluster.append('orders', 0, [{ key: null, value: Buffer.from('late') }]);

    const listed = await cli('groups list');
    expect(listed.code).toBe(0);
    expect(lines(listed.out).map((l) => l.split(/\s+/))).toEqual([
      ['GROUP', 'STATE', 'MEMBERS'],
      ['billing', 'Stable', '1'],
    ]);
    const live = await cli('groups describe billing');
    expect(live.code).toBe(0);
    const out = lines(live.out);
    const memberId = cluster.coordinator.groups.get('billing')?.leader ?? '';
    expect(out[0]).toBe(`group billing: Stable, generation 1, assignor sticky, 1 member (leader ${memberId})`);
    expect(out[1].split(/\s{2,}/)).toEqual(['MEMBER', 'CLIENT', 'PARTITIONS']);
    expect(out[2].split(/\s{2,}/)).toEqual([memberId, 'raftlog-cli', 'orders: 0,1']);
    expect(out[3].split(/\s{2,}/)).toEqual(['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH WATERMARK', 'LAG', 'MEMBER']);
    // Partition 0 may or may not have committed the late record yet.
    expect(out[4]).toMatch(new RegExp(`^orders\\s+0\\s+(3\\s+4\\s+1|4\\s+4\\s+0)\\s+${memberId}$`));
    expect(out[5].split(/\s+/)).toEqual(['orders', '1', '1', '1', '0', memberId]);

    const refused = await cli('groups reset-offsets billing --topic orders --to-earliest');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("group 'billing' has active members");
    expect(refused.err).toContain('stop its consumers first');

    abort.abort();
    expect(await following).toBe(0);
    const empty = await cli('groups describe billing');
    expect(lines(empty.out)[0]).toBe('group billing: Empty, generation 2, assignor sticky, 0 members');
    expect(empty.out).toMatch(/orders\s+0\s+4\s+4\s+0\s+-/);
    expect(empty.out).toContain('total lag 0');
  });

  it('groups reset-offsets moves an empty group: earliest, latest, offset, datetime', async () => {
    cluster.createTopic('r', 2);
    cluster.append('r', 0, ['a', 'b', 'c'].map((v) => ({ key: null, value: Buffer.from(v), timestamp: 1_000 })));
    cluster.append('r', 0, [{ key: null, value: Buffer.from('d'), timestamp: 5_000 }]);
    cluster.append('r', 1, [{ key: null, value: Buffer.from('e'), timestamp: 2_000 }]);
    const latest = await cli('groups reset-offsets g --topic r --to-latest');
    expect(latest.code).toBe(0);
    expect(lines(latest.out)).toEqual(['group g: r moved to the latest offsets', 'PARTITION  BEFORE  AFTER', '0          -       4', '1          -       1']);
    const earliest = await cli('groups reset-offsets g --topic r --to-earliest');
    expect(lines(earliest.out).slice(2).map((l) => l.split(/\s+/))).toEqual([
      ['0', '4', '0'],
      ['1', '1', '0'],
    ]);
    const offset = await cli('groups reset-offsets g --topic r --to-offset 2');
    expect(lines(offset.out).slice(2).map((l) => l.split(/\s+/)[2])).toEqual(['2', '1']);
    const at = await cli('groups reset-offsets g --topic r --to-datetime 1970-01-01T00:00:03Z');
    // Partition 0: the first record at or after 3 s is offset 3; partition 1: none, so the end.
    expect(lines(at.out).slice(2).map((l) => l.split(/\s+/)[2])).toEqual(['3', '1']);
    expect(cluster.coordinator.committed('g', 'r', 0)).toBe(3);
    const two = await cli('groups reset-offsets g --topic r --to-earliest --to-latest');
    expect(two.code).toBe(2);
    expect(two.err).toContain('give exactly one of');
    const bad = await cli('groups reset-offsets g --topic r --to-datetime yesterday');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--to-datetime 'yesterday' is not a date and time");
  });

  it('groups describe and delete say what to do about a group that does not exist', async () => {
    const missing = await cli('groups describe nobody');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("group 'nobody' does not exist (raftlog groups list shows the groups there are)");
    const del = await cli('groups delete nobody');
    expect(del.code).toBe(1);
    expect(del.err).toContain("group 'nobody' does not exist");
    cluster.createTopic('d', 1);
    await cli('groups reset-offsets gone --topic d --to-earliest');
    expect(await cli('groups delete gone')).toEqual({ code: 0, out: 'deleted group gone\n', err: '' });
    expect(lines((await cli('groups list')).out)).toEqual(['GROUP  STATE  MEMBERS']);
  });
});
