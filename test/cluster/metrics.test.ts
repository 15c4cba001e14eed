/**
 * The metrics operators alert on (src/node/metrics.ts, README "Monitoring"), on a running 3-node
 * cluster with Kafka listeners: each partition's offsets as the CLI gives them, a follower killed
 * and restarted as its leader reports it (under-replicated, in-sync replicas, the follower's lag),
 * a consumer group's committed offsets as lag, and the node's connections, requests and metadata
 * group. Every wait polls /metrics until it shows what is expected, within a bound.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetricsText, samplesOf, type MetricSample } from '../../chaos/metrics-text.js';
import { runCli } from '../client/helpers.js';
import { eventually, leaderOf, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster;
beforeAll(async () => {
  t = await startCluster(3, ['--retention-check-ms', '200'], 'chaos', { kafka: true });
});
afterAll(async () => {
  await t?.close();
});

async function scrape(node: string): Promise<MetricSample[]> {
  return parseMetricsText((await t.cluster.httpGet(t.cluster.node(node), '/metrics', 5000)).body);
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when there is none. */
function value(samples: readonly MetricSample[], name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const found = samplesOf(samples, name, labels);
  expect(found.length, `${name}${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

async function metric(node: string, name: string, labels: Readonly<Record<string, string>> = {}): Promise<number | undefined> {
  return value(await scrape(node), name, labels);
}

/** The CLI in-process against the cluster, retrying as a user would while leaders settle. */
const cli = (args: string): ReturnType<typeof runCli> => runCli(t.cluster, args, '', { retry: { retries: 10, initialRetryTimeMs: 50, maxRetryTimeMs: 500 } });

async function produce(topic: string, n: number, size = 10): Promise<void> {
  const producer = t.client.producer();
  try {
    for (let i = 0; i < n; i += 100) {
      await producer.send({ topic, acks: 'all', messages: Array.from({ length: Math.min(100, n - i) }, (_, k) => ({ value: `${i + k}-${'x'.repeat(size)}`, partition: 0 })) });
    }
  } finally {
    await producer.disconnect();
  }
}

async function createTopic(topic: string, configEntries: { name: string; value: string }[] = []): Promise<void> {
  const admin = t.client.admin();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3, configEntries }] });
  await admin.disconnect();
}


/** What `node`'s /status says of the partition named `name` ('isr/0') that it leads: its in-sync replicas, and whether it is under-replicated. */
async function inSyncOnStatus(node: string, name: string): Promise<{ inSync?: readonly string[]; underReplicated?: boolean }> {
  const g = (await t.cluster.status(node)).groups.find((x) => x.group.startsWith(`${name} `));
  return { inSync: g?.inSync === undefined ? undefined : [g.inSync[0]!, ...[...g.inSync.slice(1)].sort()], underReplicated: g?.underReplicated };
}

describe('per-partition metrics', () => {
  it("the leader's high watermark, log end and log start are the CLI's, every replica reports its own, and one of them leads", async () => {
    // Small segments and retention, so that the log start has moved past 0.
    await createTopic('offsets', [
      { name: 'segment.bytes', value: String(64 * 1024) },
      { name: 'retention.bytes', value: String(128 * 1024) },
    ]);
    await produce('offsets', 600, 1000);
    const leader = await leaderOf(t, 'offsets/0');
    await eventually(async () => ((await metric(leader, 'raftlog_partition_log_start_offset', { topic: 'offsets', partition: '0' })) ?? 0) > 0, 10_000, 'retention to move the log start');

    const described = JSON.parse((await cli('topics describe offsets --json')).out) as { partitions: { leader: string; highWatermark: string; logStartOffset: string }[] }[];
    const p = described[0]!.partitions[0]!;
    expect(p.highWatermark).toBe('600');
    const labels = { topic: 'offsets', partition: '0' };
    const s = await scrape(p.leader);
    expect(value(s, 'raftlog_partition_high_watermark', labels)).toBe(Number(p.highWatermark));
    expect(value(s, 'raftlog_partition_log_end_offset', labels)).toBe(Number(p.highWatermark));
    expect(value(s, 'raftlog_partition_log_start_offset', labels)).toBe(Number(p.logStartOffset));
    expect(value(s, 'raftlog_partition_bytes', labels)).toBeGreaterThan(0);
    expect(value(s, 'raftlog_partition_stopped', labels)).toBe(0);

    // Every replica reports the partition; the followers' high watermarks reach the leader's.
    const leaders: number[] = [];
    for (const n of t.cluster.nodes) {
      await eventually(async () => (await metric(n.id, 'raftlog_partition_high_watermark', labels)) === 600, 10_000, `${n.id}'s replica to apply every record`);
      leaders.push((await metric(n.id, 'raftlog_partition_leader', labels))!);
    }
    expect(leaders.sort()).toEqual([0, 0, 1]);
    expect(await metric(p.leader, 'raftlog_partition_leader', labels)).toBe(1);
  });

  it('a follower killed: its leader reports the partition under-replicated and the follower falling behind; restarted, both go back to 0', async () => {
    await createTopic('isr');
    await produce('isr', 100);
    const labels = { topic: 'isr', partition: '0' };
    const leader = await leaderOf(t, 'isr/0');
    const follower = t.cluster.nodes.find((n) => n.id !== leader)!.id;
    await eventually(async () => (await metric(leader, 'raftlog_partition_in_sync_replicas', labels)) === 3, 15_000, 'three replicas in sync');
    expect(await metric(leader, 'raftlog_partition_under_replicated', labels)).toBe(0);
    expect(await metric(leader, 'raftlog_partition_replica_lag_records', { ...labels, replica: follower })).toBe(0);

    // The leader's /status says the same (what the console shows).
    expect(await inSyncOnStatus(leader, 'isr/0')).toEqual({ inSync: [leader, ...t.cluster.nodes.map((n) => n.id).filter((id) => id !== leader).sort()], underReplicated: false });

    await t.cluster.kill(follower);
    await eventually(async () => (await metric(leader, 'raftlog_partition_under_replicated', labels)) === 1, 10_000, 'the partition to be under-replicated');
    expect(await metric(leader, 'raftlog_partition_in_sync_replicas', labels)).toBe(2);
    expect(await inSyncOnStatus(leader, 'isr/0')).toEqual({ inSync: [leader, t.cluster.nodes.find((n) => n.id !== leader && n.id !== follower)!.id], underReplicated: true });
    await produce('isr', 300);
    await eventually(async () => ((await metric(leader, 'raftlog_partition_replica_lag_records', { ...labels, replica: follower })) ?? 0) >= 300, 10_000, `${follower}'s lag to grow by the records written while it is down`);
    // The follower that stayed is in sync, and holds everything.
    const other = t.cluster.nodes.find((n) => n.id !== leader && n.id !== follower)!.id;
    expect(await metric(leader, 'raftlog_partition_replica_lag_records', { ...labels, replica: other })).toBe(0);

    await t.cluster.restart(follower);
    await eventually(
      async () => {
        const s = await scrape(leader);
        return value(s, 'raftlog_partition_under_replicated', labels) === 0 && value(s, 'raftlog_partition_replica_lag_records', { ...labels, replica: follower }) === 0;
      },
      20_000,
      `${follower} to catch up and be in sync again`,
    );
    expect(await metric(leader, 'raftlog_partition_in_sync_replicas', labels)).toBe(3);
    expect((await inSyncOnStatus(leader, 'isr/0')).underReplicated).toBe(false);
  });
});

