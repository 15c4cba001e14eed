/**
 * Logging in to a node that has just joined an `--auth sasl` cluster (src/server/sasl.ts,
 * RaftlogNode.metadataProblem): the users live in the metadata, and a joiner has none of it until
 * its metadata replica has received it. Until then a login there must not be refused as a wrong
 * password (SASL_AUTHENTICATION_FAILED, which clients give up on): the native listener answers a
 * retriable LEADER_NOT_AVAILABLE that says why, the Kafka listener closes the connection before
 * answering the SaslHandshake (what a Kafka client takes as a broker not ready), HTTP Basic is
 * 503 with Retry-After; none of it counts as a failed login. The client library, kafkajs and
 * librdkafka (kcat) get in once the node has the metadata.
 *
 * To hold the joiner in that state as long as the test needs, the running nodes drop every peer
 * frame to and from it (--chaos-endpoints, chaos/network-cuts.ts): it is answered on its own
 * connection when it joins, and recorded, but receives no metadata until the drops are lifted.
 */
import fs from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, sleep, type ClusterNode } from '../../chaos/cluster.js';
import type { Drops } from '../../chaos/net.js';
import { Connection } from '../../src/client/connection.js';
import { Client, RaftlogError, silentLogger } from '../../src/client/index.js';
import { userSasl } from '../../src/client/sasl.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { kcat } from '../kafka/helpers.js';
import { RawClient, request } from '../kafka/raw.js';
import { bootstrapUserLogsIn, eventually } from './helpers.js';

const ADMIN_PASSWORD = 'bootstrap-admin-password-join-4e1b';
const admin = { mechanism: 'scram-sha-256', username: 'admin', password: ADMIN_PASSWORD };
const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;

let cluster: LocalCluster;

/** Sets node `n`'s peer frame drops (POST /chaos/network, which under --auth sasl needs a user). */
async function setDrops(n: ClusterNode, drops: Drops): Promise<void> {
  const res = await fetch(`http://${n.http}/chaos/network`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic }, body: JSON.stringify(drops) });
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  cluster = new LocalCluster({ nodes: 3, kafka: true, args: ['--auth', 'sasl', '--chaos-endpoints'], env: { RAFTLOG_BOOTSTRAP_USER: `admin:${ADMIN_PASSWORD}` }, httpAuth: { username: 'admin', password: ADMIN_PASSWORD } });
  await cluster.start();
  const c = new Client({ brokers: cluster.brokers, logger: silentLogger, sasl: admin, retry: { retries: 0 } });
  await bootstrapUserLogsIn(c);
  const a = new Client({ brokers: cluster.brokers, logger: silentLogger, sasl: admin, retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 } }).admin();
  await a.createTopics({ topics: [{ topic: 'before-join', numPartitions: 1, replicationFactor: 3 }] });
  await a.disconnect();
}, 60_000);
afterAll(async () => cluster?.stop());

describe('a node that has joined an --auth sasl cluster and has not received its metadata yet', () => {
  it('refuses logins as retriable, not as a wrong password, on every listener; a client retries and gets in once the node has the metadata', async () => {
    const running = [...cluster.nodes];
    for (const n of running) await setDrops(n, { dropTo: ['n4'], dropFrom: ['n4'] });
    // Returns once n4 listens for Kafka clients, which it does once it has joined and opened its metadata replica.
    const n4 = await cluster.join('n4');
    await eventually(() => /joined cluster/.test(fs.readFileSync(n4.logFile, 'utf8')), 10_000, 'n4 to join');

    // The native listener: a retriable refusal that says why, and what to do.
    const c = new Connection({ address: n4.client, connectTimeoutMs: 2000, sasl: userSasl(admin) });
    for (let i = 0; i < 4; i++) {
      const err = await c.request({ type: 'metadata' }, 2000).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RaftlogError);
      expect(err).toMatchObject({ code: ErrorCode.LeaderNotAvailable, retriable: true });
      expect((err as Error).message).toMatch(/node n4 cannot check passwords yet: .*metadata.*try another node, or retry/);
    }
    c.close();

    // The Kafka listener: the SaslHandshake is not answered, the connection is closed.
    const raw = new RawClient(Number(n4.kafka!.split(':')[1]));
    raw.send(request(18, 2, 1));
    expect(await raw.next()).not.toBeNull();
    raw.send(request(17, 1, 2, (w) => w.string('SCRAM-SHA-256')));
    expect(await raw.next()).toBeNull();
    expect(raw.closed).toBe(true);

    // HTTP Basic: 503 with Retry-After, not 401.
    const res = await fetch(`http://${n4.http}/status`, { headers: { authorization: basic } });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: ErrorCode.LeaderNotAvailable, message: expect.stringMatching(/node n4 cannot check passwords yet/) as unknown });

    // None of it is a failed login.
    expect(fs.readFileSync(n4.logFile, 'utf8')).not.toMatch(/authentication failed/);

    // A client that knows only n4 retries the login until n4 has the metadata: its call succeeds.
    const only4 = new Client({ brokers: [n4.client], logger: silentLogger, sasl: admin, retry: { retries: 40, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } });
    const a4 = only4.admin();
    const topics = a4.listTopics();
    const kafkajs = new Kafka({ clientId: 'join-login', brokers: [n4.kafka!], sasl: { mechanism: 'scram-sha-256', username: 'admin', password: ADMIN_PASSWORD }, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } }).admin();
    const kafkajsTopics = kafkajs.connect().then(() => kafkajs.listTopics());
    // librdkafka (kcat): the closed connection is a broker not ready, which it connects to again.
    const kcatListing = kcat(['-L', '-b', n4.kafka!, '-t', 'before-join', '-m', '20', '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=admin', '-X', `sasl.password=${ADMIN_PASSWORD}`], undefined, 30_000);
    // Both are turned away meanwhile, and keep asking.
    await sleep(1000);
    for (const n of running) await setDrops(n, { dropTo: [], dropFrom: [] });
    expect(await topics).toContain('before-join');
    expect(await kafkajsTopics).toContain('before-join');
    expect(await kcatListing).toMatch(/topic "before-join" with 1 partitions/);
    await kafkajs.disconnect();
    await a4.disconnect();
  }, 90_000);
});
