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

export function decodeFrame(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new FrameDecodeError(`the frame is not valid msgpack: ${(err as Error).message}`);
  }
}