describe('consumer-group lag', () => {
  it("a group's committed offsets show as lag in records and seconds on the partition's leader, and 0 once it is at the end", async () => {
    await createTopic('lag');
    await produce('lag', 50);
    const admin = t.client.admin();
    await admin.resetOffsets({ groupId: 'behind', topic: 'lag', to: { offset: '20' } });
    const labels = { group: 'behind', topic: 'lag', partition: '0' };
    const leader = await leaderOf(t, 'lag/0');
    await eventually(async () => (await metric(leader, 'raftlog_consumer_group_lag_records', labels)) === 30, 10_000, 'the lag of 30 records');
    // The record at offset 20 was written before this scrape: its age is more than 0.
    expect(await metric(leader, 'raftlog_consumer_group_lag_seconds', labels)).toBeGreaterThan(0);
    // The pair is exported once in the cluster: by the partition's leader.
    for (const n of t.cluster.nodes) if (n.id !== leader) expect(await metric(n.id, 'raftlog_consumer_group_lag_records', labels)).toBeUndefined();

    await admin.resetOffsets({ groupId: 'behind', topic: 'lag', to: 'latest' });
    await eventually(async () => (await metric(leader, 'raftlog_consumer_group_lag_records', labels)) === 0, 10_000, 'the lag to be 0');
    expect(await metric(leader, 'raftlog_consumer_group_lag_seconds', labels)).toBe(0);
    expect(await metric(leader, 'raftlog_consumer_group_lag_omitted', { lag: 'records' })).toBe(0);
    await admin.disconnect();
  });
});

