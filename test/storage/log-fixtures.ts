/** Helpers for storage tests: temporary folders and entries that carry real record batches. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EntryKind, type Entry } from '../../raft/types.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { systemClock } from '../../storage/clock.js';
import { SegmentLog, type SegmentLogLimits } from '../../storage/segment-log.js';

export function tempDir(prefix = 'raftlog-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Builds consecutive entries; normal ones carry batches at dense offsets. */
export class EntryMaker {
  nextIndex: number;
  nextOffset: number;

  constructor(firstIndex = 1, firstOffset = 0) {
    this.nextIndex = firstIndex;
    this.nextOffset = firstOffset;
  }

  batch(term: number, records = 1, timestamp = 1_000, valueBytes = 10): Entry {
    const data = encodeBatch(
      Array.from({ length: records }, (_, i) => ({ value: Buffer.alloc(valueBytes, 97 + ((this.nextOffset + i) % 26)), key: Buffer.from(`k${this.nextOffset + i}`) })),
      { baseOffset: this.nextOffset, now: timestamp },
    );
    const e: Entry = { index: this.nextIndex++, term, kind: EntryKind.Normal, data };
    this.nextOffset += records;
    return e;
  }

  noop(term: number): Entry {
    return { index: this.nextIndex++, term, kind: EntryKind.Noop, data: new Uint8Array(0) };
  }
}

export function openLog(dir: string, limits: Partial<SegmentLogLimits> = {}, clock?: () => number): SegmentLog {
  return SegmentLog.open({ dir, recordBatches: true, limits, ...(clock !== undefined ? { clock: { ...systemClock, now: clock } } : {}) });
}

export function segmentFiles(dir: string, ext = '.log'): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Entries as comparable tuples. */
export function summary(es: readonly Entry[]): [number, number, number, string][] {
  return es.map((e) => [e.index, e.term, e.kind, Buffer.from(e.data).toString('hex')]);
}
