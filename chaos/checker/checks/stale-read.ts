/**
 * Stale reads. A poll invoked after a send to a key was acknowledged at offset n must report a
 * high watermark above n for that key; and its high watermark must not be below that of a poll
 * that completed before it was invoked.
 */
import type { Anomaly } from '../anomaly.js';
import { unreachable } from '../errors.js';
import type { OpRef } from '../history.js';
import { refOf } from '../ops.js';
import type { LogIndex, PollOp } from './log-index.js';

type Moment =
  | { readonly at: number; readonly kind: 'ack'; readonly key: string; readonly offset: number; readonly ref: OpRef }
  | { readonly at: number; readonly kind: 'hw'; readonly key: string; readonly hw: number; readonly ref: OpRef }
  | { readonly at: number; readonly kind: 'poll'; readonly poll: PollOp };

export function checkStaleReads(index: LogIndex): Anomaly[] {
  const moments: Moment[] = [];
  for (const s of index.sends) {
    if (s.acked === null || s.op.completion === undefined) continue;
    for (const a of s.acked) {
      moments.push({ at: s.op.completion.index, kind: 'ack', key: a.key, offset: a.offset, ref: refOf(s.op, `${a.key}@${a.offset}`) });
    }
  }
  for (const p of index.polls) {
    if (p.result === null || p.op.completion === undefined) continue;
    moments.push({ at: p.op.invoke.index, kind: 'poll', poll: p });
    for (const [key, hw] of p.result.hw) {
      moments.push({ at: p.op.completion.index, kind: 'hw', key, hw, ref: refOf(p.op, `${key} hw ${hw}`) });
    }
  }
  moments.sort((a, b) => a.at - b.at);

  const out: Anomaly[] = [];
  const acked = new Map<string, { offset: number; ref: OpRef }>();
  const seen = new Map<string, { hw: number; ref: OpRef }>();
  for (const m of moments) {
    switch (m.kind) {
      case 'ack': {
        const best = acked.get(m.key);
        if (best === undefined || m.offset > best.offset) acked.set(m.key, { offset: m.offset, ref: m.ref });
        break;
      }
      case 'hw': {
        const best = seen.get(m.key);
        if (best === undefined || m.hw > best.hw) seen.set(m.key, { hw: m.hw, ref: m.ref });
        break;
      }
      case 'poll':
        for (const [key, hw] of m.poll.result?.hw ?? []) {
          const poll = refOf(m.poll.op, `${key} hw ${hw}`);
          const a = acked.get(key);
          const s = seen.get(key);
          if (a !== undefined && hw <= a.offset) {
            out.push({ kind: 'stale-read', key, poll, highWatermark: hw, cause: { by: 'send', op: a.ref, offset: a.offset } });
          } else if (s !== undefined && hw < s.hw) {
            out.push({ kind: 'stale-read', key, poll, highWatermark: hw, cause: { by: 'poll', op: s.ref, highWatermark: s.hw } });
          }
        }
        break;
      default:
        return unreachable(m);
    }
  }
  return out;
}

