/**
 * Offsets at the API are decimal strings (bigints accepted), never lossy numbers. On the wire they
 * are integers below 2^53, so a value outside that range is refused rather than rounded.
 */
import { invalidArgument } from './errors.js';

export type OffsetInput = string | bigint;

/** A non-negative offset from a string, bigint or safe integer. */
export function parseOffset(v: OffsetInput | number, what = 'offset'): number {
  let n: number;
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`${what} ${v} is outside 0..2^53-1`);
    n = Number(v);
  } else if (typeof v === 'string') {
    if (!/^\d{1,16}$/.test(v.trim())) throw invalidArgument(`${what} '${v.slice(0, 40)}' is not a non-negative integer`);
    n = Number(v.trim());
  } else {
    n = v;
  }
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`${what} ${String(v)} is not a non-negative integer below 2^53`);
  return n;
}

export function formatOffset(n: number): string {
  return String(n);
}
