/**
 * The host simulation: whole clusters of the real shell, in simulated time, from one seed.
 *
 * Each simulated node runs the code a node runs: a GroupHost (src/host/group-host.ts) driving
 * RaftGroups, for its partitions with Partition state machines opened by src/partition/replica.ts,
 * and for its replica of the metadata group with the MetaStateMachine over the real StateStore,
 * opened by src/meta/replica.ts (host-meta.ts); both judge the replica's disk with
 * host/replica-trust.ts, over the real SegmentLog, hard state and sync ledger, on a simulated disk
 * (sim-fs.ts), LevelDB (sim-state-store.ts) and clock (world.ts). Only the sockets are left out:
 * the network is the simulator's, which delivers each Raft message to GroupHost.step. Placement
 * is fixed: the partitions are opened from the run's topic, not from the metadata.
 *
 * Clients produce through Partition.produce with idempotent producer ids, retrying a batch with
 * its sequence number until it is acknowledged, and poll through confirmLeadership and read;
 * others commit consumer offsets through the metadata group and read them back, create topics and
 * take producer ids (host-meta.ts). They record a CHECKER.md history, which the project's checker
 * (chaos/checker) must find valid. Beside it, after every event and for every group: one leader
 * per term, a new leader holds every committed entry, no replica applies an entry other than the
 * one committed at its index (Invariants, invariants.ts).
 *
 * Faults, on a schedule drawn from the seed: crashes (the disk keeps a random prefix of what was
 * not synced, writes torn, and the state store a random prefix of its unsynced batches; the
 * metadata replica reopens from both, reconcileMetaState included), some of them while the node's
 * disk is busy (an fdatasync in flight), a crash that also costs synced data (the folder wiped, a
 * log cut, a hard state lost: the replica must rejoin as a learner), partitions, one-way cuts, an
 * isolated leader, new leaders cut off at once or after their first apply (SeedShape: the short
 * reigns of Figure 8), loss and delay, a slow disk, a failed write or fsync of the log or of the
 * state store (the group stops; the node is restarted), a flipped bit in synced log bytes, leadership transfers. Then everything
 * heals: every partition must take a write again within a bound, and final reads read every
 * partition whole; the metadata group must take a write too, and final reads read every committed
 * offset. Last, the stability probe: once every replica follows one leader under its leader's
 * configuration, a follower cut off and reconnected must not depose a healthy leader.
 *
 * The simulator must catch each of HOST_MUTANTS, the shell and the core broken on purpose
 * (host-mutants-a and -b.test.ts). A failing seed replays exactly: `npm run sim -- --seed N`.
 */
import path from 'node:path';
import pino from 'pino';
import { checkHistory, renderReport } from '../../chaos/checker/index.js';
import { MUTANTS, mutantParts } from '../../chaos/mutants.js';
import type { HistoryEvent } from '../../chaos/checker/history.js';
import { RaftError } from '../../raft/errors.js';
import { describeMembership, isMember, sameMembership, type Membership, type MembershipChange } from '../../raft/membership.js';
import { seededRandom } from '../../raft/random.js';
import { Role, type Entry, type Message, type NodeId, type ReadState, type Snapshot, type SoftState } from '../../raft/types.js';
import type { Clock } from '../../storage/clock.js';
import { CorruptLogError } from '../../storage/errors.js';
import type { FileSystem } from '../../storage/file-system.js';
import { records } from '../../src/wire/record-batch/decode.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import type { SegmentLog } from '../../storage/segment-log.js';
import { SyncLedger, SYNC_LEDGER_FILE } from '../../storage/sync-ledger.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode } from '../../src/wire/protocol.js';
import { GroupHost } from '../../src/host/group-host.js';
import { CHECK_THE_END, LogRecovery, type RecoveryMessage, type TransferChecks } from '../../src/host/log-recovery.js';
import { TransferError } from '../../storage/log-install.js';
import { decodeSnapshotStart } from '../../storage/segment-log.js';
import { readU64 } from '../../storage/frame.js';
import { EntryKind } from '../../raft/types.js';
import type { GroupStateMachine } from '../../src/host/raft-group.js';
import { partitionGroupId, type TopicRecord } from '../../src/meta/commands.js';
import { ServerError } from '../../src/errors.js';
import type { Partition } from '../../src/partition/partition.js';
import { deletePartitionReplica, openPartitionReplica, type PartitionReplicaOptions } from '../../src/partition/replica.js';
import { joiningMembership } from '../../src/partition/moves.js';
import type { DamagePolicy } from '../../src/host/replica-trust.js';
import type { RaftLimits, UnsafeMutations } from '../../raft/config.js';
import { SimMeta, emptyMetaStats, type MetaSimStats } from './host-meta.js';
import { InvariantViolation, Invariants, type NodeView } from './invariants.js';
import { SimFs } from './sim-fs.js';
import { Life, World } from './world.js';

const quiet = pino({ level: 'silent' });
const TICK_MS = 10;
const LIMITS = { electionTicks: 10, heartbeatTicks: 2 };
const ELECTION_MS = TICK_MS * LIMITS.electionTicks;
/** The simulated disk's root: a path no real disk has, so a call that missed the simulated file system fails loudly. */
const ROOT = '/proc/raftlog-sim';
const TOPIC = 't';
/** The stability probe cuts a follower off for this many election timeouts, then watches as long after reconnecting it. */
const PROBE_ELECTIONS = 4;
/** Simulated time a run may take after its fault phase (heal, final reads, probe) before it counts as stuck. */
const SIM_AFTER_CHAOS_MS_MAX = 120_000;
/** A cut of a log's newest entries takes at most this many bytes off its last segment. */
const TAIL_CUT_BYTES_MAX = 4096;

/**
 * Ways to break the Raft core on purpose (raft/config.ts UnsafeMutations), passed to the real
 * groups through RaftGroupOptions.unsafeMutations:
 * - grantVoteWithoutLogCheck: votes are granted without the §5.4.1 check that the candidate's log is up to date;
 * - commitPriorTermByCount: an earlier term's entry is committed once a majority holds it (Figure 8, §5.4.2);
 * - skipPreVote: a replica campaigns without pre-votes, so one cut off and reconnected deposes a healthy leader (the stability probe);
 * - rejoinerVotes: a replica that lost data and is rejoining votes and campaigns as if it had kept it.
 */
export const CORE_MUTANTS = [
  'grantVoteWithoutLogCheck',
  'commitPriorTermByCount',
  'skipPreVote',
  'rejoinerVotes',
  'promoteBeforeCaughtUp',
  'twoChangesInFlight',
  'countRemovedVoters',
  'snapshotPastCommit',
] as const satisfies readonly (keyof UnsafeMutations)[];

/**
 * Ways to break the shell on purpose; the simulator must catch each, and each core mutant:
 * - skipFsync: the host leaves its log writes unsynced (the chaos entry point's ack-before-fsync durability policy) and acknowledges what only the page cache holds;
 * - forgetSyncMarks: the node loses its sync ledger at every start, so a log that lost synced entries is trusted;
 * - sendBeforePersist: every Ready's messages leave before its entries and hard state are synced (a leader's may: Ready.sendFirst);
 * - ignoreDiskDamage: a replica whose disk lost synced data votes with what is left instead of rejoining (a DamagePolicy that never rejoins, replica-trust.ts);
 * - installUnverified: a follower installs the log a leader streamed without verifying it (no frame checksums, no check of where it ends: TRUST_THE_BYTES), and some chunks are damaged on the way.
 */
export const HOST_MUTANTS = ['skipFsync', 'forgetSyncMarks', 'sendBeforePersist', 'ignoreDiskDamage', 'installUnverified', ...CORE_MUTANTS] as const;
export type HostMutant = (typeof HOST_MUTANTS)[number];

/**
 * What a seed draws for the shapes that expose commit-rule bugs (Figure 8 of the Raft paper: a
 * leader that commits an earlier term's entry by counting its copies). A third of the seeds are
 * storms: append messages of one entry, one in flight, so a new leader's entries reach a follower
 * one round trip at a time, and every new leader cut off from everyone, at once (so that its
 * entry of its own term reaches no one) or right after its first apply (so that a follower holds
 * the earlier term's entries it committed, but not its own). One leader is cut off at a time: a
 * strike reconnects the one struck before, as Figure 8's servers take turns. Those short reigns
 * leave logs ending in different terms, and, under the broken rule, a later leader that lacks an
 * entry committed too early (without the turns, few seeds in a thousand got there). The other
 * seeds draw their append limits, and a third of them strike some new leaders. Drawn from a random
 * of their own, so the rest of a seed's schedule comes from the main one.
 */
interface SeedShape {
  readonly limits: Partial<RaftLimits>;
  /** The replicas' tail cache, and how a leader streams its files (log-recovery.ts): small, so that followers fall behind it and catch up by files. */
  readonly tailCacheBytes: number;
  readonly chunkBytes: number;
  readonly recoveryBytesPerSec: number;
  /** The chance that a new leader is cut off, in the fault phase. */
  readonly strikeNewLeader: number;
  readonly random: () => number;
}

