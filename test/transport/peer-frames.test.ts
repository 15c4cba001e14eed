/**
 * The frames between nodes (src/transport/peer-frames.ts), from bytes: every kind comes back as it
 * was sent, and anything else (too large, not msgpack, cut short, a bit flipped, a field missing
 * or of the wrong type) is a PeerFrameError, on which the transport closes the connection, never
 * a crash and never a value the Raft core would have to check again. SHAPES below restates the
 * format independently of the decoder, and the mutation property breaks one field at a time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryKind, type MessageType } from '../../raft/types.js';
import { PEER_FRAME_BYTES_MAX, PeerFrameError, decodePeerFrame, type PeerFrame } from '../../src/transport/peer-frames.js';
import { decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { flipBit, hex, plain, thrown, wireValue } from '../helpers/wire-values.js';
import { KINDS, MESSAGE_TYPES, RECOVERY_KINDS, anyFrame, type Kind, type RecoveryKind } from '../helpers/peer-frame-values.js';

const RUNS = 300;

type Obj = Record<string, unknown>;

function frameError(bytes: Uint8Array, bytesMax?: number): PeerFrameError {
  const err = thrown(() => decodePeerFrame(bytes, bytesMax));
  if (!(err instanceof PeerFrameError)) throw new Error(`expected a PeerFrameError, got ${String(err)}`, { cause: err });
  return err;
}

// Well-formed frames, of every kind: test/helpers/peer-frame-values.ts (shared with the fuzz suite, test/fuzz/).

// -------------------------------------------------------------------------------------------------
// What breaks a field

type Shape =
  | 'string'
  | 'boolean'
  | 'nat'
  | 'bin'
  | 'entryKind'
  | 'frameKind'
  | 'messageType'
  /** A rejoining replica's incarnation: a string, or left out. */
  | 'incarnation'
  /** A node's Kafka or client listener: host:port. */
  | 'kafkaAddress'
  | 'message'
  | 'recoveryKind'
  /** A catch-up transfer's message (src/host/log-recovery.ts), its fields by its kind `k`. */
  | 'recovery'
  | { readonly list: Shape }
  /** The shape, or left out (a field later versions added). */
  | { readonly optional: Shape }
  | { readonly pair: readonly [Shape, Shape] }
  | { readonly map: Shapes };
type Shapes = Readonly<Record<string, Shape>>;

