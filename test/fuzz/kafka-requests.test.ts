/**
 * Fuzz: Kafka request frames as the listener hands them to dispatch.ts `answer`, over the fake
 * node of the listener's tests (test/kafka/fake-node.ts: the real native handlers, one topic).
 * test/kafka/listener.test.ts has one property, any bytes for a body; these start from
 * well-formed requests of every API and version served (kafka-grammar.ts), which reach much
 * further into each decoder before they break:
 *
 * - a well-formed request of every API and version is answered (a reply with its correlation
 *   id, or none for a produce with acks 0), never closed;
 * - mutated, it is answered or its connection closed, and `answer` never throws: a length or
 *   count that lies (negative, one too many, the largest its width holds), a bit flipped, the
 *   frame cut short or given extra bytes, or its body read as another API's or version's.
 *
 * Timers are fake, so that a fetch's long poll of up to a minute costs nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { answer, type Answer } from '../../src/kafka/dispatch.js';
import { KAFKA_APIS } from '../../src/kafka/apis/index.js';
import { newSession } from '../../src/server/session.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';
import { GRAMMAR, SERVED, anyKafkaRequest, kafkaRequest, requestFrame, type KafkaRequest } from './kafka-grammar.js';
import { checkAsync, fuzz } from './tools.js';

const node = fakeKafkaNode();
const session = newSession('kafka', 'fuzz');
/** Longer than any wait a request may ask for (a fetch's max_wait_ms is clamped to a minute). */
const WAIT_ALL_MS = 61_000;

beforeAll(() => {
  vi.useFakeTimers();
});
afterAll(() => {
  vi.useRealTimers();
});

/** The answer to one frame (without its size), with the fake clock run past every wait. */
async function answerOf(frame: Buffer): Promise<Answer> {
  const p = answer(node, session, frame);
  await vi.advanceTimersByTimeAsync(WAIT_ALL_MS);
  return await p;
}

/** A reply names the request's correlation id first (the bytes after its size). */
function correlationOf(a: Answer): number | null {
  if (a.kind !== 'reply') return null;
  return Buffer.concat(a.chunks.map((c) => Buffer.from(c))).readInt32BE(4);
}

describe('fuzz: a Kafka request', () => {
  it('grammar covers every API and version the listener serves', () => {
    expect([...GRAMMAR].map(([k, g]) => [k, g.versions[0], g.versions[1], g.flexibleFrom])).toEqual([...KAFKA_APIS.values()].map((a) => [a.key, a.minVersion, a.maxVersion, a.flexibleFrom]).sort((x, y) => x[0]! - y[0]!));
  });

  it('well-formed, of every API and version, is answered with its correlation id (or, a produce with acks 0, not at all), never closed', async () => {
    const answered = async (r: KafkaRequest): Promise<void> => {
        const a = await answerOf(Buffer.concat([r.header, r.body]));
        const what = `${GRAMMAR.get(r.key)!.name} v${r.version}: ${a.kind === 'close' ? a.reason : a.kind}`;
        expect(a.kind, what).not.toBe('close');
        if (a.kind === 'reply') expect(correlationOf(a), what).toBe(r.correlationId);
        if (a.kind === 'none') expect(r.key, what).toBe(0);
    };
    // Every API and version a few times, then any.
    for (const [key, version] of SERVED) for (const r of fc.sample(kafkaRequest(key, version), { seed: 2400 + key * 100 + version, numRuns: 5 })) await answered(r);
    await checkAsync(fc.asyncProperty(anyKafkaRequest, answered), fuzz(2401, 1500, 5000));
  });

  it('mutated (lying lengths and counts, bits flipped, cut short, extra bytes, read as another API or version) is answered or closed, and never throws', async () => {
    const seen = new Set<string>();
    await checkAsync(
      fc.asyncProperty(
        anyKafkaRequest.chain((r) => fc.array(mutation(r), { minLength: 1, maxLength: 2 }).map((ms) => ({ r, ms }))),
        async ({ r, ms }) => {
          let frame: Buffer = Buffer.concat([r.header, r.body]);
          for (const m of ms) frame = m.apply(frame);
          const a = await answerOf(frame);
          const what = `${GRAMMAR.get(r.key)!.name} v${r.version} ${ms.map((m) => m.what).join(', ')}: ${a.kind}`;
          expect(['reply', 'none', 'close'], what).toContain(a.kind);
          seen.add(a.kind);
          if (a.kind === 'reply') expect(correlationOf(a), what).toBe(frame.readInt32BE(4));
        },
      ),
      fuzz(2402, 2500, 6000),
    );
    // The mutations reach both ends: requests still served, and requests refused.
    expect([...seen].sort()).toEqual(expect.arrayContaining(['close', 'reply']));
  });
});

