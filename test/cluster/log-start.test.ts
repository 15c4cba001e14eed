import { afterEach, describe, expect, it } from 'vitest';
import { eventually, groupOn, leaderOf, readPartition, startCluster, type TestCluster } from './helpers.js';
import { rawRequest } from './raw.js';

describe('log start moved: followers behind the leader\'s log start', () => {
  let t: TestCluster | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('a follower that needs entries retention dropped gets the log start, catches up, and serves correctly as leader', async () => {
    t = await startCluster(3, ['--retention-check-ms', '200']);
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'short', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'segment.bytes', value: String(64 * 1024) }, { name: 'retention.bytes', value: String(128 * 1024) }] }] });
    const leader = await leaderOf(t, 'short/0');
    const follower = t.cluster.nodes.find((n) => n.id !== leader)!.id;
    await t.cluster.kill(follower);
    const producer = t.client.producer();
    const values: string[] = [];
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 100 }, (_, k) => `r${i * 100 + k}-${'x'.repeat(1000)}`);
      values.push(...batch);
      await producer.send({ topic: 'short', messages: batch.map((v) => ({ value: v, partition: 0 })) });
    }
    await producer.disconnect();
    // Retention on the leader drops whole segments from the front.
    await eventually(async () => ((await groupOn(t!, leader, 'short/0'))?.logStartOffset ?? 0) > 0, 10_000, 'retention on the leader');
    const start = (await groupOn(t, leader, 'short/0'))!.logStartOffset!;
    await t.cluster.restart(follower);
    await eventually(
      async () => {
        const f = await groupOn(t!, follower, 'short/0');
        return f !== undefined && f.highWatermark === values.length && (f.logStartOffset ?? 0) >= start;
      },
      20_000,
      `${follower} to take the log start and catch up`,
    );
    // The follower never had the entries before the log start, and does not pretend to.
    const f = (await groupOn(t, follower, 'short/0'))!;
    expect(f.logStartOffset).toBeGreaterThan(0);
    // Lead from the follower and read everything it holds: offsets and values line up.
    await t.client.admin().transferLeadership({ topic: 'short', partition: 0, to: follower });
    await eventually(async () => (await leaderOf(t!, 'short/0')) === follower, 10_000, `${follower} to lead`);
    const read = await readPartition(t.client, 'short', 0);
    expect(read.length).toBeGreaterThan(0);
    expect(Number(read[read.length - 1]!.offset)).toBe(values.length - 1);
    for (const m of read) expect(m.value!.toString()).toBe(values[Number(m.offset)]);
    await admin.disconnect();
  });

  it('a node that missed compacted metadata installs the metadata snapshot and knows every topic', async () => {
    t = await startCluster(3, ['--meta-snapshot-every', '20', '--meta-segment-bytes', '4096']);
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'first', numPartitions: 1, replicationFactor: 3 }] });
    const controller = await leaderOf(t, 'meta');
    const absent = t.cluster.nodes.find((n) => n.id !== controller)!.id;
    await t.cluster.kill(absent);
    const names = Array.from({ length: 60 }, (_, i) => `topic-${i}`);
    for (const name of names) await admin.createTopics({ topics: [{ topic: name, numPartitions: 1, replicationFactor: 2 }] });
    await admin.deleteTopics({ topics: ['first'] });
    // The controller compacted its metadata log past what the absent node has.
    await eventually(async () => ((await groupOn(t!, controller, 'meta'))?.firstIndex ?? 1) > 10, 10_000, 'metadata log compaction');
    await t.cluster.restart(absent);
    const address = t.cluster.node(absent).address;
    await eventually(
      async () => {
        const md = (await rawRequest(address, { type: 'metadata' })) as unknown as { topics?: { name: string }[] };
        // A node that has not opened its metadata yet refuses (LEADER_NOT_AVAILABLE): ask again.
        if (md.topics === undefined) return false;
        const known = new Set(md.topics.map((x) => x.name));
        return names.every((n) => known.has(n)) && !known.has('first');
      },
      20_000,
      `${absent} to learn all 60 topics`,
    );
    const meta = (await groupOn(t, absent, 'meta'))!;
    expect(meta.firstIndex).toBeGreaterThan(1);
    await admin.disconnect();
  });
});
