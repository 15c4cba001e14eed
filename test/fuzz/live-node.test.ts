/**
 * Fuzz: one real node (a child process, as test/cluster/ starts them, with a Kafka listener), fed
 * fuzzed frames on many connections at once after it has taken known records:
 *
 * - client connections (/client): every frame gets exactly the reply the node's own decoder and
 *   validator say it should (its id, or -1; the error code when they refuse it), and the
 *   connection stays open; a frame over the size limit closes its connection (1009), and one over
 *   the decoding budget is answered INVALID_REQUEST;
 * - peer connections (/raft) before authentication: whatever the frame, the node sends nothing
 *   but its challenge and closes the connection;
 * - Kafka connections: a fuzzed request is answered, and the ApiVersions request behind it too,
 *   or the connection is closed;
 *
 * and afterwards the node is the same process, /status answers, and the records read back are
 * exactly those produced. Frames the node would act on in ways that change state or wait long
 * (topic creation and deletion, moves, group joins, long polls, produces to the kept topic or
 * with acks none) are left out: the node's own checks decide, before a frame is sent, which
 * these are.
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import { CLIENT_FRAME_BUDGET } from '../../src/server/client-server.js';
import { PEER_HANDSHAKE_FRAME_BYTES_MAX } from '../../src/transport/peer-frames.js';
import { FrameDecodeError, decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { ErrorCode, LIMITS, type Request, type RequestType } from '../../src/wire/protocol.js';
import { RequestError, parseRequest, requestId } from '../../src/wire/validate.js';
import { readPartition, startCluster, type TestCluster } from '../cluster/helpers.js';
import { FRAMES, KINDS } from '../helpers/peer-frame-values.js';
import { anyRequest } from '../helpers/requests.js';
import { flipBit } from '../helpers/wire-values.js';
import { RawClient, request } from '../kafka/raw.js';
import { GRAMMAR, anyKafkaRequest, requestFrame } from './kafka-grammar.js';
import { encodeMutated, msgpackSoup, mutated } from './tools.js';

const TOPIC = 'kept';
const RECORDS = 60;
/** Fuzzed frames, and connections they go on at once (each client connection takes many frames; each peer or Kafka frame gets a fresh connection). */
const CLIENT_CONNECTIONS = 12;
const CLIENT_FRAMES = 900;
const PEER_FRAMES = 240;
const KAFKA_FRAMES = 240;
const AT_ONCE = 16;
/** Frames fuzzed at random are sent only up to this size: larger ones are sent on purpose, below. */
const RANDOM_FRAME_BYTES_MAX = 256 * 1024;
/** How long a reply or a close may take on a node under the whole suite's load. */
const ANSWER_MS = 20_000;

/** Request types sent when they are well formed: answered at once, and changing nothing of the kept topic. */
const HARMLESS: ReadonlySet<RequestType> = new Set<RequestType>(['metadata', 'fetch', 'listOffsets', 'status', 'findCoordinator', 'fetchOffsets', 'listGroups', 'describeGroups', 'heartbeat', 'leaveGroup', 'syncGroup', 'produce', 'commitOffsets']);
/** Kafka APIs sent: all but Fetch (a long poll may hold its connection's answers for a minute), JoinGroup (waits for a rebalance), and the topic and ACL admin APIs. */
const KAFKA_LEFT_OUT: ReadonlySet<number> = new Set([1, 11, 19, 20, 30, 31]);

let t: TestCluster;
/** The node's client, peer, HTTP and Kafka listeners. */
let client = '';
let peer = '';
let http = '';
let kafka = '';
let before: string[] = [];
let pid: number | undefined;

beforeAll(async () => {
  t = await startCluster(1, [], 'chaos', { kafka: true });
  const n = t.cluster.nodes[0]!;
  client = n.client;
  peer = n.address;
  http = n.http;
  kafka = n.kafka!;
  pid = n.process?.pid;
  const admin = t.client.admin();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 1 }] });
  await admin.disconnect();
  const producer = t.client.producer();
  await producer.send({ topic: TOPIC, messages: Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `kept ${i}` })) });
  await producer.disconnect();
  before = (await readPartition(t.client, TOPIC, 0)).map((m) => `${m.offset}:${String(m.key)}:${String(m.value)}`);
  expect(before).toHaveLength(RECORDS);
});

afterAll(async () => {
  await t?.close();
});

/** What the node must answer to a client frame: an id and error code, an id and any outcome ('*'), or nothing (the frame is not sent). */
function expectedReply(bytes: Uint8Array): string | null {
  let raw: unknown;
  try {
    raw = decodeFrame(bytes, CLIENT_FRAME_BUDGET);
  } catch (err) {
    if (!(err instanceof FrameDecodeError)) throw err;
    return `-1:${ErrorCode.InvalidRequest}`;
  }
  let request: Request;
  let id: number;
  try {
    ({ id, request } = parseRequest(raw));
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    expect(err.id).toBe(requestId(raw));
    return `${err.id}:${err.code}`;
  }
  if (!HARMLESS.has(request.type)) return null;
  if (request.type === 'fetch' && request.maxWaitMs > 200) return null;
  if (request.type === 'produce' && (request.acks === 'none' || request.batches.some((b) => b.topic === TOPIC))) return null;
  return `${id}:*`;
}

