/**
 * Opening this node's replica of the metadata group: its log and hard state from disk (judged by
 * host/replica-trust.ts), the state store beside them, brought into agreement with the log and its
 * saved snapshot (reconcileMetaState), the metadata state machine over them, and the Raft group
 * that feeds it, added to the node's group host. The node (src/node/node.ts) opens its metadata
 * replica this way, and the host simulator (test/sim/) opens its own through the same function, on
 * a simulated disk and state store, as src/partition/replica.ts does for partitions.
 *
 * Folder layout: `<dir>/hardstate`, `<dir>/log/` (the segment log), `<dir>/snapshot` (the last
 * snapshot, MetaLogStorage) and `<dir>/state` (the state store).
 */
import path from 'node:path';
import type { RaftLimits, UnsafeMutations } from '../../raft/config.js';
import type { NodeId } from '../../raft/types.js';
import type { Clock } from '../../storage/clock.js';
import type { FileSystem } from '../../storage/file-system.js';
import type { SegmentFiles } from '../../storage/segment-files.js';
import { SnapshotFormatError, type StateStore } from '../../storage/state-store.js';
import type { SyncLedger } from '../../storage/sync-ledger.js';
import { NodeStartError } from '../errors.js';
import type { GroupHost } from '../host/group-host.js';
import { RaftGroup } from '../host/raft-group.js';
import { openReplica } from '../host/replica-trust.js';
import type { Logger } from '../log.js';
import { META_GROUP } from './commands.js';
import { MetaLogStorage, MetaStateMachine, reconcileMetaState, type MetaEvents } from './meta-state.js';

export interface MetaReplicaOptions {
  /** The group's folder (see the layout above). */
  readonly dir: string;
  readonly self: NodeId;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  readonly fs: FileSystem;
  /** Time for the log (rolling by age): the node's, or the simulator's. */
  readonly clock: Clock;
  readonly ledger: SyncLedger;
  readonly host: GroupHost;
  /** What a replica with no state on disk is (replica-trust.ts). */
  readonly fresh: 'voter' | 'rejoin';
  /** Segment size of the metadata log; whole segments are dropped after a snapshot. */
  readonly segmentBytes: number;
  /** Recent entries the log keeps in memory (default the segment log's). */
  readonly tailCacheBytes?: number;
  /** Where the log opens its sealed segments, shared by the node's logs (default: the log's own). */
  readonly files?: SegmentFiles;
  /** Metadata entries applied between snapshots. */
  readonly snapshotEveryEntries: number;
  readonly limits: Partial<RaftLimits>;
  /** Test-only, never set by a production node: the core broken in a named way (RaftGroupOptions.unsafeMutations). */
  readonly unsafeMutations?: UnsafeMutations;
  /** Opens the state store kept in `dir` (a node's: StateStore.open, LevelDB). */
  readonly openStore: (dir: string) => Promise<StateStore>;
  readonly events: MetaEvents;
  /** Told when the group stops (RaftGroup.onFail); set before the group runs. */
  readonly onFail?: (err: unknown) => void;
  readonly random: () => number;
  readonly logger: Logger;
}

export interface MetaReplica {
  readonly meta: MetaStateMachine;
  readonly group: RaftGroup;
  readonly store: StateStore;
}

/**
 * Opens the replica and adds its group to the host. Throws what openReplica throws, a
 * NodeStartError when the state store cannot be opened or brought up to the log (a failed write
 * of reconcileMetaState's), and the SnapshotFormatError reconcileMetaState throws for a store
 * behind the log start with no snapshot to take.
 */
export async function openMetaReplica(o: MetaReplicaOptions): Promise<MetaReplica> {
  const { log, hardState } = openReplica({
    group: META_GROUP,
    name: 'the metadata group',
    dir: o.dir,
    fs: o.fs,
    log: { dir: path.join(o.dir, 'log'), recordBatches: false, limits: { segmentBytes: o.segmentBytes, ...(o.tailCacheBytes !== undefined ? { tailCacheBytes: o.tailCacheBytes } : {}) },
      clock: o.clock,
      ...(o.files !== undefined ? { files: o.files } : {}),
    },
    ledger: o.ledger,
    fresh: o.fresh,
    random: o.random,
    logger: o.logger,
  });
  const stateDir = path.join(o.dir, 'state');
  let store: StateStore;
  try {
    store = await o.openStore(stateDir);
  } catch (err) {
    throw new NodeStartError(
      `cannot open the metadata state store in ${stateDir} (${(err as Error).message}). It is derived from the metadata log and its snapshot: stop the node, remove ${stateDir}, and start it again to rebuild it`,
    );
  }
  const storage = new MetaLogStorage(log, MetaStateMachine.snapshotFile(o.dir), o.fs);
  if (storage.damaged !== null) o.logger.warn({ why: storage.damaged }, `the saved metadata snapshot is damaged (${storage.damaged}); a new one is taken at the next round`);
  let fixed: string | null;
  try {
    fixed = await reconcileMetaState(store, storage);
  } catch (err) {
    await store.close().catch(() => undefined);
    if (err instanceof SnapshotFormatError) throw err;
    throw new NodeStartError(
      `cannot bring the metadata state store in ${stateDir} up to the metadata log (${(err as Error).message}). Check the disk, then start the node again; if it fails the same way, stop the node, remove ${stateDir}, and start it again to rebuild it from the log and its snapshot`,
    );
  }
  if (fixed !== null) {
    o.logger.warn({ dir: o.dir }, `metadata: ${fixed}`);
    o.ledger.record(META_GROUP, { index: log.lastIndex(), term: log.term(log.lastIndex()) });
  }
  const meta = new MetaStateMachine(store, storage, o.events, o.logger, o.snapshotEveryEntries);
  const group = new RaftGroup({
    id: META_GROUP,
    self: o.self,
    voters: o.voters,
    learners: o.learners,
    dir: o.dir,
    fs: o.fs,
    log,
    hardState,
    ledger: o.ledger,
    storage,
    applied: store.appliedIndex(),
    limits: o.limits,
    ...(o.unsafeMutations !== undefined ? { unsafeMutations: o.unsafeMutations } : {}),
    random: o.random,
    logger: o.logger,
  });
  group.sm = meta;
  meta.group = group;
  if (o.onFail !== undefined) group.onFail = o.onFail;
  o.host.add(group);
  return { meta, group, store };
}
