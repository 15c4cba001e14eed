/**
 * Every request checked against the ACLs before it runs (src/server/access.ts), on a real node
 * started with `--authorizer acl` (in this process, one node), through `handle` with a Session
 * whose principal is set here as authentication would set it. A refused request changes nothing:
 * the log, the topics, the groups and their offsets are as they were; a request of many items runs
 * the allowed ones and answers the others TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED in their place.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_NAME, type AclBinding, type AclOperation, type ResourcePattern } from '../../src/auth/acl.js';
import { ServerError } from '../../src/errors.js';
import type { RaftlogNode } from '../../src/node/node.js';
import { startOneNode, type OneNode } from '../helpers/one-node.js';
import { handle } from '../../src/server/handlers.js';
import { newSession, type Session } from '../../src/server/session.js';
import { ErrorCode, type Request, type ResponseMap } from '../../src/wire/protocol.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';

const ADMIN = 'User:admin';
let one: OneNode;
let node: RaftlogNode;

const as = (principal: string): Session => ({ ...newSession('client', '127.0.0.1:40000'), principal });
const admin = as(ADMIN);
const alice = as('User:alice');

/** Runs `req` as `session` (the request is well formed: validate.ts would pass it). */
async function run<R extends Request>(session: Session, req: R): Promise<ResponseMap[R['type']]> {
  return (await handle(node, req, session)) as ResponseMap[R['type']];
}

/** The error code `req` is refused with, whole. */
async function refusal(session: Session, req: Request): Promise<string> {
  try {
    await handle(node, req, session);
  } catch (err) {
    if (err instanceof ServerError) return err.code;
    throw err;
  }
  return 'answered';
}

const topic = (name: string, pattern: 'literal' | 'prefixed' = 'literal'): ResourcePattern => ({ type: 'topic', name, pattern });
const group = (name: string): ResourcePattern => ({ type: 'group', name, pattern: 'literal' });
const CLUSTER: ResourcePattern = { type: 'cluster', name: CLUSTER_NAME, pattern: 'literal' };
const allow = (principal: string, operation: AclOperation, resource: ResourcePattern): AclBinding => ({ principal, host: '*', resource, operation, permission: 'allow' });
const deny = (principal: string, operation: AclOperation, resource: ResourcePattern): AclBinding => ({ ...allow(principal, operation, resource), permission: 'deny' });

async function grant(...bindings: AclBinding[]): Promise<void> {
  const r = await run(admin, { type: 'createAcls', bindings, timeoutMs: 5000 });
  expect(r.results.every((x) => x.error === undefined)).toBe(true);
}

async function revokeAll(principal: string): Promise<void> {
  await run(admin, { type: 'deleteAcls', filters: [{ principal }], timeoutMs: 5000 });
}

const batch = (value: string): Uint8Array => encodeBatch([{ value: Buffer.from(value) }]);

async function highWatermark(name: string): Promise<number> {
  const r = await run(admin, { type: 'listOffsets', partitions: [{ topic: name, partition: 0, spec: 'latest' }] });
  return r.partitions[0]!.offset;
}

beforeAll(async () => {
  one = await startOneNode('access', { authorizer: 'acl', superUsers: [ADMIN] });
  node = one.node;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await run(admin, { type: 'createTopics', topics: ['orders', 'secret'].map((name) => ({ name, partitions: 1, replicationFactor: 1 })), timeoutMs: 5000 }).catch(() => null);
    if (r !== null && r.topics.every((t) => t.error === undefined || t.error.code === ErrorCode.TopicAlreadyExists)) break;
    if (Date.now() > deadline) throw new Error('the node did not become the controller');
    await new Promise((res) => setTimeout(res, 50));
  }
  await run(admin, { type: 'produce', acks: 'all', timeoutMs: 5000, batches: [{ topic: 'orders', partition: 0, records: batch('first') }, { topic: 'secret', partition: 0, records: batch('hidden') }] });
}, 60_000);

afterAll(async () => {
  await one?.close();
});

