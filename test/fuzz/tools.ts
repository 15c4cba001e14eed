/**
 * The fuzz suite's tools, shared by its properties: how much each property runs (`fuzz`, and
 * `check`, which runs one and counts its runs: FUZZ_REPORT=1 prints the counts), byte
 * strings shaped like msgpack (`msgpackSoup`), and mutations of a well-formed value that know
 * nothing of its schema (`mutated`): a field dropped, given a value of another type, stretched past
 * any limit (strings, lists and binaries many times longer than LIMITS allow), nested thousands
 * deep, or joined by keys a plain object treats specially. A schema-aware mutation, one field at a
 * time, is the validator's and the peer frames' own tests' (test/wire/validate.test.ts,
 * test/transport/peer-frames.test.ts); these are blunter, and several at once.
 */
import fc from 'fast-check';
import { afterAll, expect } from 'vitest';
import { encodeFrame } from '../../src/wire/codec.js';
import { wireKey, wireValue } from '../helpers/wire-values.js';

/**
 * fast-check's options for one property: a fixed seed (FUZZ_SEED changes them all, to fuzz
 * elsewhere), `numRuns` runs (FUZZ_SCALE multiplies them, to fuzz longer), and a time budget
 * after which the property stops where it is and passes with the runs it made, so that a slow
 * machine runs fewer cases rather than a longer suite.
 */
export function fuzz(seed: number, numRuns: number, timeMs: number): fc.Parameters<unknown> {
  const scale = Number(process.env['FUZZ_SCALE'] ?? '1');
  const base = Number(process.env['FUZZ_SEED'] ?? '0');
  return { seed: base + seed, numRuns: Math.max(1, Math.round(numRuns * scale)), interruptAfterTimeLimit: timeMs * scale, markInterruptAsFailure: false };
}

/** The runs each property of this test file made (fewer than asked when its time budget ran out). */
const runs: { readonly name: string; readonly runs: number; readonly asked: number; readonly interrupted: boolean }[] = [];
afterAll(() => {
  if (process.env['FUZZ_REPORT'] === undefined) return;
  for (const r of runs) process.stdout.write(`fuzz runs: ${String(r.runs).padStart(6)} of ${String(r.asked).padStart(6)}${r.interrupted ? ' (time budget spent)' : ''}  ${r.name}\n`);
});

function counted(out: fc.RunDetails<unknown>, asked: number): void {
  runs.push({ name: expect.getState().currentTestName ?? '?', runs: out.numRuns, asked, interrupted: out.interrupted });
  if (out.failed) throw new Error(fc.defaultReportMessage(out));
}

/** fc.assert of `property` with `params` (fuzz()), its runs counted. */
export function check<Ts extends unknown[]>(property: fc.IProperty<Ts>, params: fc.Parameters<unknown>): void {
  counted(fc.check(property, params as fc.Parameters<Ts>) as fc.RunDetails<unknown>, params.numRuns ?? 0);
}

/** check() for an asynchronous property. */
export async function checkAsync<Ts extends unknown[]>(property: fc.IAsyncProperty<Ts>, params: fc.Parameters<unknown>): Promise<void> {
  counted((await fc.check(property, params as fc.Parameters<Ts>)) as fc.RunDetails<unknown>, params.numRuns ?? 0);
}

type Obj = Record<string, unknown>;
export type Path = readonly (string | number)[];

function isMap(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Every place inside `v` (its root included): each map value and each list item, at most `max` of them. */
export function places(v: unknown, max = 200): Path[] {
  const out: Path[] = [];
  const walk = (x: unknown, at: Path): void => {
    if (out.length >= max) return;
    out.push(at);
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...at, i]));
    else if (isMap(x)) for (const [k, y] of Object.entries(x)) walk(y, [...at, k]);
  };
  walk(v, []);
  return out;
}

function getAt(v: unknown, path: Path): unknown {
  let x = v;
  for (const k of path) {
    if (Array.isArray(x) && typeof k === 'number') x = x[k];
    else if (isMap(x) && typeof k === 'string') x = x[k];
    else return undefined;
  }
  return x;
}

/** Removes the field or list item at the place it is applied to. */
export const DROP = Symbol('drop');

/** Stands for msgpack bytes spliced in where a mutation put it (nesting too deep for the encoder to write). */
export class Raw {
  constructor(readonly bytes: Buffer) {}
}

