/**
 * Partition replicas on the real group host, for tests: each replica is the only voter of its
 * group, opened by src/partition/replica.ts as a node opens its replicas, and driven by a
 * GroupHost (src/host/group-host.ts) as a node drives them. No test persists, syncs or applies a
 * Ready itself: a test holds a request in flight by not letting the node's time pass.
 *
 * Two kinds of node:
 * - simulatedNode: simulated time and disk (test/sim/world.ts, sim-fs.ts). Nothing happens until
 *   the test runs the node (`until`, `settle`), one event at a time, so a test can look between
 *   two Ready passes; timeouts, disk latency and the wall clock are the simulator's.
 * - realTimeNode: the system clock, and the real disk in a temporary folder or a disk in memory
 *   (sim-fs.ts, its calls settling on the next turn); it runs by itself, as a node does (the fake
 *   broker of the client tests runs its partitions on one, test/client/fake-broker.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { Membership } from '../../raft/membership.js';
import { seededRandom } from '../../raft/random.js';
import type { NodeId } from '../../raft/types.js';
import { systemClock, type Clock } from '../../storage/clock.js';
import { nodeFileSystem, type FileSystem } from '../../storage/file-system.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../../src/wire/protocol.js';
import { GroupHost, type DurabilityPolicy } from '../../src/host/group-host.js';
import type { RaftGroup } from '../../src/host/raft-group.js';
import { partitionGroupId, type TopicRecord } from '../../src/meta/commands.js';
import type { Partition, PartitionPolicy } from '../../src/partition/partition.js';
import { openPartitionReplica } from '../../src/partition/replica.js';
import { SimFs } from '../sim/sim-fs.js';
import { Life, World } from '../sim/world.js';

export const quiet = pino({ level: 'silent' });

/** The node's defaults (src/node/options.ts): 50 ms ticks, elections after 8 to 16 of them. */
const TICK_MS = 50;
const LIMITS = { electionTicks: 8, heartbeatTicks: 2 };
const TAIL_CACHE_BYTES = 1024 * 1024;
/** How long `until` runs before it gives up, in the node's milliseconds. */
const UNTIL_LIMIT_MS = 60_000;
/** How often a real-time node's `until` looks again. */
const POLL_MS = 1;
/** The simulated disk's root: a path no real disk has, so a call that missed the simulated disk fails loudly. */
const SIM_ROOT = '/proc/raftlog-solo';

/** Lets everything already queued run, and the promises it settles. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface SoloOptions {
  /** Default: topic 't' (id 't1') of one partition with the default config. */
  readonly topic?: TopicRecord;
  /** Which of the topic's partitions (default 0). */
  readonly partition?: number;
  readonly policy?: PartitionPolicy;
  readonly producerIdExpirationMs?: number;
  /** The configuration the node would start the replica from (PartitionReplicaOptions.membership). */
  readonly membership?: Membership;
}

/** One replica open on a node. */
export interface SoloPartition {
  readonly partition: Partition;
  readonly group: RaftGroup;
  readonly node: SoloNode;
  /** Lets the node run until the replica leads and serves (it elects itself, then applies its first entry). */
  serving(): Promise<void>;
  /** The node's `until` and `settle`. */
  until(done: () => boolean, limitMs?: number): Promise<void>;
  settle<T>(p: Promise<T>): Promise<T>;
  /** Closes the replica (and, for soloPartition's, its node). */
  close(): Promise<void>;
}

export interface SoloNode {
  readonly id: NodeId;
  readonly host: GroupHost;
  readonly clock: Clock;
  readonly fs: FileSystem;
  readonly ledger: SyncLedger;
  /** Lets the node run until `done()` holds; throws if it does not within `limitMs` of the node's time. */
  until(done: () => boolean, limitMs?: number): Promise<void>;
  /** Lets the node run until `p` settles; its outcome. */
  settle<T>(p: Promise<T>): Promise<T>;
  /** Opens a replica (its group joins the host); it serves once it has elected itself (`serving`). */
  openReplica(o?: SoloOptions): SoloPartition;
  /** Opens a replica and waits until it serves. */
  open(o?: SoloOptions): Promise<SoloPartition>;
  /** Closes every replica still open, stops the host and closes the ledger. */
  close(): Promise<void>;
}

