/**
 * What a chaos run with hostile clients (chaos/hostile.ts) shows besides the checker's verdict:
 * whether every node stayed alive the whole time (no node exited on its own; in a run whose only
 * faults are attacks, every node is the process it started as), the producers' acknowledgement
 * latency during the attacks and outside them, and what each attack came to.
 */
import type { HistoryEvent } from './checker/history.js';
import type { FaultRecord } from './nemesis.js';
import { HOSTILE_ATTACKS, type AttackOutcome, type HostileAttack } from './hostile.js';
import { quantile } from './stats.js';

export interface LatencySummary {
  /** Sends acknowledged. */
  readonly sends: number;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export interface NodeLife {
  readonly id: string;
  readonly pidAtStart: number | null;
  readonly pidAtEnd: number | null;
  /** How it exited each time it did on its own. */
  readonly ownExits: readonly string[];
}

export interface HostileReport {
  /** No node exited on its own, and (when no fault stops nodes) each is the process it started as. */
  readonly nodesAlive: boolean;
  readonly nodes: readonly NodeLife[];
  readonly producer: { readonly duringAttacks: LatencySummary; readonly outsideAttacks: LatencySummary };
  readonly byAttack: readonly {
    readonly attack: HostileAttack;
    readonly runs: number;
    readonly asExpected: number;
    readonly expected: string;
    readonly connections: number;
    readonly closed: number;
    readonly answered: number;
    readonly open: number;
    readonly sent: number;
    readonly statusMaxMs: number | null;
    readonly statusFailures: number;
  }[];
  readonly attacks: readonly AttackOutcome[];
}

/** The latency of acknowledged sends whose time (invoke to ok) overlaps one of `windows`, and of the others. */
export function sendLatency(events: readonly HistoryEvent[], windows: readonly { readonly startNs: number; readonly endNs: number }[]): { during: LatencySummary; outside: LatencySummary } {
  const open = new Map<number, HistoryEvent>();
  const during: number[] = [];
  const outside: number[] = [];
  for (const e of events) {
    if (e.process < 0) continue;
    if (e.type === 'invoke') {
      open.set(e.process, e);
      continue;
    }
    const inv = open.get(e.process);
    open.delete(e.process);
    if (e.type !== 'ok' || e.f !== 'send' || inv === undefined) continue;
    const ms = (e.time - inv.time) / 1e6;
    if (windows.some((w) => inv.time <= w.endNs && e.time >= w.startNs)) during.push(ms);
    else outside.push(ms);
  }
  const summary = (xs: number[]): LatencySummary => {
    xs.sort((a, b) => a - b);
    const round = (x: number | null): number | null => (x === null ? null : Math.round(x * 10) / 10);
    return { sends: xs.length, p50Ms: round(quantile(xs, 0.5)), p99Ms: round(quantile(xs, 0.99)) };
  };
  return { during: summary(during), outside: summary(outside) };
}

export function hostileReport(o: {
  readonly events: readonly HistoryEvent[];
  readonly faults: readonly FaultRecord[];
  readonly attacks: readonly AttackOutcome[];
  readonly ownExits: readonly { readonly node: string; readonly exit: string }[];
  readonly pidsAtStart: ReadonlyMap<string, number | null>;
  readonly pidsAtEnd: ReadonlyMap<string, number | null>;
  /** Whether the run had faults that stop or restart nodes (their pids then change by design). */
  readonly stopsNodes: boolean;
}): HostileReport {
  const windows = o.faults.filter((f) => f.kind === 'hostile').map((f) => ({ startNs: f.startNs, endNs: f.endNs ?? f.startNs }));
  const latency = sendLatency(o.events, windows);
  const nodes: NodeLife[] = [...o.pidsAtStart].map(([id, pid]) => ({ id, pidAtStart: pid, pidAtEnd: o.pidsAtEnd.get(id) ?? null, ownExits: o.ownExits.filter((x) => x.node === id).map((x) => x.exit) }));
  const nodesAlive = o.ownExits.length === 0 && (o.stopsNodes || nodes.every((n) => n.pidAtStart !== null && n.pidAtStart === n.pidAtEnd));
  const byAttack = HOSTILE_ATTACKS.flatMap((attack) => {
    const runs = o.attacks.filter((a) => a.attack === attack);
    if (runs.length === 0) return [];
    const sum = (k: 'connections' | 'closed' | 'answered' | 'open' | 'sent'): number => runs.reduce((s, a) => s + a[k], 0);
    const status = runs.map((a) => a.statusMaxMs).filter((x): x is number => x !== null);
    return [
      {
        attack,
        runs: runs.length,
        asExpected: runs.filter((a) => a.asExpected).length,
        expected: runs[0]!.expected,
        connections: sum('connections'),
        closed: sum('closed'),
        answered: sum('answered'),
        open: sum('open'),
        sent: sum('sent'),
        statusMaxMs: status.length > 0 ? Math.max(...status) : null,
        statusFailures: runs.reduce((s, a) => s + a.statusFailures, 0),
      },
    ];
  });
  return { nodesAlive, nodes, producer: { duringAttacks: latency.during, outsideAttacks: latency.outside }, byAttack, attacks: o.attacks };
}

export function renderHostile(r: HostileReport): string {
  const ms = (x: number | null): string => (x === null ? '-' : `${x} ms`);
  const lines = [
    'Hostile clients:',
    `  nodes alive the whole time: ${r.nodesAlive ? 'yes' : 'NO'} (${r.nodes.map((n) => `${n.id} pid ${n.pidAtStart ?? '-'}${n.pidAtEnd !== n.pidAtStart ? ` -> ${n.pidAtEnd ?? 'down'}` : ''}${n.ownExits.length > 0 ? `, exited on its own: ${n.ownExits.join('; ')}` : ''}`).join(', ')})`,
    `  producer acks during attacks: p50 ${ms(r.producer.duringAttacks.p50Ms)}, p99 ${ms(r.producer.duringAttacks.p99Ms)} (${r.producer.duringAttacks.sends} sends)`,
    `  producer acks outside attacks: p50 ${ms(r.producer.outsideAttacks.p50Ms)}, p99 ${ms(r.producer.outsideAttacks.p99Ms)} (${r.producer.outsideAttacks.sends} sends)`,
    '  attack              runs  as expected  connections  closed  answered  left open  frames/requests  slowest /status  expected',
  ];
  for (const a of r.byAttack) {
    lines.push(
      `  ${a.attack.padEnd(18)} ${String(a.runs).padStart(5)}  ${`${a.asExpected}/${a.runs}`.padStart(11)}  ${String(a.connections).padStart(11)}  ${String(a.closed).padStart(6)}  ${String(a.answered).padStart(8)}  ${String(a.open).padStart(9)}  ${String(a.sent).padStart(15)}  ${`${ms(a.statusMaxMs)}${a.statusFailures > 0 ? ` (${a.statusFailures} failed)` : ''}`.padStart(15)}  ${a.expected}`,
    );
  }
  for (const a of r.attacks.filter((x) => !x.asExpected)) lines.push(`  not as expected: ${a.attack} on ${a.node}: ${a.connections} connections, ${a.closed} closed, ${a.answered} answered, ${a.open} left open; ${a.detail}`);
  return lines.join('\n');
}
