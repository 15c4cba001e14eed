/**
 * Client quotas on a running 3-node cluster (issue 22 §3): `raftlog quotas set | list | remove`
 * round trip through the controller and the metadata, and a quota set there is enforced by the
 * partition's leader, whichever node that is: a producer over it is throttled (the node's
 * throttle metric) and every record it sent is acknowledged and read back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../../chaos/metrics-text.js';
import { runCli } from '../client/helpers.js';
import { leaderOf, readPartition, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster;
beforeAll(async () => {
  t = await startCluster(3);
  await t.client.admin().createTopics({ topics: [{ topic: 'q', numPartitions: 1, replicationFactor: 3 }] });
});
afterAll(async () => {
  await t.close();
});

/** The CLI in-process against the cluster, retrying as a user would while leaders settle. */
const cli = (args: string): ReturnType<typeof runCli> => runCli(t.cluster, args, '', { retry: { retries: 10, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });

/** A counter of a node's /metrics with these labels (0 when it has none). */
async function metric(node: string, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  const text = await (await fetch(`http://${t.cluster.node(node).address}/metrics`)).text();
  return metricValue(text, name, labels) ?? 0;
}

describe('raftlog quotas', () => {
  it('sets, lists and removes quotas through the controller', async () => {
    expect((await cli('quotas list')).out).toContain('no quotas');
    const alice = await cli('quotas set --user alice --produce-rate 1MB --fetch-rate 5MB');
    expect(alice).toMatchObject({ code: 0, out: 'quota of User:alice: produce 1 MB/s, fetch 5 MB/s (per node)\n' });
    expect((await cli('quotas set --default --produce-rate 200KB')).code).toBe(0);
    expect(JSON.parse((await cli('quotas list --json')).out)).toEqual([
      { entity: '<default>', producerByteRate: 200_000 },
      { entity: 'User:alice', producerByteRate: 1_000_000, consumerByteRate: 5_000_000 },
    ]);
    const text = (await cli('quotas list')).out.split('\n');
    expect(text[0]).toMatch(/^USER\s+PRODUCE RATE\s+FETCH RATE$/);
    expect(text[1]).toMatch(/^<default> \(every user without its own\)\s+200 KB\/s \(200000\)\s+-$/);
    expect(text[2]).toMatch(/^alice\s+1 MB\/s \(1000000\)\s+5 MB\/s \(5000000\)$/);

    // Removing one rate keeps the other; removing a rate not set changes nothing.
    expect((await cli('quotas remove --user alice --fetch')).out).toBe('removed the fetch rate of User:alice\n');
    expect((await cli('quotas remove --user alice --fetch')).code).toBe(0);
    expect(JSON.parse((await cli('quotas list --json')).out)).toEqual([
      { entity: '<default>', producerByteRate: 200_000 },
      { entity: 'User:alice', producerByteRate: 1_000_000 },
    ]);

    // Checked before anything is sent.
    const noEntity = await cli('quotas set --produce-rate 1MB');
    expect([noEntity.code, noEntity.err]).toEqual([2, expect.stringContaining('--user <name>, or --default')]);
    const badRate = await cli('quotas set --user alice --produce-rate 1XB');
    expect(badRate.code).not.toBe(0);
    expect(badRate.err).toContain("'1XB' is not a byte rate");
    expect((await cli('quotas set --user alice')).err).toContain('give --produce-rate, --fetch-rate or both');
  });

  it("is enforced by the partition's leader: a producer over the default's rate is throttled, and nothing it sent is lost", async () => {
    // This producer is ANONYMOUS: held to the default's rate.
    expect((await cli('quotas set --default --produce-rate 200KB')).code).toBe(0);
    const leader = await leaderOf(t, 'q/0');
    const before = await metric(leader, 'raftlog_quota_throttle_seconds_total', { principal: '<others>', direction: 'produce' });
    const producer = t.client.producer({ idempotent: true });
    const sent: string[] = [];
    // 1 MB in sends of 100 KB, one after the other.
    for (let i = 0; i < 10; i++) {
      const messages = Array.from({ length: 10 }, (_, r) => ({ value: `${i}:${r}:`.padEnd(10_000, 'x') }));
      await producer.send({ topic: 'q', acks: 'all', messages });
      sent.push(...messages.map((m) => m.value));
    }
    await producer.disconnect();
    // 1 MB at 200 KB/s is 5 s, less the first second's worth: about 4 s of throttle on that node.
    const throttled = (await metric(leader, 'raftlog_quota_throttle_seconds_total', { principal: '<others>', direction: 'produce' })) - before;
    expect(throttled).toBeGreaterThan(3);
    const read = await readPartition(t.client, 'q', 0);
    expect(read.map((m) => Buffer.from(m.value!).toString())).toEqual(sent);

    expect((await cli('quotas remove --default')).code).toBe(0);
    expect(JSON.parse((await cli('quotas list --json')).out)).toEqual([{ entity: 'User:alice', producerByteRate: 1_000_000 }]);
  }, 60_000);
});
