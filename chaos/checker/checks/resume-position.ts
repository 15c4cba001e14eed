/**
 * Resume position: a consumer that assigns itself keys with `seek: "committed"` must start at an
 * offset its group could have committed at that moment. Once some commit of (group, key) was
 * acknowledged before the assign was invoked, the start must be the offset of a commit that is
 * still possibly current: invoked before the assign completed, and not overwritten by another
 * acknowledged commit that both began after it ended and ended before the assign began. Starting
 * elsewhere skips records (after) or re-delivers them (before). With no commit acknowledged before
 * the assign, the consumer may start anywhere (the reset policy decides), so nothing is checked.
 */
import type { Anomaly } from '../anomaly.js';
import { completedAt, refOf } from '../ops.js';
import { getOrSet, type CommitOp, type LogIndex } from './log-index.js';

interface Commit {
  readonly offset: number;
  readonly op: CommitOp;
}

export function checkResumePositions(index: LogIndex): Anomaly[] {
  const commits = new Map<string, Commit[]>();
  for (const c of index.commits) {
    if (c.op.outcome === 'fail') continue;
    for (const [key, offset] of c.offsets) getOrSet(commits, `${c.group}\u0000${key}`, () => []).push({ offset, op: c });
  }
  const out: Anomaly[] = [];
  for (const a of index.assigns) {
    if (a.seek !== 'committed' || a.group === null || a.start === null || a.op.completion === undefined) continue;
    const began = a.op.invoke.index;
    const ended = a.op.completion.index;
    for (const [key, start] of a.start) {
      const all = commits.get(`${a.group}\u0000${key}`) ?? [];
      const acked = all.filter((c) => c.op.op.outcome === 'ok' && completedAt(c.op.op) < began);
      if (acked.length === 0) continue;
      const current = all.filter(
        (c) =>
          c.op.op.invoke.index < ended &&
          !acked.some((d) => completedAt(c.op.op) < d.op.op.invoke.index),
      );
      const allowed = [...new Set(current.map((c) => c.offset))].sort((x, y) => x - y);
      if (allowed.includes(start)) continue;
      const last = acked.reduce((x, y) => (completedAt(y.op.op) > completedAt(x.op.op) ? y : x));
      out.push({
        kind: 'resume-position',
        group: a.group,
        key,
        assign: refOf(a.op, `${key} start ${start}`),
        start,
        allowed,
        commit: refOf(last.op.op, `${key}=${last.offset}`),
      });
    }
  }
  return out;
}
