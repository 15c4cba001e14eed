/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of Kafka's RecordBatch v2.
 * Not the CRC-32 (IEEE) of `zlib.crc32`.
 *
 * Two implementations with one result. Inputs of `NATIVE_BYTES_MIN` bytes or more go to
 * `@node-rs/crc32` (the CPU's CRC-32C instructions, about 4x faster than the JavaScript below on a
 * 256 KiB batch) when its binary for this platform loads; shorter ones, where the call costs more
 * than it saves, and every input on a platform without the binary, go to `crc32cJs`.
 *
 * `crc32cJs` is pure JavaScript, slicing-by-8: eight 256-entry tables fold eight input bytes per
 * step. On a little-endian machine (every platform Node runs on in practice) the bulk of the input
 * is read as aligned 32-bit words through an Int32Array view, which is faster than assembling them
 * from bytes; elsewhere it falls back to the byte-at-a-time table loop.
 *
 * `seed` is a previous result, so `crc32c(b, 0, n, crc32c(a))` equals the CRC of `a` then `b`.
 */
import { createRequire } from 'node:module';

const POLY = 0x82f63b78;

/** Below this many bytes the JavaScript tables beat the call into the native module. */
const NATIVE_BYTES_MIN = 256;

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

const NATIVE: NativeCrc | null = loadNative();

/** Whether `crc32c` uses the native module on this machine. */
export const CRC32C_NATIVE = NATIVE !== null;

function loadNative(): NativeCrc | null {
  try {
    const m = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: unknown };
    return typeof m.crc32c === 'function' ? (m.crc32c as NativeCrc) : null;
  } catch {
    return null; // no binary for this platform: the JavaScript tables do the work
  }
}

/** Below this many bytes the word view is not worth its allocation. */
const WORD_PATH_BYTES_MIN = 64;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Table k holds the CRC of byte n followed by k zero bytes. */
const [T0, T1, T2, T3, T4, T5, T6, T7] = buildTables() as [
  Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
];

function buildTables(): Int32Array[] {
  const tables: Int32Array[] = [];
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  tables.push(t0);
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1];
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = t0[prev[n] & 0xff] ^ (prev[n] >>> 8);
    tables.push(t);
  }
  return tables;
}

/** CRC-32C of `buf[start..end)`, continuing from `seed` (a previous result; 0 to start). Unsigned. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  checkRange(buf, start, end);
  if (NATIVE !== null && end - start >= NATIVE_BYTES_MIN) {
    return NATIVE(start === 0 && end === buf.length ? buf : buf.subarray(start, end), seed) >>> 0;
  }
  return tables(buf, start, end, seed);
}

/** The same CRC-32C, always computed with the JavaScript tables. */
export function crc32cJs(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  checkRange(buf, start, end);
  return tables(buf, start, end, seed);
}

function checkRange(buf: Uint8Array, start: number, end: number): void {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= buf.length)) {
    throw new RangeError(`crc32c: range [${start}, ${end}) is not within a buffer of ${buf.length} bytes`);
  }
}

function tables(buf: Uint8Array, start: number, end: number, seed: number): number {
  const t0 = T0;
  let crc = ~seed;
  let i = start;
  if (LITTLE_ENDIAN && end - i >= WORD_PATH_BYTES_MIN) {
    // Single bytes up to a 4-byte boundary of the ArrayBuffer, so that the word view is aligned.
    while (((buf.byteOffset + i) & 3) !== 0) crc = t0[(crc ^ buf[i++]) & 0xff] ^ (crc >>> 8);
    const pairs = (end - i) >>> 3;
    crc = words(new Int32Array(buf.buffer, buf.byteOffset + i, pairs * 2), crc);
    i += pairs * 8;
  }
  while (i < end) crc = t0[(crc ^ buf[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Folds an even number of little-endian words, eight bytes per step. */
function words(w: Int32Array, crc: number): number {
  const t0 = T0, t1 = T1, t2 = T2, t3 = T3, t4 = T4, t5 = T5, t6 = T6, t7 = T7;
  const n = w.length;
  for (let j = 0; j < n; j += 2) {
    const a = crc ^ w[j];
    const b = w[j + 1];
    crc =
      t7[a & 0xff] ^ t6[(a >>> 8) & 0xff] ^ t5[(a >>> 16) & 0xff] ^ t4[a >>> 24] ^
      t3[b & 0xff] ^ t2[(b >>> 8) & 0xff] ^ t1[(b >>> 16) & 0xff] ^ t0[b >>> 24];
  }
  return crc;
}
