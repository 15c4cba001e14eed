/**
 * Runs the search on each part of a history split by key: keys of a store are independent
 * objects, so a history is linearizable exactly when each key's sub-history is.
 */
import type { LinOp, Model } from './model.js';
import { checkLinearizable, SEARCH_STEPS_MAX, type LinResult } from './wgl.js';

export interface PartitionResult {
  readonly partition: string;
  readonly ops: number;
  readonly result: LinResult;
}

/** Checks every partition, each with its own step limit; results in partition-name order. */
export function checkPartitions<S, I, O>(
  model: Model<S, I, O>,
  partitions: ReadonlyMap<string, readonly LinOp<I, O>[]>,
  stepsMax: number = SEARCH_STEPS_MAX,
): PartitionResult[] {
  return [...partitions.keys()].sort().map((partition) => {
    const ops = partitions.get(partition)!;
    return { partition, ops: ops.length, result: checkLinearizable(model, ops, stepsMax) };
  });
}

/** Groups items into a map of lists by a key function, keeping their order. */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}
