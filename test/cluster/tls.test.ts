/**
 * Separate listeners and TLS everywhere (issue 22 §3), on a 3-node cluster of child processes:
 * each node with a peer listener (mutual TLS), a client listener (wss), an HTTP listener (https)
 * and a Kafka listener (SSL), each at an address of its own, and certificates made at test time
 * (test/helpers/certs.ts). The cluster runs with `--auth sasl` too, as a production one would
 * (Kafka's SASL_SSL): every client logs in over TLS, as the bootstrap user, with SCRAM-SHA-512.
 *
 * The client library, the CLI, kcat and kafkajs log in and produce and consume over TLS; clients
 * are told the nodes' client addresses, never their peer addresses (metadata, a NOT_LEADER's
 * leader, the coordinator); each listener answers only its own paths; a peer without a
 * certificate from the cluster's CA is refused; a plaintext client to a TLS listener is told why it
 * failed; a node joins over mutual TLS.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../chaos/cluster.js';
import { Client, RaftlogError, silentLogger, type ClientOptions } from '../../src/client/index.js';
import { Connection } from '../../src/client/connection.js';
import { userSasl } from '../../src/client/sasl.js';
import { main, type Io } from '../../src/cli/program.js';
import { brokerId } from '../../src/kafka/brokers.js';
import { REFUSED_HEADER } from '../../src/wire/ws-options.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { makeCa, type CertFiles, type TestCa } from '../helpers/certs.js';
import { bootstrapUserLogsIn, eventually, readPartition } from './helpers.js';

/** Whether kcat is installed: its tests are skipped, saying so in their names, when it is not. */
const KCAT = spawnSync('sh', ['-c', 'command -v kcat'], { encoding: 'utf8' }).stdout.trim();
const NO_KCAT = KCAT === '' ? ' [SKIPPED: kcat is not installed; apt-get install -y kcat]' : '';

let dir: string;
let ca: TestCa;
let cluster: LocalCluster;
let client: Client;
const certs = new Map<string, CertFiles>();

/** The bootstrap user of the TLS cluster (every node's RAFTLOG_BOOTSTRAP_USER): a super user, with both SCRAM credentials. */
const ADMIN_PASSWORD = 'tls-cluster-admin-password-4e1b';
const ADMIN = { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PASSWORD };

function tlsClient(extra: Partial<ClientOptions> = {}): Client {
  return new Client({ brokers: cluster.brokers, logger: silentLogger, tls: { ca: fs.readFileSync(ca.cert) }, sasl: ADMIN, retry: { retries: 30, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 }, ...extra });
}

/** Runs the CLI in this process with `args` (and `input` on stdin); resolves with its exit code and output. */
async function cli(args: readonly string[], input = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdin = new PassThrough();
  stdin.end(input);
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), stdin, env: {}, clientOptions: { retry: { retries: 10, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } } };
  const code = await main(args, io);
  return { code, out, err };
}

/** kcat's settings for Kafka's SSL security protocol, and for SASL_SSL as `user` (the bootstrap user unless told) with SCRAM-SHA-512. */
const SSL = (): string[] => ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.cert}`];
const SASL_SSL = (user = 'admin', password = ADMIN_PASSWORD): string[] => [
  ...['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${ca.cert}`],
  ...['-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`],
];

