/**
 * Fuzz: bytes on a peer connection (src/transport/peer-frames.ts decodePeerFrame), with the frame
 * limit of an authenticated peer and with the few KB of one that has not authenticated yet
 * (PEER_HANDSHAKE_FRAME_BYTES_MAX, what anyone who reaches the port gets). Whatever the bytes,
 * only a PeerFrameError comes out (the transport closes that connection and goes on), what
 * decodes is a frame that survives being sent on (it decodes again to itself), and the decoder
 * is left as it was.
 *
 * test/transport/peer-frames.test.ts has the schema-aware properties (every kind round trips, one
 * field broken at a time, short random bytes, cuts and bit flips of well-formed frames); these add
 * longer and msgpack-shaped bytes, and blind mutations of well-formed frames of every kind
 * (tools.ts: several at once, stretched, nested past the decoder's stack, then perhaps damaged).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PEER_HANDSHAKE_FRAME_BYTES_MAX, PeerFrameError, decodePeerFrame } from '../../src/transport/peer-frames.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { FRAMES, KINDS } from '../helpers/peer-frame-values.js';
import { flipBit, plain } from '../helpers/wire-values.js';
import { check, describeChanges, encodeMutated, fuzz, msgpackSoup, mutated } from './tools.js';

/** A frame decoded after every fuzzed one: the decoder's state must not have been left behind. */
const SENTINEL = { t: 'leaders', groups: [['p/sentinel/0', 3]], meta: 12 };
const SENTINEL_BYTES = encodeFrame(SENTINEL);

/** Decodes `bytes` as an authenticated peer's and as a stranger's: a PeerFrameError or a frame that decodes again to itself. */
function take(bytes: Uint8Array, why: string): void {
  for (const limit of [undefined, PEER_HANDSHAKE_FRAME_BYTES_MAX]) {
    try {
      const frame = decodePeerFrame(bytes, limit);
      expect(plain(decodePeerFrame(encodeFrame(frame))), why).toEqual(plain(frame));
    } catch (err) {
      expect(err, why).toBeInstanceOf(PeerFrameError);
    }
  }
  expect(decodePeerFrame(SENTINEL_BYTES), `the decoder after ${why}`).toEqual(SENTINEL);
}

/** A well-formed frame of every kind, as often one kind as another. */
const anyKind = fc.constantFrom(...KINDS).chain((k) => FRAMES[k] as fc.Arbitrary<unknown>);

describe('fuzz: bytes from a peer', () => {
  it('at random, up to a few KB, are a PeerFrameError or a frame that survives being sent on', () => {
    check(
      fc.property(fc.uint8Array({ maxLength: 6000 }), (bytes) => take(bytes, Buffer.from(bytes).toString('hex').slice(0, 200))),
      fuzz(2301, 1500, 2000),
    );
  });

  it('shaped like msgpack (headers claiming any length or count, ext types) are a PeerFrameError or a frame that survives being sent on', () => {
    check(
      fc.property(msgpackSoup, (bytes) => take(bytes, bytes.toString('hex').slice(0, 200))),
      fuzz(2302, 3000, 3000),
    );
  });

  it('of a well-formed frame of every kind mutated blindly, then perhaps damaged, are a PeerFrameError or a frame that survives being sent on', () => {
    const damaged = anyKind
      .chain((frame) => mutated(frame).map((m) => ({ kind: (frame as { t: string }).t, ...m })))
      .chain((m) => {
        const bytes = encodeMutated(m.value);
        return fc
          .oneof(
            { weight: 3, arbitrary: fc.constant({ bytes, damage: 'none' }) },
            fc.nat(bytes.length * 8 - 1).map((bit) => ({ bytes: flipBit(bytes, bit), damage: `bit ${bit} flipped` })),
            fc.nat(bytes.length - 1).map((cut) => ({ bytes: bytes.subarray(0, cut), damage: `cut at ${cut}` })),
          )
          .map((d) => ({ ...d, why: `${m.kind}: ${describeChanges(m.changes)}; ${d.damage}` }));
      });
    check(
      fc.property(damaged, ({ bytes, why }) => take(bytes, why)),
      fuzz(2303, 1000, 5000),
    );
  });
});
