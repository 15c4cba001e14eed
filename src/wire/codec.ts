/**
 * Frames on the wire, for clients and peers alike: one msgpack value per WebSocket binary message.
 * Maps decode to plain objects, `bin` to Uint8Array (Buffer), integers up to 2^53 to numbers.
 */
import { Packr } from 'msgpackr';

// int64AsType: another msgpack writer may put any integer in 64 bits (msgpackr itself does so only for
// bigints); read as numbers, those below 2^53 are exact, and those past it are never safe integers,
// so every validator refuses them.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
}

export function encodeFrame(value: unknown): Buffer {
  return packr.pack(value);
}

/** Decodes one frame; with a budget, a frame that would cost more than it (budgetProblem) is refused undecoded. */
export function decodeFrame(bytes: Uint8Array, budget?: FrameBudget): unknown {
  if (budget !== undefined) {
    const problem = budgetProblem(bytes, budget);
    if (problem !== null) throw new FrameDecodeError(problem);
  }
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new FrameDecodeError(`the frame is not valid msgpack: ${(err as Error).message}`);
  }
}

/**
 * What decoding one frame may cost, in the two things that cost time: values (each becomes a
 * number, string, array, map entry or binary view: 15-25 ms a million, 6 s for sixty million) and
 * bytes of strings (UTF-8 decoding: about 3.5 ms a MiB). A frame over either is refused before
 * msgpackr decodes any of it (budgetProblem), so that a junk frame costs the node no more than
 * its budget; binary fields are views and cost nothing per byte.
 */
export interface FrameBudget {
  readonly valuesMax: number;
  readonly stringBytesMax: number;
}

/**
 * Why `bytes` would cost more than `budget` to decode, or null when it would not (or when it is
 * not msgpack, which decoding then says). One pass over the value headers, stopping as soon as
 * the budget is spent, so the check costs at most a budget's worth of headers: it keeps only
 * the count of values still to read (a container's declared count is added to it, and a count
 * larger than the budget left is refused from the header alone).
 */
export function budgetProblem(bytes: Uint8Array, budget: FrameBudget): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  let at = 0;
  let pending = 1;
  let values = 0;
  let strings = 0;
  const tooMany = (): string => `the frame holds more than ${budget.valuesMax} values, the most one frame may hold`;
  while (pending > 0) {
    if (at >= end) return null;
    pending--;
    values++;
    if (values > budget.valuesMax) return tooMany();
    const b = bytes[at++]!;
    let children = 0;
    let skip = 0;
    let str = 0;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, nil, boolean: the byte is the value
    } else if (b <= 0x8f) children = (b & 0x0f) * 2;
    else if (b <= 0x9f) children = b & 0x0f;
    else if (b <= 0xbf) str = b & 0x1f;
    else {
      const need = HEADER_BYTES[b - 0xc0]!;
      if (at + need > end) return null;
      switch (b) {
        case 0xc4: skip = bytes[at]!; break;
        case 0xc5: skip = view.getUint16(at); break;
        case 0xc6: skip = view.getUint32(at); break;
        case 0xc7: skip = bytes[at]! + 1; break;
        case 0xc8: skip = view.getUint16(at) + 1; break;
        case 0xc9: skip = view.getUint32(at) + 1; break;
        case 0xd4: skip = 2; break;
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xd9: str = bytes[at]!; break;
        case 0xda: str = view.getUint16(at); break;
        case 0xdb: str = view.getUint32(at); break;
        case 0xdc: children = view.getUint16(at); break;
        case 0xdd: children = view.getUint32(at); break;
        case 0xde: children = view.getUint16(at) * 2; break;
        case 0xdf: children = view.getUint32(at) * 2; break;
        default: break; // floats and sized integers: their bytes follow, nothing more
      }
      at += need;
    }
    if (str > 0) {
      strings += str;
      if (strings > budget.stringBytesMax) return `the frame holds more than ${budget.stringBytesMax} bytes of strings, the most one frame may hold`;
      skip = str;
    }
    at += skip;
    pending += children;
    if (pending > budget.valuesMax - values) return tooMany();
  }
  return null;
}

/** Bytes after the first of each header from 0xc0 to 0xdf: lengths, counts, or the value itself (0xc1 is never used). */
const HEADER_BYTES: readonly number[] = [
  0, 0, 0, 0, 1, 2, 4, 1, 2, 4, 4, 8, 1, 2, 4, 8, // c0-cf: nil, (unused), false, true, bin8/16/32, ext8/16/32, float32/64, uint8..64
  1, 2, 4, 8, 0, 0, 0, 0, 0, 1, 2, 4, 2, 4, 2, 4, // d0-df: int8..64, fixext1..16 (type byte in the skip), str8/16/32, array16/32, map16/32
];
