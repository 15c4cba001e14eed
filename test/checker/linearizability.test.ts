/**
 * The Wing–Gong–Lowe search and its models on small hand-made histories.
 */
import { describe, expect, it } from 'vitest';
import type { OpRef } from '../../chaos/checker/history.js';
import { kvKeyModel, type KvInput, type KvOutput } from '../../chaos/checker/lin/kv.js';
import type { LinOp } from '../../chaos/checker/lin/model.js';
import {
  casRegisterModel,
  committedOffsetModel,
  type CasInput,
  type CasOutput,
} from '../../chaos/checker/lin/register.js';
import { checkLinearizable } from '../../chaos/checker/lin/wgl.js';

let next = 0;
function op<I, O>(process: number, call: number, ret: number | undefined, input: I, output: O | undefined): LinOp<I, O> {
  const ref: OpRef = { index: call, process, f: 'op', value: String(next++) };
  return { call, ret, input, output, ref };
}

const read = (p: number, call: number, ret: number, value: number | null) =>
  op<CasInput, CasOutput>(p, call, ret, { f: 'read' }, { f: 'read', value });
const write = (p: number, call: number, ret: number | undefined, value: number) =>
  op<CasInput, CasOutput>(p, call, ret, { f: 'write', value }, ret === undefined ? undefined : { f: 'write' });
const cas = (p: number, call: number, ret: number | undefined, from: number, to: number, ok?: boolean) =>
  op<CasInput, CasOutput>(p, call, ret, { f: 'cas', from, to }, ok === undefined ? undefined : { f: 'cas', ok });

const kind = (ops: LinOp<CasInput, CasOutput>[]) => checkLinearizable(casRegisterModel(null), ops).kind;

describe('Wing–Gong–Lowe search on a register', () => {
  it('accepts a sequential history and overlapping operations in either order', () => {
    expect(kind([write(0, 0, 1, 1), read(1, 2, 3, 1)])).toBe('linearizable');
    // The read overlaps the write: it may see the old or the new value.
    expect(kind([write(0, 0, 3, 1), read(1, 1, 2, null)])).toBe('linearizable');
    expect(kind([write(0, 0, 3, 1), read(1, 1, 2, 1)])).toBe('linearizable');
  });

  it('rejects a read of an overwritten value (a stale read)', () => {
    const result = checkLinearizable(casRegisterModel(null), [write(0, 0, 1, 1), write(0, 2, 3, 2), read(1, 4, 5, 1)]);
    expect(result.kind).toBe('nonlinearizable');
    if (result.kind !== 'nonlinearizable') return;
    expect(result.witness.op.index).toBe(4);
    expect(result.witness.linearized).toBe(2);
    expect(result.witness.state).toBe('2');
  });

  it('rejects two reads that see a write take effect and then un-take it', () => {
    expect(kind([write(0, 0, 5, 1), read(1, 1, 2, 1), read(2, 3, 4, null)])).toBe('nonlinearizable');
  });

  it('lets an info write take effect late or never', () => {
    expect(kind([write(0, 0, undefined, 1), read(1, 1, 2, null), read(1, 3, 4, 1)])).toBe('linearizable');
    expect(kind([write(0, 0, undefined, 1), read(1, 1, 2, null), read(1, 3, 4, null)])).toBe('linearizable');
    // But not before its invoke.
    expect(kind([read(1, 0, 1, 1), write(0, 2, undefined, 1)])).toBe('nonlinearizable');
  });

  it('places a failed cas where the register did not hold `from`', () => {
    expect(kind([write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, false)])).toBe('nonlinearizable');
    expect(kind([write(0, 0, 1, 1), cas(1, 2, 5, 1, 2, false), write(2, 3, 4, 3)])).toBe('linearizable');
    expect(kind([write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, true), read(1, 4, 5, 2)])).toBe('linearizable');
    expect(kind([write(0, 0, 1, 1), cas(1, 2, 3, 0, 2, true)])).toBe('nonlinearizable');
  });

  it('lets an info cas succeed or not', () => {
    expect(kind([write(0, 0, 1, 1), cas(1, 2, undefined, 1, 2), read(2, 3, 4, 2)])).toBe('linearizable');
    expect(kind([write(0, 0, 1, 1), cas(1, 2, undefined, 1, 2), read(2, 3, 4, 1)])).toBe('linearizable');
    expect(kind([write(0, 0, 1, 1), cas(1, 2, undefined, 3, 2), read(2, 3, 4, 2)])).toBe('nonlinearizable');
  });

  it('answers unknown when the step limit is hit', () => {
    const ops = [write(0, 0, 5, 1), write(1, 1, 6, 2), write(2, 2, 7, 3), read(3, 3, 8, 4)];
    expect(checkLinearizable(casRegisterModel(null), ops, 3)).toMatchObject({ kind: 'unknown', stepsMax: 3 });
  });

  it('checks the committed-offset register starting at null', () => {
    const commit = (call: number, ret: number | undefined, value: number) =>
      ({ call, ret, input: { f: 'write', value }, output: ret === undefined ? undefined : { f: 'write' }, ref: { index: call, process: 0, f: 'commit' } }) as const;
    const fetch = (call: number, ret: number, value: number | null) =>
      ({ call, ret, input: { f: 'read' }, output: { f: 'read', value }, ref: { index: call, process: 1, f: 'fetchCommitted' } }) as const;
    expect(checkLinearizable(committedOffsetModel, [fetch(0, 1, null), commit(2, 3, 5), fetch(4, 5, 5)]).kind).toBe('linearizable');
    expect(checkLinearizable(committedOffsetModel, [commit(0, 1, 5), fetch(2, 3, null)]).kind).toBe('nonlinearizable');
  });
});

describe('key-value model', () => {
  const kv = (p: number, call: number, ret: number | undefined, input: KvInput, output?: KvOutput) =>
    op<KvInput, KvOutput>(p, call, ret, input, output);

  it('concatenates appends and lets a concurrent get see either side', () => {
    const ops = [
      kv(0, 0, 1, { f: 'append', value: 'x' }, { f: 'append' }),
      kv(0, 2, 5, { f: 'append', value: 'y' }, { f: 'append' }),
      kv(1, 3, 4, { f: 'get' }, { f: 'get', value: 'x' }),
      kv(1, 6, 7, { f: 'get' }, { f: 'get', value: 'xy' }),
    ];
    expect(checkLinearizable(kvKeyModel, ops).kind).toBe('linearizable');
  });

  it('rejects a get that misses an append acknowledged before it', () => {
    const ops = [
      kv(0, 0, 1, { f: 'put', value: 'a' }, { f: 'put' }),
      kv(0, 2, 3, { f: 'append', value: 'b' }, { f: 'append' }),
      kv(1, 4, 5, { f: 'get' }, { f: 'get', value: 'a' }),
    ];
    expect(checkLinearizable(kvKeyModel, ops).kind).toBe('nonlinearizable');
  });
});
