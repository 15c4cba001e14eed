/**
 * SaslHandshake and SaslAuthenticate on the Kafka listener (src/kafka/apis/sasl.ts, issue 22 §3),
 * over a fake node whose requests run through the real handlers, with `--auth sasl`: on crafted
 * bytes (what may come before authentication, the exchange's answers, a request pipelined behind
 * the last message running as the user it proved), and with kafkajs's own SCRAM-SHA-256,
 * SCRAM-SHA-512 and PLAIN (kafkajs's SCRAM is an implementation independent of src/auth/scram.ts:
 * its SCRAM-SHA-512 logging in checks ours against it, where no RFC gives a test vector). The same
 * with kcat, on a real cluster: test/cluster/auth.test.ts. While the node cannot check passwords
 * (it has just joined the cluster and is receiving the metadata), a SaslHandshake closes the
 * connection unanswered, which kafkajs retries, where a SASL error would end it.
 */
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredentials } from '../../src/auth/credentials.js';
import { ScramClient } from '../../src/auth/scram.js';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import { KafkaListener } from '../../src/kafka/listener.js';
import type { UserRecord } from '../../src/meta/users.js';
import { PRE_AUTH_FRAME_BYTES_MAX, SASL_FAILURES_PER_CONNECTION_MAX } from '../../src/server/sasl.js';
import { fakeKafkaNode, listenOnFakeNode } from './fake-node.js';
import { RawClient, request } from './raw.js';

const PASSWORD = 'alice-password';
let listener: KafkaListener;
let port = 0;
let users: Map<string, UserRecord>;

beforeAll(async () => {
  users = new Map<string, UserRecord>([
    ['alice', { name: 'alice', since: 1, credentials: await newCredentials(PASSWORD) }],
    // A user with a SCRAM-SHA-256 credential only (as every user of the version before SCRAM-SHA-512).
    ['bob', { name: 'bob', since: 2, credentials: await newCredentials(PASSWORD, ['SCRAM-SHA-256']) }],
  ]);
  // The fake tells Kafka clients its listener is at 127.0.0.1:<port>: known only once it listens.
  let address = '127.0.0.1:0';
  const node = { ...fakeKafkaNode(undefined, undefined, { mode: 'sasl', users }), kafkaAddresses: () => new Map([['n1', address]]) };
  listener = new KafkaListener(node);
  await listener.listen('127.0.0.1:0');
  port = listener.port();
  address = `127.0.0.1:${port}`;
});
afterAll(async () => listener.close());

const handshake = (id: number, mechanism: string): Buffer => request(17, 1, id, (w) => w.string(mechanism));
const authenticate = (id: number, bytes: string | Buffer, version = 1): Buffer =>
  version >= 2 ? request(36, version, id, (w) => w.compactBytes(Buffer.from(bytes)).taggedFields(), true) : request(36, version, id, (w) => w.bytes(Buffer.from(bytes)));
const metadata = (id: number): Buffer => request(3, 0, id, (w) => w.array([], () => undefined));

/** A SaslAuthenticate v0-1 response: correlation id, error, message, bytes. */
function authAnswer(frame: Buffer | null): { id: number; error: number; message: string | null; bytes: string } {
  const r = new KafkaReader(frame!);
  return { id: r.int32(), error: r.int16(), message: r.nullableString(), bytes: r.bytes().toString('utf8') };
}

/** Logs in as alice with SCRAM-SHA-256 over raw frames, the client-final sent with `after` right behind it; returns the final answer. */
async function scramLogin(c: RawClient, password: string, after: Buffer[] = []): Promise<ReturnType<typeof authAnswer>> {
  c.send(handshake(1, 'SCRAM-SHA-256'));
  const hs = new KafkaReader((await c.next())!);
  expect([hs.int32(), hs.int16()]).toEqual([1, 0]);
  expect(hs.array((x) => x.string())).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']);
  const scram = new ScramClient('alice', password, 'client-nonce-1234');
  c.send(authenticate(2, scram.first()));
  const first = authAnswer(await c.next());
  expect(first).toMatchObject({ id: 2, error: 0 });
  c.send(Buffer.concat([authenticate(3, await scram.final(first.bytes)), ...after]));
  const final = authAnswer(await c.next());
  if (final.error === 0) scram.verify(final.bytes);
  return final;
}

