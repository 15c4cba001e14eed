import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KafkaDecodeError, KafkaReader } from '../../src/kafka/codec/reader.js';
import { KafkaWriter } from '../../src/kafka/codec/writer.js';

/** One field of every primitive kind, with the value written and the way to read it back. */
type Field =
  | { kind: 'int8' | 'int16' | 'int32' | 'int64' | 'uvarint'; v: number }
  | { kind: 'bool'; v: boolean }
  | { kind: 'string' | 'compactString'; v: string }
  | { kind: 'nullableString' | 'compactNullableString'; v: string | null }
  | { kind: 'bytes'; v: Uint8Array }
  | { kind: 'nullableBytes'; v: Uint8Array | null }
  | { kind: 'int32Array' | 'compactInt32Array'; v: number[] }
  | { kind: 'nullableInt32Array'; v: number[] | null };

const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const field: fc.Arbitrary<Field> = fc.oneof(
  fc.integer({ min: -128, max: 127 }).map((v) => ({ kind: 'int8', v }) as const),
  fc.integer({ min: -32768, max: 32767 }).map((v) => ({ kind: 'int16', v }) as const),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => ({ kind: 'int32', v }) as const),
  fc.maxSafeInteger().map((v) => ({ kind: 'int64', v }) as const),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((v) => ({ kind: 'uvarint', v }) as const),
  fc.boolean().map((v) => ({ kind: 'bool', v }) as const),
  text.map((v) => ({ kind: 'string', v }) as const),
  text.map((v) => ({ kind: 'compactString', v }) as const),
  fc.option(text, { nil: null }).map((v) => ({ kind: 'nullableString', v }) as const),
  fc.option(text, { nil: null }).map((v) => ({ kind: 'compactNullableString', v }) as const),
  fc.uint8Array({ maxLength: 5000 }).map((v) => ({ kind: 'bytes', v }) as const),
  fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }).map((v) => ({ kind: 'nullableBytes', v }) as const),
  fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 8 }).map((v) => ({ kind: 'int32Array', v }) as const),
  fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 8 }).map((v) => ({ kind: 'compactInt32Array', v }) as const),
  fc.option(fc.array(fc.integer({ min: 0, max: 100 }), { maxLength: 8 }), { nil: null }).map((v) => ({ kind: 'nullableInt32Array', v }) as const),
);

function write(w: KafkaWriter, f: Field): void {
  switch (f.kind) {
    case 'int8':
      return void w.int8(f.v);
    case 'int16':
      return void w.int16(f.v);
    case 'int32':
      return void w.int32(f.v);
    case 'int64':
      return void w.int64(f.v);
    case 'uvarint':
      return void w.uvarint(f.v);
    case 'bool':
      return void w.bool(f.v);
    case 'string':
      return void w.string(f.v);
    case 'compactString':
      return void w.compactString(f.v);
    case 'nullableString':
      return void w.nullableString(f.v);
    case 'compactNullableString':
      return void w.compactNullableString(f.v);
    case 'bytes':
      return void w.bytes(f.v);
    case 'nullableBytes':
      return void w.nullableBytes(f.v);
    case 'int32Array':
      return void w.array(f.v, (x, n) => x.int32(n));
    case 'compactInt32Array':
      return void w.compactArray(f.v, (x, n) => x.int32(n));
    case 'nullableInt32Array':
      return void (f.v === null ? w.int32(-1) : w.array(f.v, (x, n) => x.int32(n)));
  }
}

function read(r: KafkaReader, f: Field): unknown {
  switch (f.kind) {
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'uvarint':
      return r.uvarint();
    case 'bool':
      return r.bool();
    case 'string':
      return r.string();
    case 'compactString':
      return r.compactString();
    case 'nullableString':
      return r.nullableString();
    case 'compactNullableString':
      return r.compactNullableString();
    case 'bytes':
      return new Uint8Array(r.bytes());
    case 'nullableBytes': {
      const b = r.nullableBytes();
      return b === null ? null : new Uint8Array(b);
    }
    case 'int32Array':
      return r.array((x) => x.int32());
    case 'compactInt32Array':
      return r.compactArray((x) => x.int32());
    case 'nullableInt32Array':
      return r.nullableArray((x) => x.int32());
  }
}

function encode(fields: readonly Field[]): Buffer {
  const w = new KafkaWriter();
  for (const f of fields) write(w, f);
  return w.toBuffer();
}

