/**
 * Liveness: after the final heal, operations must succeed again within a bound. The final heal is
 * the last nemesis action, which must leave no fault active. Some client operation invoked after
 * it must complete `ok` within `boundNs` of it. A history without nemesis actions has nothing to
 * recover from and is not checked.
 */
import type { Anomaly } from '../anomaly.js';
import { refOf, type ClientOp, type NemesisAction } from '../ops.js';
import { activeFaults } from './faults.js';

/** Default time allowed for the cluster to serve requests again after the final heal. */
export const LIVENESS_BOUND_NS = 10_000_000_000;
/** How many of the unsuccessful operations a liveness anomaly names. */
const LIVENESS_OPS_MAX = 5;

export function checkLiveness(
  ops: readonly ClientOp[],
  nemesis: readonly NemesisAction[],
  boundNs: number,
): Anomaly[] {
  const last = nemesis[nemesis.length - 1];
  if (last === undefined) return [];
  const stillActive = activeFaults(nemesis).at(-1) ?? [];
  if (stillActive.length > 0) {
    return [{ kind: 'liveness', reason: `faults still active at the end: ${stillActive.join(', ')}`, ops: [] }];
  }
  const after = ops.filter((o) => o.invoke.index > last.index);
  if (after.length === 0) {
    return [{ kind: 'liveness', reason: `no operation after the final heal (event ${last.index})`, ops: [] }];
  }
  let firstOk: ClientOp | undefined;
  for (const o of after) {
    if (o.outcome !== 'ok' || o.completion === undefined) continue;
    if (firstOk === undefined || o.completion.time < firstOk.completion!.time) firstOk = o;
  }
  const failed = after.filter((o) => o.outcome !== 'ok').slice(0, LIVENESS_OPS_MAX).map((o) => refOf(o));
  if (firstOk === undefined) {
    return [{ kind: 'liveness', reason: `no operation succeeded after the final heal (event ${last.index})`, ops: failed }];
  }
  const waitNs = firstOk.completion!.time - last.time;
  if (waitNs > boundNs) {
    return [
      {
        kind: 'liveness',
        reason: `first success ${ms(waitNs)} after the final heal, above the bound of ${ms(boundNs)}`,
        ops: [refOf(firstOk), ...failed],
      },
    ];
  }
  return [];
}

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(1)} ms`;
}
