/**
 * The partition state machine's rules, one replica at a time on a simulated node's group host
 * (harness.ts): offsets stamped into batches, sequence numbers and duplicates of idempotent
 * producers, producer epochs, the acks modes, and requests in flight when leadership is lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SegmentLog, encodeLogStart } from '../../storage/segment-log.js';
import { Partition } from '../../src/partition/partition.js';
import { records } from '../../src/wire/record-batch/decode.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { readBatchHeader } from '../../src/wire/record-batch/header.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { ServerError } from '../../src/errors.js';
import { idempotentBatch, pending, quiet, soloPartition, soloTopic, type SimulatedSolo } from './harness.js';

let solo: SimulatedSolo | null = null;
afterEach(async () => {
  await solo?.close();
  solo = null;
});

const plain = (...values: string[]): Uint8Array => encodeBatch(values.map((v) => ({ value: Buffer.from(v) })));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ServerError) return err.code;
    throw err;
  }
  return 'ok';
}

function readAll(s: SimulatedSolo): { offset: number; value: string; epoch: number }[] {
  const out: { offset: number; value: string; epoch: number }[] = [];
  const r = s.partition.read(s.partition.log.logStartOffset(), 1 << 20);
  for (const b of r.batches) {
    const h = readBatchHeader(b);
    for (const rec of records(b)) out.push({ offset: rec.offset, value: Buffer.from(rec.value!).toString(), epoch: h.partitionLeaderEpoch });
  }
  return out;
}

describe('a partition replica', () => {
  it('stamps dense offsets and the leader\'s term into each batch it writes', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const a = p.produce(plain('a0', 'a1', 'a2'), 'all', 60_000);
    const b = p.produce(plain('b0', 'b1'), 'all', 60_000);
    expect(await solo.settle(Promise.all([a, b]))).toEqual([0, 3]);
    expect(p.highWatermark).toBe(5);
    const term = solo.group.raft.term;
    expect(readAll(solo)).toEqual(['a0', 'a1', 'a2', 'b0', 'b1'].map((value, offset) => ({ offset, value, epoch: term })));
  });

  it('drops a retried batch it already has, answering with the first offset, and refuses a gap in the sequence', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    expect(await solo.settle(p.produce(idempotentBatch(5, 0, 'x'), 'all', 60_000))).toBe(0);
    // The same batch again (the producer did not hear the answer): the same offset, nothing written.
    expect(await solo.settle(p.produce(idempotentBatch(5, 0, 'x'), 'all', 60_000))).toBe(0);
    expect(p.highWatermark).toBe(1);
    // Sequence 2 after 0: batch 1 is missing.
    expect(await codeOf(p.produce(idempotentBatch(5, 2, 'z'), 'all', 60_000))).toBe(ErrorCode.OutOfOrderSequence);
    expect(await solo.settle(p.produce(idempotentBatch(5, 1, 'y'), 'all', 60_000))).toBe(1);
    expect(readAll(solo).map((r) => r.value)).toEqual(['x', 'y']);
  });

  it('keeps each producer id\'s sequence apart', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const answers = [p.produce(idempotentBatch(1, 0, 'p1'), 'all', 60_000), p.produce(idempotentBatch(2, 0, 'p2'), 'all', 60_000), p.produce(idempotentBatch(1, 1, 'p1b'), 'all', 60_000)];
    expect(await solo.settle(Promise.all(answers))).toEqual([0, 1, 2]);
  });

  it('takes a new epoch of a producer from sequence 0 and fences the older epoch', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    expect(await solo.settle(p.produce(idempotentBatch(8, 0, 'old', 0), 'all', 60_000))).toBe(0);
    expect(await solo.settle(p.produce(idempotentBatch(8, 0, 'new', 1), 'all', 60_000))).toBe(1);
    expect(await codeOf(p.produce(idempotentBatch(8, 1, 'zombie', 0), 'all', 60_000))).toBe(ErrorCode.InvalidProducerEpoch);
    expect(readAll(solo).map((r) => r.value)).toEqual(['old', 'new']);
  });

  it('answers acks=none at once, acks=leader once stored, acks=all once committed', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    // No time passes for the node until the test lets it: nothing is stored yet.
    expect(await p.produce(plain('n'), 'none', 60_000)).toBe(0);
    const leader = p.produce(plain('l'), 'leader', 60_000);
    const all = p.produce(plain('a'), 'all', 60_000);
    expect(await pending(leader)).toBe(true);
    expect(await pending(all)).toBe(true);
    // The first pass stores the three entries; their commit comes with the next.
    expect(await solo.settle(leader)).toBe(1);
    expect(p.highWatermark).toBe(0);
    expect(await pending(all)).toBe(true);
    expect(await solo.settle(all)).toBe(2);
    expect(p.highWatermark).toBe(3);
  });

  it('refuses a malformed batch with a typed error and writes nothing', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const bad = Buffer.from(plain('v'));
    bad[bad.length - 1]! ^= 0xff;
    expect(await codeOf(p.produce(bad, 'all', 60_000))).toBe(ErrorCode.CorruptMessage);
    expect(await codeOf(p.produce(new Uint8Array(10), 'all', 60_000))).toBe(ErrorCode.CorruptMessage);
    const last = solo.group.log.lastIndex();
    await solo.until(() => solo!.node.world.now >= 1000);
    expect(solo.group.log.lastIndex()).toBe(last);
    expect(p.highWatermark).toBe(0);
  });

  it('when it stops leading, refuses new requests with the new leader, and a request in flight ends with an uncertain timeout', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    const term = solo.group.raft.term;
    const inFlight = p.produce(plain('maybe'), 'all', 50);
    // A higher term from another member, as the host hands a peer's message to its group: the
    // replica steps down before its entry is stored.
    solo.node.host.step(solo.group.id, { type: 'heartbeat', from: 'n2', to: 'n1', term: term + 1, commit: 0, readRound: 0 });
    expect(p.isLeader()).toBe(false);
    expect(await codeOf(p.produce(plain('later'), 'all', 60_000))).toBe(ErrorCode.NotLeader);
    expect(await codeOf(p.confirmLeadership())).toBe(ErrorCode.NotLeader);
    // Its entry may still be committed by the next leader: the produce cannot be called failed.
    expect(await codeOf(solo.settle(inFlight))).toBe(ErrorCode.RequestTimedOut);
    expect(p.isLeader()).toBe(false);
  });

  it('serves reads only inside the log, with a typed error outside it', async () => {
    solo = await soloPartition();
    const p = solo.partition;
    await solo.settle(p.produce(plain('a', 'b'), 'all', 60_000));
    expect(p.read(2, 1024).batches).toEqual([]);
    expect(() => p.read(3, 1024)).toThrow(expect.objectContaining({ code: ErrorCode.OffsetOutOfRange }));
    expect(() => p.read(-1, 1024)).toThrow(expect.objectContaining({ code: ErrorCode.OffsetOutOfRange }));
  });
});

describe('a partition replica installing a leader\'s snapshot', () => {
  it('starts its log after the snapshot, at the leader\'s log start offset and with the snapshot\'s configuration, after a reopen too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-partition-restore-'));
    try {
      let log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: true });
      const p = new Partition(soloTopic('t', 't1', 1), 0, log, dir, quiet);
      const membership = { voters: ['n1', 'n2', 'n3'], learners: ['n4'] };
      p.restore({ index: 40, term: 3, data: encodeLogStart(500), membership }, log);
      expect(log.firstIndex()).toBe(41);
      expect(log.logStartOffset()).toBe(500);
      expect(p.highWatermark).toBe(500);
      expect(log.configurations()).toEqual([{ index: 40, membership }]);
      log.close();
      log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: true });
      expect(log.snapshot()).toMatchObject({ index: 40, term: 3, membership });
      log.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