const BASE: Shapes = { type: 'messageType', from: 'string', to: 'string', term: 'nat' };
const ANSWER: Shapes = { ...BASE, rejoin: 'incarnation' };
const MESSAGE_SHAPES: { readonly [K in MessageType]: Shapes } = {
  preVote: { ...BASE, lastIndex: 'nat', lastTerm: 'nat', transfer: 'boolean' },
  vote: { ...BASE, lastIndex: 'nat', lastTerm: 'nat', transfer: 'boolean' },
  preVoteResp: { ...ANSWER, reject: 'boolean' },
  voteResp: { ...ANSWER, reject: 'boolean' },
  append: {
    ...BASE,
    prevIndex: 'nat',
    prevTerm: 'nat',
    commit: 'nat',
    entries: { list: { map: { index: 'nat', term: 'nat', kind: 'entryKind', data: 'bin' } } },
    logStartMembership: { optional: { map: { voters: { list: 'string' }, learners: { list: 'string' } } } },
  },
  appendResp: { ...ANSWER, index: 'nat', reject: 'boolean', conflictTerm: 'nat', conflictIndex: 'nat' },
  heartbeat: { ...BASE, commit: 'nat', readRound: 'nat' },
  heartbeatResp: { ...ANSWER, readRound: 'nat' },
  snapshot: { ...BASE, snapshot: { map: { index: 'nat', term: 'nat', data: 'bin' } } },
  timeoutNow: BASE,
};
const FRAME_SHAPES: { readonly [K in Kind]: Shapes } = {
  challenge: { t: 'frameKind', id: 'string', nonce: 'string' },
  auth: { t: 'frameKind', id: 'string', nonce: 'string', cluster: 'string', inc: 'string', member: 'boolean', mac: 'string' },
  welcome: { t: 'frameKind', cluster: 'string', inc: 'string', member: 'boolean', mac: 'string' },
  raft: { t: 'frameKind', m: { list: { pair: ['string', 'message'] } } },
  leaders: { t: 'frameKind', groups: { list: { pair: ['string', 'nat'] } }, moving: { optional: { list: 'string' } }, meta: { optional: 'nat' }, kafka: { optional: 'kafkaAddress' }, client: { optional: 'kafkaAddress' }, clientTls: { optional: 'boolean' } },
  transfer: { t: 'frameKind', group: 'string', to: 'string' },
  nodes: { t: 'frameKind', nodes: { list: { pair: ['string', 'string'] } } },
  stray: { t: 'frameKind', group: 'string' },
  removed: { t: 'frameKind', group: 'string', term: 'nat' },
  retired: { t: 'frameKind' },
  join: { t: 'frameKind', id: 'string', nonce: 'string', address: 'string', inc: 'string', mac: 'string' },
  joined: { t: 'frameKind', cluster: 'string', founders: { list: 'string' }, nodes: { list: { pair: ['string', 'string'] } }, rejoin: 'boolean', mac: 'string' },
  joinRefused: { t: 'frameKind', reason: 'string', retriable: 'boolean', controller: 'string' },
  recovery: { t: 'frameKind', m: 'recovery' },
};
const R: Shapes = { k: 'recoveryKind', group: 'string', id: 'string' };
const RECOVERY_SHAPES: { readonly [K in RecoveryKind]: Shapes } = {
  begin: { ...R, snapshot: 'message' },
  chunk: { ...R, seq: 'nat', bytes: 'bin' },
  end: { ...R, chunks: 'nat' },
  ack: { ...R, seq: 'nat' },
  done: R,
  abort: { ...R, why: 'string' },
};

type Path = readonly (string | number)[];
interface Site {
  readonly path: Path;
  readonly shape: Shape;
  readonly current: unknown;
  /** Whether the site is a map key, which can be left out. */
  readonly keyed: boolean;
}