function seedShape(seed: number): SeedShape {
  const random = seededRandom(seed * 15_485_863 + 11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const files = { tailCacheBytes: pick([512, 2048, 64 * 1024]), chunkBytes: pick([256, 4096, 1024 * 1024]), recoveryBytesPerSec: pick([0, 0, 256 * 1024]) };
  const cold = { snapshotColdBytesMin: pick([1, 1, 4096, 64 * 1024 * 1024]) };
  if (random() < 1 / 3) return { limits: { ...LIMITS, ...cold, appendBytesMax: 1, appendsInFlightMax: 1 }, ...files, strikeNewLeader: 1, random };
  return {
    limits: { ...LIMITS, ...cold, appendBytesMax: pick([1, 1024, 1024 * 1024]), appendsInFlightMax: pick([1, 2, 8, 64]) },
    ...files,
    strikeNewLeader: pick([0, 0, 0.15]),
    random,
  };
}

/** The ignoreDiskDamage mutant's policy: a replica in doubt never rejoins. */
const VOTE_WITH_WHAT_IS_LEFT: DamagePolicy = Object.freeze({ rejoins: () => false });

/**
 * The installUnverified mutant's checks: a chunk's frames are taken at their word (lengths, index,
 * term, kind, payload; no checksum), and the staged log is installed wherever it ends.
 */
const TRUST_THE_BYTES: TransferChecks = Object.freeze({
  frames: {
    entries(bytes: Uint8Array): Entry[] {
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const out: Entry[] = [];
      let at = 0;
      while (at + 25 <= b.length) {
        const total = 4 + b.readUInt32BE(at);
        if (at + total > b.length) throw new TransferError('a frame runs past its chunk');
        const kind = (b[at + 24]! & 0x7f) as EntryKind;
        out.push({ index: readU64(b, at + 8), term: readU64(b, at + 16), kind, data: b.subarray(at + 25, at + total) });
        at += total;
      }
      return out;
    },
  },
  end: () => null,
});

/** How often an install of a leader's log loses power halfway, within at most this many disk changes from its start. */
const INSTALL_POWER_LOSS_RATE = 0.3;
const INSTALL_POWER_LOSS_CHANGES_MAX = 16;

/**
 * A transfer's second chunk is damaged on its way (one byte flipped) this often: the follower must
 * notice (and the transfer is tried again). One chunk per transfer, so a long one is not doomed.
 */
const CHUNK_DAMAGE_RATE = 0.25;

/** What the mutant changes in a replica's options (nothing for the shell's own mutants). */
function mutantReplicaOptions(m: HostMutant | undefined): Pick<PartitionReplicaOptions, 'onDamage' | 'unsafeMutations'> {
  if (m === 'ignoreDiskDamage') return { onDamage: VOTE_WITH_WHAT_IS_LEFT };
  if (m !== undefined && (CORE_MUTANTS as readonly string[]).includes(m)) return { unsafeMutations: { [m]: true } };
  return {};
}

export interface HostSimOptions {
  readonly seed: number;
  readonly mutant?: HostMutant;
  readonly trace?: boolean;
  /** Length of the fault phase, in simulated milliseconds. */
  readonly chaosMs?: number;
}

export interface HostSimStats {
  events: number;
  timeMs: number;
  nodes: number;
  leaders: number;
  crashes: number;
  damagedDisks: number;
  ioFailures: number;
  bitFlips: number;
  partitions: number;
  transfers: number;
  sends: number;
  acked: number;
  polls: number;
  /** Segments dropped by retention, and log starts a replica took from its leader (Partition.restore). */
  segmentsDropped: number;
  snapshotsInstalled: number;
  /** Logs installed from a leader's files (a snapshot past its log start), chunks streamed, and transfers abandoned. */
  filesInstalled: number;
  chunksSent: number;
  transfersStarted: number;
  transfersFailed: number;
  /** Installs armed to lose power halfway, and crashes while a node was sending or receiving a log. */
  installPowerLosses: number;
  crashesMidTransfer: number;
  /** Membership changes the leaders took (raft/membership.ts), replicas the simulator created and deleted for them, stability probes skipped (no follower to cut). */
  membershipChanges: number;
  replicasAdded: number;
  replicasDeleted: number;
  probesSkipped: number;
  /** The metadata group's (host-meta.ts). */
  meta: MetaSimStats;
}

export interface HostSimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly trace: readonly string[];
  readonly stats: HostSimStats;
}

/** The sendBeforePersist mutant: the host's one ordering rule broken, on the real group. */
function sendEveryReadyFirst(part: Partition): void {
  const raft = part.group.raft;
  const ready = raft.ready.bind(raft);
  raft.ready = () => {
    const rd = ready();
    (rd as { sendFirst: boolean }).sendFirst = true;
    return rd;
  };
}

/** One simulated node: its disk outlives its incarnations. */
class SimNode {
  readonly disk: SimFs;
  life = new Life();
  up = false;
  host: GroupHost | null = null;
  recovery: LogRecovery | null = null;
  ledger: SyncLedger | null = null;
  fs: FileSystem | null = null;
  clock: Clock | null = null;
  readonly partitions = new Map<string, Partition>();
  /** The node's disk lost its data: its replicas start as rejoining learners (what the node's folder identity decides). */
  wiped = false;
  /** A bit of its synced log was flipped: it may have lost data without knowing yet. */
  flipped = false;
  readonly wasLeader = new Map<string, number>();
  /** Its view of each partition for the invariants (HostSimulation.view); each reads the replica it holds now. */
  readonly views = new Map<string, NodeView>();

  constructor(readonly id: NodeId, readonly index: number, sim: HostSimulation) {
    this.disk = new SimFs({ schedule: (fn) => sim.diskLatency(this, fn), random: sim.random });
    this.disk.onPowerLoss = () => sim.powerLost(this);
  }

  get root(): string {
    return path.posix.join(ROOT, this.id);
  }
}

class Recorder {
  readonly events: HistoryEvent[] = [];
  private nextProcess = 0;
  constructor(private readonly world: World) {}
  newProcess(): number {
    return this.nextProcess++;
  }
  nemesisEvents = 0;
  add(process: number, type: HistoryEvent['type'], f: HistoryEvent['f'], value: unknown, node?: string, error?: string): void {
    if (process === -1) this.nemesisEvents++;
    this.events.push({ index: this.events.length, time: Math.round(this.world.now * 1e6), process, type, f, value, ...(node !== undefined ? { node } : {}), ...(error !== undefined ? { error } : {}) });
  }
}

export class HostSimulation {
  readonly random: () => number;
  private readonly world = new World();
  private readonly nodes: SimNode[] = [];
  private readonly topic: TopicRecord;
  private readonly keys: string[];
  private readonly inv = new Map<string, Invariants>();
  private readonly history: Recorder;
  private readonly traceOn: boolean;
  readonly trace: string[] = [];
  readonly stats: HostSimStats;
  private phase: 'chaos' | 'heal' | 'final' | 'probe' | 'done' = 'chaos';
  private blocked = new Set<string>();
  private lossRate = 0;
  private spikes = 0.03;
  private slowDisk = false;
  private readonly faultGap: number;
  private readonly shape: SeedShape;
  private readonly chaosMs: number;
  private failure: Error | null = null;
  private clientsDone: Promise<unknown> = Promise.resolve();
  /** The leader each client believes in, per key. */
  private readonly leaderGuess = new Map<string, NodeId>();
  /** Per key, every offset below this was read by some poll: retention may drop it without a value going unseen. */
  private readonly readFrontier = new Map<string, number>();
  /** The metadata group on every node, and its clients (host-meta.ts). */
  private readonly meta: SimMeta;
  /**
   * Per key, the nodes that hold a replica now. The simulator plays the controller (DESIGN.md §9):
   * it creates a replica on a node it adds to a group and deletes it once its removal is committed.
   */
  private readonly placed = new Map<string, Set<NodeId>>();
  /** The configuration a replica added to a running group opens with until its log holds one, by `node/key`. */
  private readonly joinedWith = new Map<string, Membership>();
  /** For the seeds that change membership (decided first, from a random of their own). */
  private readonly membershipRandom: () => number;
  private readonly changesMembership: boolean;
  /**
   * Keys whose partition was reassigned to its own nodes in another order before the run (a new
   * preferred leader; the group changes nothing, and its log holds no configuration entry). A
   * node creates a replica of a reassigned partition as a joining learner (node.ts, topic.moved):
   * one whose disk was lost comes back with that guess at its log start, not its group's
   * configuration, and must learn the group's from its leader (raft/membership.ts).
   */
  private readonly reordered: ReadonlySet<string>;

