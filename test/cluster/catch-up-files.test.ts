/**
 * Catch-up by files on a running cluster (issue 20 §4, DESIGN.md §9): a replica added to a
 * partition that already holds many segments, more than its leader's tail cache, is sent the
 * partition's log as files (throttled by --recovery-bytes-per-sec) instead of entry by entry; it
 * becomes a voter, takes over as the preferred leader, and every record reads back from it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, groupOn, leaderOf, readPartition, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** Records of this many bytes, this many per request: 12 MiB in all, beyond a partition's 8 MiB tail cache. */
const VALUE_BYTES = 1024;
const PER_SEND = 256;
const SENDS = 48;

describe('a replica added to a partition with many segments', () => {
  it('catches up by files, becomes a voter, leads, and serves every record', async () => {
    t = await startCluster(4, ['--recovery-bytes-per-sec', String(8 * 1024 * 1024)]);
    const topic = 'cu';
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'segment.bytes', value: String(1024 * 1024) }] }] });
    const leader = await leaderOf(t, `${topic}/0`);
    const before = (await groupOn(t, leader, `${topic}/0`))!.voters!;
    const spare = t.cluster.nodes.map((n) => n.id).find((id) => !before.includes(id))!;
    const producer = t.client.producer({ idempotent: true });
    let n = 0;
    for (let s = 0; s < SENDS; s++) {
      await producer.send({ topic, acks: 'all', messages: Array.from({ length: PER_SEND }, () => ({ value: `${String(n++).padStart(8, '0')}`.padEnd(VALUE_BYTES, '.') })) });
    }
    await producer.disconnect();
    const sentBefore = (await t.cluster.status(leader)).recovery!.sendsFinished;

    // The new replica first, as the preferred leader; the old leader leaves.
    const target = [spare, ...before.filter((id) => id !== leader)];
    await admin.reassignPartitions([{ topic, partition: 0, replicas: target }]);
    await eventually(
      async () => {
        const g = await groupOn(t!, spare, `${topic}/0`).catch(() => undefined);
        return g?.role === 'leader' && g.membershipCommitted === true && [...(g.voters ?? [])].sort().join(',') === [...target].sort().join(',');
      },
      60_000,
      `${spare} to lead ${topic}/0 with voters ${target.join(',')}`,
    );

    const sent = (await t.cluster.status(leader)).recovery!;
    const got = (await t.cluster.status(spare)).recovery!;
    expect(sent.sendsFinished).toBeGreaterThan(sentBefore);
    expect(sent.bytesSent).toBeGreaterThan(SENDS * PER_SEND * VALUE_BYTES * 0.9);
    expect(got.installs).toBeGreaterThanOrEqual(1);
    expect(got.bytesReceived).toBe(sent.bytesSent);
    const metrics = await (await fetch(`http://${t.cluster.node(spare).address}/metrics`)).text();
    expect(metrics).toMatch(/raftlog_recovery_received_bytes\{node="[^"]+"\} [1-9]/);

    const values = (await readPartition(t.client, topic, 0, 60_000)).map((m) => m.value!.toString().slice(0, 8));
    expect(values).toEqual(Array.from({ length: n }, (_, k) => String(k).padStart(8, '0')));
    await admin.disconnect();
  }, 120_000);
});