interface Mutation {
  readonly what: string;
  apply(frame: Buffer): Buffer;
}

/** Values a length or count prefix may lie with, by its width. */
const LIES: Readonly<Record<2 | 4, readonly number[]>> = { 2: [-2, -1, 0, 1, 0x7fff, -0x8000], 4: [-2, -1, 0, 1, 100_001, 0x7fffffff, -0x80000000] };

function mutation(r: KafkaRequest): fc.Arbitrary<Mutation> {
  const options: fc.Arbitrary<Mutation>[] = [
    fc.nat().map((i) => ({
      what: 'a bit flipped',
      apply: (f: Buffer): Buffer => {
        const out = Buffer.from(f);
        const bit = i % (out.length * 8);
        out[bit >> 3] = out[bit >> 3]! ^ (1 << (bit & 7));
        return out;
      },
    })),
    fc.nat().map((i) => ({ what: 'cut short', apply: (f: Buffer): Buffer => f.subarray(0, i % f.length) })),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra) => ({ what: 'extra bytes at the end', apply: (f: Buffer): Buffer => Buffer.concat([f, extra]) })),
    fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, junk]) => ({
      what: 'bytes inserted',
      apply: (f: Buffer): Buffer => {
        const at = i % (f.length + 1);
        return Buffer.concat([f.subarray(0, at), junk, f.subarray(at)]);
      },
    })),
    fc.constantFrom(...SERVED).map(([key, version]) => {
      const g = GRAMMAR.get(key)!;
      const header = requestFrame(key, version, r.correlationId, Buffer.alloc(0), g.flexibleFrom !== undefined && version >= g.flexibleFrom);
      return { what: `read as ${g.name} v${version}`, apply: (f: Buffer): Buffer => (f.length >= r.header.length ? Buffer.concat([header, f.subarray(r.header.length)]) : f) };
    }),
  ];
  const fixed = r.prefixes.filter((p) => p.width !== 0);
  if (fixed.length > 0) {
    // One more than it says: the rest of the body is read as one more item or byte.
    options.push(
      fc.constantFrom(...fixed).map((p) => ({
        what: `the prefix at ${p.at} one too large`,
        apply: (f: Buffer): Buffer => {
          const at = r.header.length + p.at;
          if (at + p.width > f.length) return f;
          const out = Buffer.from(f);
          if (p.width === 2) out.writeInt16BE(Math.min(0x7fff, out.readInt16BE(at) + 1), at);
          else out.writeInt32BE(Math.min(0x7fffffff, out.readInt32BE(at) + 1), at);
          return out;
        },
      })),
    );
  }
  if (r.prefixes.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...r.prefixes), fc.nat()).map(([p, i]) => {
        const at = r.header.length + p.at;
        if (p.width === 0) {
          const lie = [0x00, 0x7f, 0xff, 0x80][i % 4]!;
          return { what: `a varint at ${p.at} made ${lie.toString(16)}`, apply: (f: Buffer): Buffer => setByte(f, at, lie) };
        }
        const lies = LIES[p.width];
        const lie = lies[i % lies.length]!;
        return {
          what: `the ${p.width}-byte prefix at ${p.at} made ${lie}`,
          apply: (f: Buffer): Buffer => {
            if (at + p.width > f.length) return f;
            const out = Buffer.from(f);
            if (p.width === 2) out.writeInt16BE(lie, at);
            else out.writeInt32BE(lie, at);
            return out;
          },
        };
      }),
    );
  }
  return fc.oneof(...options);
}

function setByte(f: Buffer, at: number, b: number): Buffer {
  if (at >= f.length) return f;
  const out = Buffer.from(f);
  out[at] = b;
  return out;
}
