/**
 * Storage failures. Corruption and injected faults are expected conditions a host handles (the
 * partition stops serving and says why); a broken invariant (an append that leaves a gap, offsets
 * that are not dense) is a bug and throws StorageInvariantError.
 */

export class StorageInvariantError extends Error {
  override readonly name = 'StorageInvariantError';
}

export function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new StorageInvariantError(message());
}

/**
 * A log file holds bytes that are not what was written, somewhere other than an unsynced tail.
 * The log refuses to serve rather than drop data that may have been acknowledged.
 */
export class CorruptLogError extends Error {
  override readonly name = 'CorruptLogError';
  constructor(readonly file: string, readonly position: number, readonly reason: string) {
    super(`${file} is corrupt at byte ${position}: ${reason}. The partition will not serve from this replica; restore it from the other replicas (remove its data folder and restart the node) or investigate the disk.`);
  }
}

export class LogClosedError extends Error {
  override readonly name = 'LogClosedError';
  constructor(dir: string) {
    super(`the log in ${dir} is closed`);
  }
}

/** An offset outside [log start, log end]. */
export class OffsetOutOfRangeError extends Error {
  override readonly name = 'OffsetOutOfRangeError';
  constructor(readonly offset: number, readonly logStartOffset: number, readonly logEndOffset: number) {
    super(`offset ${offset} is outside the log, which holds offsets ${logStartOffset} to ${logEndOffset - 1}`);
  }
}