export interface SimulatedNode extends SoloNode {
  readonly world: World;
  readonly disk: SimFs;
  /** From now on, each call to the simulated disk takes `ms` simulated milliseconds (1 at first). */
  diskLatency(ms: number): void;
  /** Moves the wall clock (`clock.now()`) forward without letting time pass for timers. */
  jumpWallClock(ms: number): void;
}

/** A topic whose every partition has one replica, on `node`. */
export function soloTopic(name: string, id: string, partitions: number, config: Partial<TopicConfig> = {}, node: NodeId = 'n1'): TopicRecord {
  return { name, id, partitions, replicationFactor: 1, config: { ...DEFAULT_TOPIC_CONFIG, ...config }, assignments: Array.from({ length: partitions }, () => [node]) };
}

interface NodeParts {
  readonly clock: Clock;
  readonly fs: FileSystem;
  readonly root: string;
  readonly durability?: DurabilityPolicy;
  until(done: () => boolean, limitMs: number): Promise<void>;
  settle<T>(p: Promise<T>): Promise<T>;
  /** Removes what the node left behind, once it is closed. */
  cleanUp(): void;
}

/** The host, ledger and replicas over a node's clock and disk. */
function soloNode(parts: NodeParts): SoloNode {
  const { clock, fs: disk, root } = parts;
  disk.mkdirSync(root, { recursive: true });
  const ledger = SyncLedger.open(root, disk, clock);
  const host = new GroupHost({
    tickMs: TICK_MS,
    syncMode: 'fsync',
    syncIntervalMs: 100,
    logger: quiet,
    clock,
    // Every group here is its own only voter: what it answers a stranger (a test's message from
    // another member) goes nowhere.
    send: () => undefined,
    ...(parts.durability !== undefined ? { durability: parts.durability } : {}),
  });
  host.start();
  const open = new Set<SoloPartition>();
  let seeds = 1;
  const node: SoloNode = {
    id: 'n1',
    host,
    clock,
    fs: disk,
    ledger,
    until: (done, limitMs = UNTIL_LIMIT_MS) => parts.until(done, limitMs),
    settle: (p) => parts.settle(p),
    openReplica(o = {}) {
      const topic = o.topic ?? soloTopic('t', 't1', 1);
      const p = o.partition ?? 0;
      const partition = openPartitionReplica({
        group: partitionGroupId(topic.id, p),
        dir: path.join(root, 'partitions', `${topic.name}-${topic.id}-${p}`),
        topic,
        partition: p,
        self: node.id,
        fs: disk,
        clock,
        ledger,
        host,
        fresh: 'voter',
        tailCacheBytes: TAIL_CACHE_BYTES,
        limits: LIMITS,
        producerIdExpirationMs: o.producerIdExpirationMs ?? 24 * 3600 * 1000,
        ...(o.policy !== undefined ? { policy: o.policy } : {}),
        ...(o.membership !== undefined ? { membership: o.membership } : {}),
        random: seededRandom(seeds++),
        logger: quiet,
      });
      const group = partition.group;
      const solo: SoloPartition = {
        partition,
        group,
        node,
        serving: async () => {
          await node.until(() => partition.isReady() || group.failed !== null);
          if (group.failed !== null) throw new Error(`${partition.name} failed to start: ${group.failed}`);
        },
        until: node.until,
        settle: node.settle,
        // As a node removes a replica (src/node/node.ts): out of the host, then closed.
        close: async () => {
          if (!open.delete(solo)) return;
          // Deleted already (deletePartitionReplica): nothing is left to close.
          if (host.remove(group.id) === undefined) return;
          partition.close('test over');
          group.close();
        },
      };
      open.add(solo);
      return solo;
    },
    async open(o = {}) {
      const solo = node.openReplica(o);
      await solo.serving();
      return solo;
    },
    async close() {
      await parts.settle(host.stop());
      for (const s of [...open]) await s.close();
      await parts.settle(ledger.close());
      parts.cleanUp();
    },
  };
  return node;
}

