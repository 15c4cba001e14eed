/**
 * Parsers: JSON Lines, the Jepsen register log, the key-value EDN lines, and format detection.
 */
import { describe, expect, it } from 'vitest';
import { HistoryFormatError } from '../../chaos/checker/errors.js';
import { readEdn, ednGet } from '../../chaos/checker/parse/edn.js';
import { parseHistoryFile } from '../../chaos/checker/parse/index.js';

describe('parseHistoryFile', () => {
  it('reads JSON Lines, skipping blank lines', () => {
    const text = '{"index":0,"time":5,"process":0,"type":"invoke","f":"poll","value":{"from":{}},"node":"n1"}\n\n';
    const parsed = parseHistoryFile(text);
    expect(parsed).toEqual({
      format: 'jsonl',
      events: [{ index: 0, time: 5, process: 0, type: 'invoke', f: 'poll', value: { from: {} }, node: 'n1' }],
    });
  });

  it('names the line of a bad JSON event', () => {
    const text = '{"index":0,"time":5,"process":0,"type":"invoke","f":"poll","value":{}}\n{"index":1,"time":6,"process":0,"type":"done","f":"poll"}\n';
    expect(() => parseHistoryFile(text)).toThrow(HistoryFormatError);
    expect(() => parseHistoryFile(text)).toThrow(/^line 2: type must be/);
    expect(() => parseHistoryFile('{"index":0,\n')).toThrow(/line 1: not a JSON value/);
  });

  it('reads a Jepsen register log, skipping other lines and dropping what constrains nothing', () => {
    const text = [
      '2015-01-01 INFO  jepsen.core - Running test',
      'INFO  jepsen.util - 0\t:invoke\t:write\t4',
      'INFO  jepsen.util - 1\t:invoke\t:read\tnil',
      'INFO  jepsen.util - 2\t:invoke\t:cas\t[4 1]',
      'INFO  jepsen.util - 0\t:info\t:write\t:timed-out',
      'INFO  jepsen.util - 1\t:fail\t:read\t:timed-out',
      'INFO  jepsen.util - 2\t:fail\t:cas\t[4 1]',
      'INFO  jepsen.util - 3\t:invoke\t:read\tnil',
      'INFO  jepsen.util - 3\t:ok\t:read\tnil',
      'some other output',
    ].join('\n');
    const parsed = parseHistoryFile(text);
    if (parsed.format !== 'etcd-log') throw new Error(parsed.format);
    expect(parsed.history.events).toBe(8);
    expect(parsed.history.ops.map((o) => [o.input, o.output, o.call, o.ret, o.ref.line])).toEqual([
      [{ f: 'write', value: 4 }, undefined, 0, undefined, 2],
      [{ f: 'cas', from: 4, to: 1 }, { f: 'cas', ok: false }, 2, 5, 4],
      [{ f: 'read' }, { f: 'read', value: null }, 6, 7, 8],
    ]);
  });

  it('reads key-value EDN lines', () => {
    const text = [
      '{:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}',
      '{:process 1, :type :invoke, :f :get, :key "0", :value nil}',
      '{:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}',
      '{:process 1, :type :ok, :f :get, :key "0", :value ""}',
      '{:process 0, :type :invoke, :f :put, :key "1", :value "z"}',
      '{:process 0, :type :info, :f :put, :key "1", :value "z"}',
    ].join('\n');
    const parsed = parseHistoryFile(text);
    if (parsed.format !== 'kv-edn') throw new Error(parsed.format);
    expect(parsed.history.ops.map((o) => [o.key, o.op.input, o.op.output, o.op.call, o.op.ret])).toEqual([
      ['0', { f: 'append', value: 'x 0 0 y' }, { f: 'append' }, 0, 2],
      ['0', { f: 'get' }, { f: 'get', value: '' }, 1, 3],
      ['1', { f: 'put', value: 'z' }, undefined, 4, undefined],
    ]);
  });

  it('rejects a completion without its invoke in the text formats', () => {
    expect(() => parseHistoryFile('INFO  jepsen.util - 0\t:ok\t:read\t1\n')).toThrow(/line 1: :ok :read of process 0 without its invoke/);
  });
});

describe('EDN reader', () => {
  it('reads maps, vectors, keywords, strings with escapes, nil and integers', () => {
    const v = readEdn('{:a [1 -2 nil], :b "q\\"x\\\\", :c (true sym)}', 1);
    expect(ednGet(v, 'a')).toEqual({ tag: 'vector', items: [{ tag: 'int', value: 1 }, { tag: 'int', value: -2 }, { tag: 'nil' }] });
    expect(ednGet(v, 'b')).toEqual({ tag: 'string', value: 'q"x\\' });
    expect(ednGet(v, 'c')).toEqual({ tag: 'list', items: [{ tag: 'bool', value: true }, { tag: 'symbol', name: 'sym' }] });
    expect(ednGet(v, 'd')).toBeUndefined();
  });

  it('names the line and column of an error', () => {
    expect(() => readEdn('{:a "open', 7)).toThrow(/^line 7: EDN: unterminated string/);
    expect(() => readEdn('{:a}', 2)).toThrow(/even number/);
  });
});
