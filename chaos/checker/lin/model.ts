/**
 * What the linearizability search needs to know about a sequential object: its initial state,
 * which (input, output) pairs a state allows and the state they lead to, and a hash under which
 * equal states are equal (the search caches (linearized ops, state) pairs by it).
 */
import type { OpRef } from '../history.js';

export interface Model<S, I, O> {
  readonly name: string;
  init(): S;
  /**
   * The state after an operation with `input` that returned `output`, or undefined if `state`
   * does not allow it. `output` undefined means the outcome is unknown (an `info` operation): the
   * model must accept it in every state where the operation could have run.
   */
  step(state: S, input: I, output: O | undefined): S | undefined;
  hash(state: S): string;
  showState(state: S): string;
}

/** One operation of a history, ready for the search. */
export interface LinOp<I, O> {
  /** Position of the invoke in the history's real-time order (an event index). */
  readonly call: number;
  /** Position of the completion, or undefined when the operation stays open forever (`info`). */
  readonly ret: number | undefined;
  readonly input: I;
  /** What it returned, or undefined if unknown. */
  readonly output: O | undefined;
  readonly ref: OpRef;
}
