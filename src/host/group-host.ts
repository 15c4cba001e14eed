/**
 * The group host drives every Raft group on this node from one event loop:
 *
 * - one ticker for all groups;
 * - one Ready pass per loop turn across the groups that have something to do: persist each
 *   group's Ready (page cache), then one round of fdatasyncs for all of them (group commit), then
 *   send their messages, apply their committed entries and advance. A leader's messages go
 *   first, before its own write and sync (Ready.sendFirst): followers write while it does; and
 *   while that sync runs, what a leader queues next goes at the next pass (Raft.takeMessagesWhileOut),
 *   and committed entries already durable here apply (RaftGroup.applyAhead);
 * - passes overlap: while one waits for the disk, the next can persist and send for other groups
 *   (a group with a Ready out has nothing more to hand out until it advances, so each group's
 *   Readys are still handled strictly in order).
 *
 * - snapshots of a group whose snapshots are its log (a partition) are not sent as messages but
 *   streamed as files by the node's LogRecovery (log-recovery.ts), which reports back to the core.
 *
 * Sync modes: `fsync` (the default) acknowledges nothing that is not fdatasynced on this node
 * before the node sends or applies it. `interval` (RELAXED, a named weaker mode) skips the
 * per-pass fdatasync of the logs and syncs them every `syncIntervalMs`: a write acknowledged by a
 * majority can be lost if that majority loses power within the interval. Votes and terms are
 * always synced.
 *
 * How a pass makes a group's writes durable is the host's DurabilityPolicy: SYNC_THE_LOG
 * (fdatasync) on every node; the chaos entry point passes one that does not, to prove the chaos
 * checker catches acknowledgements of what no disk holds.
 */
import type { Message, NodeId } from '../../raft/types.js';
import { sleep, type Clock, type Timer } from '../../storage/clock.js';
import type { Logger } from '../log.js';
import type { LogRecovery } from './log-recovery.js';
import type { RaftGroup } from './raft-group.js';

export type SyncMode = 'fsync' | 'interval';

/** How a pass in `fsync` mode makes what it wrote for a group durable, before the group's messages go and its entries apply. */
export interface DurabilityPolicy {
  /** Resolves true once `group`'s log writes are durable (the sync ledger then records them), false if it left them unsynced. */
  makeDurable(group: RaftGroup): Promise<boolean>;
}

/** The durability every node runs: fdatasync the log. */
export const SYNC_THE_LOG: DurabilityPolicy = Object.freeze({
  async makeDurable(group: RaftGroup): Promise<boolean> {
    await group.log.sync();
    return true;
  },
});

export interface GroupHostOptions {
  readonly tickMs: number;
  readonly syncMode: SyncMode;
  readonly syncIntervalMs: number;
  /** Default SYNC_THE_LOG. */
  readonly durability?: DurabilityPolicy;
  readonly logger: Logger;
  /** Time and timers (storage/clock.ts): the system's, or the simulator's. */
  readonly clock: Clock;
  readonly send: (group: string, m: Message) => void;
  /** Called after each pass with the groups whose role or leader changed. */
  readonly onLeadershipChange?: (groups: readonly RaftGroup[]) => void;
  /** Called with the milliseconds each round of fdatasyncs took (what every write of the pass waited on). */
  readonly onSyncRound?: (ms: number) => void;
}

/**
 * A round of fdatasyncs slower than this is logged: every write of the pass waited that long, and
 * a leader that waits much longer loses its followers' votes (etcd warns past 1 s too).
 */
export const SLOW_SYNC_MS = 1000;
/** At most one slow-sync warning per this long, so a failing disk does not flood the log. */
export const SLOW_SYNC_WARN_EVERY_MS = 10_000;

/** Which slow sync rounds to log: one past SLOW_SYNC_MS, then none for SLOW_SYNC_WARN_EVERY_MS (counted, and told with the next). */
export class SlowSyncWarnings {
  private lastAt = Number.NEGATIVE_INFINITY;
  private unlogged = 0;

  /** A round took `ms` at time `now`: what to log about it (null: nothing). */
  observe(ms: number, now: number): { ms: number; slowSinceLast: number } | null {
    if (ms < SLOW_SYNC_MS) return null;
    if (now - this.lastAt < SLOW_SYNC_WARN_EVERY_MS) {
      this.unlogged++;
      return null;
    }
    const told = { ms, slowSinceLast: this.unlogged };
    this.lastAt = now;
    this.unlogged = 0;
    return told;
  }
}

/** Messages kept for a group this node has not created yet (it applies the metadata a moment later). */
const EARLY_MESSAGES_PER_GROUP_MAX = 64;
const EARLY_GROUPS_MAX = 1000;
const EARLY_MESSAGES_MS = 2000;

export interface HostStats {
  passes: number;
  syncs: number;
  lastPassMs: number;
}

