import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { Connection } from '../../src/client/connection.js';
import { RaftlogError } from '../../src/client/errors.js';
import { decodeFrame } from '../../src/wire/codec.js';
import { ManualClock } from '../helpers/manual-clock.js';

/** A bare server whose answer to each frame is chosen by the test. */
async function server(onFrame: (send: (v: unknown) => void, close: () => void, raw: (b: Buffer) => void) => void): Promise<{ address: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/client' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => {
    ws.on('message', () => {
      onFrame(
        (v) => ws.send(encodeFrame(v)),
        () => ws.terminate(),
        (b) => ws.send(b),
      );
    });
  });
  return {
    address: `127.0.0.1:${(wss.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('connection', () => {
  it('matches responses to requests by id, in any order', async () => {
    const held: ((v: unknown) => void)[] = [];
    let n = 0;
    const s = await server((send) => {
      n++;
      held.push(send);
      if (n === 2) {
        held[1]({ id: 2, nodes: [], controller: 'second', topics: [] });
        held[0]({ id: 1, nodes: [], controller: 'first', topics: [] });
      }
    });
    closers.push(s.close);
    const c = new Connection({ address: s.address, connectTimeoutMs: 1000 });
    const [a, b] = await Promise.all([c.request({ type: 'metadata' }, 1000), c.request({ type: 'metadata' }, 1000)]);
    expect([a.controller, b.controller]).toEqual(['first', 'second']);
    c.close();
  });

  it('times out locally with REQUEST_TIMED_OUT: retriable, outcome unknown', async () => {
    const s = await server(() => undefined);
    closers.push(s.close);
    const c = new Connection({ address: s.address, connectTimeoutMs: 1000 });
    const err = await c.request({ type: 'status' }, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RaftlogError);
    expect(err).toMatchObject({ code: ErrorCode.RequestTimedOut, retriable: true, outcomeUnknown: true });
    expect(c.inFlight).toBe(0);
    c.close();
  });

  it('fails pending requests when the connection closes, and reconnects on the next request', async () => {
    let calls = 0;
    const s = await server((send, close) => {
      calls++;
      if (calls === 1) close();
      else send({ id: 2, node: 'n1', address: '', uptimeMs: 1, peers: [], groups: [] });
    });
    closers.push(s.close);
    const c = new Connection({ address: s.address, connectTimeoutMs: 1000 });
    const err = await c.request({ type: 'status' }, 1000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONNECTION_ERROR', retriable: true, outcomeUnknown: true });
    const ok = await c.request({ type: 'status' }, 1000);
    expect(ok.node).toBe('n1');
    c.close();
  });

  it('turns an error frame into a typed error with the leader hint', async () => {
    const s = await server((send) => send({ id: 1, error: { code: 'NOT_LEADER', message: 'ask n2', leader: { id: 'n2', address: '127.0.0.1:2' } } }));
    closers.push(s.close);
    const c = new Connection({ address: s.address, connectTimeoutMs: 1000 });
    const err = await c.request({ type: 'initProducerId', timeoutMs: 10 }, 1000).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.NotLeader, retriable: true, outcomeUnknown: false, leader: { id: 'n2', address: '127.0.0.1:2' } });
    c.close();
  });

  it('drops a node that sends garbage', async () => {
    const s = await server((_send, _close, raw) => raw(Buffer.from([0xc1])));
    closers.push(s.close);
    const c = new Connection({ address: s.address, connectTimeoutMs: 1000 });
    await expect(c.request({ type: 'status' }, 1000)).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    c.close();
  });

  it('cannot connect: a retriable CONNECTION_ERROR whose outcome is certain', async () => {
    const s = await server(() => undefined);
    await s.close();
    const c = new Connection({ address: s.address, connectTimeoutMs: 1000 });
    await expect(c.request({ type: 'status' }, 1000)).rejects.toMatchObject({ code: 'CONNECTION_ERROR', retriable: true, outcomeUnknown: false });
  });

  it("waits out a node's throttle before its next request to that node, on the client's clock (KIP-219)", async () => {
    const received: Record<string, unknown>[] = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/client' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const req = decodeFrame(data as Buffer) as Record<string, unknown>;
        received.push(req);
        // The first produce puts the principal over its quota: the node throttles it for 500 ms.
        ws.send(encodeFrame({ id: req['id'], results: [], ...(received.length === 1 ? { throttleMs: 500 } : {}) }));
      });
    });
    closers.push(
      () =>
        new Promise<void>((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close(() => r());
        }),
    );
    const clock = new ManualClock();
    const c = new Connection({ address: `127.0.0.1:${(wss.address() as AddressInfo).port}`, connectTimeoutMs: 1000, clock });
    const produce = { type: 'produce', acks: 'all', timeoutMs: 1000, batches: [] } as const;
    const first = await c.request(produce, 1000);
    expect(first.throttleMs).toBe(500);
    // The next request waits on the clock, unsent: whatever the sockets do meanwhile, it cannot go before the clock moves.
    const second = c.request(produce, 1000);
    const third = c.send({ ...produce, acks: 'none' });
    expect(clock.pending).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(499);
    expect(received).toHaveLength(1);
    await clock.advance(1);
    expect((await second).throttleMs).toBeUndefined();
    await third;
    expect(received).toHaveLength(3);
    // No throttle in the reply: the next request goes at once.
    await c.request(produce, 1000);
    expect(received).toHaveLength(4);
    c.close();
  });
});
