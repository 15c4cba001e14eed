/**
 * Small files that must change all at once (hard state, term boundaries, log start): written to a
 * temporary file, fsynced, renamed over the old one, and the folder fsynced, so that after a crash
 * the file holds either the old or the new contents, never a mix.
 *
 * Contents are framed as: magic u32 | CRC-32C u32 of the body | body length u32 | body.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from './crc32c.js';

const HEADER_BYTES = 12;

export function writeFileAtomic(file: string, magic: number, body: Uint8Array): void {
  const tmp = `${file}.tmp`;
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.byteLength);
  out.writeUInt32BE(magic >>> 0, 0);
  out.writeUInt32BE(crc32c(body), 4);
  out.writeUInt32BE(body.byteLength, 8);
  out.set(body, HEADER_BYTES);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, out, 0, out.length, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** The body, or null if the file is missing, torn, of another kind, or fails its checksum. */
export function readFileChecked(file: string, magic: number): Uint8Array | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (buf.length < HEADER_BYTES || buf.readUInt32BE(0) !== magic >>> 0) return null;
  const len = buf.readUInt32BE(8);
  if (buf.length !== HEADER_BYTES + len) return null;
  const body = buf.subarray(HEADER_BYTES);
  return crc32c(body) === buf.readUInt32BE(4) ? body : null;
}

export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
