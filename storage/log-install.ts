/**
 * Installing a leader's log on a follower far behind (DESIGN.md §9), the storage half: the
 * follower builds the leader's log as a log of its own in a staging folder beside its log, then
 * swaps it in. What the leader streams (storage/log-transfer.ts) and who decides to install
 * (the Raft core; src/host/log-recovery.ts drives it) are elsewhere.
 *
 * Folders, beside the log folder `<dir>`:
 *
 *     <dir>.incoming/             the staged log: a SegmentLog of this node's own making (its own
 *                                 segment sizes, index, term boundaries and configuration files),
 *                                 written from the leader's frames as they arrive, each verified
 *     <dir>.incoming/installing   empty; its presence, durable, is the commit point of the install
 *
 * Install (SegmentLog.install calls swapIn once the staged log is complete, synced and checked):
 *
 *   1. write `installing` in the staging folder, fsync it and the staging folder: from here on,
 *      the staged log is the log;
 *   2. remove `<dir>` and everything in it;
 *   3. rename `<dir>.incoming` to `<dir>`, fsync the parent folder;
 *   4. remove `<dir>/installing`, fsync `<dir>`.
 *
 * Opening a log (finishInstall, first thing in SegmentLog.open) finishes a swap cut short: when
 * `<dir>.incoming/installing` exists it redoes 2 and 3; a staging folder without it is a transfer
 * that never reached its commit point and is removed; a leftover `<dir>/installing` goes. So a
 * crash at any point leaves the old log or the new one, never a mix of the two.
 *
 * The replica's other durable state around the swap is the caller's (src/host/raft-group.ts): the
 * sync ledger's mark comes down before step 1 (the new log may hold other entries than the old at
 * the same indexes), and is raised once the new log is synced, as after any write.
 */
import path from 'node:path';
import type { Entry } from '../raft/types.js';
import { fsyncDir } from './atomic-file.js';
import { check } from './errors.js';
import type { FileSystem } from './file-system.js';
import { readFrame } from './frame.js';

/** Where a log in `dir` stages the log it is about to install. */
export function stagingDir(dir: string): string {
  return `${dir}.incoming`;
}

const COMMIT_MARKER = 'installing';

/** Step 1: the staged log becomes the log, durably (see the header). */
export function commitStaged(fs: FileSystem, dir: string): void {
  const staging = stagingDir(dir);
  const fd = fs.openSync(path.join(staging, COMMIT_MARKER), 'w');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(staging, fs);
}

/** Steps 1 to 4: the staged log (complete, synced) replaces the one in `dir`. */
export function swapIn(fs: FileSystem, dir: string): void {
  commitStaged(fs, dir);
  finishInstall(fs, dir);
}

/** Finishes an install cut short, or drops a staging that never committed (see the header). */
export function finishInstall(fs: FileSystem, dir: string): void {
  const staging = stagingDir(dir);
  if (fs.existsSync(path.join(staging, COMMIT_MARKER))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(staging, dir);
    fsyncDir(path.dirname(dir), fs);
  } else if (fs.existsSync(staging)) {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const marker = path.join(dir, COMMIT_MARKER);
  if (fs.existsSync(marker)) {
    fs.unlinkSync(marker);
    fsyncDir(dir, fs);
  }
}

/** Removes a staging folder that will not be installed (a transfer abandoned). */
export function dropStaged(fs: FileSystem, dir: string): void {
  fs.rmSync(stagingDir(dir), { recursive: true, force: true });
}

/**
 * How a follower reads the frames of a chunk from its leader. Every node verifies them
 * (VERIFY_FRAMES); the host simulation passes one that does not, to prove it catches a log
 * installed from bytes damaged on the way (test/sim/host-simulation.ts, the installUnverified
 * mutant).
 */
export interface ChunkFrames {
  /** The entries of whole frames in `bytes`, in order; throws a TransferError naming what is wrong. */
  entries(bytes: Uint8Array, frameBytesMax: number): Entry[];
}

/** Something wrong with what a leader sent: the transfer is abandoned (and the leader tries again). */
export class TransferError extends Error {
  override readonly name = 'TransferError';
}

/** Frames checked as a log read checks them (storage/frame.ts): length, frame and record-batch checksums, kind. */
export const VERIFY_FRAMES: ChunkFrames = Object.freeze({
  entries(bytes: Uint8Array, frameBytesMax: number): Entry[] {
    const out: Entry[] = [];
    let at = 0;
    while (at < bytes.byteLength) {
      const r = readFrame(bytes, at, frameBytesMax);
      if (r.status === 'partial') throw new TransferError(`a chunk ends inside a frame at byte ${at} of ${bytes.byteLength}`);
      if (r.status === 'corrupt') throw new TransferError(`a chunk's frame at byte ${at} is damaged: ${r.reason}`);
      out.push(r.entry);
      at += r.bytes;
    }
    check(at === bytes.byteLength, () => `frames overran a chunk: ${at} of ${bytes.byteLength}`);
    return out;
  },
});