describe('a Kafka connection to a node with --auth sasl', () => {
  it('is closed, unanswered, when it asks anything but ApiVersions and SASL before authenticating (as Kafka does)', async () => {
    const c = new RawClient(port);
    c.send(request(18, 2, 1));
    expect(new KafkaReader((await c.next())!).int32()).toBe(1);
    c.send(metadata(2));
    expect(await c.next()).toBeNull();
    expect(c.closed).toBe(true);
  });

  it('logs in with SCRAM-SHA-256, and a request pipelined right behind the last message is served as the user', async () => {
    const c = new RawClient(port);
    const final = await scramLogin(c, PASSWORD, [metadata(4)]);
    expect(final).toMatchObject({ id: 3, error: 0 });
    expect(final.bytes).toMatch(/^v=/);
    const md = new KafkaReader((await c.next())!);
    expect(md.int32()).toBe(4);
    c.close();
  });

  it(`is closed when it declares a frame over ${PRE_AUTH_FRAME_BYTES_MAX} bytes before authenticating, and takes large requests once it has`, async () => {
    const stranger = new RawClient(port);
    const size = Buffer.alloc(4);
    size.writeInt32BE(PRE_AUTH_FRAME_BYTES_MAX + 1);
    stranger.send(size);
    expect(await stranger.next()).toBeNull();
    expect(stranger.closed).toBe(true);
    const c = new RawClient(port);
    expect(await scramLogin(c, PASSWORD)).toMatchObject({ id: 3, error: 0 });
    const names = Array.from({ length: 4000 }, (_, k) => `t${k}-${'x'.repeat(200)}`);
    c.send(request(3, 0, 4, (w) => w.array(names, (x, n) => x.string(n))));
    expect(new KafkaReader((await c.next())!).int32()).toBe(4);
    c.close();
  });

  it('answers a wrong password SASL_AUTHENTICATION_FAILED (58) with a message, and closes the connection after the limit', async () => {
    const c = new RawClient(port);
    const final = await scramLogin(c, 'wrong-password');
    expect(final).toMatchObject({ id: 3, error: 58 });
    expect(final.message).toMatch(/wrong user name or password/);
    for (let k = 1; k < SASL_FAILURES_PER_CONNECTION_MAX; k++) {
      c.send(handshake(10 + k, 'PLAIN'));
      await c.next();
      c.send(authenticate(20 + k, '\u0000alice\u0000wrong-password', 0));
      expect(authAnswer(await c.next())).toMatchObject({ id: 20 + k, error: 58 });
    }
    expect(await c.next()).toBeNull();
    expect(c.closed).toBe(true);
  });

  it('takes PLAIN, and SaslAuthenticate v2 (compact bytes, tagged fields)', async () => {
    const c = new RawClient(port);
    c.send(handshake(1, 'PLAIN'));
    await c.next();
    c.send(authenticate(2, `\u0000alice\u0000${PASSWORD}`, 2));
    const r = new KafkaReader((await c.next())!);
    expect(r.int32()).toBe(2);
    r.taggedFields();
    expect([r.int16(), r.compactNullableString(), r.compactBytes().length]).toEqual([0, null, 0]);
    c.send(metadata(3));
    expect(new KafkaReader((await c.next())!).int32()).toBe(3);
    c.close();
  });

  it('answers an unknown mechanism UNSUPPORTED_SASL_MECHANISM (33) with the ones offered', async () => {
    const c = new RawClient(port);
    c.send(handshake(1, 'GSSAPI'));
    const r = new KafkaReader((await c.next())!);
    expect([r.int32(), r.int16(), r.array((x) => x.string())]).toEqual([1, 33, ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']]);
    c.close();
  });
});

describe('kafkajs against a node with --auth sasl', () => {
  const kafka = (sasl: SASLOptions): Kafka =>
    new Kafka({ clientId: 'sasl-test', brokers: [`127.0.0.1:${port}`], sasl, logLevel: logLevel.NOTHING, retry: { retries: 0 } });

  for (const mechanism of ['scram-sha-256', 'scram-sha-512', 'plain'] as const) {
    it(`produces to a topic after logging in with ${mechanism}`, async () => {
      const sasl: SASLOptions = mechanism === 'plain' ? { mechanism, username: 'alice', password: PASSWORD } : { mechanism, username: 'alice', password: PASSWORD };
      const producer = kafka(sasl).producer();
      await producer.connect();
      const acks = await producer.send({ topic: 'orders', acks: -1, messages: [{ value: `via ${mechanism}` }] });
      await producer.disconnect();
      expect(acks).toMatchObject([{ topicName: 'orders', partition: 0, errorCode: 0 }]);
    });
  }

  it('fails to connect with a wrong password, with its SASL authentication error', async () => {
    for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
      const admin = kafka({ mechanism, username: 'alice', password: 'not-alice-password' }).admin();
      const err = await admin.connect().catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'KafkaJSSASLAuthenticationError' });
      expect(String((err as Error).message)).toMatch(/wrong user name or password/);
    }
  });

  it('refuses SCRAM-SHA-512 to a user with no credential of it as it refuses a wrong password, and lets it in with SCRAM-SHA-256', async () => {
    const refusal = async (username: string, password: string): Promise<string> => {
      const err = await kafka({ mechanism: 'scram-sha-512', username, password }).admin().connect().catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'KafkaJSSASLAuthenticationError' });
      return (err as Error).message.replace(`'${username}'`, "'<user>'");
    };
    // The right password, the wrong mechanism: the same answer as a wrong password, or a user that does not exist.
    const noCredential = await refusal('bob', PASSWORD);
    expect(noCredential).toMatch(/authentication of user '<user>' with SCRAM-SHA-512 failed: wrong user name or password/);
    expect(await refusal('alice', 'not-alice-password')).toBe(noCredential);
    expect(await refusal('nobody', PASSWORD)).toBe(noCredential);
    const admin = kafka({ mechanism: 'scram-sha-256', username: 'bob', password: PASSWORD }).admin();
    await admin.connect();
    await admin.disconnect();
  });
});