  constructor(readonly options: HostSimOptions) {
    this.random = seededRandom(options.seed * 104_729 + 7);
    this.traceOn = options.trace === true;
    this.history = new Recorder(this.world);
    // Half the seeds change membership (a random of their own, so the other half keep their
    // schedules), on four or five nodes: a group keeps at least three voters (with two, one
    // replica rejoining after a damaged disk stops the group for good), so a group of three
    // grows before it shrinks.
    this.membershipRandom = seededRandom(options.seed * 7_919 + 3);
    this.changesMembership = this.membershipRandom() < 0.5;
    const three = this.random() < 0.6;
    const n = this.changesMembership ? (this.membershipRandom() < 0.5 ? 4 : 5) : three ? 3 : 5;
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const partitions = this.random() < 0.5 ? 1 : 2;
    // Small segments on some seeds, so logs roll and recovery crosses segment files.
    const segmentBytes = this.pick([2048, 16 * 1024, 1024 * 1024]);
    this.topic = {
      name: TOPIC,
      id: 'T1',
      partitions,
      replicationFactor: 3,
      config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes },
      assignments: Array.from({ length: partitions }, (_, p) => [0, 1, 2].map((k) => ids[(p + k) % n]!)),
    };
    this.keys = Array.from({ length: partitions }, (_, p) => `${TOPIC}/${p}`);
    this.topic.assignments.forEach((a, p) => {
      this.inv.set(this.keys[p]!, new Invariants({ voters: a, learners: [] }));
      this.placed.set(this.keys[p]!, new Set(a));
    });
    // A random of its own, so the other schedules stay what they were.
    const reorder = seededRandom(options.seed * 5_381 + 11);
    this.reordered = new Set(this.keys.filter(() => reorder() < 0.5));

