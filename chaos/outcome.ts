/**
 * How a failed client call is recorded (CHECKER.md): `fail` only when the operation certainly did
 * not take effect, `info` otherwise.
 *
 * - A RaftlogError whose `outcomeUnknown` is set (timeouts, lost connections, NODE_SHUTTING_DOWN)
 *   is `info`.
 * - A certain failure (`isCertainFailure` of its code: refused before anything was proposed) is
 *   `fail`, but only when the client library tried once. Its retry loop reports the error of the
 *   last attempt ("gave up after N attempts ..."), and an earlier attempt may have timed out after
 *   reaching the leader; so a certain error after several attempts is recorded as `info`.
 * - Anything else (a non-RaftlogError, a harness-side timeout) is `info`.
 *
 * For reads (poll, fetchCommitted) the distinction does not matter to the checker, but the same
 * rule is applied so that a process never continues after an unknown outcome.
 */
import { isCertainFailure } from '../src/wire/protocol.js';
import { RaftlogError, isErrorCode } from '../src/client/errors.js';

export type FailureKind = 'fail' | 'info';

export interface Classified {
  readonly type: FailureKind;
  /** One line for the history's `error` field: the code, then the message. */
  readonly error: string;
}

/** Matches the prefix `gaveUp` (src/client/retry.ts) puts on the error of a multi-attempt call. */
const GAVE_UP = /gave up after (\d+) attempts/;

/** The number of attempts a client error reports, 1 when it does not say. */
export function attemptsOf(err: RaftlogError): number {
  for (let e: unknown = err; e instanceof RaftlogError; e = e.cause) {
    const m = GAVE_UP.exec(e.message);
    if (m !== null) return Number(m[1]);
  }
  return 1;
}

export function classify(err: unknown): Classified {
  if (!(err instanceof RaftlogError)) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { type: 'info', error: oneLine(message) };
  }
  const error = oneLine(err.message.startsWith(`${err.code}:`) || err.message.includes(` ${err.code}: `) ? err.message : `${err.code}: ${err.message}`);
  if (err.outcomeUnknown) return { type: 'info', error };
  const certain = isErrorCode(err.code) ? isCertainFailure(err.code) : true;
  if (!certain) return { type: 'info', error };
  if (attemptsOf(err) > 1) return { type: 'info', error: `${error} (after several attempts: an earlier one may have taken effect)` };
  return { type: 'fail', error };
}

/** A harness-side deadline passed before the client library answered. */
export class HarnessTimeout extends Error {
  override readonly name = 'HarnessTimeout';
}

/** `p`, or a HarnessTimeout after `ms` (the call goes on in the background; its result is ignored). */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HarnessTimeout(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 400 ? `${line.slice(0, 400)}...` : line;
}