describe('a Kafka connection to a node that cannot check passwords yet (it has just joined the cluster)', () => {
  let problem: string | null = null;
  let joining: KafkaListener;
  let joiningPort = 0;
  beforeAll(async () => {
    ({ listener: joining, port: joiningPort } = await listenOnFakeNode({ mode: 'sasl', users, metadataProblem: () => problem }));
  });
  afterAll(async () => joining.close());

  it('answers ApiVersions, and closes the connection at the SaslHandshake, unanswered', async () => {
    problem = 'its metadata replica has received none of the metadata yet (it has just joined the cluster)';
    const c = new RawClient(joiningPort);
    c.send(request(18, 2, 1));
    expect(new KafkaReader((await c.next())!).int32()).toBe(1);
    c.send(handshake(2, 'SCRAM-SHA-256'));
    expect(await c.next()).toBeNull();
    expect(c.closed).toBe(true);
  });

  it('closes at the SaslAuthenticate of an exchange begun while it could, unanswered', async () => {
    problem = null;
    const c = new RawClient(joiningPort);
    c.send(handshake(1, 'PLAIN'));
    expect(new KafkaReader((await c.next())!).int32()).toBe(1);
    problem = 'its metadata group stopped (a test)';
    c.send(authenticate(2, `\u0000alice\u0000${PASSWORD}`));
    expect(await c.next()).toBeNull();
    expect(c.closed).toBe(true);
  });

  it('lets kafkajs in once it can: kafkajs retries a closed connection, where it gives up on a SASL error', async () => {
    problem = 'its metadata replica has received none of the metadata yet (it has just joined the cluster)';
    const admin = new Kafka({ clientId: 'sasl-joining', brokers: [`127.0.0.1:${joiningPort}`], sasl: { mechanism: 'scram-sha-256', username: 'alice', password: PASSWORD }, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 20, maxRetryTime: 100 } }).admin();
    let inside = false;
    const connected = admin.connect().then(() => (inside = true));
    await new Promise((r) => setTimeout(r, 300));
    // Turned away meanwhile, and still trying.
    expect(inside).toBe(false);
    problem = null;
    await connected;
    expect(await admin.listTopics()).toEqual(['orders']);
    await admin.disconnect();
  });
});
