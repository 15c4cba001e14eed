/**
 * Did every write that must have happened show up? Lost writes (Jepsen's rule: if a read saw
 * offset n of a key, every must-have-happened value at offsets ≤ n must have been read by
 * someone), and, once the history has final reads, unseen values (acknowledged, never read) and
 * offset gaps (offsets between log start and high watermark that no one observed; offsets are
 * dense).
 *
 * The final reads are the successful polls invoked after the last send ended and after the last
 * nemesis action: the recorder heals everything and then reads every key from its log start.
 * For each key they cover, the log start is the lowest `from` and the high watermark the highest
 * `hw` they report.
 */
import type { Anomaly } from '../anomaly.js';
import { show, valueKey } from '../history.js';
import { refOf, type NemesisAction } from '../ops.js';
import { offsetOf, type LogIndex, type Observation, type PollOp } from './log-index.js';

export interface FinalReads {
  /** Event index after which the final reads were invoked. */
  readonly after: number;
  readonly polls: readonly PollOp[];
}

export function findFinalReads(index: LogIndex, nemesis: readonly NemesisAction[]): FinalReads | null {
  let after = -1;
  for (const s of index.sends) after = Math.max(after, s.op.completion?.index ?? s.op.invoke.index);
  for (const n of nemesis) after = Math.max(after, n.index);
  const polls = index.polls.filter((p) => p.result !== null && p.op.invoke.index > after);
  return polls.length === 0 ? null : { after, polls };
}

export function checkCompleteness(index: LogIndex, final: FinalReads | null): Anomaly[] {
  const out: Anomaly[] = [];
  const highestRead = new Map<string, Observation>();
  for (const reads of index.readers.values()) {
    for (const o of reads) {
      const best = highestRead.get(o.key);
      if (best === undefined || o.offset > best.offset) highestRead.set(o.key, o);
    }
  }

  const lost = new Set<string>();
  for (const w of index.mustHaveHappened) {
    if (index.readers.has(valueKey(w.value))) continue;
    const offset = offsetOf(index, w);
    const reached = highestRead.get(w.key);
    if (offset === null || reached === undefined || offset > reached.offset) continue;
    lost.add(valueKey(w.value));
    out.push({
      kind: 'lost-write',
      at: { key: w.key, offset, value: w.value },
      writer: refOf(w.send, `${w.key}=${show(w.value)}`),
      readOffset: reached.offset,
      reachedBy: refOf(reached.op, `${reached.key}@${reached.offset}`),
    });
  }
  if (final === null) return out;

  for (const w of index.writers.values()) {
    const vk = valueKey(w.value);
    if (w.ackOffset === null || index.readers.has(vk) || lost.has(vk)) continue;
    out.push({
      kind: 'unseen',
      at: { key: w.key, offset: w.ackOffset, value: w.value },
      writer: refOf(w.send, `${w.key}=${show(w.value)}`),
    });
  }
  out.push(...offsetGaps(index, final));
  return out;
}

function offsetGaps(index: LogIndex, final: FinalReads): Anomaly[] {
  const bounds = new Map<string, { logStart: number; highWatermark: number }>();
  for (const p of final.polls) {
    for (const [key, hw] of p.result?.hw ?? []) {
      const from = p.from.get(key);
      if (from === undefined) continue;
      const b = bounds.get(key);
      if (b === undefined) bounds.set(key, { logStart: from, highWatermark: hw });
      else bounds.set(key, { logStart: Math.min(b.logStart, from), highWatermark: Math.max(b.highWatermark, hw) });
    }
  }
  const out: Anomaly[] = [];
  for (const [key, { logStart, highWatermark }] of bounds) {
    const seen = index.log.get(key);
    let gapStart: number | null = null;
    for (let o = logStart; o <= highWatermark; o++) {
      const missing = o < highWatermark && seen?.has(o) !== true;
      if (missing && gapStart === null) gapStart = o;
      if (!missing && gapStart !== null) {
        out.push({ kind: 'offset-gap', key, from: gapStart, to: o - 1, logStart, highWatermark });
        gapStart = null;
      }
    }
  }
  return out;
}
