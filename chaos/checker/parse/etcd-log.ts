/**
 * Reads a Jepsen log of a compare-and-set register (the etcd reference histories). Each event is
 * one line, its columns separated by tabs after the prefix (or by any whitespace, as Porcupine's
 * parser accepts: copies that passed through an editor or a pager have spaces):
 *
 *     INFO  jepsen.util - <process>\t:<invoke|ok|fail|info>\t:<read|write|cas>\t<value>
 *
 * where `<value>` is `nil`, an integer, `[from to]` for a cas, or `:timed-out`. Lines of any
 * other form are other log output and are skipped. How outcomes become operations:
 *
 * - `:ok` read, write, cas: done, with the read value or a successful swap;
 * - `:fail :cas`: ran and found a value other than `from` (an observation, placed like any other);
 * - `:fail` read or write: did not happen, dropped;
 * - `:info` write or cas: may take effect at any time after its invoke, or never (open forever);
 * - `:info` read, or an invoke never completed for a read: constrains nothing, dropped.
 */
import { HistoryFormatError } from '../errors.js';
import type { OpRef } from '../history.js';
import type { LinOp } from '../lin/model.js';
import { showValue, type CasInput, type CasOutput, type RegisterValue } from '../lin/register.js';

const EVENT_LINE = /^INFO\s+jepsen\.util - (\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;

export interface RegisterHistory {
  readonly ops: LinOp<CasInput, CasOutput>[];
  /** Event lines read (the rest of the file was skipped). */
  readonly events: number;
}

/** True when the text contains at least one event line of this format. */
export function looksLikeEtcdLog(text: string): boolean {
  return /^INFO\s+jepsen\.util - \d+\s+:(invoke|ok|fail|info)\s/m.test(text);
}

interface Pending {
  readonly input: CasInput;
  readonly call: number;
  readonly line: number;
}

export function parseEtcdLog(text: string): RegisterHistory {
  const ops: LinOp<CasInput, CasOutput>[] = [];
  const pending = new Map<number, Pending>();
  const lines = text.split('\n');
  let events = 0;
  const close = (process: number, p: Pending, ret: number | undefined, output: CasOutput | undefined): void => {
    const ref: OpRef = {
      index: p.call,
      ...(ret !== undefined ? { completionIndex: ret } : {}),
      process,
      f: p.input.f,
      line: p.line,
      value: showOp(p.input, output),
    };
    ops.push({ call: p.call, ret, input: p.input, output, ref });
  };
  for (let i = 0; i < lines.length; i++) {
    const m = EVENT_LINE.exec(lines[i]!);
    if (m === null) continue;
    const index = events++;
    const process = Number(m[1]);
    const type = m[2]!;
    const f = m[3]! as CasInput['f'];
    const raw = m[4]!;
    if (type === 'invoke') {
      if (pending.has(process)) {
        throw new HistoryFormatError(`process ${process} invokes while its previous operation is open`, i + 1);
      }
      pending.set(process, { input: parseInput(f, raw, i + 1), call: index, line: i + 1 });
      continue;
    }
    const p = pending.get(process);
    if (p === undefined || p.input.f !== f) {
      throw new HistoryFormatError(`:${type} :${f} of process ${process} without its invoke`, i + 1);
    }
    pending.delete(process);
    if (type === 'ok') close(process, p, index, okOutput(p.input, raw, i + 1));
    else if (type === 'fail' && p.input.f === 'cas') close(process, p, index, { f: 'cas', ok: false });
    else if (type === 'info' && p.input.f !== 'read') close(process, p, undefined, undefined);
    // Otherwise a failed read or write, or a read with an unknown answer: it constrains nothing.
  }
  for (const [process, p] of pending) {
    if (p.input.f !== 'read') close(process, p, undefined, undefined);
  }
  ops.sort((a, b) => a.call - b.call);
  return { ops, events };
}

function parseInput(f: CasInput['f'], raw: string, line: number): CasInput {
  switch (f) {
    case 'read':
      return { f };
    case 'write':
      return { f, value: parseValue(raw, line) };
    case 'cas': {
      const m = /^\[(\S+)\s+(\S+)\]$/.exec(raw);
      if (m === null) throw new HistoryFormatError(`a cas needs [from to], not ${raw}`, line);
      return { f, from: parseValue(m[1]!, line), to: parseValue(m[2]!, line) };
    }
  }
}

function okOutput(input: CasInput, raw: string, line: number): CasOutput {
  switch (input.f) {
    case 'read':
      return { f: 'read', value: parseValue(raw, line) };
    case 'write':
      return { f: 'write' };
    case 'cas':
      return { f: 'cas', ok: true };
  }
}

function parseValue(raw: string, line: number): RegisterValue {
  if (raw === 'nil') return null;
  if (/^-?\d+$/.test(raw)) return Number(raw);
  throw new HistoryFormatError(`a register value must be nil or an integer, not ${raw}`, line);
}

/** `→ 3` for a read, `4` for a write, `[4 1]` for a cas; ` failed` or ` (info)` when so. */
function showOp(input: CasInput, output: CasOutput | undefined): string {
  const unknown = output === undefined ? ' (info)' : '';
  switch (input.f) {
    case 'read':
      return output?.f === 'read' ? `→ ${showValue(output.value)}` : '';
    case 'write':
      return `${showValue(input.value)}${unknown}`;
    case 'cas':
      return `[${showValue(input.from)} ${showValue(input.to)}]${output?.f === 'cas' && !output.ok ? ' failed' : unknown}`;
  }
}
