/**
 * Peer frames after the handshake (src/transport/peer-frames.ts, issue 22 §3): someone who can
 * write into a peer connection's TCP stream once it has authenticated, but does not know the
 * cluster secret, cannot get a frame heard. A frame altered on the way, one played again, one
 * overtaken by the next, and one written in by the man in the middle each close the connection
 * (with a log line saying why) before the receiver hears it; the two nodes then connect again and
 * carry frames as before. Between two transports in this process, through a proxy that plays the
 * man in the middle (tamper-proxy.ts).
 */
import fc from 'fast-check';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { FRAME_MACS, FRAME_TRAILER_BYTES, FrameAuthError, FrameOpener, FrameSealer, HMAC_SHA256_128, PEER_FRAME_BYTES_MAX, chooseFrameMac, chosenFrameMac, decodePeerFrame, frameKeys, type FrameMacAlgorithm, type PeerFrame } from '../../src/transport/peer-frames.js';
import { PeerTransport, type PeerTransportOptions } from '../../src/transport/peer-transport.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { eventually } from '../cluster/helpers.js';
import { TamperProxy, wsFrame, type Direction, type WsFrame } from './tamper-proxy.js';

const SECRET = 'a-long-enough-secret-for-tests';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Side {
  readonly transport: PeerTransport;
  /** What its node heard, in order. */
  readonly heard: PeerFrame[];
  /** Its log lines' messages. */
  readonly logs: string[];
  ups: number;
}

function side(self: string, nodes: Map<string, string>, o: Partial<PeerTransportOptions> = {}): Side {
  const s: Side = { heard: [], logs: [], ups: 0, transport: null as unknown as PeerTransport };
  const logger = pino({ level: 'info' }, { write: (line: string) => void s.logs.push((JSON.parse(line) as { msg: string }).msg) });
  const transport = new PeerTransport({
    self,
    nodes,
    secret: SECRET,
    logger,
    frameBytesMax: PEER_FRAME_BYTES_MAX,
    sendBufferBytesMax: 64 * 1024 * 1024,
    onFrame: (_from, f) => s.heard.push(f),
    identity: () => ({ cluster: '', inc: 'i', member: false }),
    onPeerUp: () => s.ups++,
    ...o,
  });
  Object.assign(s, { transport });
  cleanup.push(() => transport.close());
  return s;
}

/** n1 dials n2 through a man in the middle; both are connected when this returns. */
async function pair(o: Partial<PeerTransportOptions> = {}, each: { n1?: Partial<PeerTransportOptions>; n2?: Partial<PeerTransportOptions> } = {}): Promise<{ n1: Side; n2: Side; proxy: TamperProxy }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/raft', maxPayload: PEER_FRAME_BYTES_MAX, perMessageDeflate: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const proxy = await TamperProxy.start((wss.address() as AddressInfo).port);
  const nodes = new Map([
    ['n1', '127.0.0.1:1'],
    ['n2', `127.0.0.1:${proxy.port}`],
  ]);
  const n2 = side('n2', nodes, { ...o, ...each.n2 });
  wss.on('connection', (ws) => n2.transport.accept(ws, { messageBytesMax: PEER_FRAME_BYTES_MAX }));
  const n1 = side('n1', nodes, { ...o, ...each.n1 });
  cleanup.push(() => new Promise<void>((resolve) => {
    proxy.close();
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  }));
  n1.transport.start();
  await eventually(() => n1.ups === 1 && n2.ups === 1, 10_000, 'n1 and n2 to connect');
  return { n1, n2, proxy };
}

/** A control frame naming `group`, which the receiver hears as it is. */
const transfer = (group: string): PeerFrame => ({ t: 'transfer', group, to: 'n9' });

/** Sends from the sender of `dir` to the other. */
function send(p: { n1: Side; n2: Side }, dir: Direction, frame: PeerFrame): void {
  if (dir === 'up') p.n1.transport.send('n2', frame);
  else p.n2.transport.send('n1', frame);
}

const receiver = (p: { n1: Side; n2: Side }, dir: Direction): Side => (dir === 'up' ? p.n2 : p.n1);

