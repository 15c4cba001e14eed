/**
 * A joining node's ask (src/node/join.ts askToJoin) against whatever answers at the address it
 * was given: until the answer's MAC proves the cluster secret, what answers is a stranger, and it
 * may not make the joiner take a frame larger than JOIN_FRAME_BYTES_MAX.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { JOIN_FRAME_BYTES_MAX, askToJoin } from '../../src/node/join.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

describe('asking to join', () => {
  it(`ends the ask when what answers sends a frame over ${JOIN_FRAME_BYTES_MAX} bytes, saying why`, async () => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    cleanup.push(() => server.close());
    await new Promise((resolve) => server.once('listening', resolve));
    server.on('connection', (ws) => ws.send(Buffer.alloc(JOIN_FRAME_BYTES_MAX + 1)));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const r = await askToJoin(`127.0.0.1:${port}`, { self: 'n9', address: '127.0.0.1:1', inc: 'x', secret: 's' });
    expect(r.kind).toBe('failed');
    expect(r.kind === 'failed' ? r.reason : '').toMatch(/1009|payload/i);
  });
});
