/**
 * Catch-up by files between two in-process nodes (src/host/log-recovery.ts): each a GroupHost, a
 * LogRecovery and a partition replica opened as a node opens them (src/partition/replica.ts), on
 * real temporary folders; the link between them is a function the test can tamper with. A new
 * learner of a partition whose log is beyond the leader's tail cache gets the log as files; a chunk
 * damaged or lost on the way makes the follower give up and remove what it staged, and the leader
 * tries again; the node-wide throttle paces the bytes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import type { NodeId } from '../../raft/types.js';
import { systemClock } from '../../storage/clock.js';
import { nodeFileSystem } from '../../storage/file-system.js';
import { stagingDir } from '../../storage/log-install.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { GroupHost } from '../../src/host/group-host.js';
import { LogRecovery, type RecoveryMessage } from '../../src/host/log-recovery.js';
import { RecoveryThrottle } from '../../src/host/recovery-throttle.js';
import { partitionGroupId, type TopicRecord } from '../../src/meta/commands.js';
import type { Partition } from '../../src/partition/partition.js';
import { openPartitionReplica } from '../../src/partition/replica.js';
import { DEFAULT_TOPIC_CONFIG } from '../../src/wire/protocol.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { idempotentBatch, quiet } from '../partition/harness.js';

const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const TOPIC: TopicRecord = { name: 't', id: 'T1', partitions: 1, replicationFactor: 1, config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 4096 }, assignments: [['a']] };
const GROUP = partitionGroupId('T1', 0);

interface TestNode {
  readonly id: NodeId;
  readonly host: GroupHost;
  readonly recovery: LogRecovery;
  part: Partition | null;
  readonly root: string;
  readonly ledger: SyncLedger;
}

/** Two nodes; `link(from, to, m)` returns the message to deliver (or null to lose it). */
function pair(link: (from: NodeId, m: RecoveryMessage) => RecoveryMessage | null, bytesPerSec = 0): { a: TestNode; b: TestNode } {
  const nodes = new Map<NodeId, TestNode>();
  const make = (id: NodeId): TestNode => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `raftlog-recovery-${id}-`));
    dirs.push(root);
    const host = new GroupHost({ tickMs: 5, syncMode: 'fsync', syncIntervalMs: 100, logger: quiet, clock: systemClock, send: (group, m) => setImmediate(() => nodes.get(m.to)?.host.step(group, m)) });
    const recovery = new LogRecovery({
      self: id,
      host,
      fs: nodeFileSystem,
      clock: systemClock,
      bytesPerSec,
      chunkBytes: 2048,
      idleMs: 2000,
      logger: quiet,
      send: (to, m) => {
        const out = link(id, m);
        if (out !== null) setImmediate(() => nodes.get(to)?.recovery.receive(id, out));
      },
    });
    host.recovery = recovery;
    const ledger = SyncLedger.open(root);
    const n: TestNode = { id, host, recovery, part: null, root, ledger };
    nodes.set(id, n);
    host.start();
    stops.push(async () => {
      await host.stop();
      n.part?.close('the test ends');
      n.part?.group.close();
      await ledger.close();
    });
    return n;
  };
  return { a: make('a'), b: make('b') };
}

function open(n: TestNode, membership?: { voters: string[]; learners: string[] }): Partition {
  const p = openPartitionReplica({
    group: GROUP,
    dir: path.join(n.root, 'p'),
    topic: TOPIC,
    partition: 0,
    self: n.id,
    fs: nodeFileSystem,
    clock: systemClock,
    ledger: n.ledger,
    host: n.host,
    fresh: 'voter',
    ...(membership !== undefined ? { membership } : {}),
    tailCacheBytes: 2048,
    limits: { electionTicks: 10, heartbeatTicks: 2 },
    producerIdExpirationMs: 24 * 3600 * 1000,
    random: seededRandom(n.id.charCodeAt(0)),
    logger: quiet,
  });
  n.part = p;
  return p;
}

