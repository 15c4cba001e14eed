/**
 * Poll order. Inside one poll, the offsets of a key must run consecutively from the poll's `from`.
 * Across one process's polls of a key, each poll must start where the previous one ended (its
 * last offset + 1, or its `from` if it returned nothing), unless an assign in between moved the
 * position (to the assign's `start`). Only successful polls and assigns move a position.
 */
import type { Anomaly } from '../anomaly.js';
import type { OpRef } from '../history.js';
import { refOf } from '../ops.js';
import type { LogIndex, PollOp, AssignOp } from './log-index.js';
import { getOrSet } from './log-index.js';

interface Position {
  readonly offset: number;
  readonly by: OpRef;
}

export function checkPollOrder(index: LogIndex): Anomaly[] {
  const out: Anomaly[] = [];
  const positions = new Map<number, Map<string, Position>>();
  const moves: Array<PollOp | AssignOp> = [...index.polls, ...index.assigns].filter(
    (o) => o.op.outcome === 'ok',
  );
  moves.sort((a, b) => a.op.invoke.index - b.op.invoke.index);

  for (const move of moves) {
    const pos = getOrSet(positions, move.op.process, () => new Map<string, Position>());
    const ref = refOf(move.op);
    if (move.f === 'assign') {
      for (const key of move.keys) pos.delete(key);
      for (const [key, start] of move.start ?? []) pos.set(key, { offset: start, by: ref });
      continue;
    }
    for (const [key, from] of move.from) {
      const expected = pos.get(key);
      if (expected !== undefined && expected.offset !== from) {
        out.push({ kind: 'poll-order', key, expected: expected.offset, actual: from, op: ref, previous: expected.by });
      }
      pos.set(key, { offset: from, by: ref });
    }
    for (const [key, msgs] of move.result?.msgs ?? []) {
      let next = move.from.get(key);
      for (const [offset] of msgs) {
        if (next !== undefined && offset !== next) {
          out.push({ kind: 'poll-order', key, expected: next, actual: offset, op: ref, previous: null });
        }
        next = offset + 1;
      }
      if (next !== undefined) pos.set(key, { offset: next, by: ref });
    }
  }
  return out;
}
