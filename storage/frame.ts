/**
 * The entry frame: how one Raft entry is laid out in a segment file (`<firstIndex>.log`).
 *
 *     offset  bytes  field
 *     0       4      length of the rest of the frame: 21 + payload bytes (u32, big-endian)
 *     4       4      CRC-32C of bytes 8 to the end of the frame, or, when the payload is a record
 *                    batch (flag below), of bytes 8 to 25 + 21: the header and the batch's own
 *                    first 21 bytes (base offset, length, leader epoch, magic, its CRC)
 *     8       8      Raft index (u64)
 *     16      8      Raft term (u64)
 *     24      1      entry kind (0 normal, 1 no-op, 2 configuration) in bits 0-6; bit 7 set when
 *                    the payload is a RecordBatch v2 whose CRC-32C covers its bytes 21 to the end
 *     25      n      payload: in a partition, a record batch exactly as the producer encoded it
 *                    (with the base offset the leader assigned); in the metadata group, a command
 *
 * Frames follow each other with nothing between them. The checksum is computed right before the
 * frame is written and verified right after it is read. A record batch is checksummed once, by
 * its producer, and verified by the leader before it is proposed; the frame's checksum covers the
 * bytes the batch's own does not, so every byte of the frame is verified when it is read back
 * without the write path passing over the data a second time.
 */
import { crc32c } from '../src/wire/crc32c.js';
import type { Entry, EntryKind } from '../raft/types.js';

export const FRAME_HEADER_BYTES = 25;
/** Bytes in the length field itself. */
const LENGTH_BYTES = 4;
/** The smallest value of the length field (an empty payload). */
const MIN_LENGTH = FRAME_HEADER_BYTES - LENGTH_BYTES;
const TWO_32 = 2 ** 32;
const KINDS_MAX = 2;
/** Kind-byte flag: the payload is a record batch that carries its own checksum. */
const SELF_CHECKED = 0x80;
/** Bytes of a record batch before the part its own CRC covers. */
const BATCH_UNCHECKED_PREFIX = 21;
/** Where a record batch keeps its CRC-32C. */
const BATCH_CRC_AT = 17;

/**
 * Writes a frame header for `e` into `out` at `at`; the payload goes right after it. With
 * `selfChecked`, `e.data` is a record batch whose own CRC has been verified.
 */
export function encodeFrameHeader(e: Entry, out: Buffer, at: number, selfChecked = false): void {
  out.writeUInt32BE(MIN_LENGTH + e.data.byteLength, at);
  writeU64(out, at + 8, e.index);
  writeU64(out, at + 16, e.term);
  out[at + 24] = selfChecked ? e.kind | SELF_CHECKED : e.kind;
  const covered = selfChecked ? BATCH_UNCHECKED_PREFIX : e.data.byteLength;
  const c = crc32c(e.data, 0, covered, crc32c(out, at + 8, at + FRAME_HEADER_BYTES));
  out.writeUInt32BE(c, at + 4);
}

export function frameBytes(e: Entry): number {
  return FRAME_HEADER_BYTES + e.data.byteLength;
}

export type FrameRead =
  | { readonly status: 'ok'; readonly entry: Entry; readonly bytes: number }
  /** The buffer ends inside this frame: read more, or (at the end of a file) a torn write. */
  | { readonly status: 'partial'; readonly need: number }
  | { readonly status: 'corrupt'; readonly reason: string };

/**
 * Reads the frame at `at` in `buf` (which holds file bytes from some position on). The returned
 * entry's data is a view into `buf`. `frameBytesMax` bounds the length field so that garbage is not
 * mistaken for a huge frame.
 */
export function readFrame(buf: Uint8Array, at: number, frameBytesMax: number): FrameRead {
  const avail = buf.byteLength - at;
  if (avail < LENGTH_BYTES) return { status: 'partial', need: FRAME_HEADER_BYTES };
  const view = new DataView(buf.buffer, buf.byteOffset + at);
  const len = view.getUint32(0);
  if (len < MIN_LENGTH || len + LENGTH_BYTES > frameBytesMax) {
    return { status: 'corrupt', reason: `frame length ${len} is outside ${MIN_LENGTH}..${frameBytesMax - LENGTH_BYTES}` };
  }
  const total = LENGTH_BYTES + len;
  if (avail < total) return { status: 'partial', need: total };
  const stored = view.getUint32(4);
  const flags = buf[at + 24]!;
  const selfChecked = (flags & SELF_CHECKED) !== 0;
  const payload = at + FRAME_HEADER_BYTES;
  if (selfChecked && total - FRAME_HEADER_BYTES < BATCH_UNCHECKED_PREFIX + 4) {
    return { status: 'corrupt', reason: `a record batch of ${total - FRAME_HEADER_BYTES} bytes is too short` };
  }
  const actual = crc32c(buf, at + 8, selfChecked ? payload + BATCH_UNCHECKED_PREFIX : at + total);
  if (stored !== actual) return { status: 'corrupt', reason: `checksum ${hex(actual)} does not match the stored ${hex(stored)}` };
  if (selfChecked) {
    const batchStored = view.getUint32(FRAME_HEADER_BYTES + BATCH_CRC_AT);
    const batchActual = crc32c(buf, payload + BATCH_UNCHECKED_PREFIX, at + total);
    if (batchStored !== batchActual) return { status: 'corrupt', reason: `record batch checksum ${hex(batchActual)} does not match the stored ${hex(batchStored)}` };
  }
  const kind = flags & ~SELF_CHECKED;
  if (kind > KINDS_MAX) return { status: 'corrupt', reason: `unknown entry kind ${kind}` };
  const index = view.getUint32(8) * TWO_32 + view.getUint32(12);
  const term = view.getUint32(16) * TWO_32 + view.getUint32(20);
  const data = buf.subarray(at + FRAME_HEADER_BYTES, at + total);
  return { status: 'ok', entry: { index, term, kind: kind as EntryKind, data }, bytes: total };
}

export function writeU64(out: Buffer, at: number, v: number): void {
  out.writeUInt32BE(Math.floor(v / TWO_32), at);
  out.writeUInt32BE(v >>> 0, at + 4);
}

export function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