const groups = (s: Side): string[] => s.heard.flatMap((f) => (f.t === 'transfer' ? [f.group] : []));

/** Sends `before`, runs the attack, and checks that the connection closes without the receiver hearing more, and that the next connection carries frames. */
async function refused(p: { n1: Side; n2: Side; proxy: TamperProxy }, dir: Direction, attack: () => Promise<void> | void, expectedHeard = ['before']): Promise<void> {
  const link = p.proxy.last!;
  send(p, dir, transfer('before'));
  await eventually(() => groups(receiver(p, dir)).includes('before'), 10_000, 'the first frame');
  await attack();
  await eventually(() => link.closed || groups(receiver(p, dir)).length > expectedHeard.length, 10_000, 'the tampered connection to close');
  expect(groups(receiver(p, dir))).toEqual(expectedHeard);
  await eventually(() => link.closed, 10_000, 'the tampered connection to close');
  expect(receiver(p, dir).logs.some((m) => /frame/.test(m) && /authentic|MAC|sequence/i.test(m))).toBe(true);
  // The nodes connect again, and frames go through as before.
  await eventually(() => p.n1.ups === 2 && p.n2.ups === 2, 10_000, 'n1 and n2 to connect again');
  send(p, dir, transfer('after'));
  await eventually(() => groups(receiver(p, dir)).includes('after'), 10_000, 'a frame on the new connection');
  expect(groups(receiver(p, dir))).toEqual([...expectedHeard, 'after']);
}

describe('a peer connection after the handshake', () => {
  for (const dir of ['up', 'down'] as const) {
    const who = dir === 'up' ? 'the acceptor' : 'the dialler';
    it(`refuses a frame written into it by a man in the middle (to ${who})`, async () => {
      const p = await pair();
      await refused(p, dir, () => p.proxy.last!.inject(dir, wsFrame(dir, encodeFrame(transfer('injected')))));
    });
  }

  it('refuses a frame played again', async () => {
    const p = await pair();
    await refused(p, 'up', () => {
      const link = p.proxy.last!;
      const first = link.frames.up.find((f) => f.payload.includes('before'))!;
      link.inject('up', first.raw);
    });
  });

  it('refuses a frame that overtook the one before it', async () => {
    const p = await pair();
    let held: WsFrame | null = null;
    await refused(p, 'up', async () => {
      const link = p.proxy.last!;
      link.tamper = (_dir, f) => {
        if (f.payload.includes('second')) {
          held = f;
          return [];
        }
        // The third goes first, then the second it overtook.
        return held !== null ? [f.raw, held.raw] : [f.raw];
      };
      send(p, 'up', transfer('second'));
      await eventually(() => held !== null, 10_000, 'the second frame to be held back');
      send(p, 'up', transfer('third'));
    });
  });

  it('refuses a frame altered on the way', async () => {
    const p = await pair();
    await refused(p, 'up', async () => {
      const link = p.proxy.last!;
      let altered = false;
      link.tamper = (_dir, f) => {
        const at = f.payload.indexOf('honest');
        if (at < 0) return [f.raw];
        altered = true;
        const payload = Buffer.from(f.payload);
        payload.write('forged', at, 'latin1');
        return [wsFrame('up', payload)];
      };
      send(p, 'up', transfer('honest'));
      await eventually(() => altered, 10_000, 'the frame to be altered');
    });
  });

  it('carries frames unchanged over many frames in both directions', async () => {
    const p = await pair();
    for (let i = 0; i < 200; i++) {
      send(p, 'up', transfer(`u${i}`));
      send(p, 'down', transfer(`d${i}`));
    }
    await eventually(() => groups(p.n2).length === 200 && groups(p.n1).length === 200, 10_000, 'every frame');
    expect(groups(p.n2)).toEqual(Array.from({ length: 200 }, (_, i) => `u${i}`));
    expect(groups(p.n1)).toEqual(Array.from({ length: 200 }, (_, i) => `d${i}`));
    expect(p.proxy.links.length).toBe(1);
  });

  it('carries frames without MACs when both ends are told to (a mutual-TLS connection)', async () => {
    const p = await pair({ frameMac: false });
    send(p, 'up', transfer('u'));
    send(p, 'down', transfer('d'));
    await eventually(() => groups(p.n2).length === 1 && groups(p.n1).length === 1, 10_000, 'both frames');
    expect(p.proxy.last!.frames.up.at(-1)!.payload).toEqual(encodeFrame(transfer('u')));
  });
});

