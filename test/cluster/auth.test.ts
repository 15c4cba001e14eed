/**
 * Client authentication on a real cluster (issue 22 §3): three child processes started with
 * `--auth sasl` on 127.0.0.1 (explicitly: loopback alone would default to none) and
 * RAFTLOG_BOOTSTRAP_USER. The bootstrap user logs in and creates users with `raftlog users`, with
 * credentials of both SCRAM mechanisms or of one; the client library, kafkajs and kcat produce and
 * consume with SCRAM-SHA-256 and SCRAM-SHA-512; a connection that has not authenticated, with a
 * wrong password, or with a mechanism its user has no credential of, is refused with a typed error
 * and changes nothing; a Kafka client's auto-created topic is forwarded to the controller by a
 * node that is not it, authenticated with the cluster secret; and no password is written to
 * any node's data folder or log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../chaos/cluster.js';
import { main, type Io } from '../../src/cli/program.js';
import { Client, RaftlogError, silentLogger, type ClientOptions, type ConsumedMessage } from '../../src/client/index.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { kcat } from '../kafka/helpers.js';
import { bootstrapUserLogsIn, eventually } from './helpers.js';

const ADMIN_PASSWORD = 'bootstrap-admin-password-7f3a';
const ALICE_PASSWORD = 'alice-password-via-stdin-91c2';
const BOB_PASSWORD = 'bob-password-from-a-file-5d0e';
const RETRY = { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 };

let cluster: LocalCluster;
let dir: string;

function client(sasl?: ClientOptions['sasl'], retry: ClientOptions['retry'] = RETRY): Client {
  return new Client({ brokers: cluster.brokers, logger: silentLogger, retry, ...(sasl !== undefined ? { sasl } : {}) });
}

const admin = { mechanism: 'scram-sha-256', username: 'admin', password: ADMIN_PASSWORD };
const alice = { mechanism: 'scram-sha-256', username: 'alice', password: ALICE_PASSWORD };
const alice512 = { ...alice, mechanism: 'scram-sha-512' };

/** Runs the CLI in-process against the cluster: exit code and output. */
async function cli(args: readonly string[], env: Record<string, string> = {}, stdin = ''): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    stdin: Readable.from([stdin]),
    env: { RAFTLOG_BROKERS: cluster.brokers.join(','), ...env },
    clientOptions: { retry: RETRY },
  };
  const code = await main(args, io);
  return { code, out: out.join(''), err: err.join('') };
}

async function refusal(p: Promise<unknown>): Promise<RaftlogError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof RaftlogError)) throw new Error(`expected a RaftlogError, got ${String(err)}`);
  return err;
}

/** Every record of one partition, read with `c`. */
async function readAll(c: Client, topic: string, count: number): Promise<ConsumedMessage[]> {
  const consumer = c.consumer();
  const got: ConsumedMessage[] = [];
  consumer.assign([{ topic, partition: 0, offset: 'earliest' }]);
  await consumer.run({ eachMessage: async ({ message }) => void got.push(message) });
  try {
    await eventually(() => got.length >= count, 20_000, `${count} records of ${topic}`);
  } finally {
    await consumer.stop();
    await consumer.disconnect();
  }
  return got;
}

beforeAll(async () => {
  // Under --auth sasl, /status needs a user too (HTTP Basic: src/server/http-auth.ts).
  cluster = new LocalCluster({ nodes: 3, kafka: true, args: ['--auth', 'sasl', '--auto-create-topics'], env: { RAFTLOG_BOOTSTRAP_USER: `admin:${ADMIN_PASSWORD}` }, httpAuth: { username: 'admin', password: ADMIN_PASSWORD } });
  dir = cluster.dir;
  await cluster.start();
  // The controller creates the bootstrap user once it is elected and has named the cluster.
  const c = client(admin, { retries: 0 });
  await bootstrapUserLogsIn(c);
}, 60_000);
afterAll(async () => cluster?.stop());

