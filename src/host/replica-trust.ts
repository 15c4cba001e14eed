/**
 * Opening a group's replica on this node, and deciding whether it may vote (DESIGN.md §9,
 * raft/rejoin.ts). A replica may vote only if its disk still holds what it promised: the vote in
 * its hard state and every entry it synced. When that cannot be shown, the replica rejoins as a
 * learner under a new incarnation, catches up from the leader, and votes again once promoted.
 *
 * Damage, each found on open:
 * - the hard state is damaged (a vote forgotten could be cast twice), or missing beside a log
 *   that holds entries or beside a mark in the ledger, or its term is below the log's last term;
 * - the log is corrupt where a torn write cannot explain it (a sealed segment, damage followed
 *   by valid frames): the valid prefix is kept (SegmentLog's repair) and the rest comes from the
 *   leader;
 * - the log ends before the mark of what it had synced (storage/sync-ledger.ts): it was cut, or
 *   its last frames were damaged and taken for a torn tail;
 * - the replica found its log corrupt while running (a read of a sealed segment failed its
 *   checksum) and left a `damaged` file saying so (markDamaged): the whole log is verified.
 *
 * A replica with no state at all is new: a voter, unless this node is itself rejoining the
 * cluster (a data folder that came back empty under an old node id), when a replica it finds
 * missing may be one it held before. A replica folder removed by hand on a node that kept the rest
 * of its data is not new: the ledger still holds its mark, and its empty log ends before it. Nor
 * is one that lost its hard state while its log was still empty (a vote cast, or the record that
 * it rejoins): the ledger has held a mark for it, at index 0 at least, since its hard state was
 * first written (raft-group.ts, and here for a replica that rejoins).
 *
 * What was found and what the node does about it is logged, with the files involved.
 *
 * That a replica in doubt rejoins is the DamagePolicy: REJOIN_WHEN_IN_DOUBT on every node. The
 * host simulation passes one that lets it vote with what is left, to prove it catches the lost
 * writes that follow (test/sim/host-simulation.ts, the ignoreDiskDamage mutant).
 */
import path from 'node:path';
import { newIncarnation } from '../../raft/rejoin.js';
import type { HardState } from '../../raft/types.js';
import { fsyncDir } from '../../storage/atomic-file.js';
import { CorruptLogError } from '../../storage/errors.js';
import type { FileSystem } from '../../storage/file-system.js';
import { readHardState, saveHardState, syncHardState } from '../../storage/hard-state.js';
import { SegmentLog, type SegmentLogOptions } from '../../storage/segment-log.js';
import type { SyncLedger, SyncMark } from '../../storage/sync-ledger.js';
import type { Logger } from '../log.js';

/** What becomes of a replica whose disk may not hold what it promised (damage found on open, or a new replica on a rejoining node). */
export interface DamagePolicy {
  /** Whether the replica rejoins as a learner under a new incarnation; false: it votes with what is left. */
  rejoins(doubts: readonly string[]): boolean;
}

/** The policy every node runs: a replica in doubt rejoins. */
export const REJOIN_WHEN_IN_DOUBT: DamagePolicy = Object.freeze({ rejoins: () => true });

export interface ReplicaOpenOptions {
  /** The group's id (the ledger's key) and a name for people (`orders/3`, `metadata`). */
  readonly group: string;
  readonly name: string;
  /** The folder of the hard state; the log's folder is in `log.dir`. */
  readonly dir: string;
  /** The disk everything is on (the log's too). */
  readonly fs: FileSystem;
  readonly log: Omit<SegmentLogOptions, 'fs'>;
  readonly ledger: SyncLedger;
  /** What a replica with no state on disk is: a new voter, or one that may have been here before. */
  readonly fresh: 'voter' | 'rejoin';
  /** Default REJOIN_WHEN_IN_DOUBT; anything else only in tests. */
  readonly onDamage?: DamagePolicy;
  readonly random: () => number;
  readonly logger: Logger;
}

export interface OpenedReplica {
  readonly log: SegmentLog;
  readonly hardState: HardState;
  /** What was wrong, one line each; empty when the replica is sound. */
  readonly damage: readonly string[];
}

/** The file a replica leaves when its log turned out corrupt while running (its body says how). */
const DAMAGED_FILE = 'damaged';

