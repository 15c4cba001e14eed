/**
 * Safety properties of a Raft cluster, checked incrementally as a simulation runs. Each check
 * costs what the event changed, not the size of the logs, so it can run after every event.
 *
 * - Election safety (§5.2): at most one leader per term.
 * - Log matching (§5.3): two logs holding an entry with the same index and term hold the same
 *   entry there and agree on the term before it (so, by induction, on everything before it).
 * - State machine safety (§5.4.3): what any node commits is never changed or dropped; all nodes
 *   apply one common sequence; no value is applied twice.
 * - Leader completeness (§5.4.1): every leader holds every entry committed in an earlier term.
 * - Terms and commit indexes never go back on a node, also across crashes (for what was synced).
 * - Membership (raft/membership.ts): each committed configuration differs from the one before it
 *   by at most one voter, so any majority of the one and any majority of the other share a member.
 */
import { describeMembership, membershipOf, type Membership } from '../../raft/membership.js';
import { EntryKind, type Entry, type NodeId } from '../../raft/types.js';

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/** What the checker needs to read from a node. */
export interface NodeView {
  readonly id: NodeId;
  term(): number;
  commit(): number;
  isLeader(): boolean;
  firstIndex(): number;
  lastIndex(): number;
  termAt(i: number): number | null;
  entryAt(i: number): Entry | null;
}

interface Committed {
  readonly key: string;
  /** A term in which this entry was known committed (at or after the term that committed it). */
  readonly knownInTerm: number;
}

export function entryKey(e: Entry): string {
  return `${e.term}/${e.kind}/${Buffer.from(e.data).toString('latin1')}`;
}

export class Invariants {
  private readonly leaders = new Map<number, NodeId>();
  private readonly matching = new Map<string, { key: string; prevTerm: number }>();
  private readonly committed: (Committed | undefined)[] = [];
  private commitMax = 0;
  /** The one sequence of applied values that every node's state machine must follow. */
  readonly appliedValues: string[] = [];
  private readonly positionOf = new Map<string, number>();
  private readonly seen = new Map<NodeId, { term: number; commit: number }>();
  private readonly durableSeen = new Map<NodeId, { term: number; commit: number }>();
  /** The committed configurations, in log order, from the group's first (null: not checked). */
  private readonly configs: { index: number; m: Membership }[];

  constructor(initial: Membership | null = null) {
    this.configs = initial === null ? [] : [{ index: 0, m: initial }];
  }

  private fail(msg: string): never {
    throw new InvariantViolation(msg);
  }

  /** A node became leader: one per term, and it must hold everything committed before its term. */
  onLeader(n: NodeView): void {
    const term = n.term();
    const other = this.leaders.get(term);
    if (other !== undefined && other !== n.id) this.fail(`election safety: ${other} and ${n.id} both lead term ${term}`);
    this.leaders.set(term, n.id);
    for (let i = Math.max(1, n.firstIndex()); i <= this.commitMax; i++) {
      const c = this.committed[i];
      if (c === undefined || c.knownInTerm >= term) continue;
      this.checkHolds(n, i, c, `leader completeness: ${n.id} leads term ${term}`);
    }
  }

  private checkHolds(n: NodeView, i: number, c: Committed, what: string): void {
    const e = n.entryAt(i);
    if (e === null) this.fail(`${what} but lacks committed entry ${i} (its log ends at ${n.lastIndex()})`);
    const key = entryKey(e);
    if (key !== c.key) this.fail(`${what} but holds ${key} at ${i}, where ${c.key} was committed`);
  }

  /** A node wrote entries to its log (after any truncation). */
  onAppend(n: NodeView, entries: readonly Entry[]): void {
    for (const e of entries) {
      const prevTerm = n.termAt(e.index - 1) ?? -1;
      const id = `${e.index}:${e.term}`;
      const key = entryKey(e);
      const known = this.matching.get(id);
      if (known === undefined) {
        this.matching.set(id, { key, prevTerm });
        continue;
      }
      if (known.key !== key) this.fail(`log matching: ${n.id} holds ${key} at index ${e.index} term ${e.term}, another node ${known.key}`);
      if (prevTerm >= 0 && known.prevTerm >= 0 && known.prevTerm !== prevTerm) {
        this.fail(`log matching: at index ${e.index} term ${e.term}, ${n.id} has term ${prevTerm} before it, another node ${known.prevTerm}`);
      }
    }
  }