describe('a node with --authorizer acl', () => {
  it('refuses a produce no ACL allows, and the log is unchanged', async () => {
    await revokeAll(alice.principal);
    const before = await highWatermark('orders');
    const r = await run(alice, { type: 'produce', acks: 'all', timeoutMs: 5000, batches: [{ topic: 'orders', partition: 0, records: batch('nope') }] });
    expect(r.results).toEqual([{ topic: 'orders', partition: 0, error: { code: ErrorCode.TopicAuthorizationFailed, message: expect.stringContaining('User:alice may not write') as string } }]);
    expect(await highWatermark('orders')).toBe(before);
  });

  it('runs the batches it allows and refuses the others in their place; a deny wins over an allow of every topic', async () => {
    await revokeAll(alice.principal);
    await grant(allow(alice.principal, 'write', topic('*')), deny(alice.principal, 'write', topic('sec', 'prefixed')));
    const [orders, secret] = [await highWatermark('orders'), await highWatermark('secret')];
    const r = await run(alice, {
      type: 'produce',
      acks: 'all',
      timeoutMs: 5000,
      batches: [
        { topic: 'secret', partition: 0, records: batch('s') },
        { topic: 'orders', partition: 0, records: batch('o') },
      ],
    });
    expect(r.results[0]).toMatchObject({ topic: 'secret', error: { code: ErrorCode.TopicAuthorizationFailed } });
    expect(r.results[1]).toEqual({ topic: 'orders', partition: 0, baseOffset: orders });
    expect(await highWatermark('orders')).toBe(orders + 1);
    expect(await highWatermark('secret')).toBe(secret);
  });

  it('a split produce keeps what the allowed part answered besides its results: the quota throttle', async () => {
    await revokeAll(alice.principal);
    await grant(allow(alice.principal, 'write', topic('orders')));
    await run(admin, { type: 'alterQuotas', entries: [{ entity: alice.principal, producerByteRate: 1000 }], timeoutMs: 5000 });
    try {
      const big = encodeBatch([{ value: Buffer.alloc(20_000, 1) }]);
      const r = await run(alice, { type: 'produce', acks: 'all', timeoutMs: 5000, batches: [{ topic: 'orders', partition: 0, records: big }, { topic: 'secret', partition: 0, records: big }] });
      expect(r.results.map((x) => x.error?.code ?? 'ok')).toEqual(['ok', ErrorCode.TopicAuthorizationFailed]);
      expect(r.throttleMs).toBeGreaterThan(0);
    } finally {
      await run(admin, { type: 'alterQuotas', entries: [{ entity: alice.principal, producerByteRate: null }], timeoutMs: 5000 });
    }
  });

  it('refuses a fetch of a topic it may not read, per partition, and serves the others', async () => {
    await revokeAll(alice.principal);
    await grant(allow(alice.principal, 'read', topic('orders')));
    const r = await run(alice, {
      type: 'fetch',
      maxWaitMs: 0,
      minBytes: 1,
      maxBytes: 1 << 20,
      partitions: [
        { topic: 'secret', partition: 0, offset: 0, maxBytes: 1 << 20 },
        { topic: 'orders', partition: 0, offset: 0, maxBytes: 1 << 20 },
      ],
    });
    expect(r.partitions[0]).toMatchObject({ topic: 'secret', error: { code: ErrorCode.TopicAuthorizationFailed }, batches: [] });
    expect(r.partitions[1]!.error).toBeUndefined();
    expect(r.partitions[1]!.batches.length).toBeGreaterThan(0);
  });

  it('refuses to delete a topic without delete on it, and the topic stays', async () => {
    await revokeAll(alice.principal);
    await grant(allow(alice.principal, 'read', topic('orders')));
    const r = await run(alice, { type: 'deleteTopics', topics: ['orders'], timeoutMs: 5000 });
    expect(r.topics).toEqual([{ name: 'orders', error: expect.objectContaining({ code: ErrorCode.TopicAuthorizationFailed }) as object }]);
    expect(node.meta.topic('orders')).toBeDefined();
    // Creating needs create on the cluster or on the topic.
    const c = await run(alice, { type: 'createTopics', topics: [{ name: 'alices', partitions: 1, replicationFactor: 1 }], timeoutMs: 5000 });
    expect(c.topics[0]!.error?.code).toBe(ErrorCode.TopicAuthorizationFailed);
    expect(node.meta.topic('alices')).toBeUndefined();
  });

  it('lists only the topics it may describe; a topic named that it may not describe is refused, whether it exists or not', async () => {
    await revokeAll(alice.principal);
    await grant(allow(alice.principal, 'describe', topic('orders')));
    const all = await run(alice, { type: 'metadata' });
    expect(all.topics.map((t) => t.name)).toEqual(['orders']);
    expect(all.nodes.map((n) => n.id)).toEqual(['n1']);
    const named = await run(alice, { type: 'metadata', topics: ['secret', 'orders', 'ghost'] });
    expect(named.topics.map((t) => [t.name, t.error?.code ?? 'ok'])).toEqual([
      ['secret', ErrorCode.TopicAuthorizationFailed],
      ['orders', 'ok'],
      ['ghost', ErrorCode.TopicAuthorizationFailed],
    ]);
    const offsets = await run(alice, { type: 'listOffsets', partitions: [{ topic: 'secret', partition: 0, spec: 'latest' }] });
    expect(offsets.partitions[0]).toMatchObject({ offset: -1, error: { code: ErrorCode.TopicAuthorizationFailed } });
  });

  it('refuses group requests without the group, and the group and its offsets are unchanged', async () => {
    await revokeAll(alice.principal);
    const join = { type: 'joinGroup', group: 'billing', memberId: '', clientId: 'c', protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array(0) }], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000 } as const;
    expect(await refusal(alice, join)).toBe(ErrorCode.GroupAuthorizationFailed);
    expect(await refusal(alice, { type: 'findCoordinator', group: 'billing' })).toBe(ErrorCode.GroupAuthorizationFailed);
    expect(node.meta.consumerGroup('billing')).toBeUndefined();

    // Offsets of a group with no members, committed by the admin.
    const commit = (session: Session, offset: number) => run(session, { type: 'commitOffsets', group: 'billing', generation: -1, memberId: '', offsets: [{ topic: 'orders', partition: 0, offset, metadata: '' }, { topic: 'secret', partition: 0, offset, metadata: '' }], timeoutMs: 5000 });
    expect((await commit(admin, 1)).results.every((x) => x.error === undefined)).toBe(true);
    const committed = async (): Promise<number[]> => (await run(admin, { type: 'fetchOffsets', group: 'billing', partitions: [{ topic: 'orders', partition: 0 }, { topic: 'secret', partition: 0 }] })).offsets.map((o) => o.offset);

    expect(await refusal(alice, { type: 'commitOffsets', group: 'billing', generation: -1, memberId: '', offsets: [{ topic: 'orders', partition: 0, offset: 9, metadata: '' }], timeoutMs: 5000 })).toBe(ErrorCode.GroupAuthorizationFailed);
    expect(await refusal(alice, { type: 'resetOffsets', group: 'billing', offsets: [{ topic: 'orders', partition: 0, offset: 0, metadata: '' }], timeoutMs: 5000 })).toBe(ErrorCode.GroupAuthorizationFailed);
    expect(await refusal(alice, { type: 'fetchOffsets', group: 'billing' })).toBe(ErrorCode.GroupAuthorizationFailed);
    const del = await run(alice, { type: 'deleteGroups', groups: ['billing'], timeoutMs: 5000 });
    expect(del.groups[0]!.error?.code).toBe(ErrorCode.GroupAuthorizationFailed);
    expect((await run(alice, { type: 'listGroups' })).groups).toEqual([]);
    expect((await run(alice, { type: 'describeGroups', groups: ['billing'] })).groups[0]!.error?.code).toBe(ErrorCode.GroupAuthorizationFailed);
    expect(await committed()).toEqual([1, 1]);

    // With read on the group and on orders only: orders' offset moves, secret's is refused in its place.
    await grant(allow(alice.principal, 'read', group('billing')), allow(alice.principal, 'read', topic('orders')));
    const r = await commit(alice, 2);
    expect(r.results.map((x) => x.error?.code ?? 'ok')).toEqual(['ok', ErrorCode.TopicAuthorizationFailed]);
    expect(await committed()).toEqual([2, 1]);
    const fetched = await run(alice, { type: 'fetchOffsets', group: 'billing', partitions: [{ topic: 'orders', partition: 0 }, { topic: 'secret', partition: 0 }] });
    expect(fetched.offsets.map((o) => [o.offset, o.error?.code ?? 'ok'])).toEqual([
      [2, 'ok'],
      [-1, ErrorCode.TopicAuthorizationFailed],
    ]);
    // Every committed offset: only those of topics it may describe.
    expect((await run(alice, { type: 'fetchOffsets', group: 'billing' })).offsets.map((o) => o.topic)).toEqual(['orders']);
    // Deleting still needs delete on the group.
    expect((await run(alice, { type: 'deleteGroups', groups: ['billing'], timeoutMs: 5000 })).groups[0]!.error?.code).toBe(ErrorCode.GroupAuthorizationFailed);
    expect(node.meta.offsets('billing')).toHaveLength(2);
  });

  it('lists only the groups it may describe, unless it may describe the cluster', async () => {
    await revokeAll(alice.principal);
    for (const g of ['listed', 'unlisted']) {
      const joined = await run(admin, { type: 'joinGroup', group: g, memberId: '', clientId: 'c', protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array(0) }], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000 });
      await run(admin, { type: 'leaveGroup', group: g, memberId: joined.memberId });
    }
    const listed = async (): Promise<string[]> => (await run(alice, { type: 'listGroups' })).groups.map((x) => x.group).filter((x) => x.endsWith('listed'));
    expect(await listed()).toEqual([]);
    await grant(allow(alice.principal, 'describe', group('listed')));
    expect(await listed()).toEqual(['listed']);
    await grant(allow(alice.principal, 'describe', CLUSTER));
    expect(await listed()).toEqual(['listed', 'unlisted']);
  });

  it('refuses admin requests, status and ACL changes without alter or describe on the cluster', async () => {
    await revokeAll(alice.principal);
    expect(await refusal(alice, { type: 'status' })).toBe(ErrorCode.ClusterAuthorizationFailed);
    expect(await refusal(alice, { type: 'rebalancePartitions', timeoutMs: 5000 })).toBe(ErrorCode.ClusterAuthorizationFailed);
    expect(await refusal(alice, { type: 'transferLeadership', topic: 'orders', partition: 0, to: 'n1', timeoutMs: 1000 })).toBe(ErrorCode.ClusterAuthorizationFailed);
    expect(await refusal(alice, { type: 'describeAcls', filter: {} })).toBe(ErrorCode.ClusterAuthorizationFailed);
    expect(await refusal(alice, { type: 'createAcls', bindings: [allow(alice.principal, 'all', CLUSTER)], timeoutMs: 5000 })).toBe(ErrorCode.ClusterAuthorizationFailed);
    expect(node.meta.acls().some((b) => b.principal === alice.principal)).toBe(false);
    await grant(allow(alice.principal, 'describe', CLUSTER));
    expect((await run(alice, { type: 'status' })).node).toBe('n1');
    expect(await refusal(alice, { type: 'deleteAcls', filters: [{}], timeoutMs: 5000 })).toBe(ErrorCode.ClusterAuthorizationFailed);
  });

  it('gives a producer id to a principal that may write some topic, or idempotently write on the cluster', async () => {
    await revokeAll(alice.principal);
    expect(await refusal(alice, { type: 'initProducerId', timeoutMs: 5000 })).toBe(ErrorCode.ClusterAuthorizationFailed);
    await grant(allow(alice.principal, 'write', topic('ord', 'prefixed')));
    expect((await run(alice, { type: 'initProducerId', timeoutMs: 5000 })).producerId).toBeGreaterThan(0);
    await revokeAll(alice.principal);
    await grant(allow(alice.principal, 'idempotentWrite', CLUSTER));
    expect((await run(alice, { type: 'initProducerId', timeoutMs: 5000 })).producerId).toBeGreaterThan(0);
  });

  it('counts each refusal in its metric and logs it with the principal, the operation and the resource', async () => {
    await revokeAll(alice.principal);
    await refusal(alice, { type: 'status' });
    const metrics = await node.metrics.registry.getSingleMetricAsString('raftlog_authorization_denied_total');
    expect(metrics).toMatch(/raftlog_authorization_denied_total\{resource_type="cluster",operation="describe",node="n1"\} [1-9]/);
    expect(metrics).toMatch(/resource_type="topic",operation="write"/);
    node.logger.flush();
    const log = fs.readFileSync(node.config.logFile!, 'utf8');
    expect(log).toMatch(/"principal":"User:alice".*"operation":"describe","resource":"cluster"/);
  });
});