/** Client frames: well-formed requests, mutated ones (perhaps damaged), msgpack-shaped and random bytes. */
const clientFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(fc.maxSafeNat(), anyRequest).map(([id, r]) => encodeFrame({ id, ...r })),
  fc
    .tuple(fc.maxSafeNat(), anyRequest)
    .chain(([id, r]) => mutated({ id, ...r }))
    .chain((m) => {
      const bytes = encodeMutated(m.value);
      return fc.oneof({ weight: 3, arbitrary: fc.constant(bytes) }, fc.nat(bytes.length * 8 - 1).map((bit) => flipBit(bytes, bit)), fc.nat(bytes.length - 1).map((cut) => bytes.subarray(0, cut)));
    }),
  msgpackSoup,
  fc.uint8Array({ maxLength: 512 }),
);

/** Peer frames: well-formed ones of every kind (an auth or a join with a MAC made up), mutated ones, msgpack-shaped and random bytes. */
const peerFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(...KINDS).chain((k) => FRAMES[k] as fc.Arbitrary<unknown>).map((f) => encodeFrame(f)),
  fc
    .constantFrom(...KINDS)
    .chain((k) => FRAMES[k] as fc.Arbitrary<unknown>)
    .chain((f) => mutated(f))
    .map((m) => encodeMutated(m.value)),
  msgpackSoup,
  fc.uint8Array({ maxLength: 512 }),
);

/** A client connection that collects replies by id and error code. */
class ClientConn {
  readonly ws: WebSocket;
  readonly replies: string[] = [];
  closed: number | null = null;
  readonly open: Promise<void>;
  constructor() {
    this.ws = new WebSocket(`ws://${client}/client`, { maxPayload: LIMITS.frameBytesMax });
    this.open = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (d: Buffer) => {
      const r = decodeFrame(d) as { id: number; error?: { code: string } };
      this.replies.push(`${r.id}:${r.error?.code ?? 'ok'}`);
    });
    this.ws.on('close', (code) => (this.closed = code));
  }

  async until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + ANSWER_MS;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Matches replies to what was expected of them: exact id and code first, then an id with any outcome. */
function unmatched(expected: readonly string[], replies: readonly string[]): { missing: string[]; extra: string[] } {
  const want = [...expected];
  const extra: string[] = [];
  for (const r of replies) {
    let i = want.indexOf(r);
    if (i < 0) i = want.indexOf(`${r.slice(0, r.indexOf(':'))}:*`);
    if (i < 0) extra.push(r);
    else want.splice(i, 1);
  }
  return { missing: want, extra };
}