describe('per-node metrics', () => {
  it('connections by listener, Kafka requests by api, the metadata leader and term, event-loop delay, fsync time', async () => {
    const kafka = new Kafka({ clientId: 'metrics-test', brokers: [t.cluster.nodes[0]!.kafka!], logLevel: logLevel.NOTHING });
    const kadmin = kafka.admin();
    await kadmin.connect();
    try {
      await kadmin.fetchTopicOffsets('lag');
      const n1 = t.cluster.nodes[0]!.id;
      const s = await scrape(n1);
      expect(value(s, 'raftlog_connections', { listener: 'peer' })).toBe(2);
      expect(value(s, 'raftlog_connections', { listener: 'kafka' })).toBeGreaterThanOrEqual(1);
      // This scrape's own connection.
      expect(value(s, 'raftlog_connections', { listener: 'http' })).toBeGreaterThanOrEqual(1);
      expect(value(s, 'raftlog_connections', { listener: 'client' })).toBeDefined();
      expect(value(s, 'raftlog_requests_total', { type: 'kafka.ApiVersions', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
      expect(value(s, 'raftlog_requests_total', { type: 'kafka.Metadata', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
      expect(value(s, 'raftlog_request_seconds_count', { type: 'kafka.Metadata' })).toBeGreaterThanOrEqual(1);
      // The runtime's event-loop delay, on the node's own registry (with its node label), and the fsync rounds.
      expect(value(s, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
      expect(value(s, 'raftlog_log_sync_seconds_count')).toBeGreaterThan(0);
      // What the node wrote and synced by kind of file: the logs were written and synced, and so was the ledger of their marks.
      expect(value(s, 'raftlog_disk_written_bytes', { file: 'segment' })).toBeGreaterThan(0);
      expect(value(s, 'raftlog_disk_syncs', { file: 'segment' })).toBeGreaterThan(0);
      expect(value(s, 'raftlog_disk_written_bytes', { file: 'sync-ledger' })).toBeGreaterThan(0);
      expect(value(s, 'raftlog_disk_written_bytes', { file: 'hard-state' })).toBeGreaterThan(0);
      expect(value(s, 'raftlog_recovery_sent_bytes')).toBeDefined();
      expect(value(s, 'raftlog_recovery_received_bytes')).toBeDefined();
      expect(value(s, 'raftlog_groups_stopped')).toBe(0);
    } finally {
      await kadmin.disconnect();
    }

    // One node leads the metadata group, and every node knows the same term.
    const controller = await leaderOf(t, 'meta');
    await eventually(
      async () => {
        const all = await Promise.all(t.cluster.nodes.map((n) => scrape(n.id)));
        const leaders = all.map((s) => value(s, 'raftlog_meta_leader'));
        const terms = new Set(all.map((s) => value(s, 'raftlog_meta_term')));
        return leaders.filter((v) => v === 1).length === 1 && leaders[t.cluster.nodes.findIndex((n) => n.id === controller)] === 1 && terms.size === 1;
      },
      10_000,
      'one metadata leader and one term',
    );
  });
});
