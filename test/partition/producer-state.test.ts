import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/wire/protocol.js';
import { ServerError } from '../../src/errors.js';
import { ProducerState } from '../../src/partition/producer-state.js';
import { idempotentBatch, soloPartition } from './harness.js';

const DAY = 24 * 3600 * 1000;

describe('producer state is bounded', () => {
  it('a producer id with no write for the expiration time is forgotten; one that writes is kept', () => {
    const s = new ProducerState();
    s.record(1, { epoch: 0, firstSeq: 0, lastSeq: 0, baseOffset: 0 }, 1000);
    s.record(2, { epoch: 0, firstSeq: 0, lastSeq: 0, baseOffset: 1 }, 1000);
    s.record(2, { epoch: 0, firstSeq: 1, lastSeq: 1, baseOffset: 2 }, 1000 + DAY);
    expect(s.expire(1000 + DAY, DAY)).toBe(0);
    expect(s.expire(1001 + DAY, DAY)).toBe(1);
    expect(s.size).toBe(1);
    // The forgotten producer's next batch is taken as new (any sequence), the kept one is checked.
    expect(s.check(1, { epoch: 0, firstSeq: 7, lastSeq: 7 }, []).kind).toBe('accept');
    expect(s.check(2, { epoch: 0, firstSeq: 7, lastSeq: 7 }, []).kind).toBe('reject');
  });

  it('the snapshot round-trips, remembered batches and write times included, and refuses a truncated body', () => {
    const s = new ProducerState();
    for (let id = 1; id <= 50; id++) {
      for (let k = 0; k < (id % 7) + 1; k++) s.record(id * 1_000_000_007, { epoch: id % 3, firstSeq: k * 2, lastSeq: k * 2 + 1, baseOffset: id * 100 + k }, 1_700_000_000_000 + id);
    }
    const body = s.encode(12345);
    const back = ProducerState.decode(body);
    expect(back.index).toBe(12345);
    expect(back.state.encode(12345)).toEqual(body);
    expect(back.state.check(7_000_000_049, { epoch: 1, firstSeq: 0, lastSeq: 1 }, [])).toEqual({ kind: 'duplicate', baseOffset: 700 });
    expect(() => ProducerState.decode(body.subarray(0, body.length - 1))).toThrow(RangeError);
  });

  it('100,000 producers make a snapshot of well under 25 MB', () => {
    const s = new ProducerState();
    for (let id = 1; id <= 100_000; id++) s.record(id, { epoch: 0, firstSeq: 0, lastSeq: 0, baseOffset: id }, 1);
    expect(s.encode(1).length).toBeLessThan(5 * 1024 * 1024);
  });

  it('a partition forgets producers on its own clock, and a zombie producer with an older epoch is refused', async () => {
    const solo = await soloPartition({ producerIdExpirationMs: DAY });
    try {
      const p = solo.partition;
      expect(await solo.settle(p.produce(idempotentBatch(5, 0), 'all', 5000))).toBe(0);
      expect(p.expireProducers()).toBe(0);
      solo.node.jumpWallClock(DAY + 1);
      expect(p.expireProducers()).toBe(1);
      // Fenced: epoch 1 written, then the old epoch's batch is refused.
      await solo.settle(p.produce(idempotentBatch(6, 0, 'a', 1), 'all', 5000));
      await expect(p.produce(idempotentBatch(6, 1, 'b', 0), 'all', 5000)).rejects.toSatisfy((e: unknown) => e instanceof ServerError && e.code === ErrorCode.InvalidProducerEpoch);
    } finally {
      await solo.close();
    }
  });
});
