/**
 * The CLI as a kcat or rpk user expects it (issue 23 §3), against the fake broker: consume from a
 * timestamp, format strings, binary-safe output, produce with headers, --json on every list and
 * describe, describe every topic, an offset past the end refused, the server's default
 * replication factor, and the messages for what does not exist.
 */
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

const cli = (args: string, stdin = ''): ReturnType<typeof runCli> => runCli(cluster, args, stdin);
/** Runs the CLI with the arguments as given (for ones that hold spaces). */
async function cliArgs(args: readonly string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const x = cliIo(cluster, stdin);
  const code = await main(args, x.io);
  return { code, out: x.out.join(''), err: x.err.join('') };
}
const lines = (s: string): string[] => s.split('\n').filter((l) => l.length > 0);

describe('raftlog consume --from-time', () => {
  it('starts each partition at its first record at or after the time, given as ISO or as ms', async () => {
    cluster.createTopic('t', 2);
    cluster.append('t', 0, [{ key: null, value: Buffer.from('a'), timestamp: 1_000 }]);
    cluster.append('t', 0, [{ key: null, value: Buffer.from('b'), timestamp: 5_000 }]);
    cluster.append('t', 1, [{ key: null, value: Buffer.from('c'), timestamp: 2_000 }]);
    cluster.append('t', 1, [{ key: null, value: Buffer.from('d'), timestamp: 9_000 }]);
    const iso = await cli('consume t --from-time 1970-01-01T00:00:03Z');
    expect(iso.code).toBe(0);
    expect(lines(iso.out).sort()).toEqual(['partition 0 offset 1 key (null) value b', 'partition 1 offset 1 key (null) value d']);
    const ms = await cli('consume t --from-time 6000');
    expect(lines(ms.out)).toEqual(['partition 1 offset 1 key (null) value d']);
    // Past every record: nothing to read, said as such.
    const late = await cli('consume t --from-time 10000');
    expect(late).toMatchObject({ code: 0, out: '' });
    expect(late.err).toContain('nothing to read');
    const bad = await cli('consume t --from-time yesterday');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--from-time 'yesterday' is not a time");
    const both = await cli('consume t --from-time 1000 --from-beginning');
    expect(both.code).toBe(2);
  });
});