function isMap(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function sites(shape: Shape, current: unknown, path: Path, keyed: boolean): Site[] {
  // Leaving an optional field out breaks nothing; any other wrong value does.
  if (typeof shape === 'object' && 'optional' in shape) return sites(shape.optional, current, path, false);
  const out: Site[] = [{ path, shape, current, keyed }];
  const fields = (shapes: Shapes, o: Obj): void => {
    for (const [k, s] of Object.entries(shapes)) out.push(...sites(s, o[k], [...path, k], true));
  };
  if (shape === 'message' && isMap(current)) fields(MESSAGE_SHAPES[current['type'] as MessageType], current);
  if (shape === 'recovery' && isMap(current)) fields(RECOVERY_SHAPES[current['k'] as RecoveryKind], current);
  if (typeof shape === 'object' && 'map' in shape && isMap(current)) fields(shape.map, current);
  if (typeof shape === 'object' && 'list' in shape && Array.isArray(current)) current.forEach((x, i) => out.push(...sites(shape.list, x, [...path, i], false)));
  if (typeof shape === 'object' && 'pair' in shape && Array.isArray(current)) shape.pair.forEach((s, i) => out.push(...sites(s, current[i], [...path, i], false)));
  return out;
}

const MISSING = Symbol('missing');

/** Values msgpack can carry that, as the codec decodes them, are none of `ok`. */
const garbage = (ok: (v: unknown) => boolean): fc.Arbitrary<unknown> => wireValue.filter((v) => !ok(decodeFrame(encodeFrame(v))));
const isNat = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const among =
  (values: readonly unknown[]) =>
  (v: unknown): boolean =>
    values.includes(v);

function breakers(site: Site): fc.Arbitrary<unknown> {
  const { shape, current } = site;
  const options: fc.Arbitrary<unknown>[] = [];
  if (typeof shape === 'object') {
    if ('map' in shape) options.push(garbage(isMap));
    if ('list' in shape) options.push(garbage(Array.isArray));
    if ('pair' in shape) {
      options.push(garbage(Array.isArray));
      if (Array.isArray(current)) options.push(fc.constant(current.slice(0, 1)), wireValue.map((extra) => [...(current as unknown[]), extra]));
    }
  } else {
    switch (shape) {
      case 'string':
        options.push(garbage((v) => typeof v === 'string'));
        break;
      case 'incarnation':
        options.push(garbage((v) => typeof v === 'string'));
        break;
      case 'kafkaAddress':
        options.push(garbage((v) => typeof v === 'string'), fc.constantFrom('', 'no-port', '127.0.0.1:', ':9092', 'a b:9092', '127.0.0.1:123456'));
        break;
      case 'boolean':
        options.push(garbage((v) => typeof v === 'boolean'), fc.constantFrom(0, 1, 'true'));
        break;
      case 'nat':
        options.push(garbage(isNat), fc.constantFrom(-1, 0.5, 2 ** 53, NaN, Infinity, '1'));
        break;
      case 'bin':
        options.push(garbage((v) => v instanceof Uint8Array), fc.constant([1, 2, 3]));
        break;
      case 'entryKind':
        options.push(garbage(among(Object.values(EntryKind))), fc.constantFrom(3, 127, 128, 129, 256, -1));
        break;
      case 'frameKind':
        options.push(garbage(among(KINDS)), fc.constantFrom('Raft', 'hello', 'leader', ''));
        break;
      case 'messageType':
        options.push(garbage(among(MESSAGE_TYPES)), fc.constantFrom('Vote', 'appendResponse', 'install', ''));
        break;
      case 'message':
      case 'recovery':
        options.push(garbage(isMap));
        break;
      case 'recoveryKind':
        options.push(garbage(among(RECOVERY_KINDS)), fc.constantFrom('Begin', 'chunks', ''));
        break;
      default: {
        const never: never = shape;
        throw new Error(`unhandled shape ${String(never)}`);
      }
    }
  }
  if (site.keyed && shape !== 'incarnation') options.push(fc.constant(MISSING));
  return fc.oneof(...options);
}

/** `v` with the value at `path` replaced by `to` (or removed, for MISSING). */
function setAt(v: unknown, path: Path, to: unknown): unknown {
  const [k, ...rest] = path;
  if (k === undefined) return to;
  if (Array.isArray(v)) return v.map((x: unknown, i) => (i === k ? setAt(x, rest, to) : x));
  const o: Obj = { ...(v as Obj) };
  if (rest.length === 0 && to === MISSING) delete o[k];
  else Object.defineProperty(o, k, { value: setAt(o[k], rest, to), enumerable: true, writable: true, configurable: true });
  return o;
}

const broken = anyFrame.chain((frame) =>
  fc.constantFrom(...sites({ map: FRAME_SHAPES[frame.t] }, frame, [], false)).chain((site) => breakers(site).map((value) => ({ frame, path: site.path, value }))),
);

// -------------------------------------------------------------------------------------------------

describe('a peer frame', () => {
  it('of every kind, carrying every kind of Raft message, comes back as it was sent', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        expect(plain(decodePeerFrame(encodeFrame(frame)))).toEqual(plain(frame));
      }),
      { seed: 1911, numRuns: RUNS * 2 },
    );
  });

  it('with one field missing or of the wrong type is a PeerFrameError', () => {
    fc.assert(
      fc.property(broken, ({ frame, path, value }) => {
        frameError(encodeFrame(setAt(frame, path, value)));
      }),
      { seed: 1912, numRuns: RUNS * 4 },
    );
  });

  it('of a kind this node does not know is a PeerFrameError naming the kind', () => {
    expect(frameError(encodeFrame({ t: 'membership', add: 'n4' })).message).toContain("'membership'");
  });

  // A follower that stored an entry of an unknown kind would find its own log corrupt on the next start
  // (storage/frame.ts keeps kinds 0 to 2 in seven bits); an incarnation must be a string to be compared.
  it.each([
    ['an entry of kind 3', { entries: [{ index: 1, term: 1, kind: 3, data: new Uint8Array(0) }] }],
    ['an entry of kind 128, which a segment frame would read back as a self-checked normal entry', { entries: [{ index: 1, term: 1, kind: 128, data: new Uint8Array(0) }] }],
  ])('refuses an append carrying %s', (_what, fields) => {
    const append = { type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, ...fields };
    frameError(encodeFrame({ t: 'raft', m: [['g', append]] }));
  });

  it.each([5, null, false, { inc: 'x' }])('refuses an answer whose incarnation is %j', (rejoin) => {
    const resp = { type: 'heartbeatResp', from: 'n2', to: 'n1', term: 1, readRound: 0, rejoin };
    frameError(encodeFrame({ t: 'raft', m: [['g', resp]] }));
  });
});

