import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../chaos/cluster.js';
import type { RecordMetadata } from '../../src/client/index.js';
import { eventually, readPartition, startCluster, type TestCluster } from './helpers.js';

/** The partition's leader as metadata reports it, waiting until one is known. */
async function leaderOf(t: TestCluster, topic: string, partition: number): Promise<string> {
  const admin = t.client.admin();
  let leader: string | null = null;
  try {
    await eventually(
      async () => {
        const { topics } = await admin.describeTopics({ topics: [topic] });
        leader = topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader ?? null;
        return leader !== null;
      },
      10_000,
      `a leader for ${topic}/${partition}`,
    );
  } finally {
    await admin.disconnect();
  }
  return leader!;
}

describe('failover', () => {
  let t: TestCluster;
  beforeAll(async () => {
    t = await startCluster(3);
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'events', numPartitions: 1, replicationFactor: 3 }] });
    await admin.disconnect();
  });
  afterAll(async () => t?.close());

  it('SIGKILL of the leader mid-produce: a new leader takes over without help, producers carry on, and every acknowledged record is there exactly once, in order', async () => {
    const victim = await leaderOf(t, 'events', 0);
    // Three producers send one record at a time, each waiting for its acknowledgement.
    const acked: { producer: number; seq: number; meta: RecordMetadata }[] = [];
    let killed = false;
    let stop = false;
    const producers = [0, 1, 2].map(async (id) => {
      const p = t.client.producer({ lingerMs: 0 });
      for (let seq = 0; !stop; seq++) {
        const [meta] = await p.send({ topic: 'events', messages: [{ key: `p${id}`, value: `${id}-${seq}`, partition: 0 }] });
        acked.push({ producer: id, seq, meta: meta! });
      }
      await p.disconnect();
    });
    await eventually(() => acked.length >= 150, 20_000, '150 acknowledged records before the kill');
    await t.cluster.kill(victim);
    killed = true;
    const atKill = acked.length;
    await eventually(() => acked.length >= atKill + 150, 20_000, '150 more acknowledged records after the kill');
    stop = true;
    await Promise.all(producers);
    expect(killed).toBe(true);
    expect(await leaderOf(t, 'events', 0)).not.toBe(victim);

    const log = await readPartition(t.client, 'events', 0);
    const values = log.map((m) => m.value!.toString());
    // Exactly once: no value twice in the log, every acknowledged value at its acknowledged offset.
    expect(new Set(values).size).toBe(values.length);
    for (const a of acked) expect(values[Number(a.meta.offset)]).toBe(`${a.producer}-${a.seq}`);
    // In order: each producer's records appear in the order it sent them.
    for (const id of [0, 1, 2]) {
      const seqs = values.filter((v) => v.startsWith(`${id}-`)).map((v) => Number(v.split('-')[1]));
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    }
    await t.cluster.restart(victim);
  });

  it('a follower that was down while records were written catches up when it returns', async () => {
    const leader = await leaderOf(t, 'events', 0);
    const follower = t.cluster.nodes.map((n) => n.id).find((id) => id !== leader)!;
    await t.cluster.kill(follower);
    const producer = t.client.producer();
    const acks = await producer.send({ topic: 'events', messages: Array.from({ length: 200 }, (_, i) => ({ value: `while ${follower} was down ${i}`, partition: 0 })) });
    await producer.disconnect();
    const last = Number(acks[acks.length - 1]!.offset);
    await t.cluster.restart(follower);
    // The follower's replica reaches the leader's high watermark and commit index.
    await eventually(
      async () => {
        const fs = await t.cluster.status(follower);
        const ls = await t.cluster.status(leader);
        const f = fs.groups.find((g) => g.group.startsWith('events/0'));
        const l = ls.groups.find((g) => g.group.startsWith('events/0'));
        return f !== undefined && l !== undefined && f.highWatermark === last + 1 && f.commit === l.commit;
      },
      20_000,
      `${follower} to catch up to offset ${last + 1}`,
    );
    // And it can serve as leader with everything: make it the only way to read.
    await t.cluster.kill(leader);
    await sleep(100);
    const log = await readPartition(t.client, 'events', 0);
    expect(log[last]?.value?.toString()).toBe(`while ${follower} was down 199`);
    await t.cluster.restart(leader);
  });
});