/** Runs `work` over `items`, `n` at a time. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

describe('fuzz: a live node fed fuzzed frames on many connections', () => {
  it('answers every client frame as its own checks say, on connections that stay open', async () => {
    const frames = fc.sample(clientFrame, { seed: 2501, numRuns: CLIENT_FRAMES * 2 }).filter((b) => b.byteLength <= RANDOM_FRAME_BYTES_MAX);
    const sent: { bytes: Uint8Array; reply: string }[] = [];
    for (const bytes of frames) {
      const reply = expectedReply(bytes);
      if (reply !== null && sent.length < CLIENT_FRAMES) sent.push({ bytes, reply });
    }
    const conns = Array.from({ length: CLIENT_CONNECTIONS }, () => new ClientConn());
    await Promise.all(conns.map((c) => c.open));
    const expected: string[][] = conns.map(() => []);
    sent.forEach(({ bytes, reply }, i) => {
      conns[i % conns.length]!.ws.send(bytes);
      expected[i % conns.length]!.push(reply);
    });
    // Text frames too.
    conns[0]!.ws.send('{"id": 1, "type": "status"}');
    expected[0]!.push(`-1:${ErrorCode.InvalidRequest}`);
    await Promise.all(conns.map((c, i) => c.until(() => c.replies.length >= expected[i]!.length || c.closed !== null, `${expected[i]!.length} replies on client connection ${i}`)));
    conns.forEach((c, i) => {
      expect(c.closed, `client connection ${i}`).toBeNull();
      expect(unmatched(expected[i]!, c.replies), `client connection ${i}`).toEqual({ missing: [], extra: [] });
    });
    for (const c of conns) c.ws.close();
    expect(sent.length).toBeGreaterThan(CLIENT_FRAMES / 2);
  });

  it('closes a client connection whose frame is over the size limit, and answers one over the decoding budget', async () => {
    const big = new ClientConn();
    await big.open;
    big.ws.send(Buffer.alloc(LIMITS.requestBytesMax + 1));
    await big.until(() => big.closed !== null, 'the close of a connection sent a frame over the limit');
    expect(big.closed).toBe(1009);

    const costly = new ClientConn();
    await costly.open;
    const values = Buffer.alloc(5 + LIMITS.frameValuesMax + 1);
    values[0] = 0xdd;
    values.writeUInt32BE(LIMITS.frameValuesMax + 1, 1);
    costly.ws.send(values);
    costly.ws.send(encodeFrame({ id: 5, type: 'status', pad: 's'.repeat(LIMITS.frameStringBytesMax + 1) }));
    await costly.until(() => costly.replies.length >= 2 || costly.closed !== null, 'two replies');
    expect(costly.replies).toEqual([`-1:${ErrorCode.InvalidRequest}`, `-1:${ErrorCode.InvalidRequest}`]);
    expect(costly.closed).toBeNull();
    costly.ws.close();
  });

  it('sends a peer that has not authenticated nothing but its challenge, and closes it, whatever it sends', async () => {
    const frames = fc.sample(peerFrame, { seed: 2502, numRuns: PEER_FRAMES }).filter((b) => b.byteLength <= RANDOM_FRAME_BYTES_MAX);
    // Past the few KB a stranger may send, and far past.
    frames.push(Buffer.alloc(PEER_HANDSHAKE_FRAME_BYTES_MAX + 1), encodeFrame({ t: 'auth', id: 'n2', nonce: 'x'.repeat(64 * 1024), cluster: '', inc: 'i', member: false, mac: '' }));
    const outcomes: string[] = [];
    await pool(frames, AT_ONCE, async (bytes) => {
      const ws = new WebSocket(`ws://${peer}/raft`);
      const got: string[] = [];
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      ws.on('error', () => undefined);
      ws.on('message', (d: Buffer) => {
        const f = decodeFrame(d) as { t?: string };
        got.push(f.t ?? '?');
        if (got.length === 1) ws.send(bytes);
      });
      const code = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), ANSWER_MS))]);
      ws.terminate();
      outcomes.push(`${got.join(',')} then ${code === -1 ? 'still open' : 'closed'}`);
    });
    expect(new Set(outcomes)).toEqual(new Set(['challenge then closed']));
  });

  it('answers a fuzzed Kafka request and the one behind it, or closes the connection', async () => {
    const mutatedFrame = anyKafkaRequest.chain((r) =>
      fc.oneof(
        fc.constant(Buffer.concat([r.header, r.body])),
        fc.nat().map((i) => flipBit(Buffer.concat([r.header, r.body]), i % ((r.header.length + r.body.length) * 8))),
        fc.nat().map((i) => Buffer.concat([r.header, r.body]).subarray(0, Math.max(10, i % (r.header.length + r.body.length)))),
        fc.constantFrom(...[...GRAMMAR.keys()]).map((key) => Buffer.concat([requestFrame(key, GRAMMAR.get(key)!.versions[0], r.correlationId, Buffer.alloc(0), false), r.body])),
      ),
    );
    const frames = fc.sample(mutatedFrame, { seed: 2503, numRuns: KAFKA_FRAMES * 2 }).filter((f) => (f.length < 2 || !KAFKA_LEFT_OUT.has(f.readInt16BE(0))) && !f.includes(TOPIC)).slice(0, KAFKA_FRAMES);
    const outcomes = new Map<string, number>();
    await pool(frames, AT_ONCE, async (frame) => {
      const c = new RawClient(Number(kafka.slice(kafka.lastIndexOf(':') + 1)));
      const size = Buffer.alloc(4);
      size.writeInt32BE(frame.length);
      c.send(Buffer.concat([size, frame, request(18, 0, 0x5e171e1)]));
      let outcome = 'closed';
      for (;;) {
        const r = await c.next(ANSWER_MS);
        if (r === null) break;
        if (r.readInt32BE(0) === 0x5e171e1) {
          outcome = 'answered';
          break;
        }
      }
      c.close();
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    });
    // next() throws when neither comes in time; both outcomes happen.
    expect([...outcomes.keys()].sort()).toEqual(['answered', 'closed']);
  });

  it('is the same process afterwards, answers /status, and reads back exactly the records it took', async () => {
    const n = t.cluster.nodes[0]!;
    expect(n.process?.pid, `the node exited: ${n.exit}`).toBe(pid);
    const res = await fetch(`http://${http}/status`, { signal: AbortSignal.timeout(ANSWER_MS) });
    expect(res.ok).toBe(true);
    const after = (await readPartition(t.client, TOPIC, 0)).map((m) => `${m.offset}:${String(m.key)}:${String(m.value)}`);
    expect(after).toEqual(before);
    // And a Kafka client is still served.
    const c = new RawClient(Number(kafka.slice(kafka.lastIndexOf(':') + 1)));
    c.send(request(18, 0, 9));
    expect(new KafkaReader((await c.next(ANSWER_MS))!).int32()).toBe(9);
    c.close();
  });
});