    this.faultGap = this.pick([400, 200, 100]);
    this.shape = seedShape(options.seed);
    this.chaosMs = options.chaosMs ?? 3000;
    this.stats = { events: 0, timeMs: 0, nodes: n, leaders: 0, crashes: 0, damagedDisks: 0, ioFailures: 0, bitFlips: 0, partitions: 0, transfers: 0, sends: 0, acked: 0, polls: 0, segmentsDropped: 0, snapshotsInstalled: 0, filesInstalled: 0, chunksSent: 0, transfersStarted: 0, transfersFailed: 0, installPowerLosses: 0, crashesMidTransfer: 0, membershipChanges: 0, replicasAdded: 0, replicasDeleted: 0, probesSkipped: 0, meta: emptyMetaStats() };
    for (let i = 0; i < n; i++) this.nodes.push(new SimNode(ids[i]!, i, this));
    this.meta = this.metaSimulation();
  }

  async run(): Promise<HostSimResult> {
    try {
      for (const node of this.nodes) this.start(node);
      this.clientsDone = this.clients();
      this.world.after(50 + this.random() * 100, () => this.fault());
      if (this.changesMembership) {
        this.world.after(100 + this.membershipRandom() * 200, () => this.membershipFault());
        this.world.after(ELECTION_MS, () => this.reconcile());
      }
      this.world.after(this.chaosMs, () => void this.heal());
      // Every phase after the faults has its own bound; this one catches a simulator that waits
      // for what cannot happen, so that a seed fails instead of running forever.
      const endBy = this.chaosMs + SIM_AFTER_CHAOS_MS_MAX;
      await this.world.run(
        () => this.phase === 'done' || this.failure !== null || this.world.now > endBy,
        () => this.observe(),
      );
      if (this.failure !== null) throw this.failure;
      if (this.world.now > endBy) throw new InvariantViolation(`the run did not end within ${SIM_AFTER_CHAOS_MS_MAX} ms after the faults (phase ${this.phase})`);
      if (this.phase !== 'done') throw new InvariantViolation(`the event queue ran dry in phase ${this.phase}`);
      this.checkHistory();
      for (const node of this.nodes) this.countTransfers(node);
      this.stats.events = this.world.events;
      this.stats.timeMs = this.world.now;
      return { seed: this.options.seed, ok: true, trace: this.trace, stats: this.stats };
    } catch (err) {
      this.stats.events = this.world.events;
      this.stats.timeMs = this.world.now;
      const msg = err instanceof Error ? `${err.name}: ${err.message}${err instanceof InvariantViolation ? '' : `\n${err.stack ?? ''}`}` : String(err);
      this.log(`FAILED: ${msg}`);
      return { seed: this.options.seed, ok: false, error: `t=${this.world.now.toFixed(1)}ms: ${msg}`, trace: this.trace, stats: this.stats };
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Nodes

  private start(node: SimNode): void {
    if (node.up) return;
    node.life = new Life();
    node.up = true;
    const life = node.life;
    const clock = this.world.clock(life);
    const fs: FileSystem = node.disk;
    fs.mkdirSync(node.root, { recursive: true });
    if (this.options.mutant === 'forgetSyncMarks') fs.rmSync(path.posix.join(node.root, SYNC_LEDGER_FILE), { force: true });
    const ledger = SyncLedger.open(node.root, fs, clock);
    const host = new GroupHost({
      tickMs: TICK_MS,
      syncMode: 'fsync',
      syncIntervalMs: 100,
      logger: quiet,
      clock,
      send: (group, m) => this.send(node, group, m),
      ...(this.options.mutant === 'skipFsync' ? { durability: mutantParts(MUTANTS.ackBeforeFsync).durability! } : {}),
    });
    const recovery = new LogRecovery({
      self: node.id,
      host,
      fs,
      clock,
      send: (to, m) => this.sendRecovery(node, to, m),
      bytesPerSec: this.shape.recoveryBytesPerSec,
      chunkBytes: this.shape.chunkBytes,
      idleMs: 10 * ELECTION_MS,
      checks: this.options.mutant === 'installUnverified' ? TRUST_THE_BYTES : CHECK_THE_END,
      logger: process.env['DEBUG_REC'] ? pino({ level: 'info' }, pino.destination(2)) : quiet,
    });
    host.recovery = recovery;
    node.host = host;
    node.recovery = recovery;
    node.ledger = ledger;
    node.fs = fs;
    node.clock = clock;
    for (let p = 0; p < this.topic.partitions; p++) {
      if (this.placed.get(this.keys[p]!)!.has(node.id)) this.openReplica(node, p);
      else ledger.forget(partitionGroupId(this.topic.id, p));
    }
    this.meta.open(node);
    node.wiped = false;
    host.start();
  }

  /** Opens one replica on a running node, as the node does (src/partition/replica.ts). */
  private openReplica(node: SimNode, p: number): void {
    const key = this.keys[p]!;
    const joined = this.joinedWith.get(`${node.id}/${key}`) ?? (node.wiped && this.reordered.has(key) ? joiningMembership([...this.placed.get(key)!], node.id) : undefined);
    const part = openPartitionReplica({
      group: partitionGroupId(this.topic.id, p),
      dir: path.posix.join(node.root, 'partitions', `${TOPIC}-${p}`),
      topic: this.topic,
      partition: p,
      self: node.id,
      fs: node.fs!,
      clock: node.clock!,
      ledger: node.ledger!,
      host: node.host!,
      fresh: node.wiped || this.deletedOnce.has(`${node.id}/${key}`) ? 'rejoin' : 'voter',
      ...(joined !== undefined ? { membership: joined } : {}),
      tailCacheBytes: this.shape.tailCacheBytes,
      limits: this.shape.limits,
      producerIdExpirationMs: 24 * 3600 * 1000,
      random: seededRandom(Math.floor(this.random() * 2 ** 31)),
      logger: quiet,
      ...mutantReplicaOptions(this.options.mutant),
    });
    this.observeApplies(node, key, part);
    if (this.options.mutant === 'sendBeforePersist') sendEveryReadyFirst(part);
    node.partitions.set(key, part);
    this.inv.get(key)!.onReopen(this.view(node, key));
  }

  /** A replica found its log corrupt while running: closed and opened again, repaired and rejoining, as the node does (node.ts, reopenPartition). */
  private reopen(node: SimNode, key: string): void {
    const p = node.partitions.get(key);
    if (p === undefined || !node.up) return;
    this.log(`${node.id} reopens ${key} to repair its log`);
    node.partitions.delete(key);
    node.host!.remove(p.group.id);
    p.close('the replica found its log corrupt and is being repaired');
    p.group.close();
    node.wasLeader.delete(key);
    this.openReplica(node, this.keys.indexOf(key));
  }

  /** Sees every entry a replica applies, on its way to the partition (the invariants' view). */
  private observeApplies(node: SimNode, key: string, part: Partition): void {
    const inner = part.group.sm;
    const inv = this.inv.get(key)!;
    const view = this.view(node, key);
    const sm: GroupStateMachine = {
      apply: (entries: readonly Entry[]) => {
        for (const e of entries) inv.onApply(view, e, null, null);
        this.onApplied(node, key);
        return inner.apply(entries);
      },
      restore: (s: Snapshot, log: SegmentLog) => {
        this.stats.snapshotsInstalled++;
        const start = decodeSnapshotStart(s);
        if (s.index > start.index) this.stats.filesInstalled++;
        this.log(s.index > start.index ? `${node.id} installs ${key}'s log ${start.index + 1}..${s.index} (term ${s.term}) from its leader's files` : `${node.id} takes ${key}'s log start ${s.index}/${s.term} from its leader`);
        // Now and then the power goes in the middle of the install (after a few disk changes):
        // the replica must come back with its old log or the new one.
        const armed = s.index > start.index && this.phase === 'chaos' && this.random() < INSTALL_POWER_LOSS_RATE;
        if (armed) {
          node.disk.armPowerLoss(Math.floor(this.random() * INSTALL_POWER_LOSS_CHANGES_MAX));
          this.stats.installPowerLosses++;
        }
        let done;
        try {
          done = inner.restore(s, log);
        } finally {
          if (armed) node.disk.armPowerLoss(null);
        }
        // The entries installed are committed on this replica from now on, as if it had applied
        // them: each must be the one committed at its index.
        for (let i = start.index + 1; i <= s.index; i++) inv.onApply(view, log.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0]!, null, null);
        return done;
      },
      onSoftState: (s: SoftState, term: number) => inner.onSoftState(s, term),
      onPersisted: (index: number, term: number) => inner.onPersisted(index, term),
      onReadStates: (states: readonly ReadState[], dropped: readonly unknown[]) => inner.onReadStates(states, dropped),
    };
    part.group.sm = sm;
  }

  /** `node`'s view of partition `key`, made once (observe() reads them after every event). */
  private view(node: SimNode, key: string): NodeView {
    let v = node.views.get(key);
    if (v === undefined) node.views.set(key, (v = this.makeView(node, key)));
    return v;
  }

  private makeView(node: SimNode, key: string): NodeView {
    const part = (): Partition => {
      const p = node.partitions.get(key);
      if (p === undefined) throw new Error(`${node.id} does not hold ${key} now`);
      return p;
    };
    return {
      id: node.id,
      term: () => part().group.raft.term,
      commit: () => part().group.raft.committed,
      isLeader: () => part().group.raft.role === Role.Leader,
      firstIndex: () => part().log.firstIndex(),
      lastIndex: () => part().log.lastIndex(),
      termAt: (i) => {
        const log = part().log;
        return i < log.firstIndex() - 1 || i > log.lastIndex() ? null : log.term(i);
      },
      entryAt: (i) => {
        const log = part().log;
        if (i < log.firstIndex() || i > log.lastIndex()) return null;
        return log.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0] ?? null;
      },
    };
  }

  /**
   * Stops a node: `power` loses what its disk had not synced (a power loss, a kernel crash),
   * `process` keeps it (the process killed or restarted; the page cache survives).
   */
  private crash(node: SimNode, why: string, how: 'power' | 'process' = 'power'): void {
    if (!node.up) return;
    this.log(`${how === 'power' ? 'power loss on' : 'kill'} ${node.id} (${why})`);
    this.history.add(-1, 'info', 'kill', [node.id]);
    this.stats.crashes++;
    node.life.alive = false;
    node.up = false;
    if ((node.recovery?.transfers().length ?? 0) > 0) this.stats.crashesMidTransfer++;
    this.countTransfers(node);
    node.host = null;
    node.recovery = null;
    node.partitions.clear();
    node.wasLeader.clear();
    node.ledger = null;
    node.fs = null;
    node.clock = null;
    if (how === 'power') node.disk.crash();
    else node.disk.closeAll();
    this.meta.onCrash(node, how);
    const damage = this.damageFor(node);
    if (damage !== null) this.damage(node, damage);
    if (this.random() < 0.5) {
      for (const other of this.nodes) {
        if (other === node) continue;
        const life = other.life;
        this.world.after(1 + this.random() * 5, () => other.host?.peerDown(node.id), life);
      }
    }
    if (this.phase === 'chaos') this.world.after(20 + this.random() * 3 * this.faultGap, () => this.restart(node));
  }

  /** Adds a node's transfer counts to the run's, once (at a crash, or at the end). */
  private countTransfers(node: SimNode): void {
    const r = node.recovery;
    if (r === null) return;
    this.stats.transfersStarted += r.stats.sendsStarted;
    this.stats.transfersFailed += r.stats.sendsFailed;
    node.recovery = null;
  }

  private restart(node: SimNode): void {
    if (node.up || this.failure !== null) return;
    this.log(`restart ${node.id}`);
    this.history.add(-1, 'info', 'restart', [node.id]);
    this.start(node);
    for (const other of this.nodes) {
      if (other === node || !other.up) continue;
      this.world.after(1 + this.random() * 5, () => other.host?.peerUp(node.id), other.life);
      this.world.after(1 + this.random() * 5, () => node.host?.peerUp(other.id), node.life);
    }
  }

  /**
   * Whether this crash also costs the node synced data: only while every other node holds what it
   * acknowledged (none is rejoining), or no majority could keep an acknowledged write.
   */
  private damageFor(node: SimNode): 'wipe' | 'cut' | 'hardState' | null {
    const r = this.random();
    if (r >= 0.2 || !this.othersWhole(node)) return null;
    return r < 0.07 ? 'wipe' : r < 0.14 ? 'cut' : 'hardState';
  }

  /** Every other node is up and none of its replicas is rejoining: this one may lose data without a majority losing it. */
  private othersWhole(node: SimNode): boolean {
    for (const other of this.nodes) {
      if (other === node) continue;
      if (!other.up || other.wiped || other.flipped || this.meta.rejoining(other)) return false;
      for (const p of other.partitions.values()) if (p.group.raft.rejoin !== null) return false;
    }
    return true;
  }

  private damage(node: SimNode, kind: 'wipe' | 'cut' | 'hardState'): void {
    this.stats.damagedDisks++;
    for (const inv of this.inv.values()) inv.onDamagedDisk(node.id);
    this.meta.onDamage(node, kind);
    if (kind === 'wipe') {
      node.disk.wipe(node.root);
      node.wiped = true;
      this.log(`${node.id}'s disk comes back empty`);
      return;
    }
    const files = node.disk.allFiles().map(([p]) => p);
    if (kind === 'cut') {
      // Half the cuts take only the newest entries of a log's last segment: what was synced just
      // before the crash, the entries a replica acknowledged last.
      const logs = files.filter((p) => p.endsWith('.log'));
      const tail = this.random() < 0.5;
      const pool = tail ? logs.filter((p) => !logs.some((q) => path.posix.dirname(q) === path.posix.dirname(p) && q > p)) : logs;
      const file = pool[Math.floor(this.random() * pool.length)];
      if (file === undefined) return;
      const size = node.disk.size(file);
      const to = tail ? Math.max(0, size - 1 - Math.floor(this.random() * TAIL_CUT_BYTES_MAX)) : Math.floor(this.random() * size);
      node.disk.truncateFile(file, to);
      this.log(`${node.id}'s disk lost the end of ${file} (${size} -> ${to} bytes)`);
    } else {
      const hs = files.filter((p) => p.endsWith('/hardstate'));
      const file = hs[Math.floor(this.random() * hs.length)];
      if (file === undefined) return;
      node.disk.remove(file);
      this.log(`${node.id}'s disk lost ${file}`);
    }
  }

  /** An armed power loss struck `node`'s disk (SimFs.armPowerLoss): the node goes down once the call that hit it unwinds. */
  powerLost(node: SimNode): void {
    const life = node.life;
    this.world.after(0, () => life.alive && this.crash(node, 'the power went during an install', 'power'));
  }

  /** Disk latency for a node's async calls; dropped if the node dies first. */
  diskLatency(node: SimNode, fn: () => void): void {
    const ms = this.slowDisk ? 2 + this.random() * 30 : 0.2 + this.random() * 2;
    this.world.after(ms, fn, node.life);
    if (this.crashMidIo.delete(node) && this.phase === 'chaos') {
      // Only while the faults last: a crash that fires after the heal would leave the node down.
      this.world.after(ms * this.random(), () => this.phase === 'chaos' && this.crash(node, 'while its disk was busy'), node.life);
    }
  }

  /** Nodes to lose power during their next disk call (an fdatasync, most often): what they sent before it completes is what they lose. */
  private readonly crashMidIo = new Set<SimNode>();

  // -----------------------------------------------------------------------------------------------
  // Network

  private send(from: SimNode, group: string, m: Message): void {
    if (this.random() < this.lossRate) return;
    const copies = this.random() < 0.01 ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = this.random() < this.spikes ? 10 + this.random() * 60 : 0.5 + this.random() * 4;
      this.world.after(delay, () => {
        if (this.blocked.has(`${from.id}>${m.to}`)) return;
        const to = this.byId(m.to);
        if (to.up) to.host!.step(group, m);
      });
    }
  }

  /** Per link, when its last recovery message arrives: they keep their order, as on a connection. */
  private readonly linkAt = new Map<string, number>();

  /**
   * A catch-up transfer's message (log-recovery.ts): in order on its link, lost with the link's
   * loss rate or a cut, and a chunk now and then damaged on the way.
   */
  private sendRecovery(from: SimNode, to: NodeId, m: RecoveryMessage): void {
    if (m.k === 'chunk') this.stats.chunksSent++;
    if (this.random() < this.lossRate) return;
    let msg = m;
    if (m.k === 'chunk' && m.seq === 1 && m.bytes.byteLength > 0 && this.random() < CHUNK_DAMAGE_RATE) {
      const bytes = Buffer.from(m.bytes);
      bytes[Math.floor(this.random() * bytes.length)]! ^= 1 << Math.floor(this.random() * 8);
      msg = { ...m, bytes };
    }
    const link = `${from.id}>${to}`;
    const delay = this.random() < this.spikes ? 10 + this.random() * 60 : 0.5 + this.random() * 4;
    const at = Math.max(this.world.now + delay, (this.linkAt.get(link) ?? 0) + 0.001);
    this.linkAt.set(link, at);
    const life = from.life;
    this.world.after(at - this.world.now, () => {
      if (!life.alive || this.blocked.has(link)) return;
      const peer = this.byId(to);
      if (peer.up) peer.recovery?.receive(from.id, msg);
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Checks after every event

  private observe(): void {
    try {
      for (const node of this.nodes) {
        if (!node.up) continue;
        for (const [key, p] of node.partitions) {
          const g = p.group;
          if (g.failed !== null) {
            // Found corrupt: reopened at once, as the node does. Any other storage failure stops
            // the group until its node restarts (an operator restarts it).
            if (this.phase !== 'done') {
              if (g.failed.startsWith('CorruptLogError')) this.reopenSoon(node, key);
              else this.crashSoon(node, `group ${key} stopped: ${g.failed}`);
            }
            continue;
          }
          const inv = this.inv.get(key)!;
          const view = this.view(node, key);
          inv.checkMonotonic(view);
          if (g.raft.role === Role.Leader) {
            if (node.wasLeader.get(key) !== g.raft.term) {
              node.wasLeader.set(key, g.raft.term);
              this.stats.leaders++;
              this.log(`${node.id} leads ${key} in term ${g.raft.term}`);
              this.maybeStrikeNewLeader(node, key, g.raft.term);
              try {
                inv.onLeader(view);
              } catch (err) {
                // Reading its log found a flipped bit: the host stops the group when it reads there too.
                if (!(err instanceof CorruptLogError)) throw err;
                g.fail(err);
              }
            }
            this.checkCommitQuorum(node, key, p);
          }
        }
      }
      this.meta.observe();
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
    }
  }

  /** Per `node/key/term`, the commit index a leader's quorum was last checked at. */
  private readonly quorumChecked = new Map<string, number>();

  /**
   * Commit needs a majority of the configuration (raft/membership.ts): when a leader moves its
   * commit index, a majority of the voters of its configuration hold that entry. A voter that is
   * down or rejoining is given the benefit of the doubt (what it held may be on its disk, or lost
   * to a damaged disk after it acknowledged); one that runs and lacks the entry counts against.
   */
  private checkCommitQuorum(node: SimNode, key: string, p: Partition): void {
    const raft = p.group.raft;
    const commit = raft.committed;
    // Only what this leader commits: what it knew committed when it took the lead was committed
    // by an earlier configuration's majority, which need not be one of this configuration.
    const at = `${node.id}/${key}/${raft.term}`;
    const last = this.quorumChecked.get(at);
    this.quorumChecked.set(at, commit);
    if (last === undefined || last >= commit || commit < p.log.firstIndex()) return;
    const term = raft.termAt(commit);
    const voters = raft.voters;
    let lacking = 0;
    for (const id of voters) {
      const other = this.byId(id);
      const q = other.partitions.get(key);
      if (!other.up || q === undefined || q.group.failed !== null || q.group.raft.rejoin !== null) continue;
      const held = commit <= q.log.lastIndex() && commit >= q.log.firstIndex() - 1 ? q.log.term(commit) : null;
      if (held !== term) lacking++;
    }
    if (voters.length - lacking < Math.floor(voters.length / 2) + 1) {
      throw new InvariantViolation(`commit quorum: ${node.id} commits ${key} up to ${commit} (term ${term}), which ${lacking} of its ${voters.length} voters (${voters.join(',')}) do not hold`);
    }
  }

  /** The metadata group's part of the run (host-meta.ts), with what it needs of this one. */
  private metaSimulation(): SimMeta {
    return new SimMeta({
      world: this.world,
      random: this.random,
      history: this.history,
      nodes: this.nodes,
      topic: this.topic,
      keys: this.keys,
      limits: LIMITS,
      electionMs: ELECTION_MS,
      stats: this.stats.meta,
      phase: () => this.phase,
      log: (line) => this.log(line),
      within: (p, ms) => this.within(p, ms),
      diskLatency: (node, fn) => this.diskLatency(this.byId(node.id), fn),
      crashSoon: (node, why) => this.crashSoon(this.byId(node.id), why),
      fail: (err) => {
        this.failure ??= err;
      },
    });
  }

  /** On some seeds, a new leader is cut off from everyone at once or after its first apply (SeedShape). */
  private maybeStrikeNewLeader(node: SimNode, key: string, term: number): void {
    if (this.phase !== 'chaos' || this.shape.random() >= this.shape.strikeNewLeader) return;
    const atOnce = this.shape.random() < 0.6;
    const strike = (): void => {
      const g = node.partitions.get(key)?.group;
      if (this.phase !== 'chaos' || !node.up || g === undefined || g.raft.role !== Role.Leader || g.raft.term !== term) return;
      const before = this.struck;
      if (before !== null && before !== node) {
        for (const n of this.nodes) {
          this.blocked.delete(`${before.id}>${n.id}`);
          this.blocked.delete(`${n.id}>${before.id}`);
        }
        this.log(`reconnect ${before.id}`);
      }
      this.struck = node;
      for (const n of this.nodes) {
        if (n === node) continue;
        this.blocked.add(`${node.id}>${n.id}`);
        this.blocked.add(`${n.id}>${node.id}`);
      }
      this.stats.partitions++;
      this.log(`isolate ${key}'s new leader ${node.id} ${atOnce ? 'at once' : 'after its first apply'}`);
      this.history.add(-1, 'info', 'partition', [node.id]);
    };
    if (atOnce) strike();
    else this.strikeOnApply.set(`${node.id}/${key}`, strike);
  }

  /** The leader cut off last; reconnected (all its links, whatever cut them) when the next is struck. */
  private struck: SimNode | null = null;

  /** Strikes waiting for a new leader's first apply (maybeStrikeNewLeader), by node and partition. */
  private readonly strikeOnApply = new Map<string, () => void>();

  private onApplied(node: SimNode, key: string): void {
    const strike = this.strikeOnApply.get(`${node.id}/${key}`);
    if (strike === undefined) return;
    this.strikeOnApply.delete(`${node.id}/${key}`);
    strike();
  }

  private reopenSoon(node: SimNode, key: string): void {
    const life = node.life;
    const p = node.partitions.get(key);
    this.world.after(0, () => {
      if (life.alive && node.partitions.get(key) === p) this.reopen(node, key);
    }, life);
  }

  private readonly crashing = new Set<SimNode>();
  private crashSoon(node: SimNode, why: string): void {
    if (this.crashing.has(node)) return;
    this.crashing.add(node);
    const life = node.life;
    this.world.after(10 + this.random() * 40, () => {
      this.crashing.delete(node);
      if (!life.alive) return;
      this.crash(node, why, 'process');
      if (this.phase !== 'chaos') this.world.after(20, () => this.restart(node));
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Faults

  private fault(): void {
    if (this.phase !== 'chaos' || this.failure !== null) return;
    this.world.after(this.faultGap * (0.2 + this.random() * 1.6), () => this.fault());
    const r = this.random();
    const up = this.nodes.filter((n) => n.up);
    const someUp = up[Math.floor(this.random() * up.length)];
    const leader = this.leaderOf(this.pick(this.keys));
    if (r < 0.14 && up.length > 1 && someUp !== undefined) {
      const how = this.random();
      if (how < 0.4) this.crashMidIo.add(someUp);
      else this.crash(someUp, 'fault', how < 0.8 ? 'power' : 'process');
    } else if (r < 0.26 && leader !== null) {
      this.crash(leader, 'the leader', this.random() < 0.7 ? 'power' : 'process');
    } else if (r < 0.38) {
      const side = new Set(this.nodes.filter(() => this.random() < 0.5).map((n) => n.id));
      this.blocked.clear();
      for (const a of this.nodes) for (const b of this.nodes) if (side.has(a.id) !== side.has(b.id)) this.blocked.add(`${a.id}>${b.id}`);
      this.stats.partitions++;
      this.log(`partition {${[...side].join(',')}} from the rest`);
      this.history.add(-1, 'info', 'partition', [...side]);
    } else if (r < 0.46 && leader !== null) {
      for (const n of this.nodes) {
        if (n === leader) continue;
        this.blocked.add(`${leader.id}>${n.id}`);
        this.blocked.add(`${n.id}>${leader.id}`);
      }
      this.stats.partitions++;
      this.log(`isolate the leader ${leader.id}`);
      this.history.add(-1, 'info', 'partition', [leader.id]);
    } else if (r < 0.52) {
      const a = this.pick(this.nodes).id;
      const b = this.pick(this.nodes).id;
      if (a !== b) {
        this.blocked.add(`${a}>${b}`);
        this.stats.partitions++;
        this.log(`cut ${a}→${b} one way`);
        this.history.add(-1, 'info', 'partition', [`${a}>${b}`]);
      }
    } else if (r < 0.64) {
      this.blocked.clear();
      this.log('heal the network');
      this.history.add(-1, 'info', 'heal', null);
    } else if (r < 0.72) {
      this.lossRate = this.pick([0, 0, 0.05, 0.15, 0.3]);
      this.spikes = this.pick([0.01, 0.03, 0.1]);
      this.slowDisk = this.random() < 0.3;
      this.log(`network loss ${this.lossRate}, delay spikes ${this.spikes}, slow disk ${this.slowDisk}`);
    } else if (r < 0.8 && someUp !== undefined) {
      const kind = this.random() < 0.5 ? 'write' : 'sync';
      this.stats.ioFailures++;
      if (this.random() < 0.3) {
        this.meta.failNextStoreWrite(someUp, kind);
        this.log(`${someUp.id}'s metadata state store fails its next ${kind === 'write' ? 'batch' : 'synced batch'}`);
      } else {
        someUp.disk.failNext(kind);
        this.log(`${someUp.id}'s next ${kind} fails`);
      }
    } else if (r < 0.86 && someUp !== undefined && this.othersWhole(someUp)) {
      const hit = someUp.disk.flipBit(/\.log$/);
      if (hit !== null) {
        someUp.flipped = true;
        this.stats.bitFlips++;
        this.log(`flip a bit of ${hit.file} at byte ${hit.position} on ${someUp.id}`);
        this.history.add(-1, 'info', 'corrupt', [someUp.id]);
      }
    } else if (r < 0.92 && someUp !== undefined) {
      this.retention(someUp);
    } else if (leader !== null) {
      const key = this.keys.find((k) => this.leaderOf(k) === leader) ?? this.keys[0]!;
      const p = leader.partitions.get(key);
      const to = p === undefined ? leader.id : this.pick(p.group.raft.voters);
      if (p !== undefined && to !== leader.id) {
        this.stats.transfers++;
        this.log(`transfer ${key} from ${leader.id} to ${to}`);
        this.history.add(-1, 'info', 'transfer', { key, to });
        p.transferLeadership(to, 500).catch(() => undefined);
      }
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Membership (raft/membership.ts): the simulator changes each group's configuration among its
  // other faults, and plays the controller that creates and deletes the replicas it needs

  /**
   * One change on one group's leader: add a node that holds no replica as a learner (its replica
   * is created at once), promote a learner, or remove a learner or a voter (the leader too; never
   * below three voters). A third of the time a second change follows at once, which one change at
   * a time refuses; after adding a learner, its promotion is asked for every few milliseconds, so
   * a core that promotes a learner still behind does it then.
   */
  private membershipFault(): void {
    if (this.phase !== 'chaos' || this.failure !== null) return;
    const mr = this.membershipRandom;
    this.world.after(this.faultGap * (1 + 2 * mr()), () => this.membershipFault());
    const key = this.keys[Math.floor(mr() * this.keys.length)]!;
    const n = mr() < 1 / 3 ? 2 : 1;
    for (let k = 0; k < n; k++) {
      const leader = this.leaderOf(key);
      const raft = leader?.partitions.get(key)?.group.raft;
      if (leader === null || raft === undefined) return;
      const m = raft.membership;
      const placed = this.placed.get(key)!;
      const outside = this.nodes.filter((x) => !isMember(m, x.id) && !placed.has(x.id));
      const removable = [...m.learners, ...(m.voters.length > 3 ? m.voters : [])];
      const r = mr();
      let change: MembershipChange | null = null;
      if (m.learners.length > 0 && r < 0.5) change = { type: 'promote', node: m.learners[Math.floor(mr() * m.learners.length)]! };
      else if (outside.length > 0 && (r < 0.8 || removable.length === 0)) change = { type: 'addLearner', node: outside[Math.floor(mr() * outside.length)]!.id };
      else if (removable.length > 0) change = { type: 'remove', node: removable[Math.floor(mr() * removable.length)]! };
      if (change === null || !this.proposeChange(key, leader, change)) return;
      if (change.type === 'addLearner') this.promoteWhenAllowed(key, change.node, this.world.now + 40 * TICK_MS);
    }
  }

  /** Proposes `change` on `leader`; creates the replica of a node added; true if the leader took it. */
  private proposeChange(key: string, leader: SimNode, change: MembershipChange): boolean {
    const part = leader.partitions.get(key);
    if (part === undefined || part.group.failed !== null) return false;
    const raft = part.group.raft;
    const before = raft.membership;
    const commit = raft.committed;
    try {
      raft.proposeMembership(change);
    } catch (err) {
      if (err instanceof RaftError) return false;
      throw err;
    }
    part.group.wake();
    this.stats.membershipChanges++;
    this.log(`${leader.id} proposes ${change.type} ${change.node} for ${key} (${describeMembership(before)})`);
    this.history.add(-1, 'info', 'membership', { key, ...change });
    if (change.type === 'addLearner') {
      // The replica exists before any message to it arrives (messages take at least 0.5 ms).
      this.createReplica(this.byId(change.node), key, raft.membership);
    } else if (change.type === 'promote') {
      // Rule 4, seen from outside: a learner becomes a voter holding every committed entry.
      const learner = this.byId(change.node).partitions.get(key);
      if (learner !== undefined && learner.group.failed === null && learner.log.lastIndex() < commit) {
        throw new InvariantViolation(`membership: ${change.node} was promoted in ${key} holding the log up to ${learner.log.lastIndex()}, behind the commit index ${commit}`);
      }
    }
    return true;
  }

  /** Asks for `node`'s promotion every few milliseconds until the leader takes it or `until` passes. */
  private promoteWhenAllowed(key: string, node: NodeId, until: number): void {
    this.world.after(2 + this.membershipRandom() * 5, () => {
      if (this.phase !== 'chaos' || this.failure !== null || this.world.now > until) return;
      const leader = this.leaderOf(key);
      const raft = leader?.partitions.get(key)?.group.raft;
      if (leader === null || raft === undefined || !raft.learners.includes(node)) return;
      if (!this.proposeChange(key, leader, { type: 'promote', node })) this.promoteWhenAllowed(key, node, until);
    });
  }

  /**
   * The controller's loop (to the end of the run), following each group's leader: a member of its
   * configuration (committed or not: a leader whose log still holds an addition may come back)
   * gets a replica, and a replica that a committed configuration leaves out is deleted.
   */
  private reconcile(): void {
    if (this.phase === 'done' || this.failure !== null) return;
    this.world.after(ELECTION_MS / 2, () => this.reconcile());
    for (const key of this.keys) {
      const raft = this.leaderOf(key)?.partitions.get(key)?.group.raft;
      if (raft === undefined) continue;
      const m = raft.membership;
      const placed = this.placed.get(key)!;
      for (const id of [...m.voters, ...m.learners]) if (!placed.has(id)) this.createReplica(this.byId(id), key, m);
      if (!raft.membershipCommitted) continue;
      for (const id of [...placed]) if (!isMember(m, id)) this.deleteReplica(this.byId(id), key);
    }
  }

  /**
   * Places a replica of `key` on `node` for a group whose configuration `m` names it. A node that
   * held one before (deleted since) gets a new incarnation under its old name: it rejoins, and
   * votes only once promoted (raft/rejoin.ts), whatever configuration a leader's log still holds.
   */
  private createReplica(node: SimNode, key: string, m: Membership): void {
    this.placed.get(key)!.add(node.id);
    this.joinedWith.set(`${node.id}/${key}`, m);
    this.stats.replicasAdded++;
    this.log(`create ${node.id}'s replica of ${key}${this.deletedOnce.has(`${node.id}/${key}`) ? ' (again: it rejoins)' : ''}`);
    if (!node.up) return;
    try {
      this.openReplica(node, this.keys.indexOf(key));
    } catch (err) {
      // Its disk failed while creating it (an injected write or sync failure): the node restarts
      // and opens it then, as a node whose disk fails does.
      this.crashSoon(node, `creating its replica of ${key} failed: ${(err as Error).message}`);
    }
  }

  /** `node/key` of every replica deleted so far. */
  private readonly deletedOnce = new Set<string>();

  /** Deletes `node`'s replica of `key`: closed if it runs, its folder and ledger slot gone (now, or when it next starts). */
  private deleteReplica(node: SimNode, key: string): void {
    this.placed.get(key)!.delete(node.id);
    this.joinedWith.delete(`${node.id}/${key}`);
    this.deletedOnce.add(`${node.id}/${key}`);
    this.stats.replicasDeleted++;
    this.log(`delete ${node.id}'s replica of ${key} (removed by a committed configuration)`);
    const dir = path.posix.join(node.root, 'partitions', `${TOPIC}-${this.keys.indexOf(key)}`);
    const p = node.partitions.get(key);
    if (node.up && p !== undefined) {
      node.partitions.delete(key);
      node.wasLeader.delete(key);
      deletePartitionReplica(p, { host: node.host!, ledger: node.ledger!, fs: node.fs!, logger: quiet }, 'the replica was removed from its group');
    }
    // A node that is down (or whose disk failed just now) loses the folder here; its ledger slot
    // is forgotten when it next starts.
    node.disk.rmSync(dir, { recursive: true, force: true });
    this.inv.get(key)!.onDamagedDisk(node.id);
  }

  /**
   * Retention on one node: each of its replicas drops whole segments (keeping about 2 KB), but
   * only of entries applied and read already (see readFrontier), so that the checker still sees
   * every acknowledged value. A follower behind its leader's new log start then takes it
   * (Partition.restore).
   */
  private retention(node: SimNode): void {
    for (const [key, p] of node.partitions) {
      if (p.group.failed !== null) continue;
      const frontier = this.readFrontier.get(key) ?? 0;
      const log = p.log;
      try {
        // The last applied index whose entries all lie below the frontier.
        let lo = log.firstIndex() - 1;
        let hi = p.appliedIndex;
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2);
          if (log.offsetAfterIndex(mid) <= frontier) lo = mid;
          else hi = mid - 1;
        }
        const dropped = log.enforceRetention({ retentionBytes: 2048, retentionMs: -1, upToIndex: lo });
        if (dropped > 0) {
          this.stats.segmentsDropped += dropped;
          this.log(`retention on ${node.id} drops ${dropped} segment(s) of ${key} (up to index ${lo}, offset ${frontier})`);
        }
      } catch (err) {
        p.group.fail(err);
      }
    }
  }

  private async heal(): Promise<void> {
    this.phase = 'heal';
    this.blocked.clear();
    this.lossRate = 0;
    this.spikes = 0;
    this.slowDisk = false;
    this.log('heal everything');
    for (const n of this.nodes) {
      n.disk.failNext(null);
      this.meta.failNextStoreWrite(n, null);
      this.restart(n);
    }
    // The clients finish what they were doing (each send gives up within its deadline).
    await this.clientsDone;
    const healedAt = this.world.now;
    const bound = 60 * ELECTION_MS;
    // A group that stops now (a flipped bit read at last) costs its node a restart: the final
    // heal is recorded again and the final reads start over, so that no fault follows them.
    // The same after the stability probe: a node restarted during it is a fault after the final
    // reads, so they are done again (and the probe after them).
    for (;;) {
      for (;;) {
        while (this.crashing.size > 0 || this.nodes.some((n) => !n.up)) await this.world.sleep(ELECTION_MS);
        const faultsBefore = this.history.nemesisEvents;
        this.history.add(-1, 'info', 'heal', null);
        if (!(await this.finalRound(healedAt + bound))) return;
        if (!(await this.meta.finalRound(healedAt + bound))) return;
        if (this.history.nemesisEvents === faultsBefore + 1) break;
        this.log('a fault during the final reads: again');
      }
      const faultsBefore = this.history.nemesisEvents;
      if (!(await this.stabilityProbe(this.world.now + bound))) return;
      if (this.history.nemesisEvents === faultsBefore) break;
      this.log('a fault during the stability probe: the final reads again');
    }
    this.phase = 'done';
  }

  /**
   * The stability probe, after the final reads: once every partition has settled under one
   * leader, cut one follower off from everyone for PROBE_ELECTIONS election timeouts and
   * reconnect it; no partition's leader or term may change. A replica that cannot win must not
   * raise its term (pre-vote, thesis §9.6). A group that stops meanwhile (a flipped bit read at
   * last) costs its node a restart and the probe starts over. False if it failed.
   */
  private async stabilityProbe(deadline: number): Promise<boolean> {
    this.phase = 'probe';
    for (;;) {
      const settled = this.settled();
      if (settled === null) {
        if (this.world.now > deadline) {
          this.failure = new InvariantViolation(`liveness: the partitions did not settle under one leader each within ${60 * ELECTION_MS} ms of the final reads (${this.keys.map((k) => `${k}: ${this.describe(k)}`).join(' | ')})`);
          return false;
        }
        await this.world.sleep(ELECTION_MS);
        continue;
      }
      // A follower that leads nothing (each group has three replicas and at most two leaders
      // live among them, so the first partition has one).
      const leaders = new Set([...settled.values()].map((s) => s.leader));
      // A follower whose loss leaves every group a majority of its voters (after membership
      // changes a group may have two voters, and cutting one of them deposes a healthy leader).
      const keepsQuorums = (id: NodeId): boolean =>
        this.keys.every((key) => {
          const voters = this.leaderOf(key)!.partitions.get(key)!.group.raft.voters;
          return !voters.includes(id) || voters.length - 1 >= Math.floor(voters.length / 2) + 1;
        });
      const followers = this.nodes.map((n) => n.id).filter((id) => !leaders.has(id) && keepsQuorums(id));
      if (followers.length === 0) {
        this.stats.probesSkipped++;
        this.log('probe: no follower can be cut off without costing a group its quorum: skipped');
        return true;
      }
      const f = this.pick(followers);
      const before = this.nodes.map((n) => new Map(n.partitions));
      for (const n of this.nodes) {
        if (n.id === f) continue;
        this.blocked.add(`${f}>${n.id}`);
        this.blocked.add(`${n.id}>${f}`);
      }
      this.log(`probe: cut off ${f}, a follower (${[...settled].map(([k, s]) => `${k}: ${s.leader} leads term ${s.term}`).join(', ')})`);
      await this.world.sleep(PROBE_ELECTIONS * ELECTION_MS);
      this.blocked.clear();
      this.log('probe: reconnect');
      await this.world.sleep(PROBE_ELECTIONS * ELECTION_MS);
      const same = this.nodes.every((n, i) => n.up && n.partitions.size === before[i]!.size && [...before[i]!].every(([k, p]) => n.partitions.get(k) === p));
      if (!same) {
        this.log('probe: a replica stopped meanwhile: again');
        continue;
      }
      for (const [key, s] of settled) {
        const moved = [...this.placed.get(key)!].find((id) => this.byId(id).partitions.get(key)!.group.raft.term !== s.term);
        const deposed = this.byId(s.leader).partitions.get(key)!.group.raft.role !== Role.Leader;
        if (moved !== undefined || deposed) {
          this.failure = new InvariantViolation(`disruption: after ${f} was cut off and reconnected, ${key}'s healthy leader ${s.leader} of term ${s.term} ${deposed ? 'was deposed' : 'still leads'} (${this.describe(key)})`);
          return false;
        }
      }
      return true;
    }
  }

  /** Per partition, its leader and term once every replica is up, not rejoining, and follows that leader in that term under its configuration; null until then. */
  private settled(): Map<string, { leader: NodeId; term: number }> | null {
    const out = new Map<string, { leader: NodeId; term: number }>();
    for (const [p, key] of this.keys.entries()) {
      const leader = this.leaderOf(key);
      if (leader === null) return null;
      const raft = leader.partitions.get(key)!.group.raft;
      const term = raft.term;
      const members = [...raft.voters, ...raft.learners];
      // Every member follows, and every replica the configuration left has been deleted.
      const placed = this.placed.get(key)!;
      if (!raft.membershipCommitted || placed.size !== members.length || members.some((id) => !placed.has(id))) return null;
      void p;
      for (const id of members) {
        const n = this.byId(id);
        const g = n.partitions.get(key)?.group;
        if (!n.up || g === undefined || g.failed !== null || g.raft.rejoin !== null || g.raft.term !== term || g.raft.lead !== leader.id) return null;
        // What the chaos checker asks of the final replica sets (chaos/checker/checks/placement.ts).
        if (!sameMembership(g.raft.membership, raft.membership)) return null;
      }
      out.set(key, { leader: leader.id, term });
    }
    return out;
  }

  /** Liveness (every partition takes a write within the bound), then the final reads; false if the bound passed. */
  private async finalRound(deadline: number): Promise<boolean> {
    const proc = this.history.newProcess();
    let seq = 0;
    for (const key of this.keys) {
      for (;;) {
        if (this.world.now > deadline) {
          this.failure = new InvariantViolation(`liveness: ${key} took no write within ${60 * ELECTION_MS} ms of healing (${this.describe(key)})`);
          return false;
        }
        const r = await this.sendOnce(proc, key, `${proc}-${seq}`, 1_000_000 + proc, seq);
        seq++;
        if (r === 'ok') break;
        if (r === 'info') return this.finalRound(deadline);
        await this.world.sleep(ELECTION_MS);
      }
    }
    this.phase = 'final';
    this.log('final reads');
    for (const key of this.keys) {
      const p = this.history.newProcess();
      let from: number | null = null;
      for (;;) {
        from ??= this.logStart(key);
        const r: { next: number; hw: number } | 'outOfRange' | null = from === null ? null : await this.pollOnce(p, key, from);
        // Asked another leader, whose log starts later: ask for the log start again.
        if (r === 'outOfRange') from = null;
        else if (r !== null) {
          if (r.next >= r.hw) break;
          from = r.next;
          continue;
        }
        if (this.world.now > deadline) {
          this.failure = new InvariantViolation(`liveness: the final reads of ${key} did not complete (${this.describe(key)})`);
          return false;
        }
        await this.world.sleep(ELECTION_MS);
      }
    }
    return true;
  }

  // -----------------------------------------------------------------------------------------------
  // Clients

  private clients(): Promise<unknown> {
    const producers = 2 + Math.floor(this.random() * 3);
    const pollers = 1 + Math.floor(this.random() * 2);
    const all: Promise<void>[] = [];
    for (let i = 0; i < producers; i++) all.push(this.producer());
    for (let i = 0; i < pollers; i++) all.push(this.poller());
    all.push(...this.meta.clients());
    return Promise.all(all);
  }

  private async producer(): Promise<void> {
    await this.world.sleep(this.random() * 50);
    while (this.phase === 'chaos') {
      const proc = this.history.newProcess();
      const seqs = new Map<string, number>();
      let n = 0;
      // One producer id per process; after an unknown outcome the process ends (CHECKER.md).
      for (;;) {
        if (this.phase !== 'chaos') return;
        const key = this.pick(this.keys);
        const seq = seqs.get(key) ?? 0;
        const r = await this.sendOnce(proc, key, `${proc}-${n++}`, proc + 1, seq);
        if (r === 'info') break;
        if (r === 'ok') seqs.set(key, seq + 1);
        await this.world.sleep(2 + this.random() * 20);
      }
    }
  }

  /**
   * One send: retried with the same producer id and sequence (so the partition drops a copy it
   * already has) until acknowledged or out of time. `fail` only when no attempt reached a partition.
   */
  private async sendOnce(proc: number, key: string, value: string, producerId: number, seq: number): Promise<'ok' | 'fail' | 'info'> {
    const batch = encodeBatch([{ value: Buffer.from(value) }], { producerId, producerEpoch: 0, baseSequence: seq, now: 1_700_000_000_000 + Math.floor(this.world.now) });
    this.history.add(proc, 'invoke', 'send', [{ key, value }]);
    this.stats.sends++;
    const deadline = this.world.now + 1500;
    let reached = false;
    let lastError = 'no node was up';
    while (this.world.now < deadline) {
      const node = this.target(key);
      const p = node?.partitions.get(key);
      if (node === undefined || p === undefined) {
        await this.world.sleep(10);
        continue;
      }
      try {
        const offset = await this.within(p.produce(batch, 'all', 400), 500);
        this.history.add(proc, 'ok', 'send', [{ key, value, offset }], node.id);
        this.stats.acked++;
        return 'ok';
      } catch (err) {
        reached = true;
        lastError = (err as Error).message;
        if (this.phase !== 'chaos') this.log(`send to ${key} on ${node.id} failed: ${lastError}`);
        this.redirect(key, node, err);
        await this.world.sleep(5 + this.random() * 20);
      }
    }
    if (!reached) {
      this.history.add(proc, 'fail', 'send', [{ key, value }], undefined, lastError);
      return 'fail';
    }
    this.history.add(proc, 'info', 'send', [{ key, value }], undefined, lastError);
    return 'info';
  }

  private async poller(): Promise<void> {
    await this.world.sleep(this.random() * 50);
    while (this.phase === 'chaos') {
      const proc = this.history.newProcess();
      const next = new Map<string, number>();
      for (let i = 0; i < 30 && this.phase === 'chaos'; i++) {
        const key = this.pick(this.keys);
        // A new reader starts at the log start, as a consumer that asks for the earliest offset.
        const from = next.get(key) ?? this.logStart(key);
        if (from === null) {
          await this.world.sleep(20);
          continue;
        }
        const r = await this.pollOnce(proc, key, from);
        if (r === 'outOfRange') break;
        if (r !== null) next.set(key, r.next);
        await this.world.sleep(5 + this.random() * 30);
      }
    }
  }

  /** One poll of `key` from `from` on its leader; null when it failed. */
  private async pollOnce(proc: number, key: string, from: number): Promise<{ next: number; hw: number } | 'outOfRange' | null> {
    const node = this.target(key);
    const p = node?.partitions.get(key);
    this.history.add(proc, 'invoke', 'poll', { from: { [key]: from } }, node?.id);
    this.stats.polls++;
    if (node === undefined || p === undefined) {
      this.history.add(proc, 'fail', 'poll', null, undefined, 'no replica of the partition is up');
      return null;
    }
    try {
      await this.within(p.confirmLeadership(), 300);
      const r = p.read(from, 16 * 1024);
      const msgs: [number, string][] = [];
      for (const b of r.batches) for (const rec of records(b)) if (rec.offset >= from && rec.offset < r.highWatermark) msgs.push([rec.offset, Buffer.from(rec.value ?? new Uint8Array()).toString()]);
      this.history.add(proc, 'ok', 'poll', { msgs: { [key]: msgs }, hw: { [key]: r.highWatermark } }, node.id);
      const last = msgs[msgs.length - 1];
      const next = last !== undefined ? last[0] + 1 : from;
      if (from <= (this.readFrontier.get(key) ?? 0)) this.readFrontier.set(key, Math.max(next, this.readFrontier.get(key) ?? 0));
      return { next, hw: r.highWatermark };
    } catch (err) {
      this.redirect(key, node, err);
      this.history.add(proc, 'fail', 'poll', null, node.id, (err as Error).message);
      if (this.phase === 'final') this.log(`final read of ${key} from ${from} on ${node.id} failed: ${(err as Error).message}`);
      return err instanceof ServerError && err.code === ErrorCode.OffsetOutOfRange ? 'outOfRange' : null;
    }
  }

  /** The earliest offset of `key`, as its leader answers a list-offsets request; null when no leader answers. */
  private logStart(key: string): number | null {
    const node = this.target(key);
    const p = node?.partitions.get(key);
    if (node === undefined || p === undefined) return null;
    try {
      return p.listOffset('earliest').offset;
    } catch (err) {
      this.redirect(key, node, err);
      return null;
    }
  }

  /** The node a client sends `key` to: the leader it was told of, or any replica that is up. */
  private target(key: string): SimNode | undefined {
    const guess = this.leaderGuess.get(key);
    const g = guess !== undefined ? this.byId(guess) : undefined;
    if (g !== undefined && g.up && this.random() < 0.9) return g;
    const replicas = [...this.placed.get(key)!].map((id) => this.byId(id)).filter((n) => n.up);
    return replicas[Math.floor(this.random() * replicas.length)];
  }

  private redirect(key: string, node: SimNode, err: unknown): void {
    const hint = err instanceof ServerError ? err.leaderHint : null;
    if (hint !== null) this.leaderGuess.set(key, hint);
    else if (this.leaderGuess.get(key) === node.id) this.leaderGuess.delete(key);
  }

  /** The promise, or a timeout after `ms` (the node may have died with the request). */
  private within<T>(p: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = this.world.after(ms, () => reject(new Error(`no answer within ${ms} ms`)));
      p.then(
        (v) => {
          t.cancel();
          resolve(v);
        },
        (e: unknown) => {
          t.cancel();
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  // -----------------------------------------------------------------------------------------------
  // The end

  private checkHistory(): void {
    const report = checkHistory(this.history.events, { livenessBoundNs: 1e15 });
    if (!report.valid) throw new InvariantViolation(`the checker finds the history ${report.verdict}:\n${renderReport(report).slice(0, 3000)}`);
  }

  private leaderOf(key: string): SimNode | null {
    let best: SimNode | null = null;
    for (const n of this.nodes) {
      const p = n.partitions.get(key);
      if (p === undefined || p.group.raft.role !== Role.Leader) continue;
      if (best === null || p.group.raft.term > best.partitions.get(key)!.group.raft.term) best = n;
    }
    return best;
  }

  private describe(key: string): string {
    return this.nodes
      .map((n) => {
        const p = n.partitions.get(key);
        if (!n.up) return `${n.id}: down`;
        if (p === undefined) return `${n.id}: no replica`;
        const r = p.group.raft;
        const m = r.membership;
        const role = m.voters.includes(n.id) ? r.role : m.learners.includes(n.id) ? `learner (${r.role})` : `removed (${r.role})`;
        return `${n.id}: ${role} of term ${r.term}${r.rejoin !== null ? ' (rejoining)' : ''}, log ${r.lastIndex()}, commit ${r.committed}, voters ${m.voters.join(',')}${p.group.failed !== null ? ` stopped: ${p.group.failed}` : ''}`;
      })
      .join('; ');
  }

  private byId(id: NodeId): SimNode {
    return this.nodes.find((n) => n.id === id)!;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)]!;
  }

  private log(line: string): void {
    if (this.traceOn) this.trace.push(`t=${this.world.now.toFixed(1)} ${line}`);
  }
}

/** Runs one seed; on failure, runs it again with tracing to explain it. */
export async function runHostSeed(seed: number, mutant?: HostMutant, chaosMs?: number): Promise<HostSimResult> {
  const opts = { seed, ...(mutant !== undefined ? { mutant } : {}), ...(chaosMs !== undefined ? { chaosMs } : {}) };
  const r = await new HostSimulation(opts).run();
  if (r.ok) return r;
  return new HostSimulation({ ...opts, trace: true }).run();
}
