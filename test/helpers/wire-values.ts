/**
 * fast-check arbitraries for what a decoder of our frames can be handed: the msgpack values
 * `decodeFrame` produces (src/wire/codec.ts) and byte strings broken in the ways a network or a
 * bug breaks them. Shared by the client request and peer frame tests.
 */
import fc from 'fast-check';

/** A map key: anything but `__proto__`, which msgpackr renames and a plain object assignment would turn into a prototype. */
export const wireKey: fc.Arbitrary<string> = fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__');

/** Every kind of value msgpack decodes to: nil, booleans, integers small and 64-bit (bigint), floats, strings, bin, timestamps (Date), arrays and maps. */
export const wireValue: fc.Arbitrary<unknown> = fc.letrec<{ leaf: unknown; node: unknown }>((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.string({ unit: 'binary', maxLength: 16 }),
    fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
    fc.date({ noInvalidDate: true }),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(wireKey, tie('node'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).node;

/** A copy of `bytes` with bit `bit` (0 = the lowest bit of the first byte) inverted. */
export function flipBit(bytes: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(bytes);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

/** `v` with every Buffer turned into a plain Uint8Array, so that values compare by content whichever side decoded them. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/** A byte fixture written as hex, spaces anywhere and `|` starting a comment to the end of its line. */
export function hex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/\|.*$/, '').replace(/\s/g, ''))
    .join('');
  if (!/^([0-9a-f]{2})*$/i.test(digits)) throw new Error(`not a byte fixture: ${digits}`);
  return Buffer.from(digits, 'hex');
}

/** What `f` threw, or a failure if it returned. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, but the call returned');
}
