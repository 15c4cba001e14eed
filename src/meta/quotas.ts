/**
 * Client quotas in the metadata group: each entity's byte rates (a principal's, `User:<name>`, or
 * the default's, QUOTA_DEFAULT_ENTITY), as Kafka keeps client quotas in its metadata (KIP-13).
 *
 *   key    `quota/<entity, URI-encoded>`
 *   value  QuotaRecord: { entity, producerByteRate?, consumerByteRate? }, bytes per second; a
 *          direction absent has no rate of the entity's own (the default's holds, if it has one).
 *          An entity left with no rate has no record.
 *
 * They travel in the metadata snapshots with every other key (the state store exports them all).
 * Every node enforces them on what it serves (src/server/quotas.ts).
 */
import type { StateOp } from '../../storage/state-store.js';
import { ErrorCode, LIMITS, quotaEntityProblem, type QuotaEntry } from '../wire/protocol.js';
import type { MetaResult } from './meta-state.js';

export const QUOTA_PREFIX = 'quota/';

export function quotaKey(entity: string): string {
  return `${QUOTA_PREFIX}${encodeURIComponent(entity)}`;
}

/** An entity's rates as the metadata holds them (key `quota/<entity>`). */
export type QuotaRecord = QuotaEntry;

/**
 * Sets (a number) or removes (null) an entity's rates; a field absent leaves that rate as it is.
 * The controller checked the entity and the rates; a command that breaks them anyway (a bug)
 * changes nothing, on every replica alike.
 */
export interface SetQuotaCommand {
  readonly type: 'setQuota';
  readonly entity: string;
  readonly producerByteRate?: number | null;
  readonly consumerByteRate?: number | null;
}

type Rate = 'producerByteRate' | 'consumerByteRate';
const RATES: readonly Rate[] = ['producerByteRate', 'consumerByteRate'];

/** The change `cmd` makes to the entity's record `known`, and the record it leaves (undefined: none). */
export function applySetQuota(known: QuotaRecord | undefined, cmd: SetQuotaCommand): { ops: StateOp[]; result: MetaResult } {
  const problem = quotaEntityProblem(cmd.entity) ?? rateProblem(cmd);
  if (problem !== null) return { ops: [], result: { ok: false, code: ErrorCode.InvalidRequest, message: `${problem}; nothing changed` } };
  const next: { entity: string; producerByteRate?: number; consumerByteRate?: number } = { entity: cmd.entity };
  for (const k of RATES) {
    const v = cmd[k] === undefined ? known?.[k] : cmd[k];
    if (v !== null && v !== undefined) next[k] = v;
  }
  const empty = RATES.every((k) => next[k] === undefined);
  if (empty) return { ops: known === undefined ? [] : [{ type: 'del', key: quotaKey(cmd.entity) }], result: { ok: true } };
  return { ops: [{ type: 'put', key: quotaKey(cmd.entity), value: next }], result: { ok: true, value: next } };
}

function rateProblem(cmd: SetQuotaCommand): string | null {
  for (const k of RATES) {
    const v = cmd[k];
    if (v === undefined || v === null) continue;
    if (!Number.isSafeInteger(v) || v < 1 || v > LIMITS.quotaByteRateMax) return `${k} ${v} of '${cmd.entity}' is not a byte rate of 1..${LIMITS.quotaByteRateMax}`;
  }
  return null;
}
