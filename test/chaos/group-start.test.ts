/**
 * The group workload's first read of a partition the group has no committed offset for: the
 * member starts it at the log start (fromBeginning), and that first batch must be in the history
 * as a recorded poll. (It once was read but left out; after retention deleted those records, a
 * soak's checker reported them as lost writes.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { Recorder } from '../../chaos/recorder.js';
import { DEFAULT_TIMEOUTS, keyOf, Stopper, type WorkloadContext } from '../../chaos/workloads/context.js';
import { groupWorker } from '../../chaos/workloads/group.js';
import { tempDir } from '../storage/log-fixtures.js';
import { FakeCluster } from '../client/fake-broker.js';

/** How long the member may take to read the partition's records before the checks run anyway. */
const RUN_MS_MAX = 15_000;

/** Whether the history in `file` so far has an ok poll that read offset 4, the last record. */
function readLast(file: string): boolean {
  if (!fs.existsSync(file)) return false;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .some((l) => {
      if (l === '') return false;
      const e = JSON.parse(l) as { type: string; f?: string; value?: { msgs?: Record<string, [number, unknown][]> } };
      return e.type === 'ok' && e.f === 'poll' && Object.values(e.value?.msgs ?? {}).some((m) => m.some(([o]) => o === 4));
    });
}

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

interface Event {
  readonly process: number;
  readonly type: string;
  readonly f: string;
  readonly value: unknown;
}

describe('group workload', () => {
  it('a partition with no committed offset: its first records, from the log start, are read by a recorded poll', async () => {
    const cluster = await FakeCluster.start({ nodes: 1 });
    const dir = tempDir('raftlog-chaos-group-start-');
    made.push(dir);
    const file = path.join(dir, 'history.jsonl');
    const recorder = new Recorder(file);
    const stopper = new Stopper();
    try {
      const topic = 'chaos';
      cluster.createTopic(topic, 1, 1);
      // Written before the group began; retention then moved the log start past the first two.
      for (let i = 0; i < 5; i++) cluster.append(topic, 0, [{ key: null, value: Buffer.from(`v${i}`) }]);
      cluster.truncateFront(topic, 0, 2);
      const ctx: WorkloadContext = {
        recorder,
        topic,
        partitions: 1,
        nodes: cluster.nodes.map((n) => ({ id: n.id, address: n.address })),
        random: seededRandom(1),
        stopper,
        timeouts: DEFAULT_TIMEOUTS,
        knownHw: new Map(),
        notes: [],
      };
      const worker = groupWorker(ctx, { group: 'g', lifeMs: [60_000, 60_000], commitChance: 0 });
      // Until the history shows a poll that read the last record (or RUN_MS_MAX: then the checks below say what is missing).
      const deadline = Date.now() + RUN_MS_MAX;
      while (Date.now() < deadline && !readLast(file)) await new Promise((r) => setTimeout(r, 50));
      stopper.stop();
      await worker;
    } finally {
      recorder.close();
      await cluster.stop();
    }

    const key = keyOf('chaos', 0);
    const events = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Event);
    // Each process has one operation open at a time: an ok completes the last invoke of its process.
    const open = new Map<number, Event>();
    const polls: { from: number | undefined; offsets: number[] }[] = [];
    for (const e of events) {
      if (e.type === 'invoke') open.set(e.process, e);
      else if (e.type === 'ok' && e.f === 'poll') {
        const inv = open.get(e.process)!;
        const from = (inv.value as { from: Record<string, number> }).from[key];
        const msgs = (e.value as { msgs: Record<string, [number, string | null][]> }).msgs[key] ?? [];
        polls.push({ from, offsets: msgs.map(([o]) => o) });
      }
    }
    const read = polls.flatMap((p) => p.offsets);
    expect(read, JSON.stringify(polls)).toEqual([2, 3, 4]);
    expect(polls.find((p) => p.offsets.includes(2))?.from, JSON.stringify(polls)).toBe(2);
  }, 30_000);
});
