import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameSizeError, FrameSplitter, KAFKA_REQUEST_BYTES_MAX, KAFKA_REQUEST_BYTES_MIN } from '../../src/kafka/frames.js';
import { KafkaErrorCode, kafkaCodeOf, kafkaErrorOf } from '../../src/kafka/errors.js';
import { ServerError } from '../../src/errors.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { RequestError } from '../../src/wire/validate.js';
import pino from 'pino';

function framed(bodies: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    bodies.flatMap((b) => {
      const size = Buffer.alloc(4);
      size.writeInt32BE(b.length);
      return [size, Buffer.from(b)];
    }),
  );
}

describe('FrameSplitter', () => {
  const body = fc.uint8Array({ minLength: KAFKA_REQUEST_BYTES_MIN, maxLength: 300 });

  it('gives the same frames however the stream is cut: one byte at a time, or in chunks of any size', () => {
    fc.assert(
      fc.property(fc.array(body, { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (bodies, cuts) => {
        const stream = framed(bodies);
        const s = new FrameSplitter();
        const got: Buffer[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          got.push(...s.push(stream.subarray(at, at + n)));
          at += n;
        }
        expect(got.map((b) => [...b])).toEqual(bodies.map((b) => [...b]));
        expect(s.pending).toBe(0);
      }),
    );
  });

  it('gives the same frames when large ones are assembled as they arrive', () => {
    fc.assert(
      fc.property(fc.array(body, { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 64 }), (bodies, cuts, assembleBytes) => {
        const stream = framed(bodies);
        const s = new FrameSplitter(assembleBytes);
        const ends = bodies.map((_, i) => bodies.slice(0, i + 1).reduce((n, x) => n + 4 + x.length, 0));
        const got: Buffer[] = [];
        for (let at = 0, i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          got.push(...s.push(stream.subarray(at, at + n)));
          at = Math.min(stream.length, at + n);
          // Held: the bytes past the last frame completed.
          expect(s.pending).toBe(at - Math.max(0, ...ends.filter((e) => e <= at)));
        }
        expect(got.map((b) => [...b])).toEqual(bodies.map((b) => [...b]));
        expect(s.pending).toBe(0);
      }),
    );
  });

  it('refuses a size over the limit as soon as its four bytes are in, before any of the frame', () => {
    const s = new FrameSplitter();
    const size = Buffer.alloc(4);
    size.writeInt32BE(KAFKA_REQUEST_BYTES_MAX + 1);
    expect(s.push(size.subarray(0, 3))).toEqual([]);
    expect(() => s.push(size.subarray(3))).toThrow(FrameSizeError);
  });

  it('refuses a negative size, or one too small for a request header', () => {
    for (const n of [-1, 0, KAFKA_REQUEST_BYTES_MIN - 1]) {
      const size = Buffer.alloc(4);
      size.writeInt32BE(n);
      expect(() => new FrameSplitter().push(size)).toThrow(FrameSizeError);
    }
  });
});

describe('error codes', () => {
  it("maps the node's codes onto Kafka's, one table for every API", () => {
    expect(kafkaCodeOf(ErrorCode.NotLeader)).toBe(6);
    expect(kafkaCodeOf(ErrorCode.OffsetOutOfRange)).toBe(1);
    expect(kafkaCodeOf(ErrorCode.CorruptMessage)).toBe(2);
    expect(kafkaCodeOf(ErrorCode.RecordTooLarge)).toBe(10);
    expect(kafkaCodeOf(ErrorCode.NotCoordinator)).toBe(16);
    expect(kafkaCodeOf(ErrorCode.RebalanceInProgress)).toBe(27);
    expect(kafkaCodeOf(ErrorCode.TopicAlreadyExists)).toBe(36);
    expect(kafkaCodeOf(ErrorCode.UnknownServerError)).toBe(-1);
    for (const code of Object.values(ErrorCode)) expect(Object.values(KafkaErrorCode)).toContain(kafkaCodeOf(code));
  });

  it('names a refusal by the controller NOT_CONTROLLER or NOT_COORDINATOR where the request says so, and a bug UNKNOWN_SERVER_ERROR', () => {
    const logger = pino({ level: 'silent' });
    const notController = new ServerError(ErrorCode.NotLeader, 'this node is not the controller; n2 is', 'n2');
    expect(kafkaErrorOf(logger, notController).code).toBe(KafkaErrorCode.NotLeaderOrFollower);
    expect(kafkaErrorOf(logger, notController, KafkaErrorCode.NotController).code).toBe(41);
    expect(kafkaErrorOf(logger, new RequestError(0, ErrorCode.InvalidTopic, 'bad name')).code).toBe(17);
    expect(kafkaErrorOf(logger, new TypeError('boom'))).toEqual({ code: -1, message: 'the node failed to handle the request: boom' });
  });
});