describe('raftlog consume --format', () => {
  it('prints each record as the format says, kcat style, and --help documents the fields', async () => {
    cluster.createTopic('f', 1);
    cluster.append('f', 0, [{ key: Buffer.from('k1'), value: Buffer.from('hello'), timestamp: 1234, headers: [{ key: 'h1', value: Buffer.from('v1') }, { key: 'h2', value: Buffer.from('v2') }] }]);
    cluster.append('f', 0, [{ key: null, value: Buffer.from('bye'), timestamp: 5678 }]);
    const r = await cliArgs(['consume', 'f', '--from-beginning', '-f', '%t/%p@%o %T [%k] %s (%K/%S) {%h} 100%%\\n']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('f/0@0 1234 [k1] hello (2/5) {h1=v1,h2=v2} 100%\nf/0@1 5678 [] bye (-1/3) {} 100%\n');
    const tabs = await cliArgs(['consume', 'f', '--from-beginning', '--format', '%o\\t%s\\n']);
    expect(tabs.out).toBe('0\thello\n1\tbye\n');
    const help = await cli('consume --help');
    for (const field of ['%t', '%p', '%o', '%T', '%k', '%s', '%h', '%K', '%S', '\\n']) expect(help.out).toContain(field);
    const unknown = await cliArgs(['consume', 'f', '--from-beginning', '-f', '%q']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("'%q'");
  });

  it('--encoding hex or base64 prints keys, values and header values binary-safe, in every output', async () => {
    cluster.createTopic('bin', 1);
    const value = Buffer.from([0x00, 0xff, 0x0a, 0x41]);
    cluster.append('bin', 0, [{ key: Buffer.from([0xde, 0xad]), value, headers: [{ key: 'h', value: Buffer.from([0x01]) }] }]);
    const hex = await cli('consume bin --from-beginning --encoding hex');
    expect(hex.out).toBe('partition 0 offset 0 key dead value 00ff0a41\n');
    const b64 = await cliArgs(['consume', 'bin', '--from-beginning', '--encoding', 'base64', '-f', '%k %s %h\\n']);
    expect(b64.out).toBe(`3q0= ${value.toString('base64')} h=AQ==\n`);
    const json = JSON.parse((await cli('consume bin --from-beginning --encoding hex --json')).out) as Record<string, unknown>;
    expect(json).toMatchObject({ key: 'dead', value: '00ff0a41', headers: { h: '01' }, encoding: 'hex' });
    const bad = await cli('consume bin --from-beginning --encoding rot13');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('text, hex, base64');
  });
});

describe('raftlog consume: an offset past the end', () => {
  it('is OFFSET_OUT_OF_RANGE naming the valid range, unless --follow waits for it', async () => {
    cluster.createTopic('o', 1);
    cluster.append('o', 0, ['a', 'b'].map((v) => ({ key: null, value: Buffer.from(v) })));
    const past = await cli('consume o --partition 0 --offset 5');
    expect(past.code).toBe(1);
    expect(past.out).toBe('');
    expect(past.err).toContain('OFFSET_OUT_OF_RANGE');
    expect(past.err).toContain('offset 5 is past the end of o/0, which holds offsets 0 to 1 (high watermark 2)');
    // At the end exactly: nothing there yet, not an error.
    const atEnd = await cli('consume o --partition 0 --offset 2');
    expect(atEnd.code).toBe(0);
    // With --follow it waits until the partition reaches the offset.
    const abort = new AbortController();
    const x = cliIo(cluster, '', abort.signal);
    const following = main(['consume', 'o', '--partition', '0', '--offset', '3', '--follow', '--max-wait-ms', '100'], x.io);
    await new Promise((r) => setTimeout(r, 300));
    expect(x.out).toEqual([]);
    cluster.append('o', 0, ['c', 'd'].map((v) => ({ key: null, value: Buffer.from(v) })));
    await eventually(() => x.out.length === 1, 5000);
    abort.abort();
    expect(await following).toBe(0);
    expect(x.out.join('')).toBe('partition 0 offset 3 key (null) value d\n');
  });
});

describe('raftlog produce --header', () => {
  it('adds each header to every record; a header that is not key=value is refused', async () => {
    cluster.createTopic('h', 1);
    const r = await cli('produce h --header source=web --header trace=a=b', 'one\ntwo\n');
    expect(r).toEqual({ code: 0, out: 'partition 0 offset 0\npartition 0 offset 1\n', err: '' });
    for (const rec of cluster.records('h', 0)) {
      expect(rec.headers.map((x) => [x.key, Buffer.from(x.value ?? []).toString()])).toEqual([
        ['source', 'web'],
        ['trace', 'a=b'],
      ]);
    }
    const bad = await cli('produce h --header nokey', 'x\n');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--header 'nokey' is not key=value");
    const twice = await cli('produce h --header a=1 --header a=2', 'x\n');
    expect(twice.code).toBe(2);
    expect(twice.err).toContain("--header 'a' is given twice");
  });
});

describe('--json on every list and describe', () => {
  it('topics list, topics describe (one, several, all), groups list, groups describe, status', async () => {
    cluster.createTopic('a', 2, 2, { retentionMs: 60_000 });
    cluster.createTopic('b', 1, 1);
    cluster.append('a', 1, [{ key: null, value: Buffer.from('x') }]);
    expect(JSON.parse((await cli('topics list --json')).out)).toEqual([
      { name: 'a', partitions: 2, replicationFactor: 2 },
      { name: 'b', partitions: 1, replicationFactor: 1 },
    ]);
    const described = JSON.parse((await cli('topics describe a --json')).out) as unknown[];
    expect(described).toEqual([
      {
        name: 'a',
        replicationFactor: 2,
        config: { 'retention.bytes': -1, 'retention.ms': 60_000, 'segment.bytes': 64 * 1024 * 1024, 'max.message.bytes': 1024 * 1024 },
        partitions: [
          { partition: 0, leader: 'n1', leaderTerm: 1, replicas: ['n1', 'n2'], highWatermark: '0', logStartOffset: '0' },
          { partition: 1, leader: 'n2', leaderTerm: 1, replicas: ['n2', 'n3'], highWatermark: '1', logStartOffset: '0' },
        ],
      },
    ]);
    const all = JSON.parse((await cli('topics describe --json')).out) as { name: string }[];
    expect(all.map((t) => t.name)).toEqual(['a', 'b']);

    await cli('groups reset-offsets g1 --topic a --to-latest');
    expect(JSON.parse((await cli('groups list --json')).out)).toEqual([{ group: 'g1', state: 'Empty', members: 0, protocolType: '' }]);
    const group = JSON.parse((await cli('groups describe g1 --json')).out) as Record<string, unknown>;
    expect(group).toMatchObject({ group: 'g1', state: 'Empty', members: [], offsets: [
      { topic: 'a', partition: 0, committed: '0', highWatermark: '0', lag: 0 },
      { topic: 'a', partition: 1, committed: '1', highWatermark: '1', lag: 0 },
    ], totalLag: 0 });

    const status = JSON.parse((await cli('status --json')).out) as { nodes: { status: Record<string, unknown> }[] };
    for (const n of status.nodes) {
      expect(n.status).toHaveProperty('node');
      expect(n.status).not.toHaveProperty('id');
    }
  });

  it('topics describe without a name describes every topic', async () => {
    cluster.createTopic('x', 1);
    cluster.createTopic('y', 2);
    const r = await cli('topics describe');
    expect(r.code).toBe(0);
    expect(r.out).toContain('topic x: 1 partitions');
    expect(r.out).toContain('topic y: 2 partitions');
    const none = await FakeCluster.start();
    try {
      const empty = await runCli(none, 'topics describe');
      expect(empty).toMatchObject({ code: 0, out: '' });
      expect(empty.err).toContain('no topics');
    } finally {
      await none.stop();
    }
  });
});

describe('the replication factor a new topic gets', () => {
  it('is the server\'s choice (min(3, nodes)) unless given', async () => {
    const one = await FakeCluster.start({ nodes: 1 });
    try {
      const r = await runCli(one, 'topics create solo --partitions 2');
      expect(r).toEqual({ code: 0, out: 'created topic solo (2 partitions, replication factor 1)\n', err: '' });
      expect(one.requestsOf('createTopics')[0]?.request.topics[0]?.replicationFactor).toBe(-1);
    } finally {
      await one.stop();
    }
  });
});

describe('what does not exist', () => {
  it('topics delete of a missing topic says it does not exist, and exits non-zero', async () => {
    const r = await cli('topics delete nosuch');
    expect(r.code).toBe(1);
    expect(r.err).toContain("topic 'nosuch' does not exist");
    expect(r.err).not.toContain('topics create');
  });

  it('groups describe of a group the coordinator calls Dead says there is no such group, and exits non-zero', async () => {
    const r = await cli('groups describe nosuch');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain("group 'nosuch' does not exist");
    const json = await cli('groups describe nosuch --json');
    expect(json.code).toBe(1);
  });
});
