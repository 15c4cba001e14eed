/**
 * ACLs from the command line against a running node (a child process, as `node cluster.js` runs
 * one), the way an operator turns them on: bindings added while the node runs with the `none`
 * authorizer, then the node restarted with `"authorizer": "acl"` in its config file. Clients
 * have not authenticated (that comes with `--auth`), so they are all User:ANONYMOUS, which the
 * bindings grant and deny. kafkajs reads the same bindings over Kafka's DescribeAcls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type Io } from '../../src/cli/program.js';
import { eventually, startCluster, type TestCluster } from './helpers.js';

let t: TestCluster;
let config: string;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'raftlog-acls-cli-'));
  config = path.join(dir, 'node.json');
  fs.writeFileSync(config, '{}');
  t = await startCluster(1, ['--config', config], 'production', { kafka: true });
}, 60_000);

afterAll(async () => {
  await t?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `raftlog <args>` in-process against the node; `stdin` feeds produce. */
async function cli(args: readonly string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (s) => void out.push(s),
    err: (s) => void err.push(s),
    stdin: Readable.from([stdin]),
    env: { RAFTLOG_BROKERS: t.cluster.brokers.join(',') },
    clientOptions: { retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 }, requestTimeoutMs: 5000 },
  };
  const code = await main(args, io);
  return { code, out: out.join(''), err: err.join('') };
}

const words = (line: string): string[] => line.trim().split(/\s+/);

describe('raftlog acls', () => {
  it('adds, lists and removes bindings, which a node started with the acl authorizer enforces', async () => {
    expect((await cli(['topics', 'create', 'orders', '--partitions', '1', '--replication-factor', '1'])).code).toBe(0);

    // With the none authorizer, anyone may prepare the bindings.
    const admin = await cli(['acls', 'add', '--allow', '--principal', 'User:ANONYMOUS', '--operation', 'Alter', '--operation', 'DESCRIBE', '--cluster']);
    expect(admin).toMatchObject({ code: 0, err: '' });
    expect(admin.out.split('\n')[0]).toBe('added 2 ACL bindings');
    expect((await cli(['acls', 'add', '--allow', '--principal', 'User:*', '--operation', 'read', '--topic', 'ord', '--prefixed'])).code).toBe(0);
    expect((await cli(['acls', 'add', '--deny', '--principal', 'User:*', '--operation', 'write', '--topic', 'orders'])).code).toBe(0);
    const usage = await cli(['acls', 'add', '--allow', '--principal', 'alice', '--operation', 'read', '--topic', 'orders']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('is not <type>:<name>');

    fs.writeFileSync(config, JSON.stringify({ authorizer: 'acl' }));
    await t.cluster.restart('n1');

    const listed = await cli(['acls', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.out.trim().split('\n').map(words)).toEqual([
      ['PRINCIPAL', 'PERMISSION', 'OPERATION', 'RESOURCE', 'PATTERN', 'NAME', 'HOST'],
      ['User:*', 'allow', 'read', 'topic', 'prefixed', 'ord', '*'],
      ['User:*', 'deny', 'write', 'topic', 'literal', 'orders', '*'],
      ['User:ANONYMOUS', 'allow', 'alter', 'cluster', 'literal', 'kafka-cluster', '*'],
      ['User:ANONYMOUS', 'allow', 'describe', 'cluster', 'literal', 'kafka-cluster', '*'],
    ]);
    const applying = JSON.parse((await cli(['acls', 'list', '--topic', 'orders', '--matching', '--json'])).out) as { permission: string; operation: string }[];
    expect(applying.map((b) => `${b.permission} ${b.operation}`).sort()).toEqual(['allow read', 'deny write']);

    // Denied: an idempotent producer's id, with no write allowed on any topic; creating a topic
    // (no create on the cluster or on the topic).
    const noWrite = await cli(['produce', 'orders'], 'a\n');
    expect(noWrite.code).toBe(1);
    expect(noWrite.err).toContain('CLUSTER_AUTHORIZATION_FAILED: User:ANONYMOUS may not idempotentWrite the cluster (nor write on any topic)');
    const create = await cli(['topics', 'create', 'other']);
    expect(create.code).toBe(1);
    expect(create.err).toContain('TOPIC_AUTHORIZATION_FAILED');

    // Write allowed on every topic: the deny of orders still wins there.
    expect((await cli(['acls', 'add', '--allow', '--principal', 'User:ANONYMOUS', '--operation', 'write', '--topic', '*'])).code).toBe(0);
    const denied = await cli(['produce', 'orders'], 'a\n');
    expect(denied.code).toBe(1);
    expect(denied.err).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(denied.err).toContain('User:ANONYMOUS may not write');

    // The deny removed: the produce goes through.
    const removed = await cli(['acls', 'remove', '--deny', '--principal', 'User:*', '--topic', 'orders']);
    expect(removed.code).toBe(0);
    expect(removed.out.split('\n')[0]).toBe('removed 1 ACL binding');
    const sent = await cli(['produce', 'orders'], 'a\n');
    expect(sent).toMatchObject({ code: 0, out: 'partition 0 offset 0\n' });

    // kafkajs lists the same bindings over Kafka's DescribeAcls.
    const kafka = new Kafka({ clientId: 'acls-test', brokers: t.cluster.kafkaBrokers, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
    const kadmin = kafka.admin();
    await kadmin.connect();
    try {
      // kafkajs's enums: resource type 1 ANY, pattern 1 ANY, operation 1 ANY, permission 1 ANY.
      const { resources } = await kadmin.describeAcls({ resourceType: 1, resourcePatternType: 1, operation: 1, permissionType: 1 });
      expect(resources.map((r) => `${r.resourceType}:${r.resourceName}:${r.acls.length}`).sort()).toEqual(['2:*:1', '2:ord:1', '4:kafka-cluster:2']);
    } finally {
      await kadmin.disconnect();
    }

    // Without alter on the cluster, no more changes, and without describe no listing.
    expect((await cli(['acls', 'remove', '--principal', 'User:ANONYMOUS', '--cluster'])).code).toBe(0);
    const locked = await cli(['acls', 'list']);
    expect(locked.code).toBe(1);
    expect(locked.err).toContain('CLUSTER_AUTHORIZATION_FAILED');
    // The node's log is written asynchronously: the refusal's line lands a moment after the answer.
    const logged = /refused User:ANONYMOUS from 127\.0\.0\.1:\d+: describe on the cluster/;
    await eventually(() => logged.test(fs.readFileSync(t.cluster.node('n1').logFile, 'utf8')), 5000, 'the refusal to be logged');
    expect(fs.readFileSync(t.cluster.node('n1').logFile, 'utf8')).toContain('authorizer acl with no super user');
  });
});
