/**
 * The limits of the node's WebSocket endpoints (src/wire/ws-guard.ts, issue 22 §1), on an HTTP
 * listener in this process with short, test-given times: a peer that has not authenticated may
 * not even begin a large frame; a frame begun must be whole in time; a client connection with no
 * request, or one from which nothing comes (no pong), is closed; a live one is not.
 */
import pino from 'pino';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../chaos/cluster.js';
import { HttpServer, type ConnectionTimes, type HttpNode } from '../../src/server/http.js';
import { PEER_FRAME_BYTES_MAX, PEER_HANDSHAKE_FRAME_BYTES_MAX, type PeerFrame } from '../../src/transport/peer-frames.js';
import { AUTH_FAILED, PeerTransport, type PeerTransportOptions } from '../../src/transport/peer-transport.js';
import { CLOSE_LINGER_MS } from '../../src/wire/ws-guard.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { LIMITS } from '../../src/wire/protocol.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';
import { eventually } from '../cluster/helpers.js';
import { RawWs } from './raw-ws.js';

const SECRET = 'a-long-enough-secret-for-tests';
const quiet = pino({ level: 'silent' });
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function transportOptions(self: string, nodes: Map<string, string>, onFrame: PeerTransportOptions['onFrame'] = () => undefined): PeerTransportOptions {
  return { self, nodes, secret: SECRET, logger: quiet, frameBytesMax: PEER_FRAME_BYTES_MAX, sendBufferBytesMax: 64 * 1024 * 1024, onFrame, identity: () => ({ cluster: '', inc: 'i', member: false }) };
}

/** An HTTP listener for node n2 of {n1, n2}, with its peer transport; n1 is nobody unless a test starts it. */
async function listener(times: ConnectionTimes, onFrame?: PeerTransportOptions['onFrame'], transport: Partial<PeerTransportOptions> = {}): Promise<{ port: number; nodes: Map<string, string> }> {
  const port = await freePort();
  const nodes = new Map([
    ['n1', '127.0.0.1:1'],
    ['n2', `127.0.0.1:${port}`],
  ]);
  const peers = new PeerTransport({ ...transportOptions('n2', nodes, onFrame), ...transport });
  const node = { ...fakeKafkaNode(), transport: peers, metrics: { ...fakeKafkaNode().metrics, registry: { contentType: 'text/plain', metrics: () => Promise.resolve('') } }, status: () => ({}) } as unknown as HttpNode;
  const http = new HttpServer(node, new Map(), times);
  await http.listen(`127.0.0.1:${port}`);
  cleanup.push(async () => {
    peers.close();
    await http.close();
  });
  return { port, nodes };
}

const LONG = { frameCompleteMs: 60_000, pingIntervalMs: 60_000, silentMsMax: 60_000, clientIdleMs: 60_000 };

describe('a peer connection before it has authenticated', () => {
  it('is refused as soon as it begins a frame of 100 KB, before sending it', async () => {
    const { port } = await listener(LONG);
    const c = await RawWs.open(port, '/raft');
    cleanup.push(() => c.destroy());
    c.write(RawWs.header(100 * 1024));
    c.write(Buffer.alloc(1024));
    await c.whenClosed();
    // 1009: message too big (RFC 6455); the handshake's own timeout would have closed it with 4001.
    expect(c.closeCode()).toBe(1009);
  });

  // ws waits 30 s for the other end's close frame before it lets a connection go: a stranger that
  // never answers must not hold its connection that long (an idle flood on /raft held each for 35 s).
  it('is let go soon after its handshake time runs out, even when it never answers the close', async () => {
    const { port } = await listener(LONG, undefined, { handshakeMs: 200 });
    const c = await RawWs.open(port, '/raft');
    cleanup.push(() => c.destroy());
    await c.whenClosed(CLOSE_LINGER_MS + 5000);
    expect(c.closeCode()).toBe(AUTH_FAILED);
  });

  it('is let go soon after it sends a malformed frame, even when it never answers the close', async () => {
    const { port } = await listener(LONG);
    const c = await RawWs.open(port, '/raft');
    cleanup.push(() => c.destroy());
    c.write(RawWs.frame(Buffer.from('not a peer frame')));
    await c.whenClosed(CLOSE_LINGER_MS + 5000);
    expect(c.closeCode()).toBe(1008);
  });

  it('takes frames of the full peer size once the dialer has authenticated', async () => {
    const heard: PeerFrame[] = [];
    const { nodes } = await listener(LONG, (_from, f) => heard.push(f));
    let up = false;
    const dialer = new PeerTransport({ ...transportOptions('n1', nodes), onPeerUp: () => (up = true) });
    cleanup.push(() => dialer.close());
    dialer.start();
    await eventually(() => up, 10_000, 'n1 to authenticate to n2');
    const name = 'x'.repeat(50 * PEER_HANDSHAKE_FRAME_BYTES_MAX);
    dialer.send('n2', { t: 'nodes', nodes: [[name, '127.0.0.1:9']] });
    await eventually(() => heard.length > 0, 10_000, 'n2 to take the large frame');
    expect(heard[0]).toEqual({ t: 'nodes', nodes: [[name, '127.0.0.1:9']] });
  });
});

