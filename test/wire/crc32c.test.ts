import { describe, expect, it } from 'vitest';
import { CRC32C_NATIVE, crc32c as crc32cDefault, crc32cJs } from '../../src/wire/crc32c.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Bit-at-a-time reference: the definition, with no tables. */
function reference(buf: Uint8Array, seed = 0): number {
  let crc = ~seed >>> 0;
  for (const byte of buf) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x;
  }
  return b;
}

/** Platforms @node-rs/crc32 publishes a binary for: there the native path must be the one in use. */
const NATIVE_PLATFORMS = new Set(['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64', 'freebsd-x64']);

it('uses the CPU instructions (@node-rs/crc32) on a platform that has its binary', () => {
  expect(CRC32C_NATIVE).toBe(NATIVE_PLATFORMS.has(`${process.platform}-${process.arch}`));
});

// Every case runs against the default (native from NATIVE_BYTES_MIN bytes on) and the JavaScript tables.
describe.each([
  ['crc32c', crc32cDefault],
  ['crc32cJs', crc32cJs],
])('%s', (_name, crc32c) => {
  it('matches the known vectors (RFC 3720 B.4, Kafka Crc32CTest)', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    expect(crc32c(ascii('Some String'))).toBe(608512271);
    expect(crc32c(ascii('a'))).toBe(0xc1d04330);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the bitwise definition at every length, offset and alignment', () => {
    const big = randomBytes(600, 42);
    for (let start = 0; start < 9; start++) {
      for (let len = 0; len <= 300; len += start === 0 ? 1 : 7) {
        const view = big.subarray(start, start + len);
        expect(crc32c(view), `start ${start} len ${len}`).toBe(reference(view));
        expect(crc32c(big, start, start + len)).toBe(reference(view));
      }
    }
  });

  it('agrees with the definition on a 1 MB buffer', () => {
    const b = randomBytes(1 << 20, 7);
    expect(crc32c(b)).toBe(reference(b));
    expect(crc32c(b, 3, b.length - 5)).toBe(reference(b.subarray(3, b.length - 5)));
  });

  it('continues from a seed: crc(a + b) = crc(b, seed crc(a))', () => {
    const b = randomBytes(257, 3);
    const whole = crc32c(b);
    for (let split = 0; split <= b.length; split++) {
      expect(crc32c(b, split, b.length, crc32c(b, 0, split))).toBe(whole);
    }
    expect(crc32c(b.subarray(100), 0, 157, reference(b.subarray(0, 100)))).toBe(whole);
  });

  it('is not zlib CRC-32 (IEEE)', () => {
    expect(crc32c(ascii('123456789'))).not.toBe(0xcbf43926);
  });

  it('rejects a range outside the buffer', () => {
    const b = new Uint8Array(10);
    expect(() => crc32c(b, -1)).toThrow(RangeError);
    expect(() => crc32c(b, 0, 11)).toThrow(RangeError);
    expect(() => crc32c(b, 6, 5)).toThrow(RangeError);
    expect(() => crc32c(b, 0.5)).toThrow(RangeError);
    expect(crc32c(b, 10, 10)).toBe(0);
  });
});
