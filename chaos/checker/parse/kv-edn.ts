/**
 * Reads a key-value history written as one EDN map per line, in real-time order:
 *
 *     {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
 *     {:process 0, :type :ok, :f :get, :key "5", :value ""}
 *
 * `:f` is `:get`, `:put` or `:append`; `:type` is `:invoke`, `:ok`, `:fail` or `:info`. A failed
 * operation did not happen and is dropped; an `:info` put or append is open forever; an `:info`
 * get is dropped. Blank lines are skipped; any other line that is not such a map is an error.
 */
import { HistoryFormatError } from '../errors.js';
import type { OpRef } from '../history.js';
import type { KvInput, KvOutput } from '../lin/kv.js';
import type { LinOp } from '../lin/model.js';
import { ednGet, readEdn, type Edn } from './edn.js';

export interface KvOp {
  readonly key: string;
  readonly op: LinOp<KvInput, KvOutput>;
}

export interface KvHistory {
  readonly ops: KvOp[];
  readonly events: number;
}

/** True when the first non-blank line is an EDN map with a `:process` key. */
export function looksLikeKvEdn(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first !== undefined && /^\s*\{\s*:/.test(first) && first.includes(':process');
}

interface Pending {
  readonly key: string;
  readonly input: KvInput;
  readonly call: number;
  readonly line: number;
}

export function parseKvEdn(text: string): KvHistory {
  const ops: KvOp[] = [];
  const pending = new Map<number, Pending>();
  const lines = text.split('\n');
  let events = 0;
  const close = (process: number, p: Pending, ret: number | undefined, output: KvOutput | undefined): void => {
    const ref: OpRef = {
      index: p.call,
      ...(ret !== undefined ? { completionIndex: ret } : {}),
      process,
      f: p.input.f,
      line: p.line,
      value:
        p.input.f === 'get'
          ? `${p.key} → ${output?.f === 'get' ? JSON.stringify(output.value) : '?'}`
          : `${p.key} ${JSON.stringify(p.input.value)}${output === undefined ? ' (info)' : ''}`,
    };
    ops.push({ key: p.key, op: { call: p.call, ret, input: p.input, output, ref } });
  };
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === '') continue;
    const line = i + 1;
    const map = readEdn(text, line);
    const index = events++;
    const process = intOf(ednGet(map, 'process'), 'process', line);
    const type = keywordOf(ednGet(map, 'type'), 'type', line);
    const f = keywordOf(ednGet(map, 'f'), 'f', line);
    const key = stringOf(ednGet(map, 'key'), 'key', line);
    const value = ednGet(map, 'value');
    if (f !== 'get' && f !== 'put' && f !== 'append') throw new HistoryFormatError(`unknown :f :${f}`, line);
    if (type === 'invoke') {
      if (pending.has(process)) {
        throw new HistoryFormatError(`process ${process} invokes while its previous operation is open`, line);
      }
      const input: KvInput = f === 'get' ? { f } : { f, value: stringOf(value, 'value', line) };
      pending.set(process, { key, input, call: index, line });
      continue;
    }
    const p = pending.get(process);
    if (p === undefined || p.input.f !== f || p.key !== key) {
      throw new HistoryFormatError(`:${type} :${f} of process ${process} without its invoke`, line);
    }
    pending.delete(process);
    switch (type) {
      case 'ok':
        close(process, p, index, f === 'get' ? { f, value: stringOf(value, 'value', line) } : { f });
        break;
      case 'info':
        if (f !== 'get') close(process, p, undefined, undefined);
        break;
      case 'fail':
        break;
      default:
        throw new HistoryFormatError(`unknown :type :${type}`, line);
    }
  }
  for (const [process, p] of pending) {
    if (p.input.f !== 'get') close(process, p, undefined, undefined);
  }
  ops.sort((a, b) => a.op.call - b.op.call);
  return { ops, events };
}

function intOf(v: Edn | undefined, name: string, line: number): number {
  if (v?.tag !== 'int') throw new HistoryFormatError(`:${name} must be an integer`, line);
  return v.value;
}

function keywordOf(v: Edn | undefined, name: string, line: number): string {
  if (v?.tag !== 'keyword') throw new HistoryFormatError(`:${name} must be a keyword`, line);
  return v.name;
}

function stringOf(v: Edn | undefined, name: string, line: number): string {
  if (v?.tag === 'string') return v.value;
  if (v?.tag === 'int') return String(v.value);
  throw new HistoryFormatError(`:${name} must be a string`, line);
}