/** Leaves the `damaged` file, durably (a power loss right after must not make the next open trust the log again). */
export function markDamaged(fs: FileSystem, dir: string, why: string): void {
  try {
    const body = Buffer.from(`${why}\n`, 'utf8');
    const fd = fs.openSync(path.join(dir, DAMAGED_FILE), 'w');
    try {
      fs.writeSync(fd, body, 0, body.length, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(dir, fs);
  } catch {
    // the folder is unwritable too: the next open finds what it finds
  }
}

export function openReplica(o: ReplicaOpenOptions): OpenedReplica {
  const damage: string[] = [];
  const fs = o.fs;
  const hs = readHardState(o.dir, fs);
  // What this replica goes on from must be durable, not just in the page cache of a process that was killed (hard-state.ts).
  if (hs.kind === 'ok') syncHardState(o.dir, fs);
  const marked = readDamagedFile(fs, o.dir);
  if (marked !== null) damage.push(`its log was found corrupt while running (${marked})`);
  let log: SegmentLog;
  try {
    log = SegmentLog.open({ ...o.log, fs, ...(marked !== null ? { repair: true, verifyAll: true } : {}) });
  } catch (err) {
    if (!(err instanceof CorruptLogError)) throw err;
    damage.push(`its log is corrupt (${err.file} at byte ${err.position}: ${err.reason})`);
    log = SegmentLog.open({ ...o.log, fs, repair: true });
  }
  const r = log.recovery.repaired;
  if (r !== null) o.logger.warn({ group: o.group, file: r.file, position: r.position, lastIndexKept: r.lastIndexKept }, `${o.name}: kept the log up to index ${r.lastIndexKept}, before the damage in ${r.file} at byte ${r.position}; the rest comes from the leader`);
  for (const c of log.recovery.cuts) {
    o.logger.warn({ group: o.group, file: c.file, fromBytes: c.fromBytes, toBytes: c.toBytes }, `${o.name}: cut ${c.file} from ${c.fromBytes} to ${c.toBytes} bytes: ${c.why}`);
  }
  const rec = log.recovery;
  if (rec.rebuiltIndexes > 0 || rec.rebuiltTerms || rec.rebuiltConfigs) {
    const derived = [...(rec.rebuiltTerms ? ['the term boundaries'] : []), ...(rec.rebuiltConfigs ? ['the configuration entries'] : [])];
    o.logger.info({ group: o.group, indexes: rec.rebuiltIndexes, terms: rec.rebuiltTerms, configs: rec.rebuiltConfigs }, `${o.name}: rebuilt ${rec.rebuiltIndexes} segment index(es)${derived.map((d) => ` and ${d}`).join('')} from the log (they were missing or damaged)`);
  }
  const lastIndex = log.lastIndex();
  const lastTerm = log.term(lastIndex);
  const mark = o.ledger.mark(o.group);
  if (mark !== null && !holds(log, mark)) {
    damage.push(`its log ends at index ${lastIndex} (term ${lastTerm}) but had been synced up to index ${mark.index} (term ${mark.term})`);
  }
  const hasLog = lastIndex > 0 || log.firstIndex() > 1;
  if (hs.kind === 'damaged') damage.push(`its hard state is damaged (${hs.reason}), so the vote it cast is not known`);
  else if (hs.kind === 'missing' && hasLog) damage.push(`its hard state (term and vote) is missing though its log holds entries up to ${lastIndex}`);
  else if (hs.kind === 'missing' && mark !== null) damage.push(`its hard state (term and vote) is missing though the sync ledger knows the replica (its mark is at index ${mark.index})`);
  else if (hs.kind === 'ok' && hs.hardState.term < lastTerm) damage.push(`its hard state's term ${hs.hardState.term} is below its log's last term ${lastTerm}`);

  const policy = o.onDamage ?? REJOIN_WHEN_IN_DOUBT;
  if (damage.length === 0) {
    if (hs.kind === 'ok') return { log, hardState: hs.hardState, damage };
    if (o.fresh === 'voter' || !policy.rejoins(['a new replica on a node that is rejoining the cluster'])) return { log, hardState: { term: 0, vote: null, commit: 0, rejoin: null }, damage };
    const hardState: HardState = { term: 0, vote: null, commit: 0, rejoin: newIncarnation(o.random) };
    saveHardState(o.dir, hardState, fs);
    // The ledger knows the replica from now on, as it knows any that wrote a hard state: should
    // the hard state be lost before its log holds an entry, the next open does not take it for a
    // new voter (host seed 204 found that).
    o.ledger.record(o.group, { index: 0, term: 0 });
    o.logger.warn({ group: o.group, rejoin: hardState.rejoin }, `${o.name}: a new replica on a node that is rejoining the cluster: it may have held this replica before, so it joins as a learner and votes once it has caught up (incarnation ${hardState.rejoin})`);
    return { log, hardState, damage };
  }
  const rejoins = policy.rejoins(damage);
  const hardState: HardState = {
    term: Math.max(hs.kind === 'ok' ? hs.hardState.term : 0, lastTerm),
    vote: hs.kind === 'ok' ? hs.hardState.vote : null,
    commit: log.firstIndex() - 1,
    rejoin: rejoins ? newIncarnation(o.random) : hs.kind === 'ok' ? (hs.hardState.rejoin ?? null) : null,
  };
  saveHardState(o.dir, hardState, fs);
  if (marked !== null) fs.rmSync(path.join(o.dir, DAMAGED_FILE), { force: true });
  // What is on disk now is all this replica claims: its next start checks against that.
  o.ledger.record(o.group, { index: lastIndex, term: lastTerm });
  if (!rejoins) {
    o.logger.error({ group: o.group, damage }, `${o.name}: this replica is damaged: ${damage.join('; ')}. Its damage policy lets it vote with what is left (never on a node)`);
    return { log, hardState, damage };
  }
  o.logger.error(
    { group: o.group, damage, rejoin: hardState.rejoin },
    `${o.name}: this replica is damaged: ${damage.join('; ')}. It will not vote or count toward any quorum; it rejoins as a learner, catches up from the leader and is promoted when it has (incarnation ${hardState.rejoin}). Nothing to do unless this repeats: then check the disk`,
  );
  return { log, hardState, damage };
}

function readDamagedFile(fs: FileSystem, dir: string): string | null {
  try {
    return fs.readFileSync(path.join(dir, DAMAGED_FILE)).toString('utf8').trim();
  } catch {
    return null;
  }
}

/** The log still holds the entry the mark names (or has moved its start past it: compacted, so committed). */
function holds(log: SegmentLog, mark: SyncMark): boolean {
  if (mark.index < log.firstIndex() - 1) return true;
  if (mark.index > log.lastIndex()) return false;
  return log.term(mark.index) === mark.term;
}
