/**
 * The CLI against a real cluster (two node processes), for what the server decides (issue 23 §3):
 * a topic's config changed while it runs, partitions added and opened on their nodes, the
 * default replication factor, a group with only committed offsets listed, and what is said of a
 * topic or group that does not exist.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/program.js';
import { RaftlogError } from '../../src/client/index.js';
import { eventually, startCluster, type TestCluster } from '../cluster/helpers.js';

let t: TestCluster;
beforeAll(async () => {
  // Retention runs often, so that a config change is seen to apply within the test.
  t = await startCluster(2, ['--retention-check-ms', '200']);
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function cli(args: readonly string[] | string, stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const argv = typeof args === 'string' ? args.split(' ').filter((a) => a.length > 0) : args;
  const code = await main(argv, {
    out: (s) => void out.push(s),
    err: (s) => void err.push(s),
    stdin: Readable.from([stdin]),
    env: { RAFTLOG_BROKERS: t.cluster.brokers.join(',') },
    clientOptions: { retry: { retries: 10, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 } },
  });
  return { code, out: out.join(''), err: err.join('') };
}

interface Described {
  readonly name: string;
  readonly replicationFactor: number;
  readonly config: Record<string, number>;
  readonly partitions: { partition: number; leader: string | null; replicas: string[]; highWatermark: string | null; logStartOffset: string | null }[];
}

async function describeTopic(name: string): Promise<Described> {
  const r = await cli(`topics describe ${name} --json`);
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as Described[])[0]!;
}

describe('raftlog CLI against a cluster', () => {
  it('creates a topic with the cluster\'s replication factor when none is given (min(3, nodes))', async () => {
    const r = await cli('topics create plain --partitions 2');
    expect(r).toEqual({ code: 0, out: 'created topic plain (2 partitions, replication factor 2)\n', err: '' });
    expect((await describeTopic('plain')).replicationFactor).toBe(2);
  });

  it('topics alter-config changes a running topic: segment size, retention and the largest record apply at once', async () => {
    expect((await cli('topics create cfg --replication-factor 2')).code).toBe(0);
    const set = await cli('topics alter-config cfg --set segment.bytes=65536 --set max.message.bytes=200000');
    expect(set).toEqual({ code: 0, out: 'topic cfg: segment.bytes 67108864 -> 65536, max.message.bytes 1048576 -> 200000\n', err: '' });
    // Records of 100 KB: each fills a 64 KiB segment, so the log rolls after each one.
    const producer = t.client.producer();
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'cfg', messages: [{ value: Buffer.alloc(100_000, i) }] });
    expect((await describeTopic('cfg')).partitions[0]!.logStartOffset).toBe('0');
    expect((await cli('topics alter-config cfg --set retention.ms=1')).code).toBe(0);
    // Retention drops the sealed segments; the active one stays.
    await eventually(async () => Number((await describeTopic('cfg')).partitions[0]!.logStartOffset) > 0, 20_000, 'retention to drop segments after retention.ms changed');
    // The largest record accepted is the new one.
    expect((await cli('topics alter-config cfg --set max.message.bytes=1024')).code).toBe(0);
    const refused = await producer.send({ topic: 'cfg', messages: [{ value: Buffer.alloc(2000) }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RaftlogError);
    expect((refused as RaftlogError).code).toBe('RECORD_TOO_LARGE');
    await producer.disconnect();
    const back = await cli('topics alter-config cfg --delete retention.ms --json');
    expect(JSON.parse(back.out)).toMatchObject({ topic: 'cfg', previous: { 'retention.ms': 1 }, config: { 'retention.ms': 7 * 24 * 3600 * 1000, 'segment.bytes': 65536, 'max.message.bytes': 1024 } });
    expect((await describeTopic('cfg')).config['retention.ms']).toBe(7 * 24 * 3600 * 1000);
    const unknown = await cli('topics alter-config cfg --set colour=blue');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("'colour' is no topic config");
    const missing = await cli('topics alter-config nosuch --set retention.ms=1');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("topic 'nosuch' does not exist");
  });

  it('topics add-partitions grows a topic; the new partitions open on their nodes and take records; keyed producers are warned', async () => {
    expect((await cli('topics create grow --partitions 1 --replication-factor 2')).code).toBe(0);
    const r = await cli('topics add-partitions grow --num 2');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe('topic grow: 1 -> 3 partitions');
    expect(r.err).toContain('keyed producers take note: a key now hashes over 3 partitions instead of 1');
    await eventually(async () => (await describeTopic('grow')).partitions.every((p) => p.leader !== null), 20_000, 'the new partitions to elect leaders');
    const grown = await describeTopic('grow');
    expect(grown.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(grown.partitions.every((p) => p.replicas.length === 2)).toBe(true);
    // Each node holds the new partitions' replicas it was given.
    for (const n of t.cluster.nodes) {
      const groups = (await t.cluster.status(n.id)).groups.map((g) => g.group.split(' ')[0]);
      expect(groups).toEqual(expect.arrayContaining(['grow/1', 'grow/2']));
    }
    const produced = await cli('produce grow --partition 2', 'new\n');
    expect(produced.out).toBe('partition 2 offset 0\n');
    const read = await cli('consume grow --partition 2 --from-beginning');
    expect(read.out).toBe('partition 2 offset 0 key (null) value new\n');
    const shrink = await cli('topics add-partitions grow --total 2');
    expect(shrink.code).toBe(2);
    expect(shrink.err).toContain('a topic can only grow');
    expect(JSON.parse((await cli('topics add-partitions grow --total 4 --json')).out)).toMatchObject({ topic: 'grow', previous: 3, partitions: 4 });
  });

  it('an offset past the end is OFFSET_OUT_OF_RANGE with the valid range', async () => {
    expect((await cli('topics create ends --replication-factor 2')).code).toBe(0);
    await cli('produce ends', 'a\nb\n');
    const r = await cli('consume ends --partition 0 --offset 9');
    expect(r.code).toBe(1);
    expect(r.err).toContain('OFFSET_OUT_OF_RANGE: offset 9 is past the end of ends/0, which holds offsets 0 to 1 (high watermark 2)');
  });

  it('lists a group that has only committed offsets, Empty, as Kafka does', async () => {
    expect((await cli('topics create offs --replication-factor 2')).code).toBe(0);
    expect((await cli('groups reset-offsets only-offsets --topic offs --to-earliest')).code).toBe(0);
    const listed = await cli('groups list');
    expect(listed.out).toMatch(/only-offsets\s+Empty\s+0/);
    const json = JSON.parse((await cli('groups list --json')).out) as { group: string; state: string }[];
    expect(json).toContainEqual({ group: 'only-offsets', state: 'Empty', members: 0, protocolType: '' });
    const described = await cli('groups describe only-offsets');
    expect(described.code).toBe(0);
    expect(described.out).toContain('group only-offsets: Empty');
  });

  it('says a topic or a group does not exist, and exits non-zero', async () => {
    const topic = await cli('topics delete nosuch');
    expect(topic.code).toBe(1);
    expect(topic.err).toContain("topic 'nosuch' does not exist");
    expect(topic.err).not.toContain('topics create');
    const group = await cli('groups describe nosuch');
    expect(group.code).toBe(1);
    expect(group.out).not.toContain('Dead');
    expect(group.err).toContain("group 'nosuch' does not exist");
  });

  it('status --json is each node\'s status without the request id', async () => {
    const r = await cli('status --json');
    const parsed = JSON.parse(r.out) as { nodes: { status: Record<string, unknown> }[] };
    expect(parsed.nodes).toHaveLength(2);
    for (const n of parsed.nodes) {
      expect(n.status).toHaveProperty('groups');
      expect(n.status).not.toHaveProperty('id');
    }
  });
});