/** A node in simulated time on a simulated disk, run only by the test (`until`, `settle`). */
export function simulatedNode(o: { seed?: number; durability?: DurabilityPolicy } = {}): SimulatedNode {
  const world = new World();
  const life = new Life();
  const base = world.clock(life);
  let jumped = 0;
  const clock: Clock = { ...base, now: () => base.now() + jumped };
  const latency = { ms: 1 };
  const disk = new SimFs({ schedule: (fn) => world.after(latency.ms, fn, life), random: seededRandom(o.seed ?? 1) });
  const until = async (done: () => boolean, limitMs: number): Promise<void> => {
    const end = world.now + limitMs;
    // What is already queued runs first (a promise that settles without the node's time passing).
    await turn();
    await world.run(() => done() || world.now > end, () => undefined);
    if (!done()) throw new Error(`condition not met within ${limitMs} simulated ms (at ${world.now} ms)`);
  };
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    let settled = false;
    const watched = p.finally(() => (settled = true));
    // The outcome is the caller's: this copy only tells when it came.
    watched.catch(() => undefined);
    await until(() => settled, UNTIL_LIMIT_MS);
    return p;
  };
  const node = soloNode({ clock, fs: disk, root: SIM_ROOT, ...(o.durability !== undefined ? { durability: o.durability } : {}), until, settle, cleanUp: () => undefined });
  return Object.assign(node, {
    world,
    disk,
    diskLatency: (ms: number) => void (latency.ms = ms),
    jumpWallClock: (ms: number) => void (jumped += ms),
  });
}

/** A node on the system clock that runs by itself: on the real disk in a temporary folder, or on a disk in memory. */
export function realTimeNode(o: { disk: 'temp-folder' | 'memory'; durability?: DurabilityPolicy }): SoloNode {
  const temp = o.disk === 'temp-folder' ? fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-solo-')) : null;
  const disk: FileSystem = temp !== null ? nodeFileSystem : new SimFs({ schedule: (fn) => void setImmediate(fn), random: seededRandom(1) });
  const until = async (done: () => boolean, limitMs: number): Promise<void> => {
    const end = Date.now() + limitMs;
    while (!done()) {
      if (Date.now() > end) throw new Error(`condition not met within ${limitMs} ms`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };
  return soloNode({
    clock: systemClock,
    fs: disk,
    root: temp ?? SIM_ROOT,
    ...(o.durability !== undefined ? { durability: o.durability } : {}),
    until,
    settle: (p) => p,
    cleanUp: () => {
      if (temp !== null) fs.rmSync(temp, { recursive: true, force: true });
    },
  });
}

/** A replica on a simulated node of its own. */
export type SimulatedSolo = SoloPartition & { readonly node: SimulatedNode };

/** One replica (default: of topic 't' partition 0) on a simulated node of its own; closing it closes the node. */
export async function soloPartition(o: SoloOptions & { seed?: number } = {}): Promise<SimulatedSolo> {
  const node = simulatedNode({ seed: o.seed });
  const solo = await node.open(o);
  return {
    ...solo,
    node,
    close: async () => {
      await solo.close();
      await node.close();
    },
  };
}

/**
 * Whether `p` is still pending once everything already queued has run (the promises it settles
 * included), without letting a simulated node's time pass.
 */
export async function pending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await turn();
  return !settled;
}

/** A batch of one record from idempotent producer `producerId`, sequence `seq`. */
export function idempotentBatch(producerId: number, seq: number, value = `v${seq}`, producerEpoch = 0): Uint8Array {
  return encodeBatch([{ value: Buffer.from(value) }], { producerId, producerEpoch, baseSequence: seq });
}