/** Runs kcat with `security` (SASL_SSL as the bootstrap user unless told) and `args`; its output, or an error with its own. */
function kcat(args: readonly string[], input = '', security: readonly string[] = SASL_SSL()): string {
  const r = spawnSync(KCAT, [...security, ...args], { input, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`kcat ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** The log of node `id` so far. */
function logOf(id: string): string {
  return fs.readFileSync(cluster.node(id).logFile, 'utf8');
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-tls-'));
  ca = makeCa(path.join(dir, 'certs'));
  for (const id of ['n1', 'n2', 'n3', 'n4']) certs.set(id, ca.issue(id));
  cluster = new LocalCluster({
    nodes: 3,
    kafka: true,
    separateListeners: true,
    tls: { ca: ca.cert, node: (id) => certs.get(id)! },
    args: ['--auto-create-topics', 'on', '--auth', 'sasl'],
    env: { RAFTLOG_BOOTSTRAP_USER: `admin:${ADMIN_PASSWORD}` },
    // /status under --auth sasl takes HTTP Basic: over https, as the bootstrap user.
    httpAuth: { username: 'admin', password: ADMIN_PASSWORD },
  });
  await cluster.start();
  client = tlsClient();
  // The controller creates the bootstrap user once it is elected and has named the cluster.
  const probe = tlsClient({ retry: { retries: 0 } });
  await bootstrapUserLogsIn(probe);
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic: 'secure', numPartitions: 3, replicationFactor: 3 }] });
  await admin.disconnect();
}, 60_000);

afterAll(async () => {
  // The cluster is stopped whatever this finds: a node left running would load every test after it.
  try {
    for (const n of cluster?.nodes ?? []) expect(n.process, `${n.id} exited: ${n.exit}`).not.toBeNull();
  } finally {
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('a cluster with separate listeners and TLS on all of them', () => {
  it('listens at four addresses per node, each taking TLS only, as /status says', async () => {
    for (const n of cluster.nodes) {
      const s = await cluster.status(n.id);
      expect(s.listeners).toEqual({ peer: n.address, client: n.client, http: n.http, kafka: n.kafka, tls: ['peer', 'client', 'http', 'kafka'] });
      expect(new Set([n.address, n.client, n.http, n.kafka]).size).toBe(4);
      expect(s.peers.every((p) => p.connected)).toBe(true);
      // Mutual TLS authenticates every byte between the nodes: their frames carry no MAC of their own.
      expect(s.peers.map((p) => p.frameMac)).toEqual(s.peers.map(() => 'off'));
    }
  });

  it('the client library produces and consumes over TLS', async () => {
    const producer = client.producer({ idempotent: true });
    const values = Array.from({ length: 30 }, (_, i) => `v${i}`);
    for (const v of values) await producer.send({ topic: 'secure', acks: 'all', messages: [{ key: `k${Number(v.slice(1)) % 3}`, value: v }] });
    await producer.disconnect();
    const got: string[] = [];
    for (let p = 0; p < 3; p++) for (const m of await readPartition(client, 'secure', p)) got.push(m.value!.toString());
    expect(got.sort()).toEqual([...values].sort());
  });

  it('the CLI logs in over TLS (--tls-ca, --auth-user, --auth-mechanism scram-sha-512), creates a topic, produces and consumes', async () => {
    const pw = path.join(dir, 'admin.pw');
    fs.writeFileSync(pw, `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
    const common = ['--brokers', cluster.brokers.join(','), '--tls-ca', ca.cert, '--auth-user', 'admin', '--auth-password-file', pw, '--auth-mechanism', 'scram-sha-512'];
    // The bootstrap user has both mechanisms; without logging in, the CLI is refused over TLS as over plaintext.
    expect(JSON.parse((await cli(['users', 'list', '--json', ...common])).out)).toEqual([{ name: 'admin', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] }]);
    const anonymous = await cli(['topics', 'list', '--brokers', cluster.brokers.join(','), '--tls-ca', ca.cert]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.err).toMatch(/AUTHENTICATION_REQUIRED/);
    expect((await cli(['topics', 'create', 'cli-secure', '--partitions', '1', '--replication-factor', '3', ...common])).code).toBe(0);
    const produced = await cli(['produce', 'cli-secure', '--key-separator', ':', ...common], 'a:one\nb:two\n');
    expect(produced.code, produced.err).toBe(0);
    const consumed = await cli(['consume', 'cli-secure', '--from-beginning', '--max-messages', '2', ...common]);
    expect(consumed.code, consumed.err).toBe(0);
    expect(consumed.out.trim().split('\n')).toEqual(['partition 0 offset 0 key a value one', 'partition 0 offset 1 key b value two']);
    const status = await cli(['status', ...common]);
    expect(status.code, status.err).toBe(0);
  });

  it('tells clients the nodes\' client addresses: in metadata, in a NOT_LEADER\'s leader, and for the coordinator', async () => {
    const admin = client.admin();
    const described = await admin.describeCluster();
    expect(new Map(described.nodes.map((n) => [n.id, n.address]))).toEqual(new Map(cluster.nodes.map((n) => [n.id, n.client])));
    await admin.disconnect();
    const byId = new Map(cluster.nodes.map((n) => [n.id, n]));

    // An admin request sent to a node that is not the controller is redirected to the controller's client listener.
    const tls = { ca: fs.readFileSync(ca.cert) };
    const sasl = userSasl(ADMIN);
    const probe = new Connection({ address: cluster.nodes[0]!.client, connectTimeoutMs: 2000, tls, sasl });
    try {
      const md = await probe.request({ type: 'metadata', topics: [] }, 5000);
      const controller = md.controller!;
      const other = cluster.nodes.find((n) => n.id !== controller)!;
      const at = new Connection({ address: other.client, connectTimeoutMs: 2000, tls, sasl });
      try {
        const err = await at.request({ type: 'createTopics', topics: [{ name: 'secure', partitions: 1, replicationFactor: 1 }], timeoutMs: 5000 }, 5000).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(RaftlogError);
        expect((err as RaftlogError).code).toBe(ErrorCode.NotLeader);
        expect((err as RaftlogError).leader).toEqual({ id: controller, address: byId.get(controller)!.client });
      } finally {
        at.close();
      }
      const { coordinator } = await probe.request({ type: 'findCoordinator', group: 'g' }, 5000);
      expect(coordinator.address).toBe(byId.get(coordinator.id)!.client);
    } finally {
      probe.close();
    }
  });

  it('each listener answers only its own paths', async () => {
    const n = cluster.nodes[0]!;
    const refusal = (address: string, urlPath: string, o: WebSocket.ClientOptions = {}): Promise<{ status: number; why: string }> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://${address}${urlPath}`, { ca: fs.readFileSync(ca.cert), ...o });
        ws.on('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, why: String(res.headers[REFUSED_HEADER]) });
          ws.terminate();
        });
        ws.on('open', () => reject(new Error(`${urlPath} was accepted on ${address}`)));
        ws.on('error', () => undefined);
      });
    // The client listener takes no peer, even one with the cluster's certificate.
    const peerOnClient = await refusal(n.client, '/raft', { cert: fs.readFileSync(certs.get('n1')!.cert), key: fs.readFileSync(certs.get('n1')!.key) });
    expect(peerOnClient.status).toBe(404);
    expect(peerOnClient.why).toMatch(/this is the client listener: peers connect to the node's peer listener \(--listen\)/);
    // The HTTP listener takes neither.
    expect((await refusal(n.http, '/client')).why).toMatch(/this is the HTTP listener: clients connect to the node's client listener/);
    // And /status is on the HTTP listener only.
    const status = await new Promise<{ status: number; why: string }>((resolve, reject) => {
      const [host, port] = n.client.split(':') as [string, string];
      https.get({ host, port: Number(port), path: '/status', ca: fs.readFileSync(ca.cert) }, (res) => {
        resolve({ status: res.statusCode ?? 0, why: String(res.headers[REFUSED_HEADER]) });
        res.resume();
      }).on('error', reject);
    });
    expect(status).toEqual({ status: 404, why: expect.stringMatching(/serves no HTTP: \/status and \/metrics are on the node's HTTP listener/) as unknown as string });
  });

  it('refuses a peer without a certificate signed by the cluster\'s CA', async () => {
    const other = makeCa(path.join(dir, 'rogue'), 'rogue-ca');
    const rogue = other.issue('rogue');
    const n = cluster.nodes[0]!;
    const dial = (o: WebSocket.ClientOptions): Promise<string> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`wss://${n.address}/raft`, { ca: fs.readFileSync(ca.cert), ...o });
        ws.on('open', () => {
          ws.terminate();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => {
          ws.terminate();
          resolve(`HTTP ${res.statusCode}`);
        });
        ws.on('error', (err) => resolve(`error: ${err.message}`));
      });
    // TLS 1.3: the dialler's handshake ends before the acceptor has checked its certificate, so it sees the connection end.
    expect(await dial({ cert: fs.readFileSync(rogue.cert), key: fs.readFileSync(rogue.key) })).toMatch(/^error: /);
    await eventually(() => /refused a TLS connection from 127\.0\.0\.1:\d+ on the peer listener: its client certificate \(CN=rogue\) is not signed by the cluster's CA/.test(logOf(n.id)), 5000, 'the refusal of the rogue certificate in the log');
    expect(await dial({})).toMatch(/^error: /);
    await eventually(() => /refused a TLS connection from 127\.0\.0\.1:\d+ on the peer listener: it presented no client certificate/.test(logOf(n.id)), 5000, 'the refusal of no certificate in the log');
    // The cluster's own certificate passes TLS (the secret handshake comes next).
    expect(await dial({ cert: fs.readFileSync(certs.get('n2')!.cert), key: fs.readFileSync(certs.get('n2')!.key) })).toBe('open');
  });

  it('a plaintext client to the TLS client listener fails at once, saying the listener takes TLS only', async () => {
    const plain = new Client({ brokers: [cluster.brokers[0]!], logger: silentLogger, retry: { retries: 0 } });
    const admin = plain.admin();
    const err = await admin.describeCluster().then(
      () => null,
      (e: unknown) => e,
    );
    await admin.disconnect();
    expect(err).toBeInstanceOf(RaftlogError);
    expect((err as Error).message).toMatch(/takes TLS only: connect with https:\/\/ or wss:\/\//);
    const viaCli = await cli(['topics', 'list', '--brokers', cluster.brokers[0]!]);
    expect(viaCli.code).toBe(1);
    expect(viaCli.err).toMatch(/takes TLS only/);
    expect(viaCli.err).not.toMatch(/Is the cluster running/);
  });

  it.skipIf(KCAT === '')(`kcat over SASL_SSL (SCRAM-SHA-512) produces and consumes, and creates a topic through a node that is not the controller${NO_KCAT}`, () => {
    const broker = cluster.kafkaBrokers[0]!;
    kcat(['-P', '-b', broker, '-t', 'secure', '-K:', '-X', 'acks=all'], 'x:kcat-1\ny:kcat-2\n');
    const out = kcat(['-C', '-b', broker, '-t', 'secure', '-o', 'beginning', '-e', '-q', '-f', '%s\\n']);
    expect(out.trim().split('\n')).toEqual(expect.arrayContaining(['kcat-1', 'kcat-2']));
    // Auto-creation on a node that is not the controller forwards to the controller's client listener, over TLS.
    const meta = JSON.parse(kcat(['-L', '-b', broker, '-J'])) as { controllerid: number };
    const follower = cluster.nodes.find((n) => brokerId(n.id) !== meta.controllerid)!.kafka!;
    kcat(['-P', '-b', follower, '-t', 'auto-secure', '-X', 'acks=all'], 'created\n');
    expect(kcat(['-C', '-b', follower, '-t', 'auto-secure', '-o', 'beginning', '-e', '-q', '-f', '%s\\n']).trim()).toBe('created');
  });

  it.skipIf(KCAT === '')(`kcat over SASL_SSL is refused a wrong password${NO_KCAT}`, () => {
    const broker = cluster.kafkaBrokers[0]!;
    expect(() => kcat(['-L', '-b', broker, '-m', '3'], '', SASL_SSL('admin', 'not-the-admin-password'))).toThrow(/SASL authentication error: authentication of user 'admin' with SCRAM-SHA-512 failed: wrong user name or password/);
  });

  it('kafkajs logs in over SSL with SCRAM-SHA-512 and produces', async () => {
    const kafka = new Kafka({
      clientId: 'tls-kafkajs',
      brokers: cluster.kafkaBrokers,
      ssl: { ca: [fs.readFileSync(ca.cert, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: ADMIN_PASSWORD },
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100 },
    });
    const producer = kafka.producer();
    await producer.connect();
    const acks = await producer.send({ topic: 'kafkajs-secure', acks: -1, messages: [{ value: 'j1' }, { value: 'j2' }] });
    await producer.disconnect();
    expect(acks).toMatchObject([{ topicName: 'kafkajs-secure', partition: 0, errorCode: 0 }]);
    expect((await readPartition(client, 'kafkajs-secure', 0)).map((m) => m.value!.toString())).toEqual(['j1', 'j2']);
  });

  it('a new node joins over mutual TLS, and clients reach it at its client address', async () => {
    const n4 = await cluster.join('n4');
    await eventually(async () => (await cluster.status('n1')).peers.some((p) => p.id === 'n4' && p.connected), 20_000, 'n1 to connect to n4');
    // Logging in at n4 waits for it to have the metadata, users included: until then it knows no user, and refuses admin as a wrong password.
    const joined = tlsClient({ brokers: [n4.client] });
    const admin = joined.admin();
    await eventually(
      async () => {
        try {
          return (await admin.describeCluster()).nodes.some((n) => n.id === 'n4' && n.address === n4.client);
        } catch (err) {
          if (err instanceof RaftlogError && err.code === ErrorCode.SaslAuthenticationFailed) return false;
          throw err;
        }
      },
      20_000,
      'the metadata to name n4 at its client address',
    );
    await admin.disconnect();
  });
});

describe('a node that requires client certificates (--tls-client-auth required)', () => {
  let one: LocalCluster;
  let app: CertFiles;

  beforeAll(async () => {
    app = ca.issue('app');
    one = new LocalCluster({ nodes: 1, kafka: true, separateListeners: true, tls: { ca: ca.cert, node: (id) => certs.get(id)! }, args: ['--tls-client-auth', 'required'] });
    await one.start();
  }, 60_000);
  afterAll(async () => one?.stop());

  it('refuses a client without one, saying so, and serves one that presents a certificate of the CA', async () => {
    const anonymous = new Client({ brokers: one.brokers, logger: silentLogger, tls: { ca: fs.readFileSync(ca.cert) }, retry: { retries: 0 } });
    const refused = anonymous.admin();
    const err = await refused.describeCluster().then(
      () => null,
      (e: unknown) => e,
    );
    await refused.disconnect();
    expect((err as Error).message).toMatch(/requires a client certificate signed by the cluster's CA \(--tls-client-auth required\), and it presented no client certificate/);

    const known = new Client({ brokers: one.brokers, logger: silentLogger, tls: { ca: fs.readFileSync(ca.cert), cert: fs.readFileSync(app.cert), key: fs.readFileSync(app.key) } });
    const admin = known.admin();
    await admin.createTopics({ topics: [{ topic: 'mtls', numPartitions: 1, replicationFactor: 1 }] });
    expect((await admin.describeCluster()).nodes.map((n) => n.address)).toEqual([one.nodes[0]!.client]);
    await admin.disconnect();
  });

  it('the CLI presents one given with --tls-cert and --tls-key, or RAFTLOG_TLS_CERT and RAFTLOG_TLS_KEY', async () => {
    const withFlags = await cli(['topics', 'list', '--brokers', one.brokers[0]!, '--tls-ca', ca.cert, '--tls-cert', app.cert, '--tls-key', app.key]);
    expect(withFlags.code, withFlags.err).toBe(0);
    expect(withFlags.out).toMatch(/mtls/);
    const without = await cli(['topics', 'list', '--brokers', one.brokers[0]!, '--tls-ca', ca.cert]);
    expect(without.code).toBe(1);
    expect(without.err).toMatch(/requires a client certificate/);
    let out = '';
    const io: Io = { out: (t) => void (out += t), err: () => undefined, stdin: new PassThrough(), env: { RAFTLOG_BROKERS: one.brokers[0]!, RAFTLOG_TLS_CA: ca.cert, RAFTLOG_TLS_CERT: app.cert, RAFTLOG_TLS_KEY: app.key } };
    expect(await main(['topics', 'list'], io)).toBe(0);
    expect(out).toMatch(/mtls/);
  });

  it.skipIf(KCAT === '')(`kcat needs its certificate too${NO_KCAT}`, () => {
    const broker = one.kafkaBrokers[0]!;
    kcat(['-P', '-b', broker, '-t', 'mtls', '-X', `ssl.certificate.location=${app.cert}`, '-X', `ssl.key.location=${app.key}`], 'with a certificate\n', SSL());
    expect(kcat(['-C', '-b', broker, '-t', 'mtls', '-o', 'beginning', '-e', '-q', '-f', '%s\\n', '-X', `ssl.certificate.location=${app.cert}`, '-X', `ssl.key.location=${app.key}`], '', SSL()).trim()).toBe('with a certificate');
    expect(() => kcat(['-L', '-b', broker, '-m', '3'], '', SSL())).toThrow(/failed/);
  });
});
