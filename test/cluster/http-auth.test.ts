/**
 * The HTTP listener of a real cluster started with `--auth sasl` (issue 23; src/server/http-auth.ts):
 * three child processes and a bootstrap user, as test/cluster/auth.test.ts starts them. /status
 * needs a user (HTTP Basic, as curl -u sends it); /health and /metrics answer anyone; the console's
 * API runs as the user who called it, through the same ACLs as a native request, on this node and
 * on the nodes that lead the partitions it reads (a refusal is 403 with the typed code and the ACL
 * it lacks); the console's login gives a cookie that logout ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../chaos/cluster.js';
import type { AclBinding } from '../../src/auth/acl.js';
import { Client, silentLogger, type ClientOptions } from '../../src/client/index.js';
import { eventually, readPartition } from './helpers.js';

const ADMIN_PASSWORD = 'bootstrap-admin-password-http';
const PASSWORDS = { reader: 'reader-password-1', writer: 'writer-password-1', nobody: 'nobody-password-1' } as const;
type User = keyof typeof PASSWORDS | 'admin';
const TOPIC = 'orders';
const RETRY = { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 };

let cluster: LocalCluster;
let admin: Client;

function client(sasl: ClientOptions['sasl'], retry: ClientOptions['retry'] = RETRY): Client {
  return new Client({ brokers: cluster.brokers, logger: silentLogger, retry, ...(sasl !== undefined ? { sasl } : {}) });
}

const passwordOf = (user: User): string => (user === 'admin' ? ADMIN_PASSWORD : PASSWORDS[user]);
const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const allow = (principal: string, operation: AclBinding['operation'], resource: AclBinding['resource']): AclBinding => ({ principal, host: '*', resource, operation, permission: 'allow' });

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { readonly error?: { readonly code: string; readonly message: string } } & Record<string, unknown>;
}

/** A request to node `n`'s HTTP listener, as `as` (HTTP Basic) or with `headers` only. */
async function call(n: number, path: string, o: { readonly as?: User; readonly headers?: Record<string, string>; readonly body?: unknown } = {}): Promise<Answer> {
  const headers = { ...(o.as !== undefined ? basic(o.as, passwordOf(o.as)) : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers };
  const res = await fetch(`http://${cluster.nodes[n]!.http}${path}`, { headers, ...(o.body !== undefined ? { method: 'POST', body: JSON.stringify(o.body) } : {}) });
  const text = await res.text();
  let body: Answer['body'];
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body };
}

