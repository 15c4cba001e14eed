/**
 * The dialling side of a peer connection (src/transport/peer-transport.ts): a node that accepts
 * the upgrade and then says nothing, or stops answering, is left and dialled again, instead of
 * being waited for on a connection that will never carry anything; and what goes to a peer is cut
 * into frames the receiver decodes without a long stall.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryKind, type Message } from '../../raft/types.js';
import { PEER_FRAME_BYTES_MAX, PEER_HANDSHAKE_FRAME_BYTES_MAX, type PeerFrame } from '../../src/transport/peer-frames.js';
import { PEER_FRAME_SPLIT_BYTES, PeerTransport, raftFrames } from '../../src/transport/peer-transport.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { eventually } from '../cluster/helpers.js';
import { createHash } from 'node:crypto';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A TCP server that answers every WebSocket upgrade and then never sends a byte; counts the upgrades. */
async function mute(): Promise<{ port: number; upgrades: () => number }> {
  let upgrades = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    let head = '';
    s.on('data', (d) => {
      head += d.toString('latin1');
      const key = /Sec-WebSocket-Key: (\S+)/i.exec(head)?.[1];
      if (!head.includes('\r\n\r\n') || key === undefined) return;
      head = '';
      upgrades++;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      s.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as net.AddressInfo).port, upgrades: () => upgrades };
}

function dialer(port: number, o: { handshakeMs?: number; pingIntervalMs?: number; silentMsMax?: number; onFrame?: (from: string, f: PeerFrame) => void }): PeerTransport {
  const t = new PeerTransport({
    self: 'n1',
    nodes: new Map([
      ['n1', '127.0.0.1:1'],
      ['n2', `127.0.0.1:${port}`],
    ]),
    secret: 'a-long-enough-secret-for-tests',
    logger: pino({ level: 'silent' }),
    frameBytesMax: PEER_FRAME_BYTES_MAX,
    sendBufferBytesMax: 1024 * 1024,
    onFrame: () => undefined,
    identity: () => ({ cluster: '', inc: 'i', member: false }),
    ...o,
  });
  cleanup.push(() => t.close());
  t.start();
  return t;
}

describe('dialling a peer', () => {
  it('gives up on a node that accepts the connection but never sends its challenge, and dials again', async () => {
    const m = await mute();
    dialer(m.port, { handshakeMs: 200, pingIntervalMs: 60_000, silentMsMax: 60_000 });
    await eventually(() => m.upgrades() >= 2, 10_000, 'a second dial');
  });

  it('leaves a connection from which nothing comes, pongs included, and dials again', async () => {
    const m = await mute();
    // The handshake's own limit is long here: the silence ends the connection first.
    dialer(m.port, { handshakeMs: 60_000, pingIntervalMs: 100, silentMsMax: 400 });
    await eventually(() => m.upgrades() >= 2, 10_000, 'a second dial');
  });

  it('closes on a node that sends a frame of 1 MiB before it has proven it knows the secret', async () => {
    // What answers may be anyone: until its welcome proves it, frames are held to the handshake's size.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: PEER_FRAME_BYTES_MAX });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    cleanup.push(() => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    });
    const answered: unknown[] = [];
    const closes: number[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (d) => answered.push(d));
      ws.on('close', (code) => closes.push(code));
      // A challenge of the right shape, but 1 MiB of it.
      ws.send(encodeFrame({ t: 'challenge', id: 'n2', nonce: 'x'.repeat(1024 * 1024) } satisfies PeerFrame));
    });
    dialer((wss.address() as AddressInfo).port, { handshakeMs: 60_000, pingIntervalMs: 60_000, silentMsMax: 60_000 });
    await eventually(() => closes.length > 0 || answered.length > 0, 10_000, 'the dialler to answer or close');
    expect(answered).toEqual([]);
    // 1009: message too big (RFC 6455).
    expect(closes[0]).toBe(1009);
  });

  it('takes frames of the full peer size once the node it dialled has proven it knows the secret', async () => {
    const heard: PeerFrame[] = [];
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const nodes = new Map([
      ['n1', '127.0.0.1:1'],
      ['n2', `127.0.0.1:${port}`],
    ]);
    const acceptor = new PeerTransport({
      self: 'n2',
      nodes,
      secret: 'a-long-enough-secret-for-tests',
      logger: pino({ level: 'silent' }),
      frameBytesMax: PEER_FRAME_BYTES_MAX,
      sendBufferBytesMax: 64 * 1024 * 1024,
      onFrame: () => undefined,
      identity: () => ({ cluster: '', inc: 'i', member: false }),
    });
    const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: PEER_FRAME_BYTES_MAX });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (ws) => acceptor.accept(ws, { messageBytesMax: PEER_FRAME_BYTES_MAX }));
    cleanup.push(() => {
      acceptor.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    });
    const t = dialer(port, { onFrame: (_from, f) => heard.push(f) });
    await eventually(() => acceptor.isConnected('n1') && t.isConnected('n2'), 10_000, 'n1 and n2 to connect');
    const name = 'x'.repeat(50 * PEER_HANDSHAKE_FRAME_BYTES_MAX);
    acceptor.send('n1', { t: 'nodes', nodes: [[name, '127.0.0.1:9']] });
    await eventually(() => heard.length > 0, 10_000, 'n1 to take the large frame');
    expect(heard[0]).toEqual({ t: 'nodes', nodes: [[name, '127.0.0.1:9']] });
  });
});

describe('the frames to a peer', () => {
  const append = (index: number, bytes: number): [string, Message] => [
    'g',
    { type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: index - 1, prevTerm: 1, commit: 0, entries: [{ index, term: 1, kind: EntryKind.Normal, data: new Uint8Array(bytes) }] } as Message,
  ];

  it('carry about PEER_FRAME_SPLIT_BYTES of messages each, in order, and a larger message alone', () => {
    const queue = [...Array.from({ length: 300 }, (_, i) => append(i + 1, 10_000)), append(301, 3 * PEER_FRAME_SPLIT_BYTES), append(302, 10)];
    const frames = raftFrames(queue, PEER_FRAME_SPLIT_BYTES);
    expect(frames.flat()).toEqual(queue);
    for (const f of frames) {
      const bytes = f.reduce((n, [, m]) => n + (m.type === 'append' ? m.entries.reduce((k, e) => k + e.data.byteLength, 0) : 0), 0);
      if (f.length > 1) expect(bytes).toBeLessThanOrEqual(PEER_FRAME_SPLIT_BYTES);
    }
    expect(frames.some((f) => f.length === 1 && f[0]![1].type === 'append' && f[0]![1].entries[0]!.data.byteLength === 3 * PEER_FRAME_SPLIT_BYTES)).toBe(true);
    expect(frames.length).toBeGreaterThanOrEqual(4);
  });
});