/** `v` with the value at `path` replaced by `to` (DROP removes it); `v` itself is not changed. A path that no longer leads anywhere changes nothing. */
export function setAt(v: unknown, path: Path, to: unknown): unknown {
  const [k, ...rest] = path;
  // The whole value dropped: nil is what is left.
  if (k === undefined) return to === DROP ? null : to;
  if (Array.isArray(v) && typeof k === 'number' && k < v.length) {
    if (rest.length === 0 && to === DROP) return v.filter((_, i) => i !== k);
    return v.map((x: unknown, i) => (i === k ? setAt(x, rest, to) : x));
  }
  if (isMap(v) && typeof k === 'string') {
    const o: Obj = { ...v };
    if (rest.length === 0 && to === DROP) delete o[k];
    // defineProperty: a key like __proto__ is a field here, not the object's prototype.
    else Object.defineProperty(o, k, { value: setAt(o[k], rest, to), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

/** Lengths past the limits of strings: node ids (64), topic names (249), ids (255), offset metadata (4096), and far past all. */
const STRING_LENGTHS = [65, 250, 256, 4097, 70_000];
/** A string past the frame's budget of string bytes (8 MiB), for its own check; rarer, being slower to build and refuse. */
const STRING_LENGTH_HUGE = 9 * 1024 * 1024;
/** Lengths past the limits of lists: group protocols (16), topics per request and members (1000), partitions and batches (10,000), and far past. */
const LIST_LENGTHS = [17, 1001, 10_001];
/** A list whose items alone pass the frame's budget of values (a million); rarer, as above. */
const LIST_LENGTH_HUGE = 1_000_001;
/** Bytes past the limits of binaries: group metadata (1 MiB), and the most a topic's batches may be (8 MiB). */
const BIN_LENGTHS = [1024 * 1024 + 1, 8 * 1024 * 1024 + 1];
/** Numbers at and past the edges of every integer field. */
const EDGE_NUMBERS = [-1, -0, 0.5, 2 ** 15, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1e300, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
/** Keys a plain object treats specially. */
const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'then', 'length'];
/** How deep `nest` nests: past msgpackr's stack (about 10,000 levels) and within the value budget. */
const NEST_DEPTHS = [64, 2000, 20_000, 200_000];

/** msgpack bytes of `depth` nested one-item lists (or one-key maps) around a nil. */
export function nested(depth: number, maps: boolean): Buffer {
  const open = maps ? [0x81, 0xa1, 0x61] : [0x91];
  const b = Buffer.alloc(depth * open.length + 1);
  for (let i = 0; i < depth; i++) b.set(open, i * open.length);
  b[b.length - 1] = 0xc0;
  return b;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return 'bin';
  return typeof v;
}

/** The same item again and again (a list of `n` copies of its items, in turn). */
function stretchList(v: readonly unknown[], n: number): unknown[] {
  const item = v.length > 0 ? v : [0];
  return Array.from({ length: n }, (_, i) => item[i % item.length]);
}

/** One mutation of the value found at a place (`current`). */
function change(current: unknown): fc.Arbitrary<unknown> {
  const t = typeOf(current);
  const options: fc.Arbitrary<unknown>[] = [
    fc.constant(DROP),
    // Retyped: any msgpack value of another type, or an edge number.
    wireValue.filter((x) => typeOf(x) !== t),
    fc.constantFrom(...EDGE_NUMBERS),
    fc.tuple(fc.constantFrom(...NEST_DEPTHS), fc.boolean()).map(([depth, maps]) => new Raw(nested(depth, maps))),
  ];
  const huge = (a: fc.Arbitrary<unknown>): fc.WeightedArbitrary<unknown> => ({ weight: 1, arbitrary: a });
  const often = (a: fc.Arbitrary<unknown>): fc.WeightedArbitrary<unknown> => ({ weight: 4, arbitrary: a });
  const stretchString = (n: number): string => (current + 'x').repeat(Math.ceil(n / (String(current).length + 1))).slice(0, n);
  if (typeof current === 'string') options.push(fc.oneof(often(fc.constantFrom(...STRING_LENGTHS).map(stretchString)), huge(fc.constant(STRING_LENGTH_HUGE).map(stretchString))));
  if (typeof current === 'number') options.push(fc.constantFrom(...EDGE_NUMBERS), fc.constant(String(current)), fc.constant(BigInt(Number.isSafeInteger(current) ? current : 0)));
  if (Array.isArray(current)) {
    options.push(
      fc.oneof(often(fc.constantFrom(...LIST_LENGTHS).map((n) => stretchList(current, n))), huge(fc.constant(LIST_LENGTH_HUGE).map(() => new Array<unknown>(LIST_LENGTH_HUGE).fill(0)))),
      fc.constant(Object.fromEntries(current.map((x, i) => [String(i), x]))),
    );
  }
  if (current instanceof Uint8Array) options.push(fc.oneof(often(fc.constant([...current])), huge(fc.constantFrom(...BIN_LENGTHS).map((n) => Buffer.alloc(n, 0xab)))));
  if (isMap(current)) {
    options.push(
      fc.tuple(fc.oneof(wireKey, fc.constantFrom(...SPECIAL_KEYS)), wireValue).map(([k, x]) => setAt(current, [k], x)),
      fc.constant(Object.values(current)),
      fc.constant(Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i]))),
    );
  }
  return fc.oneof(...options);
}

/** One to three mutations of `v`, each at a place of the original. */
export function mutated(v: unknown): fc.Arbitrary<{ readonly value: unknown; readonly changes: readonly { path: Path; to: unknown }[] }> {
  const at = places(v);
  const one = fc.constantFrom(...at).chain((path) => change(getAt(v, path)).map((to) => ({ path, to })));
  return fc.array(one, { minLength: 1, maxLength: 3 }).map((changes) => ({ value: changes.reduce((x, c) => setAt(x, c.path, c.to), v), changes }));
}

/** What a mutation says it did, short enough for a failure message. */
export function describeChanges(changes: readonly { path: Path; to: unknown }[]): string {
  return changes
    .map(({ path, to }) => {
      const what = to === DROP ? 'dropped' : to instanceof Raw ? `nested (${to.bytes.length} bytes)` : typeof to === 'string' && to.length > 40 ? `a string of ${to.length}` : Array.isArray(to) && to.length > 8 ? `a list of ${to.length}` : to instanceof Uint8Array ? `${to.byteLength} bytes` : show(to).slice(0, 60);
      return `${path.join('.') || '(root)'}: ${what}`;
    })
    .join('; ');
}

/** `v` as JSON, bigints and binaries readable. */
export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? `<${x.byteLength} bytes>` : x)) ?? String(v);
}

