/**
 * Checks on what the log holds, from the log index alone: inconsistent offsets (one offset, two
 * values), duplicates (one value, two positions), garbage reads (a value no one sent to that key)
 * and aborted reads (a value whose send failed).
 */
import type { Anomaly, Placement } from '../anomaly.js';
import { show, type OpRef } from '../history.js';
import { refOf } from '../ops.js';
import type { LogIndex, Observation } from './log-index.js';

export function checkLogValues(index: LogIndex): Anomaly[] {
  const out: Anomaly[] = [];
  const positions = new Map<string, { value: unknown; at: Map<string, Placement>; obs: Observation[] }>();

  for (const [key, offsets] of index.log) {
    for (const [offset, values] of offsets) {
      if (values.size > 1) {
        const all = [...values.values()].flat();
        out.push({
          kind: 'inconsistent-offsets',
          key,
          offset,
          values: [...values.values()].map((obs) => obs[0]!.value),
          ops: uniqueRefs(all),
        });
      }
      for (const [vk, obs] of values) {
        let p = positions.get(vk);
        if (p === undefined) {
          p = { value: obs[0]!.value, at: new Map(), obs: [] };
          positions.set(vk, p);
        }
        p.at.set(`${key}\u0000${offset}`, { key, offset, value: p.value });
        p.obs.push(...obs);
      }
    }
  }
  for (const p of positions.values()) {
    if (p.at.size > 1) out.push({ kind: 'duplicate', value: p.value, at: [...p.at.values()], ops: uniqueRefs(p.obs) });
  }

  for (const [vk, reads] of index.readers) {
    const writer = index.writers.get(vk);
    for (const [, group] of groupByPlace(reads)) {
      const first = group[0]!;
      const at: Placement = { key: first.key, offset: first.offset, value: first.value };
      const readers = uniqueRefs(group);
      if (writer === undefined || writer.key !== first.key) {
        out.push({ kind: 'garbage-read', at, readers });
      } else if (writer.send.outcome === 'fail') {
        out.push({ kind: 'aborted-read', at, writer: refOf(writer.send, `${writer.key}=${show(writer.value)}`), readers });
      }
    }
  }
  return out;
}

function groupByPlace(obs: readonly Observation[]): Map<string, Observation[]> {
  const out = new Map<string, Observation[]>();
  for (const o of obs) {
    const k = `${o.key}\u0000${o.offset}`;
    const list = out.get(k);
    if (list === undefined) out.set(k, [o]);
    else list.push(o);
  }
  return out;
}

/** The operations behind some observations, each once, in history order. */
export function uniqueRefs(obs: readonly Observation[]): OpRef[] {
  const seen = new Map<number, OpRef>();
  for (const o of obs) {
    if (!seen.has(o.op.invoke.index)) seen.set(o.op.invoke.index, refOf(o.op, `${o.key}@${o.offset}=${show(o.value)}`));
  }
  return [...seen.values()].sort((a, b) => a.index - b.index);
}