export class GroupHost {
  private readonly groups = new Map<string, RaftGroup>();
  private readonly early = new Map<string, { at: number; msgs: Message[] }>();
  private ticker: Timer | null = null;
  private syncTimer: Timer | null = null;
  private scheduled = false;
  /**
   * What the next pass looks at: every group (after a tick, or a schedule() that names none), or
   * only those a message or a wake() named since the last pass. A node of thousands of groups
   * otherwise asked each of them for a Ready on every peer frame it took in.
   */
  private scanAll = true;
  private readonly pending = new Set<RaftGroup>();
  private running = 0;
  private stopped = false;
  private readonly slowSyncs = new SlowSyncWarnings();
  readonly stats: HostStats = { passes: 0, syncs: 0, lastPassMs: 0 };

  private readonly durability: DurabilityPolicy;
  /** Streams the snapshots of groups whose snapshots are their logs (set once, before start). */
  recovery: LogRecovery | null = null;

  constructor(private readonly o: GroupHostOptions) {
    this.durability = o.durability ?? SYNC_THE_LOG;
  }

  start(): void {
    this.recovery?.start();
    this.ticker = this.o.clock.every(this.o.tickMs, () => this.tick());
    if (this.o.syncMode === 'interval') {
      this.syncTimer = this.o.clock.every(this.o.syncIntervalMs, () => void this.syncAll());
    }
  }

  add(g: RaftGroup): void {
    this.groups.set(g.id, g);
    g.wake = () => this.scheduleGroup(g);
    const early = this.early.get(g.id);
    this.early.delete(g.id);
    for (const m of early?.msgs ?? []) this.step(g.id, m);
    this.schedule();
  }

  remove(id: string): RaftGroup | undefined {
    const g = this.groups.get(id);
    this.groups.delete(id);
    this.recovery?.forget(id);
    return g;
  }

  get(id: string): RaftGroup | undefined {
    return this.groups.get(id);
  }

  all(): IterableIterator<RaftGroup> {
    return this.groups.values();
  }

  /** A message from a peer for one of our groups. */
  step(group: string, m: Message): void {
    const g = this.groups.get(group);
    if (g === undefined) {
      this.keepEarly(group, m);
      return;
    }
    if (g.failed !== null) return;
    try {
      g.raft.step(m);
    } catch (err) {
      g.fail(err);
      return;
    }
    this.scheduleGroup(g);
  }

  /**
   * A message for a group this node does not host (yet): a new partition's first election can
   * reach a replica before that replica has applied the metadata that creates it. Kept briefly and
   * replayed when the group is added; dropped otherwise (Raft retries anyway).
   */
  private keepEarly(group: string, m: Message): void {
    let e = this.early.get(group);
    if (e === undefined) {
      if (this.early.size >= EARLY_GROUPS_MAX) return;
      e = { at: this.o.clock.now(), msgs: [] };
      this.early.set(group, e);
    }
    if (e.msgs.length < EARLY_MESSAGES_PER_GROUP_MAX) e.msgs.push(m);
  }

  /**
   * A peer's connection closed: leaders stop streaming to it until it answers a probe again, and
   * the groups it led campaign soon (Raft.reportUnreachable).
   */
  peerDown(peer: NodeId): void {
    this.recovery?.peerDown(peer);
    for (const g of this.groups.values()) if (g.failed === null) g.raft.reportUnreachable(peer);
    this.schedule();
  }

  /**
   * A peer's connection is up (again): groups campaigning without its answer ask it again
   * (Raft.reportReachable).
   */
  peerUp(peer: NodeId): void {
    for (const g of this.groups.values()) if (g.failed === null) g.raft.reportReachable(peer);
    this.schedule();
  }

  /** Runs a Ready pass over every group at the end of this loop turn (callers that changed a group call this). */
  schedule(): void {
    this.scanAll = true;
    this.pending.clear();
    this.schedulePass();
  }

  /** Runs a Ready pass at the end of this loop turn that looks at `g` (and whatever else was named meanwhile). */
  private scheduleGroup(g: RaftGroup): void {
    if (!this.scanAll) this.pending.add(g);
    this.schedulePass();
  }

  private schedulePass(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.o.clock.soon(() => {
      this.scheduled = false;
      void this.pass();
    });
  }

