/**
 * The Wing–Gong–Lowe linearizability search, as Knossos and Porcupine run it.
 *
 * The history becomes one doubly linked list of entries in real-time order: a call entry at each
 * invoke and a return entry at each completion (operations open forever have no return entry).
 * Scanning from the head, every call entry met before the first return entry is an operation that
 * may take effect now. The search tries one: if the model allows it, it is linearized, "lifted"
 * out of the list with its return entry, and the scan restarts from the head. Reaching a return
 * entry means its operation had to take effect already and none of the choices made allow that, so
 * the search backtracks: it pops the last linearized operation, "unlifts" it back into the list and
 * tries the next candidate after it. The history is linearizable when every return entry has been
 * lifted. A cache of (set of linearized operations, model state) pairs already reached cuts every
 * branch that arrives at a configuration seen before: from there, the outcome is the same.
 *
 * The search can take exponential time on adversarial histories, so it counts steps and gives up
 * with `unknown` at `stepsMax`.
 */
import { assert } from '../errors.js';
import type { OpRef } from '../history.js';
import { Bitset } from './bitset.js';
import type { LinOp, Model } from './model.js';

/**
 * Steps (list entries visited) one search may take before it answers `unknown`. Each step costs
 * about a microsecond and adds at most one cache entry, so this also bounds memory: about ten
 * seconds and a few hundred MB. The hardest reference history (etcd_002) needs 1.4 million.
 */
export const SEARCH_STEPS_MAX = 10_000_000;
/** How many of the last linearized operations a counterexample names. */
const WITNESS_OPS_MAX = 5;

export type LinResult =
  | { readonly kind: 'linearizable'; readonly steps: number }
  | { readonly kind: 'nonlinearizable'; readonly steps: number; readonly witness: Witness }
  | { readonly kind: 'unknown'; readonly steps: number; readonly stepsMax: number };

/**
 * Where the search got furthest: after linearizing `linearized` of `total` operations (the last of
 * them in `before`, in order), with the object in `state`, operation `op` had returned but no
 * order of the pending operations lets it take effect.
 */
export interface Witness {
  readonly op: OpRef;
  readonly linearized: number;
  readonly total: number;
  readonly before: readonly OpRef[];
  readonly state: string;
}

const NIL = -1;
const HEAD = 0;

export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly LinOp<I, O>[],
  stepsMax: number = SEARCH_STEPS_MAX,
): LinResult {
  const list = new EntryList(ops);
  const linearized = new Bitset(ops.length);
  const cache = new Set<string>();
  const stack: Array<{ entry: number; state: S }> = [];
  let state = model.init();
  let returnsLeft = list.returnCount;
  let entry = list.next[HEAD]!;
  let steps = 0;
  let furthest: Witness | undefined;

  while (returnsLeft > 0) {
    if (++steps > stepsMax) return { kind: 'unknown', steps, stepsMax };
    assert(entry !== NIL, () => `the scan ran off the list with ${returnsLeft} return entries left`);
    const opIndex = list.op[entry]!;
    const op = ops[opIndex]!;
    if (list.isCall[entry] === 1) {
      const after = model.step(state, op.input, op.output);
      if (after !== undefined) {
        linearized.set(opIndex);
        const key = `${linearized.key()}|${model.hash(after)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ entry, state });
          state = after;
          list.lift(entry);
          if (op.ret !== undefined) returnsLeft--;
          entry = list.next[HEAD]!;
          continue;
        }
        linearized.clear(opIndex);
      }
      entry = list.next[entry]!;
      continue;
    }
    // A return entry: its operation must already have taken effect. Backtrack.
    if (furthest === undefined || stack.length > furthest.linearized) {
      furthest = {
        op: op.ref,
        linearized: stack.length,
        total: ops.length,
        before: stack.slice(-WITNESS_OPS_MAX).map((s) => ops[list.op[s.entry]!]!.ref),
        state: model.showState(state),
      };
    }
    const top = stack.pop();
    if (top === undefined) return { kind: 'nonlinearizable', steps, witness: furthest };
    const undone = ops[list.op[top.entry]!]!;
    linearized.clear(list.op[top.entry]!);
    state = top.state;
    if (undone.ret !== undefined) returnsLeft++;
    list.unlift(top.entry);
    entry = list.next[top.entry]!;
  }
  return { kind: 'linearizable', steps };
}

/**
 * The entries of a history as a doubly linked list over typed arrays. Slot 0 is the head; every
 * other slot is one call or return entry. Removal keeps a removed slot's own links, so undoing
 * removals in reverse order (dancing links) restores the list exactly.
 */
class EntryList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation of each slot. */
  readonly op: Int32Array;
  /** 1 for a call entry, 0 for a return entry. */
  readonly isCall: Uint8Array;
  /** For a call entry, the slot of its return entry, or NIL if it has none. */
  readonly match: Int32Array;
  readonly returnCount: number;

  constructor(ops: readonly LinOp<unknown, unknown>[]) {
    const entries: Array<{ time: number; op: number; call: boolean }> = [];
    ops.forEach((o, i) => {
      entries.push({ time: o.call, op: i, call: true });
      if (o.ret !== undefined) entries.push({ time: o.ret, op: i, call: false });
    });
    // Ties cannot happen between two events, but put a call before a return at one time so
    // that equal times are read as overlapping.
    entries.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call));
    const slots = entries.length + 1;
    this.next = new Int32Array(slots);
    this.prev = new Int32Array(slots);
    this.op = new Int32Array(slots).fill(NIL);
    this.isCall = new Uint8Array(slots);
    this.match = new Int32Array(slots).fill(NIL);
    const callSlot = new Int32Array(ops.length);
    entries.forEach((e, i) => {
      const slot = i + 1;
      this.op[slot] = e.op;
      this.isCall[slot] = e.call ? 1 : 0;
      if (e.call) callSlot[e.op] = slot;
      else this.match[callSlot[e.op]!] = slot;
    });
    for (let s = 0; s < slots; s++) {
      this.next[s] = s + 1 < slots ? s + 1 : NIL;
      this.prev[s] = s - 1;
    }
    this.returnCount = entries.length - ops.length;
  }

  /** Removes a call entry and its return entry. */
  lift(call: number): void {
    this.unlink(call);
    const ret = this.match[call]!;
    if (ret !== NIL) this.unlink(ret);
  }

  /** Undoes the most recent `lift` not yet undone, which must be of `call`. */
  unlift(call: number): void {
    const ret = this.match[call]!;
    if (ret !== NIL) this.relink(ret);
    this.relink(call);
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    this.next[p] = n;
    if (n !== NIL) this.prev[n] = p;
  }

  private relink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    this.next[p] = s;
    if (n !== NIL) this.prev[n] = s;
  }
}
