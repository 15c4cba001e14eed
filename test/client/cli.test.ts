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

describe('raftlog CLI', () => {
  it('topics create, list, describe, delete', async () => {
    const created = await cli('topics create orders --partitions 3 --replication-factor 2 --config retention.ms=60000');
    expect(created).toEqual({ code: 0, out: 'created topic orders (3 partitions, replication factor 2)\n', err: '' });
    expect(cluster.topics.get('orders')?.config.retentionMs).toBe(60000);
    const again = await cli('topics create orders');
    expect(again.code).toBe(1);
    expect(again.err).toContain("topic 'orders' already exists");
    expect((await cli('topics create orders --if-not-exists')).code).toBe(0);
    await cli('topics create audit');
    expect(await cli('topics list')).toEqual({ code: 0, out: 'audit\norders\n', err: '' });
    cluster.append('orders', 1, [{ value: Buffer.from('x') }, { value: Buffer.from('y') }]);
    const described = await cli('topics describe orders');
    expect(described.code).toBe(0);
    const lines = described.out.split('\n');
    expect(lines[0]).toBe('topic orders: 3 partitions, replication factor 2');
    expect(lines[1]).toContain('retention.ms=60000');
    expect(lines[2].split(/\s{2,}/)).toEqual(['PARTITION', 'LEADER', 'TERM', 'REPLICAS', 'HIGH WATERMARK', 'LOG START']);
    expect(lines[4].split(/\s+/)).toEqual(['1', 'n2', '1', 'n2,n3', '2', '0']);
    expect(await cli('topics delete audit')).toEqual({ code: 0, out: 'deleted topic audit\n', err: '' });
    const missing = await cli('topics describe audit');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('UNKNOWN_TOPIC_OR_PARTITION');
    expect(missing.err).toContain('raftlog topics create audit');
  });

  it('produce reads lines from stdin, with keys, and prints partition and offset per record', async () => {
    cluster.createTopic('events', 1);
    const r = await cli('produce events --key-separator :', 'k1:hello\nk2:world:again\nnokey\n');
    expect(r.out).toBe('partition 0 offset 0\npartition 0 offset 1\n');
    expect(r.err).toContain("line 3: no key separator ':'");
    expect(r.code).toBe(1);
    const recs = cluster.records('events', 0);
    expect(recs.map((x) => [Buffer.from(x.key ?? []).toString(), Buffer.from(x.value ?? []).toString()])).toEqual([
      ['k1', 'hello'],
      ['k2', 'world:again'],
    ]);
    const p = await cli('produce events --partition 0 --acks leader', 'a\nb\n');
    expect(p).toEqual({ code: 0, out: 'partition 0 offset 2\npartition 0 offset 3\n', err: '' });
    expect(cluster.requestsOf('produce').at(-1)?.request.acks).toBe('leader');
    const bad = await cli('produce events --acks maybe', 'a\n');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--acks must be one of all, leader, none');
  });

  it('users create takes --mechanism scram-sha-256, scram-sha-512 or all, and every command --auth-mechanism: anything else is refused, naming the choices', async () => {
    // Refused as it is read (commander's exit code for an option value, as --iterations'), before anything is sent.
    const mechanism = await cli('users create alice --mechanism scram-sha-1', 'alice-password\n');
    expect(mechanism.code).not.toBe(0);
    expect(mechanism.err).toContain('--mechanism must be one of scram-sha-256, scram-sha-512, all');
    expect(cluster.requestsOf('upsertUser')).toEqual([]);
    const auth = await cli('topics list --auth-user alice --auth-mechanism gssapi');
    expect(auth.code).not.toBe(0);
    expect(auth.err).toContain('--auth-mechanism must be one of scram-sha-256, scram-sha-512, plain');
  });

  it('produce spreads keyed lines over partitions as Kafka would', async () => {
    cluster.createTopic('keyed', 4);
    const lines = Array.from({ length: 20 }, (_, i) => `user-${i}:v${i}`).join('\n');
    const r = await cli('produce keyed --key-separator :', lines);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(20);
    const used = [0, 1, 2, 3].filter((p) => cluster.records('keyed', p).length > 0);
    expect(used.length).toBeGreaterThan(1);
  });

  it('consume prints what is there and stops at the high watermark', async () => {
    cluster.createTopic('log', 2);
    cluster.append('log', 0, [{ key: Buffer.from('a'), value: Buffer.from('first') }]);
    cluster.append('log', 1, [{ key: null, value: Buffer.from('second\nline') }, { key: null, value: Buffer.from('third') }]);
    const r = await cli('consume log --from-beginning');
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter(Boolean).sort()).toEqual([
      'partition 0 offset 0 key a value first',
      'partition 1 offset 0 key (null) value second\\nline',
      'partition 1 offset 1 key (null) value third',
    ]);
    const one = await cli('consume log --partition 1 --offset 1 --json');
    const parsed: unknown = JSON.parse(one.out);
    expect(parsed).toMatchObject({ topic: 'log', partition: 1, offset: '1', key: null, value: 'third', headers: {} });
    const max = await cli('consume log --from-beginning --max-messages 1 --partition 1');
    expect(max.out).toBe('partition 1 offset 0 key (null) value second\\nline\n');
    const latest = await cli('consume log');
    expect(latest.code).toBe(0);
    expect(latest.out).toBe('');
    expect(latest.err).toContain('use --from-beginning');
    const usage = await cli('consume log --offset 3');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--offset needs --partition');
  });

  it('consume --follow keeps reading until interrupted', async () => {
    cluster.createTopic('live', 1);
    const abort = new AbortController();
    const x = cliIo(cluster, '', abort.signal);
    const running = main(['consume', 'live', '--follow', '--max-wait-ms', '200'], x.io);
    await eventually(() => cluster.requestsOf('fetch').length > 0);
    cluster.append('live', 0, [{ value: Buffer.from('one') }]);
    await eventually(() => x.out.length === 1);
    cluster.append('live', 0, [{ value: Buffer.from('two') }]);
    await eventually(() => x.out.length === 2);
    abort.abort();
    expect(await running).toBe(0);
    expect(x.out.join('')).toBe('partition 0 offset 0 key (null) value one\npartition 0 offset 1 key (null) value two\n');
  });

  it('status prints each node\'s groups, leaders, terms, commit indexes and replica progress', async () => {
    cluster.createTopic('s', 1);
    const r = await cli('status');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`node n1 (${cluster.node('n1').address}, controller)`);
    expect(r.out).toMatch(/meta\s+leader\s+1\s+n1\s+10\s+10/);
    expect(r.out).toMatch(/s\/0\s+leader\s+1\s+n1/);
    // The partition's log holds one entry: its leader's first (the fake replicates instantly).
    expect(r.out).toMatch(/n2\s+replicate\s+match 1\s+next 2/);
    expect(r.out).not.toContain('under-replicated');
    const json = await cli('status --json');
    const parsed = JSON.parse(json.out) as { controller: string; nodes: { id: string; status: { groups: unknown[] } }[] };
    expect(parsed.controller).toBe('n1');
    expect(parsed.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    await cluster.stopNode('n3');
    const partial = await cli('status');
    expect(partial.code).toBe(1);
    expect(partial.out).toContain('node n3');
    expect(partial.out).toContain('unreachable');
    // The partition leader says which replicas are in sync with it.
    expect(partial.out).toMatch(/s\/0\s+leader.*under-replicated: in sync n1,n2/);
  });

  it('nodes list prints each node: up or unreachable, the controller, its replicas and leaders', async () => {
    cluster.createTopic('nl', 3);
    const r = await cli('nodes list');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]!.split(/\s{2,}/)).toEqual(['NODE', 'ADDRESS', 'STATE', 'INCARNATION', 'UP', 'REPLICAS', 'LEADERS', 'LEARNERS', 'REJOINING', 'DISK', 'PROBLEM']);
    expect(r.out).toMatch(new RegExp(`n1 \\(controller\\)\\s+${cluster.node('n1').address.replace(/\./g, '\\.')}\\s+up`));
    const json = JSON.parse((await cli('nodes list --json')).out) as { id: string; state: string; replicas: number; leaders: number; controller: boolean }[];
    expect(json.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(json.every((n) => n.state === 'up')).toBe(true);
    // Three partitions of three replicas on three nodes: each node holds three and leads some.
    expect(json.map((n) => n.replicas)).toEqual([3, 3, 3]);
    expect(json.reduce((k, n) => k + n.leaders, 0)).toBe(3);
    expect(json.filter((n) => n.controller).map((n) => n.id)).toEqual(['n1']);
    await cluster.stopNode('n2');
    const partial = await cli('nodes list');
    expect(partial.code).toBe(1);
    expect(partial.out).toMatch(/n2\s+\S+\s+unreachable/);
  });

  it('says how to start a cluster when none is reachable', async () => {
    await cluster.stop();
    const r = await cli('topics list');
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot reach any broker at');
    expect(r.err).toContain('node cluster.js');
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('topics');
    const unknown = await cli('topics frobnicate');
    expect(unknown.code).not.toBe(0);
  });
});