describe('bytes from a peer', () => {
  it('over the frame limit are a PeerFrameError before they are decoded', () => {
    const small = encodeFrame({ t: 'transfer', group: 'g', to: 'n2' });
    expect(decodePeerFrame(small, small.length)).toEqual({ t: 'transfer', group: 'g', to: 'n2' });
    expect(frameError(small, small.length - 1).message).toContain(`over the limit of ${small.length - 1}`);

    const snapshot = { type: 'snapshot', from: 'n1', to: 'n2', term: 1, snapshot: { index: 1, term: 1, data: new Uint8Array(PEER_FRAME_BYTES_MAX) } };
    const large = encodeFrame({ t: 'raft', m: [['g', snapshot]] });
    expect(large.length).toBeGreaterThan(PEER_FRAME_BYTES_MAX);
    expect(frameError(large).message).toContain(`over the limit of ${PEER_FRAME_BYTES_MAX}`);
  });

  it('at random are a PeerFrameError or a frame that survives being sent on', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => checkOutcome(bytes)),
      { seed: 1913, numRuns: RUNS * 3 },
    );
  });

  it('of any value that is not a frame are a PeerFrameError', () => {
    fc.assert(
      fc.property(
        wireValue.filter((v) => !isMap(v)),
        (v) => {
          frameError(encodeFrame(v));
        },
      ),
      { seed: 1914, numRuns: RUNS },
    );
  });

  it('of a frame cut short at any byte are a PeerFrameError', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        const bytes = encodeFrame(frame);
        for (let cut = 0; cut < bytes.length; cut++) frameError(bytes.subarray(0, cut));
      }),
      { seed: 1915, numRuns: RUNS / 3 },
    );
  });

  it('of a frame with a bit flipped are a PeerFrameError or a frame that survives being sent on', () => {
    const flipped = anyFrame.map((f) => encodeFrame(f)).chain((bytes) => fc.nat(bytes.length * 8 - 1).map((bit) => flipBit(bytes, bit)));
    fc.assert(
      fc.property(flipped, (bytes) => checkOutcome(bytes)),
      { seed: 1916, numRuns: RUNS * 3 },
    );
  });

  /** Bytes either fail with the module's error, or decode to a frame that encodes and decodes to itself. */
  function checkOutcome(bytes: Uint8Array): void {
    let frame: PeerFrame;
    try {
      frame = decodePeerFrame(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(PeerFrameError);
      return;
    }
    expect(plain(decodePeerFrame(encodeFrame(frame)))).toEqual(plain(frame));
  }
});

// -------------------------------------------------------------------------------------------------
// Byte fixtures. Nodes of two versions talk to each other during a rolling upgrade: a change here
// must be one both versions read.