describe('a client connection', () => {
  it('is closed when a frame it began (10 MB declared, 1 KB sent) is not whole in time', async () => {
    const { port } = await listener({ ...LONG, frameCompleteMs: 300 });
    const c = await RawWs.open(port, '/client');
    cleanup.push(() => c.destroy());
    c.write(RawWs.header(10 * 1024 * 1024));
    c.write(Buffer.alloc(1024));
    await c.whenClosed();
    expect(c.closeCode()).toBe(1008);
  });

  it('is refused as soon as it begins a frame over the request limit (60 MB declared)', async () => {
    const { port } = await listener(LONG);
    const c = await RawWs.open(port, '/client');
    cleanup.push(() => c.destroy());
    expect(60 * 1024 * 1024).toBeGreaterThan(LIMITS.requestBytesMax);
    c.write(RawWs.header(60 * 1024 * 1024));
    c.write(Buffer.alloc(1024));
    await c.whenClosed();
    expect(c.closeCode()).toBe(1009);
  });

  it('is not closed for sending frames back to back, each split across writes, for longer than a frame may take', async () => {
    const { port } = await listener({ ...LONG, frameCompleteMs: 300 });
    const c = await RawWs.open(port, '/client');
    cleanup.push(() => c.destroy());
    const frame = RawWs.frame(encodeFrame({ id: 1, type: 'metadata', topics: ['nope'] }));
    const half = frame.length >> 1;
    // Every write ends inside a frame: the wait must start again with each frame, not run from the first.
    c.write(frame.subarray(0, half));
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      c.write(Buffer.concat([frame.subarray(half), frame.subarray(0, half)]));
    }
    await new Promise((r) => setTimeout(r, 50));
    c.write(frame.subarray(half));
    await eventually(() => c.frames.filter((f) => f.opcode === 0x2).length === 21, 10_000, 'an answer to each of the 21 requests');
    expect(c.closed).toBe(false);
  });

  it('is closed once it has had no request for the idle time', async () => {
    const { port } = await listener({ ...LONG, clientIdleMs: 300 });
    const c = await RawWs.open(port, '/client');
    cleanup.push(() => c.destroy());
    // A normal close (the node waits for the client's close frame, which a raw client does not send).
    await eventually(() => c.closeCode() !== null, 10_000, 'a close frame');
    expect(c.closeCode()).toBe(1000);
  });

  it('is closed when nothing comes from it, not even a pong', async () => {
    const { port } = await listener({ ...LONG, pingIntervalMs: 100, silentMsMax: 400 });
    const c = await RawWs.open(port, '/client');
    cleanup.push(() => c.destroy());
    await c.whenClosed();
    expect(c.frames.some((f) => f.opcode === 0x9)).toBe(true);
  });

  it('stays open while it answers the pings', async () => {
    const { port } = await listener({ ...LONG, pingIntervalMs: 100, silentMsMax: 2000 });
    const ws = new WebSocket(`ws://127.0.0.1:${port}/client`);
    cleanup.push(() => ws.terminate());
    let pings = 0;
    ws.on('ping', () => pings++);
    let closed = false;
    ws.on('close', () => (closed = true));
    // Past the silence limit, answering each ping as ws does.
    await eventually(() => pings >= 25 || closed, 20_000, '25 pings');
    expect(closed).toBe(false);
  });
});
