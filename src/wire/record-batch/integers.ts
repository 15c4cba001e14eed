/**
 * The integers of a record batch: big-endian fixed-width int16, int32 and int64 (the batch
 * header), and the zigzag LEB128 varints (int32) and varlongs (int64) of its records. Values are
 * JS numbers; an int64 is exact while it is a safe integer, which callers check.
 */

export const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 0x1_0000_0000;

export function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -0x80000000 && v <= INT32_MAX;
}

export function isInt16(v: number): boolean {
  return Number.isInteger(v) && v >= -0x8000 && v <= 0x7fff;
}

// ---------------------------------------------------------------------------------------------
// Fixed-width big-endian integers

export function readInt32(b: Uint8Array, p: number): number {
  return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
}

export function readInt16(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16)) >> 16;
}

/** An int64 as a number; exact whenever the result is a safe integer, which callers check. */
export function readInt64(b: Uint8Array, p: number): number {
  return readInt32(b, p) * TWO_POW_32 + (readInt32(b, p + 4) >>> 0);
}

export function writeInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

export function writeInt16(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 8;
  b[p + 1] = v;
}

/** `v` must be a safe integer. */
export function writeInt64(b: Uint8Array, p: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  writeInt32(b, p, hi);
  writeInt32(b, p + 4, v - hi * TWO_POW_32);
}

// ---------------------------------------------------------------------------------------------
// Zigzag varints: writing

export function varintBytes(v: number): number {
  const u = ((v << 1) ^ (v >> 31)) >>> 0;
  return u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5;
}

/** `v` must be an int32. Returns the position after it. */
export function writeVarint(b: Uint8Array, p: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    b[p++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  b[p++] = u;
  return p;
}

export function varlongBytes(v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return varintBytes(v);
  // zigzag(v) = 2h + sign with h = |v| or |v| - 1; the first byte holds 6 bits of h.
  let h = Math.floor((v >= 0 ? v : -v - 1) / 64);
  let n = 1;
  while (h > 0) {
    h = Math.floor(h / 128);
    n++;
  }
  return n;
}

/**
 * `v` must be a safe integer. Returns the position after it. Computed on h = zigzag(v) >> 1 so
 * every step stays exact.
 */
export function writeVarlong(b: Uint8Array, p: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return writeVarint(b, p, v);
  let h = v >= 0 ? v : -v - 1;
  let byte = (h % 64) * 2 + (v < 0 ? 1 : 0);
  h = Math.floor(h / 64);
  while (h > 0) {
    b[p++] = byte | 0x80;
    byte = h % 128;
    h = Math.floor(h / 128);
  }
  b[p++] = byte;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Zigzag varints: reading

/** What a varint is read from: a cursor whose `byte` and `fail` throw the caller's error. */
export interface ByteCursor {
  /** Position of the next byte. */
  readonly pos: number;
  /** The next byte; throws, naming `what`, when there is none. */
  byte(what: string): number;
  /** Throws for a malformed value that starts at `at`. */
  fail(message: string, at: number): never;
}

/** A zigzag varint of at most 5 bytes, as an int32. */
export function readVarint(c: ByteCursor, what: string): number {
  const start = c.pos;
  let b = c.byte(what);
  let u = b & 0x7f;
  for (let shift = 7; b >= 0x80; shift += 7) {
    b = c.byte(what);
    // The fifth byte may hold only the top 4 bits, and no continuation.
    if (shift === 28 && b > 0x0f) c.fail(`${what} varint is longer than 32 bits`, start);
    u |= (b & 0x7f) << shift;
  }
  return (u >>> 1) ^ -(u & 1);
}

/** A zigzag varlong of at most 10 bytes; a value outside the safe-integer range fails. */
export function readVarlong(c: ByteCursor, what: string): number {
  const start = c.pos;
  let b = c.byte(what);
  if (b < 0x80) return (b >>> 1) ^ -(b & 1);
  // h = zigzag >> 1, summed exactly while it stays below 2^53.
  const negative = (b & 1) === 1;
  let h = (b & 0x7f) >>> 1;
  let scale = 64;
  for (let i = 1; b >= 0x80; i++) {
    if (i === 10) c.fail(`${what} varlong is longer than 10 bytes`, start);
    b = c.byte(what);
    h += (b & 0x7f) * scale;
    scale *= 128;
  }
  const v = negative ? -h - 1 : h;
  if (!Number.isSafeInteger(v)) c.fail(`${what} is outside the safe-integer range`, start);
  return v;
}