describe('peer frames on the wire', () => {
  const CHALLENGE = hex(`
    de 0003                                   | map16 of 3
    a1 74 a9 6368616c6c656e6765               | t: 'challenge'
    a2 6964 a2 6e31                           | id: 'n1'
    a5 6e6f6e6365 a4 61623132                 | nonce: 'ab12'
  `);
  const APPEND = hex(`
    de 0002                                   | map16 of 2
    a1 74 a4 72616674                         | t: 'raft'
    a1 6d 91                                  | m: [
      92 aa 702f6f72646572732f30              |   [ 'p/orders/0',
      de 0008                                 |     map16 of 8
      a4 74797065 a6 617070656e64             |     type: 'append'
      a4 66726f6d a2 6e31                     |     from: 'n1'
      a2 746f a2 6e32                         |     to: 'n2'
      a4 7465726d 03                          |     term: 3
      a9 70726576496e646578 0a                |     prevIndex: 10
      a8 707265765465726d 02                  |     prevTerm: 2
      a7 656e7472696573 91                    |     entries: [
        de 0004                               |       map16 of 4
        a5 696e646578 0b                      |       index: 11
        a4 7465726d 03                        |       term: 3
        a4 6b696e64 00                        |       kind: 0 (normal)
        a4 64617461 c4 02 0102                |       data: bin 01 02 ]
      a6 636f6d6d6974 09                      |     commit: 9 ] ]
  `);
  const APPEND_RESPONSE = hex(`
    de 0002                                   | map16 of 2
    a1 74 a4 72616674                         | t: 'raft'
    a1 6d 91                                  | m: [
      92 a4 6d657461                          |   [ 'meta',
      de 0009                                 |     map16 of 9
      a4 74797065 aa 617070656e6452657370     |     type: 'appendResp'
      a4 66726f6d a2 6e32                     |     from: 'n2'
      a2 746f a2 6e31                         |     to: 'n1'
      a4 7465726d 03                          |     term: 3
      a5 696e646578 0b                        |     index: 11
      a6 72656a656374 c2                      |     reject: false
      ac 636f6e666c6963745465726d 00          |     conflictTerm: 0
      ad 636f6e666c696374496e646578 00        |     conflictIndex: 0
      a6 72656a6f696e a5 696e632d32           |     rejoin: 'inc-2' ] ]
  `);
  const LEADERS = hex(`
    de 0002                                   | map16 of 2
    a1 74 a7 6c656164657273                   | t: 'leaders'
    a6 67726f757073 92                        | groups: [
      92 a4 6d657461 07                       |   [ 'meta', 7 ],
      92 aa 702f6f72646572732f30 cd 012c      |   [ 'p/orders/0', 300 ] ]
  `);

  const fixtures: [string, Buffer, PeerFrame][] = [
    ['a challenge', CHALLENGE, { t: 'challenge', id: 'n1', nonce: 'ab12' }],
    [
      'an append',
      APPEND,
      {
        t: 'raft',
        m: [['p/orders/0', { type: 'append', from: 'n1', to: 'n2', term: 3, prevIndex: 10, prevTerm: 2, entries: [{ index: 11, term: 3, kind: EntryKind.Normal, data: new Uint8Array([1, 2]) }], commit: 9 }]],
      },
    ],
    [
      "a rejoining replica's append response",
      APPEND_RESPONSE,
      { t: 'raft', m: [['meta', { type: 'appendResp', from: 'n2', to: 'n1', term: 3, index: 11, reject: false, conflictTerm: 0, conflictIndex: 0, rejoin: 'inc-2' }]] },
    ],
    [
      'the leaders of two groups',
      LEADERS,
      {
        t: 'leaders',
        groups: [
          ['meta', 7],
          ['p/orders/0', 300],
        ],
      },
    ],
  ];

  it.each(fixtures)('reads %s', (_what, bytes, frame) => {
    expect(plain(decodePeerFrame(bytes))).toEqual(plain(frame));
  });

  it.each(fixtures)('writes %s', (_what, bytes, frame) => {
    expect(encodeFrame(frame).toString('hex')).toBe(bytes.toString('hex'));
  });
});