describe('a cluster started with --auth sasl on 127.0.0.1', () => {
  it('says so in /status, on every node', async () => {
    for (const n of cluster.nodes) expect((await cluster.status(n.id)).auth).toBe('sasl');
  });

  it('refuses a client that has not authenticated with AUTHENTICATION_REQUIRED, and nothing changes', async () => {
    const anonymous = client(undefined, { retries: 0 });
    const err = await refusal(anonymous.admin().createTopics({ topics: [{ topic: 'anon-topic', replicationFactor: 1 }] }));
    expect(err.code).toBe(ErrorCode.AuthenticationRequired);
    expect(err.retriable).toBe(false);
    expect((await refusal(anonymous.admin().listTopics())).code).toBe(ErrorCode.AuthenticationRequired);
    const a = client(admin).admin();
    expect(await a.listTopics()).not.toContain('anon-topic');
    await a.disconnect();
  });

  it('the bootstrap user creates users with raftlog users create (the password from stdin or a file, never argv) and lists them with their mechanisms', async () => {
    const adminEnv = { RAFTLOG_USER: 'admin', RAFTLOG_PASSWORD: ADMIN_PASSWORD };
    expect(await cli(['users', 'create', 'alice'], adminEnv, `${ALICE_PASSWORD}\n`)).toEqual({ code: 0, out: 'created user alice (principal User:alice), with SCRAM-SHA-256, SCRAM-SHA-512\n', err: '' });
    const pwFile = path.join(dir, 'bob.pw');
    const adminPw = path.join(dir, 'admin.pw');
    fs.writeFileSync(pwFile, `${BOB_PASSWORD}\n`, { mode: 0o600 });
    fs.writeFileSync(adminPw, `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
    // bob with SCRAM-SHA-256 only; the CLI logging in with SCRAM-SHA-512 (the bootstrap user has both).
    const bob = await cli(['users', 'create', 'bob', '--password-file', pwFile, '--mechanism', 'scram-sha-256', '--auth-user', 'admin', '--auth-password-file', adminPw, '--auth-mechanism', 'scram-sha-512']);
    expect(bob).toEqual({ code: 0, out: 'created user bob (principal User:bob), with SCRAM-SHA-256\n', err: '' });
    const listed = await cli(['users', 'list', '--json'], adminEnv);
    expect(JSON.parse(listed.out)).toEqual([
      { name: 'admin', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] },
      { name: 'alice', mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] },
      { name: 'bob', mechanisms: ['SCRAM-SHA-256'] },
    ]);
    // bob logs in with SCRAM-SHA-256, and is refused SCRAM-SHA-512 as a wrong password is; the node's log says why.
    expect((await cli(['users', 'list'], { RAFTLOG_USER: 'bob', RAFTLOG_PASSWORD: BOB_PASSWORD })).err).toMatch(/not authorized|AUTHORIZATION_FAILED/);
    const refused = await cli(['users', 'list'], { RAFTLOG_USER: 'bob', RAFTLOG_PASSWORD: BOB_PASSWORD, RAFTLOG_AUTH_MECHANISM: 'scram-sha-512' });
    expect(refused.err).toMatch(/SASL_AUTHENTICATION_FAILED.*authentication of user 'bob' with SCRAM-SHA-512 failed: wrong user name or password/);
    const why = /authentication failed on a client connection from 127\.0\.0\.1:\d+ for user 'bob' \(SCRAM-SHA-512\): user 'bob' has no SCRAM-SHA-512 credential, only SCRAM-SHA-256/;
    await eventually(() => cluster.nodes.some((n) => why.test(fs.readFileSync(n.logFile, 'utf8'))), 10_000, 'the refusal of SCRAM-SHA-512 in a node log');
    // Without credentials the CLI is refused, and says how to give them.
    const anon = await cli(['users', 'list']);
    expect(anon.code).toBe(1);
    expect(anon.err).toMatch(/AUTHENTICATION_REQUIRED.*--auth-user and --auth-password-file/);
    expect(await cli(['users', 'delete', 'bob'], adminEnv)).toEqual({ code: 0, out: 'deleted user bob\n', err: '' });
    expect((await cli(['users', 'list'], adminEnv)).out).toBe('NAME   MECHANISMS\nadmin  SCRAM-SHA-256,SCRAM-SHA-512\nalice  SCRAM-SHA-256,SCRAM-SHA-512\n');
  });

  it('a new user may do nothing until an ACL allows it (--auth sasl checks ACLs unless told --authorizer none), and the bootstrap user grants it with raftlog acls add', async () => {
    const adminEnv = { RAFTLOG_USER: 'admin', RAFTLOG_PASSWORD: ADMIN_PASSWORD };
    const refused = await refusal(client(alice).admin().createTopics({ topics: [{ topic: 'not-yet', numPartitions: 1 }] }));
    expect(refused.code).toBe('TOPIC_AUTHORIZATION_FAILED');
    expect((await cli(['acls', 'add', '--allow', '--principal', 'User:alice', '--operation', 'all', '--topic', '*'], adminEnv)).code).toBe(0);
    expect((await cli(['acls', 'add', '--allow', '--principal', 'User:alice', '--operation', 'all', '--group', '*'], adminEnv)).code).toBe(0);
  });

  it("the client library produces with a user's SCRAM-SHA-256 credentials and consumes with its SCRAM-SHA-512 ones, on every node", async () => {
    const c = client(alice);
    const a = c.admin();
    await a.createTopics({ topics: [{ topic: 'secured', numPartitions: 1, replicationFactor: 3 }] });
    await a.disconnect();
    const producer = c.producer();
    await producer.send({ topic: 'secured', acks: 'all', messages: [{ value: 'one' }, { value: 'two' }] });
    await producer.disconnect();
    const got = await readAll(client(alice512), 'secured', 2);
    expect(got.map((m) => m.value?.toString())).toEqual(['one', 'two']);
  });

  it('refuses a wrong password with SASL_AUTHENTICATION_FAILED, not retried, and logs the user and the remote', async () => {
    const wrong = client({ ...alice, password: 'not-alices-password' });
    const t0 = Date.now();
    const err = await refusal(wrong.producer().send({ topic: 'secured', messages: [{ value: 'never' }] }));
    expect(err.code).toBe(ErrorCode.SaslAuthenticationFailed);
    expect(err.message).toMatch(/wrong user name or password/);
    // Not retried 20 times with backoff: the client fails at once.
    expect(Date.now() - t0).toBeLessThan(5000);
    // The node's log (written by its logger as it goes) names the user and where the connection came from.
    const logged = /authentication failed on a client connection from 127\.0\.0\.1:\d+ for user 'alice' \(SCRAM-SHA-256\): wrong password/;
    await eventually(() => cluster.nodes.some((n) => logged.test(fs.readFileSync(n.logFile, 'utf8'))), 10_000, 'the failed authentication in a node log');
    const read = await readAll(client(alice), 'secured', 2);
    expect(read.map((m) => m.value?.toString())).toEqual(['one', 'two']);
  });

  it('kafkajs produces and consumes in a group with SCRAM-SHA-256, and a topic it auto-creates through a node that is not the controller is created for it', async () => {
    const md = await client(admin).admin().describeCluster();
    const follower = cluster.nodes.find((n) => n.id !== md.controller)!.kafka!;
    const kafka = new Kafka({ clientId: 'auth-kafkajs', brokers: [follower], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: ALICE_PASSWORD }, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'auto-secured', acks: -1, messages: [{ value: 'k1' }, { value: 'k2' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'auth-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'auto-secured', fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    try {
      await eventually(() => got.length >= 2, 30_000, 'kafkajs to consume 2 records');
    } finally {
      await consumer.disconnect();
    }
    expect(got).toEqual(['k1', 'k2']);
    // A wrong password: kafkajs's own SASL error.
    const bad = new Kafka({ brokers: [follower], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'nope-nope-nope' }, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    await expect(bad.connect()).rejects.toMatchObject({ name: 'KafkaJSSASLAuthenticationError' });
  });

  it('kcat produces and consumes with -X security.protocol=SASL_PLAINTEXT and sasl.mechanisms SCRAM-SHA-256 or SCRAM-SHA-512, and is refused with a wrong password (each refusal waits out -m 3) or none', async () => {
    const broker = cluster.nodes[0]!.kafka!;
    const sasl = (mechanism: string, password = ALICE_PASSWORD): string[] => ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`, '-X', 'sasl.username=alice', '-X', `sasl.password=${password}`];
    const a = client(alice).admin();
    await a.createTopics({ topics: [{ topic: 'kc-secured', numPartitions: 1, replicationFactor: 3 }] });
    await a.disconnect();
    await kcat(['-P', '-b', broker, '-t', 'kc-secured', '-X', 'acks=all', ...sasl('SCRAM-SHA-256')], 'from kcat 1\n');
    await kcat(['-P', '-b', broker, '-t', 'kc-secured', '-X', 'acks=all', ...sasl('SCRAM-SHA-512')], 'from kcat 2\n');
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      expect(await kcat(['-C', '-b', broker, '-t', 'kc-secured', '-o', 'beginning', '-e', '-q', ...sasl(mechanism)])).toBe('from kcat 1\nfrom kcat 2\n');
    }
    await expect(kcat(['-L', '-b', broker, '-m', '3', ...sasl('SCRAM-SHA-512', 'wrong-password')], undefined, 15_000)).rejects.toThrow(/SASL authentication error: authentication of user 'alice' with SCRAM-SHA-512 failed: wrong user name or password/);
    // Without SASL, the listener closes the connection at the first request past ApiVersions: no metadata.
    await expect(kcat(['-L', '-b', broker, '-m', '3'], undefined, 15_000)).rejects.toThrow(/failed/);
  });

  it('writes no password to any data folder or log: the metadata holds salts and keys', async () => {
    const passwords = [ADMIN_PASSWORD, ALICE_PASSWORD, BOB_PASSWORD].map((p) => Buffer.from(p));
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && !p.endsWith('.pw')) files.push(p);
      }
    };
    walk(dir);
    expect(files.some((f) => f.includes(`${path.sep}meta${path.sep}`))).toBe(true);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      for (const p of passwords) expect(bytes.includes(p), `${f} holds a password`).toBe(false);
    }
  });
});
