/**
 * Order of sends. Send order: one producer's (process's) later send to a key must not land below
 * its earlier one. Real-time order: a send acknowledged before another send was invoked must land
 * below it. Pairs within one process are reported as send order only. A send's offset is its
 * acknowledged offset, or where a poll read it for an `info` send that must have happened.
 */
import type { Anomaly } from '../anomaly.js';
import { show, valueKey, type OpRef } from '../history.js';
import { refOf, type ClientOp } from '../ops.js';
import { getOrSet, offsetOf, type LogIndex } from './log-index.js';

/** One record of a send whose offset is known. */
interface Landed {
  readonly key: string;
  readonly offset: number;
  readonly op: ClientOp;
  readonly acknowledged: boolean;
  readonly ref: OpRef;
}

export function landedRecords(index: LogIndex): Landed[] {
  const out: Landed[] = [];
  for (const s of index.sends) {
    for (const r of s.records) {
      const w = index.writers.get(valueKey(r.value));
      if (w === undefined || w.send !== s.op) continue;
      const offset = offsetOf(index, w);
      if (offset === null) continue;
      const ref = refOf(s.op, `${r.key}=${show(r.value)}`);
      out.push({ key: r.key, offset, op: s.op, acknowledged: w.ackOffset !== null, ref });
    }
  }
  return out;
}

export function checkSendOrder(index: LogIndex): Anomaly[] {
  const out: Anomaly[] = [];
  const highest = new Map<string, Landed>();
  for (const l of landedRecords(index)) {
    const k = `${l.op.process}\u0000${l.key}`;
    const prior = highest.get(k);
    if (prior !== undefined && l.offset < prior.offset) {
      out.push({
        kind: 'send-order',
        key: l.key,
        earlier: prior.ref,
        earlierOffset: prior.offset,
        later: l.ref,
        laterOffset: l.offset,
      });
    }
    if (prior === undefined || l.offset > prior.offset) highest.set(k, l);
  }
  return out;
}

export function checkRealTimeOrder(index: LogIndex): Anomaly[] {
  const out: Anomaly[] = [];
  const byKey = new Map<string, Landed[]>();
  for (const l of landedRecords(index)) getOrSet(byKey, l.key, () => []).push(l);

  for (const [key, landed] of byKey) {
    // Moments in history order: an acknowledgement raises the bar; an invoke is held to it.
    const moments: Array<{ at: number; ack: boolean; l: Landed }> = [];
    for (const l of landed) {
      moments.push({ at: l.op.invoke.index, ack: false, l });
      if (l.acknowledged && l.op.completion !== undefined) moments.push({ at: l.op.completion.index, ack: true, l });
    }
    moments.sort((a, b) => a.at - b.at);
    // The highest acknowledged record, and the highest from any other process than its.
    let top: Landed | undefined;
    let other: Landed | undefined;
    for (const m of moments) {
      if (m.ack) {
        if (top === undefined || m.l.offset > top.offset) {
          if (top !== undefined && top.op.process !== m.l.op.process) other = top;
          top = m.l;
        } else if (m.l.op.process !== top.op.process && (other === undefined || m.l.offset > other.offset)) {
          other = m.l;
        }
        continue;
      }
      const bar = top !== undefined && top.op.process !== m.l.op.process ? top : other;
      if (bar !== undefined && bar.offset > m.l.offset) {
        out.push({
          kind: 'real-time-order',
          key,
          earlier: bar.ref,
          earlierOffset: bar.offset,
          later: m.l.ref,
          laterOffset: m.l.offset,
        });
      }
    }
  }
  return out;
}