/** A marker that encodes as bin8 of 16 bytes found nowhere else, for splicing Raw bytes in. */
const MARKER = Buffer.from('f00dfacecafe5eed0fba5eba11deadbe', 'hex');

/** msgpack bytes of `v`, with each Raw's bytes spliced in where it stands. */
export function encodeMutated(v: unknown): Buffer {
  const raws: Raw[] = [];
  const swap = (x: unknown): unknown => {
    if (x instanceof Raw) {
      raws.push(x);
      return MARKER;
    }
    if (Array.isArray(x)) return x.map(swap);
    if (isMap(x)) {
      const o: Obj = {};
      for (const [k, y] of Object.entries(x)) Object.defineProperty(o, k, { value: swap(y), enumerable: true, writable: true, configurable: true });
      return o;
    }
    return x;
  };
  const bytes = encodeFrame(swap(v));
  if (raws.length === 0) return bytes;
  const marker = Buffer.concat([Buffer.from([0xc4, MARKER.length]), MARKER]);
  const parts: Buffer[] = [];
  let from = 0;
  for (const raw of raws) {
    const at = bytes.indexOf(marker, from);
    if (at < 0) throw new Error('encodeMutated: a marker is missing from the encoded bytes');
    parts.push(bytes.subarray(from, at), raw.bytes);
    from = at + marker.length;
  }
  parts.push(bytes.subarray(from));
  return Buffer.concat(parts);
}

// -------------------------------------------------------------------------------------------------
// Bytes

/** A msgpack header byte of every family, weighted toward those that claim lengths and counts. */
const HEADERS = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];
/** Lengths and counts a header may claim: small, at the edges of each width, and absurd. */
const CLAIMS = [0, 1, 2, 15, 16, 255, 256, 65_535, 65_536, 1_000_000, 2 ** 31 - 1, 2 ** 32 - 1];

/**
 * Byte strings made of msgpack tokens: headers of every kind, followed by lengths and counts of
 * every width (true, small or absurd), ext type bytes, and random bytes; more of them reach deep
 * into the decoder than uniformly random bytes do.
 */
export const msgpackSoup: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.constantFrom(...HEADERS).map((h) => Buffer.from([h])),
      fc.tuple(fc.constantFrom(1, 2, 4), fc.constantFrom(...CLAIMS)).map(([width, n]) => {
        const b = Buffer.alloc(width);
        b.writeUIntBE(n % 2 ** (8 * width), 0, width);
        return b;
      }),
      // ext type bytes msgpackr knows: timestamps (-1), bigints ('B'), typed arrays ('t'), and others.
      fc.constantFrom(0xff, 0x42, 0x74, 0x65, 0x78, 0x73, 0x6d, 0x69, 0x70, 0x00).map((t) => Buffer.from([t])),
      fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 12 }).map((s) => Buffer.from(s, 'utf8')),
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.concat(parts));