  /** Waits for the current pass, then stops ticking and passing. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.ticker?.cancel();
    this.syncTimer?.cancel();
    this.recovery?.stop();
    while (this.running > 0) await sleep(this.o.clock, 5);
    await this.syncAll();
  }

  private tick(): void {
    if (this.early.size > 0) {
      const old = this.o.clock.now() - EARLY_MESSAGES_MS;
      for (const [id, e] of this.early) if (e.at < old) this.early.delete(id);
    }
    for (const g of this.groups.values()) {
      if (g.failed !== null) continue;
      try {
        g.raft.tick();
      } catch (err) {
        g.fail(err);
      }
    }
    this.schedule();
  }

  private async pass(): Promise<void> {
    this.running++;
    const t0 = this.o.clock.elapsed();
    const changed: RaftGroup[] = [];
    const work: { g: RaftGroup; rd: ReturnType<RaftGroup['raft']['ready']> }[] = [];
    const scan: Iterable<RaftGroup> = this.scanAll ? this.groups.values() : [...this.pending].filter((g) => this.groups.get(g.id) === g);
    this.scanAll = false;
    this.pending.clear();
    try {
      for (const g of scan) {
        if (g.failed !== null) continue;
        try {
          // Building a Ready reads the log (entries for a follower that is behind): a corrupt
          // segment found there stops this group, not the node.
          if (g.raft.hasReady()) work.push({ g, rd: g.raft.ready() });
          else this.sendWhileOut(g);
        } catch (err) {
          g.fail(err);
        }
      }
      if (work.length === 0) return;
      this.stats.passes++;
      for (const w of work) if (w.rd.sendFirst) this.sendAll(w.g, w.rd.messages);
      // New terms and votes first, every group's at once and off the event loop (RaftGroup.persistHardState).
      await Promise.all(
        work.map(async (w) => {
          try {
            await w.g.persistHardState(w.rd);
          } catch (err) {
            w.g.fail(err);
          }
        }),
      );
      await eachRunning(work, (w) => w.g.persist(w.rd));
      if (this.o.syncMode === 'fsync') {
        const syncing = work.filter((w) => w.g.failed === null && w.g.mustSync(w.rd));
        this.stats.syncs += syncing.length;
        const s0 = this.o.clock.elapsed();
        const synced: RaftGroup[] = [];
        const syncs = Promise.all(
          syncing.map(async (w) => {
            try {
              if (await this.durability.makeDurable(w.g)) synced.push(w.g);
            } catch (err) {
              w.g.fail(err);
            }
          }),
        );
        // While the disk syncs: committed entries durable here since an earlier round apply now
        // (RaftGroup.applyAhead), so their writers are answered without waiting for this round.
        await eachRunning(work, (w) => w.g.applyAhead(w.rd));
        await syncs;
        // Acknowledging an entry (a follower's answer, a leader counting its own) waits for a
        // durable ledger mark that covers it, so a disk that later loses a synced tail is caught
        // on the next start (storage/sync-ledger.ts). One write of the ledger covers the round.
        for (const g of synced) g.synced();
        await Promise.all(
          synced.map(async (g) => {
            try {
              await g.marksDurable();
            } catch (err) {
              g.fail(err);
            }
          }),
        );
        if (syncing.length > 0) this.syncRoundDone(this.o.clock.elapsed() - s0, syncing.length);
      }
      for (const w of work) {
        if (w.g.failed !== null) continue;
        try {
          // The rest of the messages wait for the sync (a leader's went before the write).
          if (!w.rd.sendFirst) this.sendAll(w.g, w.rd.messages);
          await w.g.finish(w.rd);
        } catch (err) {
          w.g.fail(err);
        }
        if (w.rd.softState !== null) changed.push(w.g);
      }
    } finally {
      this.running--;
      this.stats.lastPassMs = this.o.clock.elapsed() - t0;
    }
    if (changed.length > 0) this.o.onLeadershipChange?.(changed);
    // This pass's groups may have more to do now that they advanced. (Only they: a group changed
    // meanwhile by a message, a tick or a proposal asked for a pass itself, and one whose Ready
    // another pass holds is looked at by that pass's end.)
    for (const { g } of work) if (g.failed === null && g.raft.hasReady()) this.scheduleGroup(g);
  }

  private syncRoundDone(ms: number, groups: number): void {
    this.o.onSyncRound?.(ms);
    const slow = this.slowSyncs.observe(ms, this.o.clock.now());
    if (slow !== null) {
      this.o.logger.warn(
        { syncMs: Math.round(ms), groups, slowRoundsNotLogged: slow.slowSinceLast },
        `fdatasync of ${groups} log(s) took ${Math.round(ms)} ms (${slow.slowSinceLast} more slow round(s) since the last warning): every write waits on it, and a leader this slow loses its followers. Check the disk (its latency, other load on it), or accept the RELAXED mode with --sync interval`,
      );
    }
  }

  /**
   * A leader whose Ready is out (another pass is syncing it) sends what it has queued since, now
   * rather than after that sync (Raft.takeMessagesWhileOut): a proposal made meanwhile reaches
   * the followers while the leader's disk is busy.
   */
  private sendWhileOut(g: RaftGroup): void {
    const msgs = g.raft.takeMessagesWhileOut();
    if (msgs.length > 0) this.sendAll(g, msgs);
  }

  private sendAll(g: RaftGroup, msgs: readonly Message[]): void {
    for (const m of msgs) {
      if (m.type === 'snapshot' && g.snapshotIsLog && this.recovery !== null) this.recovery.send(g, m);
      else this.o.send(g.id, m);
    }
  }

  private async syncAll(): Promise<void> {
    await Promise.all(
      [...this.groups.values()].map(async (g) => {
        if (g.failed !== null) return;
        try {
          await g.log.sync();
        } catch (err) {
          g.fail(err);
        }
      }),
    );
  }
}

/** Runs `f` for each item whose group still runs, one after another; a failure stops that group only. */
async function eachRunning<W extends { readonly g: RaftGroup }>(work: readonly W[], f: (w: W) => Promise<unknown>): Promise<void> {
  for (const w of work) {
    if (w.g.failed !== null) continue;
    try {
      await f(w);
    } catch (err) {
      w.g.fail(err);
    }
  }
}