for (const algorithm of FRAME_MACS) {
  describe(`the frame MACs of one connection (${algorithm})`, () => {
    const handshake = { challengeNonce: 'a'.repeat(32), authNonce: 'b'.repeat(32), dialer: 'n1', acceptor: 'n2', algorithm };
    const dialer = frameKeys(SECRET, handshake, 'dialer');
    const acceptor = frameKeys(SECRET, handshake, 'acceptor');
    const sealer = (): FrameSealer => new FrameSealer(dialer.send, dialer.algorithm);
    const opener = (keys = acceptor): FrameOpener => new FrameOpener(keys.receive, keys.algorithm);
    const frames = fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 8 });

    it('open what the other end sealed, in order, as it was', () => {
      fc.assert(
        fc.property(frames, (fs) => {
          const seal = sealer();
          const open = opener();
          for (const f of fs) {
            const m = seal.seal(f);
            expect(m.byteLength).toBe(f.byteLength + FRAME_TRAILER_BYTES);
            expect(Buffer.from(open.open(m))).toEqual(Buffer.from(f));
          }
        }),
      );
    });

    it('refuse a message with any bit flipped, and every message after it', () => {
      fc.assert(
        fc.property(frames, fc.nat(), fc.nat(7), (fs, at, bit) => {
          const seal = sealer();
          const open = opener();
          const m = seal.seal(fs[0]!);
          m[at % m.byteLength]! ^= 1 << bit;
          expect(() => open.open(m)).toThrow(FrameAuthError);
          for (const f of fs.slice(1)) expect(() => open.open(seal.seal(f))).toThrow(FrameAuthError);
        }),
      );
    });

    it('are of this direction, this handshake, this secret and this MAC only', () => {
      const m = sealer().seal(encodeFrame(transfer('g')));
      // The dialer's own frame sent back to it, or taken to another connection or cluster, or read with the other MAC.
      expect(() => opener(dialer).open(m)).toThrow(FrameAuthError);
      const otherMac = FRAME_MACS.find((a) => a !== algorithm)!;
      for (const other of [
        frameKeys(SECRET, { ...handshake, challengeNonce: 'c'.repeat(32) }, 'acceptor'),
        frameKeys(SECRET, { ...handshake, authNonce: 'c'.repeat(32) }, 'acceptor'),
        frameKeys(SECRET, { ...handshake, dialer: 'n3' }, 'acceptor'),
        frameKeys(`${SECRET}!`, handshake, 'acceptor'),
        frameKeys(SECRET, { ...handshake, algorithm: otherMac }, 'acceptor'),
        // The right keys read as the other MAC: a `frameMac` altered on the way.
        { ...acceptor, algorithm: otherMac },
      ]) {
        expect(() => opener(other).open(m)).toThrow(FrameAuthError);
      }
      expect(Buffer.from(opener().open(m))).toEqual(encodeFrame(transfer('g')));
    });
  });
}

