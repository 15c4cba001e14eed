/**
 * Fuzz: a client frame as the node takes it (src/server/client-server.ts): decodeFrame with
 * CLIENT_FRAME_BUDGET, then parseRequest. Whatever the bytes, only a FrameDecodeError or a
 * RequestError comes out (the node answers either with an error reply and goes on), its message
 * stays short (an error reply does not grow with the junk it answers), a RequestError carries the
 * id the node would read from the frame, what parses needs no second check (it parses again to
 * itself), a well-formed request of every type parses to itself, and the decoder is left as it
 * was: the next frame decodes right.
 *
 * Inputs: random bytes, msgpack-shaped bytes (tools.ts msgpackSoup), any msgpack value, and
 * well-formed requests of every type mutated blindly (tools.ts): fields dropped, retyped,
 * stretched past LIMITS, nested past the decoder's stack, special keys, then sometimes a bit
 * flipped or the frame cut short.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_FRAME_BUDGET } from '../../src/server/client-server.js';
import { FrameDecodeError, decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { ErrorCode, REQUEST_TYPES, type Request } from '../../src/wire/protocol.js';
import { RequestError, parseRequest, requestId } from '../../src/wire/validate.js';
import { anyRequest } from '../helpers/requests.js';
import { flipBit, plain, wireKey, wireValue } from '../helpers/wire-values.js';
import { check, describeChanges, encodeMutated, fuzz, msgpackSoup, mutated, show } from './tools.js';

/** The longest error message a reply may carry: it names a field and a limit, never echoes the junk. */
const ERROR_MESSAGE_MAX = 1024;
const ERROR_CODES: readonly string[] = Object.values(ErrorCode);

/** A frame decoded after every fuzzed one: the decoder's state must not have been left behind. */
const SENTINEL = { id: 77, type: 'fetch', maxWaitMs: 0, minBytes: 1, maxBytes: 1024, partitions: [{ topic: 'sentinel', partition: 2, offset: 5, maxBytes: 512 }] };
const SENTINEL_BYTES = encodeFrame(SENTINEL);

type Outcome = { readonly kind: 'undecodable' } | { readonly kind: 'refused'; readonly code: string } | { readonly kind: 'request'; readonly id: number; readonly request: Request };

/** What the node makes of `bytes`, checked: the errors it may raise, and what a parsed request must be. */
function take(bytes: Uint8Array, why = ''): Outcome {
  const outcome = takeOnce(bytes, why);
  expect(decodeFrame(SENTINEL_BYTES, CLIENT_FRAME_BUDGET), `the decoder after ${why}`).toEqual(SENTINEL);
  return outcome;
}

function takeOnce(bytes: Uint8Array, why: string): Outcome {
  let raw: unknown;
  try {
    raw = decodeFrame(bytes, CLIENT_FRAME_BUDGET);
  } catch (err) {
    expect(err, why).toBeInstanceOf(FrameDecodeError);
    expect((err as Error).message.length, why).toBeLessThanOrEqual(ERROR_MESSAGE_MAX);
    return { kind: 'undecodable' };
  }
  let parsed: { id: number; request: Request };
  try {
    parsed = parseRequest(raw);
  } catch (err) {
    expect(err, why).toBeInstanceOf(RequestError);
    const e = err as RequestError;
    expect(ERROR_CODES, why).toContain(e.code);
    expect(e.id, why).toBe(requestId(raw));
    expect(e.message.length, `${why}: ${e.message.slice(0, 200)}`).toBeLessThanOrEqual(ERROR_MESSAGE_MAX);
    return { kind: 'refused', code: e.code };
  }
  // What parses needs no second check: sent again, it parses to itself.
  const again = parseRequest(decodeFrame(encodeFrame({ id: parsed.id, ...parsed.request }), CLIENT_FRAME_BUDGET));
  expect(plain(again), why).toEqual(plain(parsed));
  return { kind: 'request', ...parsed };
}

describe('fuzz: a client frame', () => {
  it('of a well-formed request of every type parses to itself, within the decoding budget', () => {
    check(
      fc.property(fc.maxSafeNat(), anyRequest, (id, request) => {
        const outcome = take(encodeFrame({ id, ...request }));
        expect(plain(outcome)).toEqual(plain({ kind: 'request', id, request }));
      }),
      fuzz(2201, 600, 3000),
    );
  });

  it('of random bytes is undecodable, refused, or a clean request', () => {
    check(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => void take(bytes, Buffer.from(bytes).toString('hex').slice(0, 200))),
      fuzz(2202, 1500, 2000),
    );
  });

  it('of msgpack-shaped bytes (headers claiming any length or count, ext types) is undecodable, refused, or a clean request', () => {
    check(
      fc.property(msgpackSoup, (bytes) => void take(bytes, bytes.toString('hex').slice(0, 200))),
      fuzz(2203, 3000, 3000),
    );
  });

  it('of any msgpack value, request-shaped or not, is refused or a clean request', () => {
    const requestish = fc
      .tuple(fc.oneof(fc.maxSafeNat(), wireValue), fc.oneof(fc.constantFrom(...REQUEST_TYPES), wireValue), fc.dictionary(wireKey, wireValue, { maxKeys: 6, noNullPrototype: true }))
      .map(([id, type, rest]) => ({ ...rest, id, type }));
    check(
      fc.property(fc.oneof(wireValue, requestish), (v) => void take(encodeFrame(v), show(v).slice(0, 200))),
      fuzz(2204, 1500, 3000),
    );
  });

  it('of a well-formed request mutated blindly (dropped, retyped, stretched past LIMITS, nested deep), then perhaps damaged, is undecodable, refused, or a clean request', () => {
    const damaged = fc
      .tuple(fc.maxSafeNat(), anyRequest)
      .chain(([id, request]) => mutated({ id, ...request }).map((m) => ({ request, ...m })))
      .chain((m) => {
        const bytes = encodeMutated(m.value);
        return fc
          .oneof(
            { weight: 3, arbitrary: fc.constant({ bytes, damage: 'none' }) },
            fc.nat(bytes.length * 8 - 1).map((bit) => ({ bytes: flipBit(bytes, bit), damage: `bit ${bit} flipped` })),
            fc.nat(bytes.length - 1).map((cut) => ({ bytes: bytes.subarray(0, cut), damage: `cut at ${cut}` })),
          )
          .map((d) => ({ ...d, why: `${m.request.type}: ${describeChanges(m.changes)}; ${d.damage}` }));
      });
    check(
      fc.property(damaged, ({ bytes, why }) => void take(bytes, why)),
      fuzz(2205, 1000, 5000),
    );
  });
});