beforeAll(async () => {
  cluster = new LocalCluster({ nodes: 3, args: ['--auth', 'sasl'], env: { RAFTLOG_BOOTSTRAP_USER: `admin:${ADMIN_PASSWORD}` }, httpAuth: { username: 'admin', password: ADMIN_PASSWORD } });
  await cluster.start();
  admin = client({ mechanism: 'scram-sha-256', username: 'admin', password: ADMIN_PASSWORD });
  const a = admin.admin();
  await eventually(
    async () => {
      try {
        return (await a.listUsers()).some((u) => u.name === 'admin');
      } catch {
        return false;
      }
    },
    30_000,
    'the bootstrap user to log in',
  );
  for (const [name, password] of Object.entries(PASSWORDS)) await a.upsertUser(name, password);
  await a.createAcls([allow('User:reader', 'read', { type: 'topic', name: TOPIC, pattern: 'literal' }), allow('User:writer', 'write', { type: 'topic', name: TOPIC, pattern: 'literal' })]);
  // Three partitions, so that the node whose console is asked leads some and not others.
  await a.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }] });
  await a.disconnect();
  const producer = admin.producer();
  await producer.send({ topic: TOPIC, acks: 'all', messages: [0, 1, 2, 3, 4, 5].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3 })) });
  await producer.disconnect();
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('the HTTP listener of a cluster with --auth sasl', () => {
  it('answers /status 401 with a Basic challenge without credentials and with a wrong password, and 200 with the right one, on every node', async () => {
    const anonymous = await call(0, '/status');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="raftlog"/);
    expect(anonymous.body.error?.code).toBe('AUTHENTICATION_REQUIRED');
    const wrong = await call(0, '/status', { headers: basic('admin', 'not-the-admin-password') });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error?.code).toBe('SASL_AUTHENTICATION_FAILED');
    for (let n = 0; n < 3; n++) {
      const ok = await call(n, '/status', { as: 'admin' });
      expect(ok.status).toBe(200);
      expect(ok.body.node).toBe(cluster.nodes[n]!.id);
      expect(ok.body.http).toEqual({ auth: 'basic', metrics: 'open', sessions: expect.any(Number) as unknown as number });
    }
  });

  it('refuses /status to a user who may not describe the cluster (403 CLUSTER_AUTHORIZATION_FAILED)', async () => {
    const r = await call(0, '/status', { as: 'reader' });
    expect(r.status).toBe(403);
    expect(r.body.error?.code).toBe('CLUSTER_AUTHORIZATION_FAILED');
    expect(r.body.error?.message).toMatch(/User:reader may not describe the cluster/);
  });

  it('answers /health and /metrics without credentials, and counts failed logins in raftlog_http_login_failures_total', async () => {
    expect((await call(1, '/health')).body).toEqual({ node: cluster.nodes[1]!.id, ready: true });
    expect((await call(1, '/status', { headers: basic('reader', 'a-wrong-password') })).status).toBe(401);
    const metrics = await call(1, '/metrics');
    expect(metrics.status).toBe(200);
    expect(String(metrics.body.text)).toMatch(/raftlog_http_login_failures_total\{[^}]*reason="credentials"[^}]*\} [1-9]/);
  });

  it('refuses the console API without credentials, without a Basic challenge (the page logs in with its own form)', async () => {
    const r = await call(0, `/api/messages?topic=${TOPIC}&partition=0`);
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe('AUTHENTICATION_REQUIRED');
    expect(r.headers.get('www-authenticate')).not.toMatch(/Basic/);
  });

  it("browses a topic as the user: 403 naming the ACL for one without read, every partition's records for one with it, whichever node leads it", async () => {
    const none = await call(0, `/api/messages?topic=${TOPIC}&partition=0&offset=0`, { as: 'nobody' });
    expect(none.status).toBe(403);
    expect(none.body.error).toEqual({ code: 'TOPIC_AUTHORIZATION_FAILED', message: expect.stringMatching(/User:nobody may not describe topic 'orders'/) as unknown as string });
    // Write implies describe, not read: the fetch is what is refused.
    const writer = await call(0, `/api/messages?topic=${TOPIC}&partition=0&offset=0`, { as: 'writer' });
    expect(writer.status).toBe(403);
    expect(writer.body.error).toEqual({ code: 'TOPIC_AUTHORIZATION_FAILED', message: expect.stringMatching(/User:writer may not read topic 'orders': no ACL allows it/) as unknown as string });
    // Node 0's console reads the partitions another node leads through that node's client listener, as the user.
    const a = admin.admin();
    const { topics: described } = await a.describeTopics({ topics: [TOPIC] });
    await a.disconnect();
    expect(described[0]!.partitions.some((p) => p.leader !== cluster.nodes[0]!.id)).toBe(true);
    for (let p = 0; p < 3; p++) {
      const expected = await readPartition(admin, TOPIC, p);
      const r = await call(0, `/api/messages?topic=${TOPIC}&partition=${p}&offset=0`, { as: 'reader' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const got = (r.body.messages as { offset: number; key: string; value: string }[]).map((m) => [m.offset, Buffer.from(m.key, 'base64').toString(), Buffer.from(m.value, 'base64').toString()]);
      expect(got).toEqual(expected.map((m) => [Number(m.offset), m.key!.toString(), m.value!.toString()]));
    }
    // The topics view lists what the user may describe, without the replicas' state it may not see.
    const topics = await call(0, '/api/topics', { as: 'reader' });
    expect(topics.body.clusterView).toBe(false);
    expect((topics.body.topics as { name: string }[]).map((t) => t.name)).toEqual([TOPIC]);
    expect((await call(0, '/api/topics', { as: 'nobody' })).body.topics).toEqual([]);
  });

  it('produces through the console only for a user with write on the topic', async () => {
    const refused = await call(2, '/api/produce', { as: 'reader', body: { topic: TOPIC, partition: 1, key: 'kr', value: 'from reader' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({ code: 'TOPIC_AUTHORIZATION_FAILED', message: expect.stringMatching(/User:reader may not write topic 'orders'/) as unknown as string });
    const ok = await call(2, '/api/produce', { as: 'writer', body: { topic: TOPIC, partition: 1, key: 'kw', value: 'from writer' } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const read = await readPartition(admin, TOPIC, 1);
    expect(read.find((m) => Number(m.offset) === ok.body.offset)?.value?.toString()).toBe('from writer');
    expect(read.some((m) => m.value?.toString() === 'from reader')).toBe(false);
  });

  it("creating a topic needs create, the cluster view describe on the cluster, and a group's reset a right on the group", async () => {
    const create = await call(0, '/api/topics', { as: 'reader', body: { name: 'by-reader', partitions: 1, replicationFactor: 3 } });
    expect(create.status).toBe(403);
    expect(create.body.error?.code).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect(create.body.error?.message).toMatch(/User:reader may not create topic 'by-reader'/);
    const view = await call(0, '/api/cluster', { as: 'reader' });
    expect(view.status).toBe(403);
    expect(view.body.error?.code).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const reset = await call(0, '/api/groups/billing/reset', { as: 'reader', body: { topic: TOPIC, to: 'earliest' } });
    expect(reset.status).toBe(403);
    expect(reset.body.error?.code).toBe('GROUP_AUTHORIZATION_FAILED');
    expect(reset.body.error?.message).toMatch(/User:reader may not \w+ group 'billing'/);
    // The super user may do each.
    expect((await call(0, '/api/cluster', { as: 'admin' })).status).toBe(200);
    expect((await call(0, '/api/topics', { as: 'admin', body: { name: 'by-admin', partitions: 1, replicationFactor: 3 } })).status).toBe(200);
    const a = admin.admin();
    expect(await a.listTopics()).not.toContain('by-reader');
    await a.disconnect();
  });

  it("logs the console in: the login's cookie works for the API until logout, and not after", async () => {
    const bad = await call(1, '/auth/login', { body: { username: 'reader', password: 'not-readers-password' } });
    expect(bad.status).toBe(401);
    const res = await fetch(`http://${cluster.nodes[1]!.http}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'reader', password: PASSWORDS.reader }) });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^raftlog-session-${cluster.nodes[1]!.id}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
    const cookie = { cookie: setCookie.split(';')[0]! };
    expect((await call(1, '/auth/session', { headers: cookie })).body).toMatchObject({ auth: 'sasl', principal: 'User:reader', via: 'cookie' });
    const browse = await call(1, `/api/messages?topic=${TOPIC}&partition=2&offset=0`, { headers: cookie });
    expect(browse.status).toBe(200);
    expect((browse.body.messages as unknown[]).length).toBeGreaterThan(0);
    // Another node's console is another login.
    expect((await call(0, '/api/topics', { headers: cookie })).status).toBe(401);
    const out = await call(1, '/auth/logout', { headers: cookie, body: {} });
    expect(out.body).toEqual({ loggedOut: true });
    const after = await call(1, `/api/messages?topic=${TOPIC}&partition=2&offset=0`, { headers: cookie });
    expect(after.status).toBe(401);
    expect(after.body.error?.message).toMatch(/session ended/);
  });
});
