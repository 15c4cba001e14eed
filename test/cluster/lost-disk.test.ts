/**
 * Nodes whose data folder lost what they acknowledged (issue 18 items 1, 3 and 8): the replica
 * comes back as a learner, does not vote or count until it has caught up, and the cluster loses
 * no acknowledged record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../../chaos/cluster.js';
import { partitionDirs } from '../../chaos/disk.js';
import { eventually, groupOn, leaderOf, readPartition, startCluster, type TestCluster } from './helpers.js';
import { rawRequest } from './raw.js';

let t: TestCluster | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Every node's status shows no replica rejoining any more. */
async function noneRejoining(tc: TestCluster): Promise<boolean> {
  for (const n of tc.cluster.nodes) {
    const s = await tc.cluster.status(n.id).catch(() => null);
    if (s === null || s.groups.some((g) => g.rejoining !== undefined)) return false;
  }
  return true;
}

/**
 * A 3-node cluster with one partition of `topic` whose leader is a; 'before' is written on all
 * three, then, with b paused, 'committed on a and c' is acknowledged by a and c only.
 */
async function ackedWhileBLags(topic: string): Promise<{ tc: TestCluster; a: string; b: string; c: string; acked: { offset: string } }> {
  const tc = await startCluster(3);
  await tc.client.admin().createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
  const a = await leaderOf(tc, `${topic}/0`);
  const [b, c] = tc.cluster.nodes.map((n) => n.id).filter((id) => id !== a) as [string, string];
  const producer = tc.client.producer();
  await producer.send({ topic, messages: [{ value: 'before' }] });
  tc.cluster.pause(b);
  const [acked] = await producer.send({ topic, messages: [{ value: 'committed on a and c' }] });
  await producer.disconnect();
  return { tc, a, b, c, acked: acked! };
}

describe('a node whose data folder lost what it acknowledged', () => {
  it('an entry committed on a and c survives when c comes back empty and a dies: the lagging b is not elected with c\'s vote', async () => {
    // b lags: the record is committed (and acknowledged) on a and c only.
    const { tc, a, b, c, acked } = await ackedWhileBLags('e');
    t = tc;

    // c's disk is lost: it comes back with an empty folder under its old id.
    await t.cluster.kill(c);
    fs.rmSync(t.cluster.node(c).dataDir, { recursive: true, force: true });
    await t.cluster.restart(c);

    // a dies, b comes back: b and the new c are a majority, but c must not vote as the old c did
    // (neither in the metadata group, which would let it learn of the partition, nor in it).
    await t.cluster.kill(a);
    t.cluster.resume(b);
    await sleep(4000);
    const onB = await groupOn(t, b, 'e/0');
    expect(onB?.role).not.toBe('leader');

    // a returns with the record, leads, and c is caught up and promoted.
    await t.cluster.restart(a);
    const values = (await readPartition(t.client, 'e', 0, 30_000)).map((m) => m.value?.toString());
    expect(values).toEqual(['before', 'committed on a and c']);
    expect(acked.offset).toBe('1');
    await eventually(() => noneRejoining(t!), 30_000, 'every replica promoted');
  });

  it('after its metadata log was corrupted and its folder removed, as the error advises, the node serves no empty metadata and catches up', async () => {
    t = await startCluster(3);
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'm', numPartitions: 2, replicationFactor: 3 }] });
    const producer = t.client.producer();
    await producer.send({ topic: 'm', messages: [{ key: 'k', value: 'v' }] });
    await producer.disconnect();
    const n3 = t.cluster.node('n3');
    await t.cluster.kill('n3');
    fs.rmSync(n3.dataDir, { recursive: true, force: true });
    await t.cluster.restart('n3');
    // Until n3 has caught up, it refuses metadata requests rather than answer with no topics.
    await eventually(
      async () => {
        const md = (await rawRequest(n3.address, { type: 'metadata' })) as unknown as { topics?: { name: string }[]; error?: { code: string } };
        if (md.topics === undefined) {
          expect(md.error?.code).toBe('LEADER_NOT_AVAILABLE');
          return false;
        }
        expect(md.topics.map((x) => x.name)).toEqual(['m']);
        return true;
      },
      20_000,
      'n3 to answer metadata with the topic',
    );
    await eventually(() => noneRejoining(t!), 30_000, 'every replica promoted');
    const meta = await groupOn(t, 'n3', 'meta');
    expect(meta?.role).toBe('follower');
    expect(partitionDirs(n3.dataDir).map((p) => p.key).sort()).toEqual(['m/0', 'm/1']);
    await admin.disconnect();
  });

  it('a bit flipped in an already-synced frame of a stopped replica that acknowledged it: it rejoins, and the record survives its leader dying', async () => {
    const { tc, a, b, c } = await ackedWhileBLags('f');
    t = tc;
    await sleep(300);
    // c stops; a bit of the record's frame flips on its disk (the frame was synced and acknowledged).
    await t.cluster.kill(c);
    const [dir] = partitionDirs(t.cluster.node(c).dataDir);
    const seg = dir!.segments[dir!.segments.length - 1]!;
    const bytes = fs.readFileSync(seg);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x10;
    fs.writeFileSync(seg, bytes);
    await t.cluster.kill(a);
    await t.cluster.restart(c);
    t.cluster.resume(b);
    await sleep(4000);
    // Recovery used to cut the frame as a torn write, and b and c elected one of themselves without it.
    for (const id of [b, c]) expect((await groupOn(t, id, 'f/0'))?.role).not.toBe('leader');
    expect(fs.readFileSync(t.cluster.node(c).logFile, 'utf8')).toMatch(/partition f\/0: this replica is damaged: its log ends at index \d+ \(term \d+\) but had been synced up to index/);
    await t.cluster.restart(a);
    const values = (await readPartition(t.client, 'f', 0, 30_000)).map((m) => m.value?.toString());
    expect(values).toEqual(['before', 'committed on a and c']);
    await eventually(() => noneRejoining(t!), 30_000, 'every replica promoted');
  });

  it('four bytes flipped in the middle of a stopped node\'s metadata log: it starts, rejoins its metadata group and catches up', async () => {
    t = await startCluster(3);
    const admin = t.client.admin();
    for (let i = 0; i < 5; i++) await admin.createTopics({ topics: [{ topic: `meta-${i}`, numPartitions: 1, replicationFactor: 3 }] });
    const n3 = t.cluster.node('n3');
    await t.cluster.kill('n3');
    const logDir = path.join(n3.dataDir, 'meta', 'log');
    const seg = path.join(logDir, fs.readdirSync(logDir).filter((f) => f.endsWith('.log')).sort()[0]!);
    const bytes = fs.readFileSync(seg);
    const mid = Math.floor(bytes.length / 2);
    for (let k = 0; k < 4; k++) bytes[mid + k] = bytes[mid + k]! ^ 0xff;
    fs.writeFileSync(seg, bytes);
    await t.cluster.restart('n3');
    await eventually(async () => (await groupOn(t!, 'n3', 'meta'))?.rejoining === undefined && (await noneRejoining(t!)), 30_000, 'n3 promoted in every group');
    const md = (await rawRequest(n3.address, { type: 'metadata' })) as unknown as { topics: { name: string }[] };
    expect(md.topics.map((x) => x.name).sort()).toEqual(['meta-0', 'meta-1', 'meta-2', 'meta-3', 'meta-4']);
    expect(n3.exit).toBeNull();
    await admin.disconnect();
  });
});