/** Runs `fn`; passes if it returns or throws a KafkaDecodeError, fails on anything else thrown. */
function onlyDecodeErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaDecodeError);
  }
}

describe('the Kafka codec primitives', () => {
  it('read back every sequence of fields as written', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
        const buf = encode(fields);
        const r = new KafkaReader(buf);
        for (const f of fields) expect(read(r, f)).toEqual(f.v instanceof Uint8Array ? new Uint8Array(f.v) : f.v);
        expect(r.remaining).toBe(0);
      }),
    );
  });

  it('throw a KafkaDecodeError, and nothing else, for every cut of an encoding short of its end', () => {
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 6 }), fc.nat(), (fields, cutAt) => {
        const buf = encode(fields);
        if (buf.length === 0) return;
        const cut = buf.subarray(0, cutAt % buf.length);
        expect(() => {
          const r = new KafkaReader(cut);
          for (const f of fields) read(r, f);
        }).toThrow(KafkaDecodeError);
      }),
    );
  });

  it('throw only KafkaDecodeErrors on random bytes, whatever they are read as', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(field, { minLength: 1, maxLength: 6 }), (bytes, fields) => {
        onlyDecodeErrors(() => {
          const r = new KafkaReader(Buffer.from(bytes));
          for (const f of fields) read(r, f);
        });
      }),
    );
  });

  it('refuse an array count larger than the bytes left before allocating anything', () => {
    const buf = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
    let items = 0;
    expect(() => new KafkaReader(buf).array((x) => (items++, x.int32()))).toThrow(/cannot fit/);
    expect(items).toBe(0);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xfe])).array((x) => x.int8())).toThrow(/count -2/);
  });

  it('refuse nulls where Kafka does not allow them, negative lengths, long varints and int64s past 2^53', () => {
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff])).string()).toThrow(/null where a string/);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xfe])).nullableString()).toThrow(/length -2/);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff])).bytes()).toThrow(/null where bytes/);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff])).array((x) => x.int8())).toThrow(/null where an array/);
    expect(() => new KafkaReader(Buffer.from([0])).compactString()).toThrow(/null where a string/);
    expect(() => new KafkaReader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).uvarint()).toThrow(/longer than 5 bytes/);
    expect(() => new KafkaReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])).uvarint()).toThrow(/32 bits/);
    // Malformed UTF-8 (a lone continuation byte) in a string: echoed back, it could not be re-encoded to its length.
    expect(() => new KafkaReader(Buffer.from([0, 2, 0x61, 0x80])).string()).toThrow(/not UTF-8/);
    const big = Buffer.alloc(8);
    big.writeBigInt64BE(2n ** 53n);
    expect(() => new KafkaReader(big).int64()).toThrow(/outside the range/);
  });

  it('matches Kafka fixtures byte for byte: a nullable string, compact types and tagged fields', () => {
    expect(new KafkaWriter().nullableString('ab').nullableString(null).toBuffer()).toEqual(Buffer.from([0, 2, 0x61, 0x62, 0xff, 0xff]));
    // A compact string of length 2 is the varint 3; 300 is 0xac 0x02.
    expect(new KafkaWriter().compactString('ab').uvarint(300).taggedFields().toBuffer()).toEqual(Buffer.from([3, 0x61, 0x62, 0xac, 0x02, 0]));
    // Tagged fields are skipped: two tags, of 1 and 2 bytes, then an int8 7.
    const r = new KafkaReader(Buffer.from([2, 0, 1, 0xaa, 5, 2, 0xbb, 0xcc, 7]));
    r.taggedFields();
    expect(r.int8()).toBe(7);
  });

  it('grows past its first buffer at any field: every kind written after hundreds of bytes reads back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 600 }), field, (pad, f) => {
        const w = new KafkaWriter();
        for (let i = 0; i < pad; i++) w.int8(i & 0x7f);
        write(w, f);
        const r = new KafkaReader(w.toBuffer());
        for (let i = 0; i < pad; i++) expect(r.int8()).toBe(i & 0x7f);
        expect(read(r, f)).toEqual(f.v instanceof Uint8Array ? new Uint8Array(f.v) : f.v);
      }),
    );
  });

  it('keeps large byte strings as chunks of their own instead of copying them', () => {
    const big = new Uint8Array(10_000).fill(9);
    const chunks = new KafkaWriter().int32(1).bytes(big).int16(2).finish();
    expect(chunks).toContain(big);
    expect(Buffer.concat(chunks).length).toBe(4 + 4 + 10_000 + 2);
  });
});