  /** A node applied committed entry `e`; `value` is the application value, if it carries one. */
  onApply(n: NodeView, e: Entry, position: number | null, value: string | null): void {
    const c = this.committed[e.index];
    const key = entryKey(e);
    if (c === undefined) {
      const known: Committed = { key, knownInTerm: n.term() };
      this.committed[e.index] = known;
      if (e.index > this.commitMax) this.commitMax = e.index;
      if (e.kind === EntryKind.Config) this.onConfiguration(e);
    } else if (c.key !== key) {
      this.fail(`state machine safety: ${n.id} applied ${key} at ${e.index}, where ${c.key} was committed`);
    }
    if (value !== null && position !== null) {
      const at = this.appliedValues[position];
      if (at === undefined) {
        if (position !== this.appliedValues.length) this.fail(`apply order: ${n.id} applied value ${position} before value ${this.appliedValues.length}`);
        const dup = this.positionOf.get(value);
        if (dup !== undefined) this.fail(`duplicate: value ${value} applied at positions ${dup} and ${position}`);
        this.appliedValues.push(value);
        this.positionOf.set(value, position);
      } else if (at !== value) {
        this.fail(`apply order: ${n.id} applied ${value} as value ${position}, others applied ${at}`);
      }
    }
  }

  /**
   * Entry `e`, a configuration, is committed (first seen applied: whoever applies it first has
   * applied every earlier one, so the list stays in log order): one voter more or less than the
   * configuration before it, at most.
   */
  private onConfiguration(e: Entry): void {
    const m = membershipOf(e.data);
    const prev = this.configs[this.configs.length - 1];
    if (m === null || prev === undefined) return;
    const changed = m.voters.filter((v) => !prev.m.voters.includes(v)).length + prev.m.voters.filter((v) => !m.voters.includes(v)).length;
    if (changed > 1) {
      this.fail(`membership: the configuration committed at ${e.index} (${describeMembership(m)}) changes ${changed} voters of the one at ${prev.index} (${describeMembership(prev.m)}): their majorities need not meet`);
    }
    this.configs.push({ index: e.index, m });
  }

  /** After new commits are known: current leaders of later terms must hold them. */
  checkLeaders(nodes: readonly NodeView[], from: number, to: number): void {
    for (const n of nodes) {
      if (!n.isLeader()) continue;
      for (let i = Math.max(from, n.firstIndex()); i <= to; i++) {
        const c = this.committed[i];
        if (c !== undefined && c.knownInTerm < n.term()) this.checkHolds(n, i, c, `leader completeness: ${n.id} leads term ${n.term()}`);
      }
    }
  }

  /** Terms and commit indexes of a running node never go back. */
  checkMonotonic(n: NodeView): void {
    const last = this.seen.get(n.id);
    const now = { term: n.term(), commit: n.commit() };
    if (last !== undefined) {
      if (now.term < last.term) this.fail(`${n.id}: term went back from ${last.term} to ${now.term}`);
      if (now.commit < last.commit) this.fail(`${n.id}: commit went back from ${last.commit} to ${now.commit}`);
    }
    this.seen.set(n.id, now);
  }

  /** A node restarted from its disk: what it had synced must not have gone back. */
  onRestart(id: NodeId, durable: { term: number; commit: number }, running: NodeView): void {
    const last = this.durableSeen.get(id);
    if (last !== undefined) {
      if (durable.term < last.term) this.fail(`${id}: synced term went back from ${last.term} to ${durable.term} over a crash`);
      if (durable.commit < last.commit) this.fail(`${id}: synced commit went back from ${last.commit} to ${durable.commit} over a crash`);
    }
    this.seen.set(id, { term: running.term(), commit: running.commit() });
  }

  /** A replica opened again from its disk (the host simulation): what it had not yet persisted is gone, so its term and commit start over from what it reads. */
  onReopen(n: NodeView): void {
    this.seen.set(n.id, { term: n.term(), commit: n.commit() });
  }

  /** The node's disk lost synced data: it starts over as a new replica (terms and commit may go back). */
  onDamagedDisk(id: NodeId): void {
    this.seen.delete(id);
    this.durableSeen.delete(id);
  }

  /** The node synced this hard state. */
  onSynced(id: NodeId, hs: { term: number; commit: number }): void {
    this.durableSeen.set(id, { term: hs.term, commit: hs.commit });
  }

  /** A node installed a snapshot holding these values: they must be a prefix of the common sequence. */
  onSnapshotValues(id: NodeId, values: readonly string[]): void {
    for (let i = 0; i < values.length; i++) {
      const at = this.appliedValues[i];
      if (at !== values[i]) this.fail(`state machine safety: ${id} installed a snapshot with ${values[i]} as value ${i}, others applied ${at ?? 'nothing'}`);
    }
  }

  positionOfValue(value: string): number | undefined {
    return this.positionOf.get(value);
  }
}
