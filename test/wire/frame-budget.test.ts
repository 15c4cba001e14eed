/**
 * The decoding budget of a client frame (src/wire/codec.ts FrameBudget, LIMITS.frameValuesMax and
 * frameStringBytesMax): a frame that would take the node seconds to decode is refused before any
 * of it is decoded, and every frame within the budget decodes as it would without one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecodeError, budgetProblem, decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { LIMITS } from '../../src/wire/protocol.js';
import { plain, thrown, wireValue } from '../helpers/wire-values.js';

const CLIENT = { valuesMax: LIMITS.frameValuesMax, stringBytesMax: LIMITS.frameStringBytesMax };

/** msgpack values in `v` as the encoder writes it (each map key one, as is each value), and the UTF-8 bytes of its strings. */
function cost(v: unknown): { values: number; strings: number } {
  if (typeof v === 'string') return { values: 1, strings: Buffer.byteLength(v, 'utf8') };
  if (Array.isArray(v)) return v.map(cost).reduce((a, b) => ({ values: a.values + b.values, strings: a.strings + b.strings }), { values: 1, strings: 0 });
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    return Object.entries(v).reduce((a, [k, x]) => {
      const c = cost(x);
      return { values: a.values + 1 + c.values, strings: a.strings + Buffer.byteLength(k, 'utf8') + c.strings };
    }, { values: 1, strings: 0 });
  }
  return { values: 1, strings: 0 };
}

/** A msgpack array32 header declaring `n` items, followed by `present` zeros. */
function array32(n: number, present: number): Buffer {
  const b = Buffer.alloc(5 + present);
  b[0] = 0xdd;
  b.writeUInt32BE(n, 1);
  return b;
}

describe('the decoding budget of a client frame', () => {
  it('refuses a frame of more values than the budget, from its header alone when it declares them', () => {
    const err = thrown(() => decodeFrame(array32(LIMITS.frameValuesMax + 10, LIMITS.frameValuesMax + 10), CLIENT));
    expect(err).toBeInstanceOf(FrameDecodeError);
    expect((err as Error).message).toMatch(/more than 1000000 values/);
    // Sixty million declared, five bytes sent: refused on the count, not read to the end.
    expect(budgetProblem(array32(60_000_000, 0), CLIENT)).toMatch(/more than 1000000 values/);
  });

  it('refuses a frame whose strings pass the budget', () => {
    const big = encodeFrame({ id: 1, type: 'metadata', topics: ['x'.repeat(5 * 1024 * 1024), 'y'.repeat(4 * 1024 * 1024)] });
    expect((thrown(() => decodeFrame(big, CLIENT)) as Error).message).toMatch(/more than 8388608 bytes of strings/);
  });

  it('takes the largest produce request the client library builds, in size and in cost', () => {
    // produceBatchesMax batches to topics of the longest name, produceRequestBatchBytes of records in all.
    const each = Math.floor(LIMITS.produceRequestBatchBytes / LIMITS.produceBatchesMax);
    const batches = Array.from({ length: LIMITS.produceBatchesMax }, (_, i) => ({ topic: 't'.repeat(249), partition: LIMITS.partitionsPerTopicMax - 1 - (i % 100), records: Buffer.alloc(each) }));
    const frame = encodeFrame({ id: 2 ** 31, type: 'produce', acks: 'leader', timeoutMs: LIMITS.requestTimeoutMsMax, batches });
    expect(frame.length).toBeLessThanOrEqual(LIMITS.requestBytesMax);
    expect(budgetProblem(frame, CLIENT)).toBeNull();
  });

  it('counts exactly: a frame decodes unchanged within a budget of its own cost, and is refused one value or one string byte short of it', () => {
    fc.assert(
      fc.property(wireValue, (v) => {
        const bytes = encodeFrame(v);
        const c = cost(decodeFrame(bytes));
        expect(plain(decodeFrame(bytes, { valuesMax: c.values, stringBytesMax: c.strings }))).toEqual(plain(decodeFrame(bytes)));
        expect(budgetProblem(bytes, { valuesMax: c.values - 1, stringBytesMax: c.strings })).toMatch(/values/);
        if (c.strings > 0) expect(budgetProblem(bytes, { valuesMax: c.values, stringBytesMax: c.strings - 1 })).toMatch(/strings/);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves bytes that are not msgpack to the decoder', () => {
    for (const bytes of [Buffer.from([0xdd, 0, 0]), Buffer.from([0x92, 0x01]), Buffer.from([0xdb, 0, 0, 0, 9, 0x61])]) {
      expect(thrown(() => decodeFrame(bytes, CLIENT))).toBeInstanceOf(FrameDecodeError);
    }
  });
});