async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** a leads a partition of `n` records over many segments; b is added as a learner and opened empty. */
async function grow(a: TestNode, b: TestNode, n: number): Promise<void> {
  const p = open(a);
  await until(() => p.isReady(), 5000, 'a to lead');
  for (let k = 0; k < n; k++) await p.produce(idempotentBatch(1, k, `record-${k}-${'x'.repeat(100)}`), 'all', 5000);
  p.group.raft.proposeMembership({ type: 'addLearner', node: 'b' });
  p.group.wake();
  open(b, { voters: ['a'], learners: ['b'] });
}

function caughtUp(a: TestNode, b: TestNode): boolean {
  return b.part!.log.lastIndex() === a.part!.log.lastIndex() && b.part!.group.raft.committed === a.part!.group.raft.committed;
}

describe('catching a new replica up by files', () => {
  it('streams the log to a new learner, which installs it whole and then follows by appends', async () => {
    const { a, b } = pair((_from, m) => m);
    await grow(a, b, 200);
    await until(() => caughtUp(a, b), 10_000, 'b to catch up');
    expect(a.recovery.stats.sendsFinished).toBeGreaterThanOrEqual(1);
    expect(b.recovery.stats.installs).toBeGreaterThanOrEqual(1);
    expect(b.recovery.stats.bytesReceived).toBeGreaterThan(200 * 100);
    const last = a.part!.log.lastIndex();
    expect(b.part!.log.entries(1, last + 1, Infinity).map((e) => Buffer.from(e.data).toString('hex'))).toEqual(a.part!.log.entries(1, last + 1, Infinity).map((e) => Buffer.from(e.data).toString('hex')));
    // Later writes reach it by appends.
    await a.part!.produce(idempotentBatch(1, 200, 'after'), 'all', 5000);
    await until(() => caughtUp(a, b), 5000, 'b to take the next append');
    expect(fs.existsSync(stagingDir(path.join(b.root, 'p', 'log')))).toBe(false);
  }, 30_000);

  it('a chunk damaged on the way, or lost, is refused: the staging goes and the leader sends the log again', async () => {
    let damaged = 0;
    let lost = 0;
    const { a, b } = pair((_from, m) => {
      if (m.k !== 'chunk') return m;
      if (m.seq === 2 && damaged === 0) {
        damaged++;
        const bytes = Buffer.from(m.bytes);
        bytes[bytes.length >> 1]! ^= 0x20;
        return { ...m, bytes };
      }
      if (m.seq === 3 && damaged === 1 && lost === 0) {
        lost++;
        return null;
      }
      return m;
    });
    await grow(a, b, 200);
    await until(() => caughtUp(a, b), 15_000, 'b to catch up');
    expect([damaged, lost]).toEqual([1, 1]);
    expect(b.recovery.stats.receivesFailed).toBeGreaterThanOrEqual(2);
    expect(a.recovery.stats.sendsFailed).toBeGreaterThanOrEqual(2);
    expect(b.recovery.stats.installs).toBeGreaterThanOrEqual(1);
    expect(fs.existsSync(stagingDir(path.join(b.root, 'p', 'log')))).toBe(false);
  }, 30_000);
});

describe('the node-wide recovery throttle', () => {
  it('lets bytes through at its rate, in order, however many transfers ask', async () => {
    const clock = new ManualClock();
    const t = new RecoveryThrottle(clock, 10_000, 1000);
    const done: number[] = [];
    // The bucket starts with one chunk (its capacity: 0.1 s of the rate, at least a chunk).
    for (let k = 0; k < 6; k++) void t.take(1000).then(() => done.push(k));
    await new Promise((r) => setImmediate(r));
    expect(done).toEqual([0]);
    await clock.advance(250);
    expect(done).toEqual([0, 1, 2]);
    await clock.advance(300);
    expect(done).toEqual([0, 1, 2, 3, 4, 5]);
    // Unlimited: never waits.
    const free = new RecoveryThrottle(clock, 0, 1000);
    await free.take(1e9);
  });
});