describe('choosing the frame MAC of a connection', () => {
  it("keeps earlier versions' HMAC-SHA256 frames as they were: their keys, and their tags", () => {
    // The derivation and the tag of the versions before the choice, spelled out here.
    const h = { challengeNonce: 'a'.repeat(32), authNonce: 'b'.repeat(32), dialer: 'n1', acceptor: 'n2' };
    const oldKey = createHmac('sha256', SECRET).update(JSON.stringify(['raftlog frame key', 'dialer to acceptor', h.challengeNonce, h.authNonce, h.dialer, h.acceptor])).digest();
    const keys = frameKeys(SECRET, { ...h, algorithm: HMAC_SHA256_128 }, 'dialer');
    expect(keys.send).toEqual(oldKey);
    const frame = encodeFrame(transfer('g'));
    const m = new FrameSealer(keys.send, HMAC_SHA256_128).seal(frame);
    const seq = Buffer.alloc(8);
    expect(m.subarray(frame.byteLength + 8)).toEqual(createHmac('sha256', oldKey).update(seq).update(frame).digest().subarray(0, 16));
  });

  it('takes the first offered MAC this node knows, and HMAC-SHA256 from a dialer that offers none', () => {
    expect(chooseFrameMac(['chacha20-poly1305', 'hmac-sha256-128'])).toBe('chacha20-poly1305');
    expect(chooseFrameMac(['blake3-mac', 'hmac-sha256-128', 'chacha20-poly1305'])).toBe('hmac-sha256-128');
    expect(chooseFrameMac(['blake3-mac'])).toBe(HMAC_SHA256_128);
    expect(chooseFrameMac(undefined)).toBe(HMAC_SHA256_128);
    // The dialer's side: an acceptor of an earlier version names none; one that names a MAC not offered is refused.
    expect(chosenFrameMac(undefined, FRAME_MACS)).toBe(HMAC_SHA256_128);
    expect(chosenFrameMac('chacha20-poly1305', FRAME_MACS)).toBe('chacha20-poly1305');
    expect(chosenFrameMac('chacha20-poly1305', [HMAC_SHA256_128])).toBeNull();
    expect(chosenFrameMac('none', FRAME_MACS)).toBeNull();
  });

  it('refuses an auth frame whose offer is not a short list of names', () => {
    const auth = { t: 'auth', id: 'n1', nonce: 'x', cluster: '', inc: 'i', member: false, mac: 'm' };
    expect(decodePeerFrame(encodeFrame({ ...auth, macs: ['chacha20-poly1305'] })).t).toBe('auth');
    expect(decodePeerFrame(encodeFrame(auth)).t).toBe('auth');
    expect(() => decodePeerFrame(encodeFrame({ ...auth, macs: 'chacha20-poly1305' }))).toThrow(/not a peer frame/);
    expect(() => decodePeerFrame(encodeFrame({ ...auth, macs: Array.from({ length: 17 }, () => 'x') }))).toThrow(/not a peer frame/);
    expect(() => decodePeerFrame(encodeFrame({ t: 'welcome', cluster: '', inc: 'i', member: false, mac: 'm', frameMac: 7 }))).toThrow(/not a peer frame/);
  });

  const cases: { name: string; n1: readonly FrameMacAlgorithm[]; n2: readonly FrameMacAlgorithm[]; expected: FrameMacAlgorithm }[] = [
    { name: 'two nodes of this version use ChaCha20-Poly1305', n1: FRAME_MACS, n2: FRAME_MACS, expected: 'chacha20-poly1305' },
    { name: 'a dialer that offers only HMAC-SHA256 gets it', n1: [HMAC_SHA256_128], n2: FRAME_MACS, expected: HMAC_SHA256_128 },
    { name: 'an acceptor that takes only HMAC-SHA256 chooses it', n1: FRAME_MACS, n2: [HMAC_SHA256_128], expected: HMAC_SHA256_128 },
  ];
  for (const c of cases) {
    it(`${c.name}, and both ends carry frames under it`, async () => {
      const p = await pair({}, { n1: { frameMacs: c.n1 }, n2: { frameMacs: c.n2 } });
      expect(p.n1.transport.peerStatus().find((s) => s.id === 'n2')!.frameMac).toBe(c.expected);
      expect(p.n2.transport.peerStatus().find((s) => s.id === 'n1')!.frameMac).toBe(c.expected);
      send(p, 'up', transfer('u'));
      send(p, 'down', transfer('d'));
      await eventually(() => groups(p.n2).length === 1 && groups(p.n1).length === 1, 10_000, 'both frames');
      // What went on the wire is sealed, not the bare frame.
      expect(p.proxy.last!.frames.up.at(-1)!.payload.byteLength).toBe(encodeFrame(transfer('u')).byteLength + FRAME_TRAILER_BYTES);
    });
  }
});
