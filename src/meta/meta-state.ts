/**
 * The metadata group's state machine: topics (configuration and placement) and producer ids,
 * applied to the state store (storage/state-store.ts: LevelDB on a node) with the Raft index of
 * each entry. A node opens it with src/meta/replica.ts.
 *
 * Proposals made on this node wait for their entry to be applied here (host/proposal-waiters.ts):
 * if the entry committed at their index has their term, they succeeded; if another term's entry
 * took that index, they certainly failed (NOT_LEADER, retriable).
 *
 * Snapshots: every `snapshotEveryEntries` applied entries, the state is exported (after a store
 * flush) to `snapshot` in the group folder (msgpack of the Snapshot, with the configuration in
 * effect at its index when the log knows it) and the log is compacted up to it. A follower that
 * needs entries before the log start receives that snapshot.
 */
import path from 'node:path';
import { LogCompactedError, RaftError, RaftErrorCode } from '../../raft/errors.js';
import type { ConfigurationAt, Membership } from '../../raft/membership.js';
import type { LogStorage } from '../../raft/storage.js';
import { EntryKind, Role, type Entry, type ReadState, type Snapshot, type SoftState } from '../../raft/types.js';
import { readFileChecked, writeFileAtomic } from '../../storage/atomic-file.js';
import { nodeFileSystem, type FileSystem } from '../../storage/file-system.js';
import type { SegmentLog } from '../../storage/segment-log.js';
import { SnapshotFormatError, StateStoreFailedError, type StateOp, type StateStore } from '../../storage/state-store.js';
import { decodeFrame, encodeFrame } from '../wire/codec.js';
import { ProposalWaiters } from '../host/proposal-waiters.js';
import type { GroupStateMachine, RaftGroup } from '../host/raft-group.js';
import { ReadWaiters } from '../host/read-waiters.js';
import type { Logger } from '../log.js';
import { ErrorCode, PRODUCER_EPOCH_MAX, type ApiError } from '../wire/protocol.js';
import {
  CLUSTER_KEY,
  decodeCommand,
  encodeCommand,
  groupKey,
  nodeKey,
  NODE_PREFIX,
  offsetKey,
  REBALANCE_KEY,
  offsetPrefix,
  producerEpochKey,
  transactionalKey,
  type ClusterRecord,
  type GroupRecord,
  type MetaCommand,
  type NodeRecord,
  type OffsetCommit,
  type RebalanceRecord,
  type ProducerEpochRecord,
  type OffsetRecord,
  type TopicRecord,
} from './commands.js';
import type { AclBinding } from '../auth/acl.js';
import { aclBindings, executeAclCommand } from './acl-state.js';
import { USER_PREFIX, applyUserCommand, userKey, userRecordOf, type StoredUserRecord, type UserRecord } from './users.js';
import { QUOTA_PREFIX, applySetQuota, quotaKey, type QuotaRecord } from './quotas.js';
import { changeTopic } from './topic-changes.js';

export type MetaResult = { readonly ok: true; readonly value?: unknown } | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

/** Per-partition outcome of an offset commit or reset. */
export type OffsetResults = { topic: string; partition: number; error?: ApiError }[];

export interface MetaEvents {
  /** Topics were created or deleted, a partition's replicas reassigned, or a snapshot replaced them. */
  topicsChanged(): void;
  /** This node became, or stopped being, the controller. */
  controllerChanged(isController: boolean): void;
  /** The cluster's identity was applied (or a snapshot carried it). */
  clusterKnown(cluster: ClusterRecord): void;
  /** A node was registered or its address changed (or a snapshot replaced them): the node set may differ. */
  nodesChanged(): void;
}

const SNAPSHOT_MAGIC = 0x524c4d53; // "RLMS"
const TOPIC = 'topic/';
const NEXT_PRODUCER_ID = 'producer/next';

/** The metadata log as the Raft core sees it: the segment log, with state-store snapshots at its start. */
export class MetaLogStorage implements LogStorage {
  snap: Snapshot | null;
  /** Why the saved snapshot could not be read, if it could not (null: fine or none). */
  readonly damaged: string | null;

  /** `fs` is the disk the snapshot file is on (the log's). */
  constructor(
    readonly log: SegmentLog,
    private readonly file: string,
    private readonly fs: FileSystem = nodeFileSystem,
  ) {
    const r = readFileChecked(file, SNAPSHOT_MAGIC, fs);
    // A damaged snapshot is taken again from the state store at the next round; until then no
    // follower that needs one can be sent it.
    const saved = r.kind === 'ok' ? decodeSavedSnapshot(r.body) : null;
    this.snap = typeof saved === 'string' ? null : saved;
    this.damaged = r.kind === 'damaged' ? r.reason : typeof saved === 'string' ? `${file}: ${saved}` : null;
  }

  firstIndex(): number {
    return this.log.firstIndex();
  }
  lastIndex(): number {
    return this.log.lastIndex();
  }
  term(i: number): number {
    if (this.snap !== null && i === this.snap.index && i < this.log.firstIndex() - 1) return this.snap.term;
    return this.log.term(i);
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.log.entries(lo, hi, maxBytes);
  }
  /** Reads of the segment log's cold part go off the event loop as the partitions' do (SegmentLog.readAhead). */
  hotFirstIndex(): number {
    return this.log.hotFirstIndex();
  }
  /** Never caught up by files: the metadata group's snapshot is its state (above), sent whole in one message. */
  coldBytes(): number {
    return 0;
  }
  readAhead(from: number, maxBytes: number): boolean {
    return this.log.readAhead(from, maxBytes);
  }
  snapshot(): Snapshot | null {
    // Only a snapshot that reaches the log start can stand in for the entries before it.
    if (this.snap === null || this.snap.index < this.log.firstIndex() - 1) return null;
    return this.snap;
  }

  /**
   * The log's configurations, after the saved snapshot's when the log does not know the one at
   * or before the snapshot's index (its start was written before configurations were kept).
   */
  configurations(): readonly ConfigurationAt[] {
    const held = this.log.configurations();
    const s = this.snap;
    if (s === null || s.membership === undefined || s.index < this.log.firstIndex() - 1) return held;
    if (held.length > 0 && held[0]!.index <= s.index) return held;
    return [{ index: s.index, membership: s.membership }, ...held];
  }

  /** The configuration in effect at `index` as far as this storage knows; undefined when it knows none (the group's first applies). */
  membershipAt(index: number): Membership | undefined {
    let m: Membership | undefined;
    for (const c of this.configurations()) if (c.index <= index) m = c.membership;
    return m;
  }

  save(snap: Snapshot): void {
    writeFileAtomic(this.file, SNAPSHOT_MAGIC, encodeFrame(snap), this.fs);
    this.snap = snap;
  }
}

/**
 * Brings the state store, the saved snapshot and the log back into agreement when a node opens
 * its metadata group, after a crash in the middle of installing a snapshot (restore) or a store
 * that lost its contents. Returns what it did, for the node's log (null: nothing to do).
 *
 * - The store is behind the log's start: the entries in between are gone from the log, so the
 *   store takes the saved snapshot, which reaches the log start (restore was cut after the reset).
 * - The store is at the saved snapshot and the log holds another entry at that index (restore
 *   was cut before the reset, as restore did it before): the log starts over after the snapshot.
 *   Otherwise that entry would count as committed here, and the leader's appends, which follow
 *   the snapshot's, would be refused forever.
 */
export async function reconcileMetaState(store: StateStore, storage: MetaLogStorage): Promise<string | null> {
  const snap = storage.snap;
  const log = storage.log;
  const start = log.firstIndex() - 1;
  if (store.appliedIndex() < start) {
    if (snap === null || snap.index < start) {
      throw new SnapshotFormatError(`the metadata state in ${store.dir} is at index ${store.appliedIndex()}, before the log start ${start}, and no saved snapshot reaches the log start: remove the node's meta folder to rebuild it from the other nodes`);
    }
    const was = store.appliedIndex();
    await store.importSnapshot(snap.data);
    return `the metadata state was at index ${was}, before the log start ${start}: took the saved snapshot at ${snap.index}`;
  }
  if (snap !== null && store.appliedIndex() === snap.index && snap.index >= start && snap.index <= log.lastIndex()) {
    const held = log.term(snap.index);
    if (held === snap.term) return null;
    log.resetTo(snap.index, snap.term, 0, snap.membership);
    return `the metadata log held an entry of term ${held} at the snapshot's index ${snap.index} (term ${snap.term}): the log now starts after the snapshot`;
  }
  return null;
}

export class MetaStateMachine implements GroupStateMachine {
  group!: RaftGroup;
  /** Commands proposed here, waiting for their entry to be applied (host/proposal-waiters.ts). */
  private readonly pending = new ProposalWaiters<MetaResult>();
  private readonly reads = new ReadWaiters();
  private appliedSinceSnapshot = 0;
  private snapshotting = false;
  private isController = false;
  private appliedTerm = 0;
  /** The index of the last entry applied (of any kind) in this process. */
  private lastApplied = 0;
  /** ACL changes applied in this process, and snapshots installed (aclVersion). */
  private aclChanges = 0;

  constructor(
    private readonly store: StateStore,
    readonly storage: MetaLogStorage,
    private readonly events: MetaEvents,
    private readonly logger: Logger,
    private readonly snapshotEveryEntries: number,
  ) {}

  static snapshotFile(dir: string): string {
    return path.join(dir, 'snapshot');
  }

  appliedIndex(): number {
    return this.store.appliedIndex();
  }

  topics(): TopicRecord[] {
    return this.store.entries<TopicRecord>(TOPIC).map(([, t]) => t);
  }

  topic(name: string): TopicRecord | undefined {
    return this.store.get<TopicRecord>(TOPIC + name);
  }

  cluster(): ClusterRecord | undefined {
    return this.store.get<ClusterRecord>(CLUSTER_KEY);
  }

  node(id: string): NodeRecord | undefined {
    return this.store.get<NodeRecord>(nodeKey(id));
  }

  /** Every node the metadata knows, in id order. */
  nodes(): NodeRecord[] {
    return this.store.entries<NodeRecord>(NODE_PREFIX).map(([, n]) => n);
  }

  /** Every ACL binding (src/meta/acl-state.ts). */
  acls(): AclBinding[] {
    return aclBindings(this.store);
  }

  /** Changes when the ACL bindings may have: an ACL command applied, or a snapshot installed (the authorizer rebuilds its index then). */
  aclVersion(): number {
    return this.aclChanges;
  }

  /** The rebalance asked for and not finished, if one is. */
  rebalance(): RebalanceRecord | undefined {
    return this.store.get<RebalanceRecord>(REBALANCE_KEY);
  }

  /** A user and its credentials (src/meta/users.ts), in this version's shape whichever version wrote it. */
  user(name: string): UserRecord | undefined {
    const stored = this.store.get<StoredUserRecord>(userKey(name));
    return stored === undefined ? undefined : userRecordOf(stored);
  }

  /** Whether the cluster has any user. */
  hasUsers(): boolean {
    return this.store.hasKeyWith(USER_PREFIX);
  }

  /** Every user, in key order. */
  users(): UserRecord[] {
    return this.store.entries<StoredUserRecord>(USER_PREFIX).map(([, u]) => userRecordOf(u));
  }

  /** An entity's client quota rates (src/meta/quotas.ts), if it has any. */
  quota(entity: string): QuotaRecord | undefined {
    return this.store.get<QuotaRecord>(quotaKey(entity));
  }

  /** Every entity that has a quota rate, in key order (the default first). */
  quotas(): QuotaRecord[] {
    return this.store.entries<QuotaRecord>(QUOTA_PREFIX).map(([, q]) => q);
  }

  consumerGroup(id: string): GroupRecord | undefined {
    return this.store.get<GroupRecord>(groupKey(id));
  }

  consumerGroups(): GroupRecord[] {
    return this.store.entries<GroupRecord>('group/').map(([, g]) => g);
  }

  /** The groups that have committed offsets (with a group record or not: offsets set while it had no members need none). */
  groupsWithOffsets(): string[] {
    const groups = new Set<string>();
    for (const [k] of this.store.entries<OffsetRecord>('offset/')) groups.add(decodeURIComponent(k.split('/')[1] ?? ''));
    return [...groups];
  }

  /** A group's committed offsets: [topic, partition, record]. */
  offsets(group: string): [string, number, OffsetRecord][] {
    const prefix = offsetPrefix(group);
    return this.store.entries<OffsetRecord>(prefix).map(([k, v]) => {
      const [topic, partition] = k.slice(prefix.length).split('/');
      return [decodeURIComponent(topic!), Number(partition), v];
    });
  }

  /** Every committed offset of every group, in key order (group, topic, partition): one pass over the state (the consumer-lag metrics). */
  allOffsets(): { group: string; topic: string; partition: number; offset: number }[] {
    return this.store.entries<OffsetRecord>('offset/').map(([k, v]) => {
      const [, group, topic, partition] = k.split('/');
      return { group: decodeURIComponent(group!), topic: decodeURIComponent(topic!), partition: Number(partition), offset: v.offset };
    });
  }

  offset(group: string, topic: string, partition: number): OffsetRecord | undefined {
    return this.store.get<OffsetRecord>(offsetKey(group, topic, partition));
  }

  /** This node leads the metadata group and has applied everything before its term. */
  isReady(): boolean {
    return this.isController && this.appliedTerm === this.group.raft.term;
  }

  controller(): string | null {
    return this.group.raft.lead;
  }

  /** Proposes a command on the controller and resolves with its result once applied here. */
  propose(cmd: MetaCommand): Promise<MetaResult> {
    const r = this.group.raft.propose([encodeCommand(cmd)]);
    this.group.wake();
    return this.pending.wait(r.lastIndex, r.term);
  }

  /** Resolves once this node, as controller, has confirmed its state is current (ReadIndex). */
  linearizable(): Promise<void> {
    return this.reads.wait(this.group.raft, () => this.group.wake(), (err) => (err instanceof Error ? err : new Error(String(err))));
  }

  async apply(entries: readonly Entry[]): Promise<void> {
    let topicsChanged = false;
    let nodesChanged = false;
    for (const e of entries) {
      let result: MetaResult = { ok: true };
      if (e.kind === EntryKind.Normal && e.index > this.store.appliedIndex()) {
        const cmd = decodeCommand(e.data);
        const hadCluster = this.cluster() !== undefined;
        const { ops, result: r, topics, nodes } = this.execute(cmd, e.index);
        result = r;
        topicsChanged ||= topics;
        nodesChanged ||= nodes === true;
        await this.store.apply(e.index, ops);
        this.appliedSinceSnapshot++;
        const cluster = this.cluster();
        if (!hadCluster && cluster !== undefined) this.events.clusterKnown(cluster);
      }
      this.appliedTerm = e.term;
      this.lastApplied = e.index;
      this.pending.settle(e.index, e.term, this.notCommitted, result);
    }
    this.reads.serve(this.appliedUpTo(), this.appliedTerm);
    if (nodesChanged) this.events.nodesChanged();
    if (topicsChanged) this.events.topicsChanged();
    if (this.appliedSinceSnapshot >= this.snapshotEveryEntries && !this.snapshotting) void this.takeSnapshot();
  }

  /** What a proposal gets when another controller's entry took its index. */
  private readonly notCommitted = (): Error => new RaftError(RaftErrorCode.NotLeader, 'the controller changed before the change was committed; retry', true, this.group.raft.lead);

  private execute(cmd: MetaCommand, index: number): { ops: StateOp[]; result: MetaResult; topics: boolean; nodes?: boolean } {
    switch (cmd.type) {
      case 'createTopic': {
        if (this.topic(cmd.name) !== undefined) {
          return { ops: [], result: { ok: false, code: 'TOPIC_ALREADY_EXISTS', message: `topic '${cmd.name}' already exists` }, topics: false };
        }
        const rec: TopicRecord = {
          name: cmd.name,
          id: `t${index}`,
          partitions: cmd.partitions,
          replicationFactor: cmd.replicationFactor,
          config: cmd.config,
          assignments: cmd.assignments,
        };
        return { ops: [{ type: 'put', key: TOPIC + cmd.name, value: rec }], result: { ok: true, value: rec }, topics: true };
      }
      case 'deleteTopic': {
        if (this.topic(cmd.name) === undefined) {
          return { ops: [], result: { ok: false, code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `topic '${cmd.name}' does not exist` }, topics: false };
        }
        // Committed offsets of a deleted topic go with it.
        const ops: StateOp[] = [{ type: 'del', key: TOPIC + cmd.name }];
        for (const [k] of this.store.entries<OffsetRecord>('offset/')) {
          if (decodeURIComponent(k.split('/')[2] ?? '') === cmd.name) ops.push({ type: 'del', key: k });
        }
        return { ops, result: { ok: true }, topics: true };
      }
      case 'reassignPartition':
        return this.reassignPartition(cmd);
      case 'allocateProducerId': {
        const id = this.store.get<number>(NEXT_PRODUCER_ID) ?? 1;
        return { ops: [{ type: 'put', key: NEXT_PRODUCER_ID, value: id + 1 }], result: { ok: true, value: { producerId: id, producerEpoch: 0 } }, topics: false };
      }
      case 'initProducerId':
        return this.initProducerId(cmd);
      case 'groupGeneration': {
        const prev = this.consumerGroup(cmd.group);
        if ((prev?.generation ?? 0) + 1 !== cmd.generation) {
          return { ops: [], result: { ok: false, code: ErrorCode.IllegalGeneration, message: `group '${cmd.group}' is at generation ${prev?.generation ?? 0}, not ${cmd.generation - 1}` }, topics: false };
        }
        const rec: GroupRecord = {
          group: cmd.group,
          state: cmd.members.length === 0 ? 'Empty' : 'CompletingRebalance',
          generation: cmd.generation,
          protocolType: cmd.protocolType,
          protocol: cmd.protocol,
          leader: cmd.leader,
          members: cmd.members,
          assignments: {},
        };
        return { ops: [{ type: 'put', key: groupKey(cmd.group), value: rec }], result: { ok: true, value: rec }, topics: false };
      }
      case 'groupAssign': {
        const g = this.consumerGroup(cmd.group);
        if (g === undefined || g.generation !== cmd.generation || g.state !== 'CompletingRebalance') {
          return { ops: [], result: { ok: false, code: ErrorCode.IllegalGeneration, message: `group '${cmd.group}' is not completing generation ${cmd.generation}` }, topics: false };
        }
        const assignments: Record<string, Uint8Array> = {};
        for (const m of g.members) assignments[m.memberId] = new Uint8Array(0);
        for (const a of cmd.assignments) if (a.memberId in assignments) assignments[a.memberId] = a.assignment;
        const rec: GroupRecord = { ...g, state: 'Stable', assignments };
        return { ops: [{ type: 'put', key: groupKey(cmd.group), value: rec }], result: { ok: true, value: rec }, topics: false };
      }
      case 'commitOffsets': {
        const g = this.consumerGroup(cmd.group);
        const members = g?.members.length ?? 0;
        if (cmd.generation === -1 || cmd.memberId === '') {
          if (members > 0) return { ops: [], result: { ok: false, code: ErrorCode.IllegalGeneration, message: `group '${cmd.group}' has members; commit as a member of its current generation` }, topics: false };
        } else if (g === undefined || g.generation !== cmd.generation) {
          return { ops: [], result: { ok: false, code: ErrorCode.IllegalGeneration, message: `generation ${cmd.generation} of group '${cmd.group}' is over (the group is at ${g?.generation ?? 0}); rejoin` }, topics: false };
        } else if (!g.members.some((m) => m.memberId === cmd.memberId)) {
          return { ops: [], result: { ok: false, code: ErrorCode.UnknownMemberId, message: `'${cmd.memberId}' is not a member of group '${cmd.group}'; rejoin` }, topics: false };
        }
        return this.writeOffsets(cmd.group, cmd.offsets, cmd.at);
      }
      case 'resetOffsets': {
        const g = this.consumerGroup(cmd.group);
        if (g !== undefined && g.members.length > 0) {
          return { ops: [], result: { ok: false, code: ErrorCode.GroupNotEmpty, message: `group '${cmd.group}' has ${g.members.length} member(s); stop its consumers before resetting offsets` }, topics: false };
        }
        return this.writeOffsets(cmd.group, cmd.offsets, cmd.at);
      }
      case 'deleteGroup': {
        const g = this.consumerGroup(cmd.group);
        const offsets = this.store.entries<OffsetRecord>(offsetPrefix(cmd.group));
        if (g !== undefined && g.members.length > 0) {
          return { ops: [], result: { ok: false, code: ErrorCode.GroupNotEmpty, message: `group '${cmd.group}' has members; stop its consumers first` }, topics: false };
        }
        if (g === undefined && offsets.length === 0) return { ops: [], result: { ok: false, code: ErrorCode.UnknownGroup, message: `group '${cmd.group}' does not exist` }, topics: false };
        const ops: StateOp[] = offsets.map(([k]) => ({ type: 'del', key: k }));
        if (g !== undefined) ops.push({ type: 'del', key: groupKey(cmd.group) });
        return { ops, result: { ok: true }, topics: false };
      }
      case 'initCluster': {
        // Only the first naming counts; a second controller's attempt finds it done.
        if (this.cluster() !== undefined) return { ops: [], result: { ok: true, value: this.cluster() }, topics: false };
        const rec: ClusterRecord = { clusterId: cmd.clusterId, metaVoters: cmd.metaVoters, since: index };
        return { ops: [{ type: 'put', key: CLUSTER_KEY, value: rec }], result: { ok: true, value: rec }, topics: false };
      }
      case 'registerNode': {
        const known = this.node(cmd.node);
        // An entry of an earlier version names no address: the node keeps the one it had.
        const address = cmd.address ?? known?.address;
        if (known?.incarnation === cmd.incarnation && known.address === address) return { ops: [], result: { ok: true, value: known }, topics: false };
        const rec: NodeRecord = {
          node: cmd.node,
          incarnation: cmd.incarnation,
          since: known?.incarnation === cmd.incarnation ? known.since : index,
          ...(address !== undefined ? { address } : {}),
          // A new folder does not bring a leaving node back.
          ...(known?.decommission !== undefined ? { decommission: known.decommission } : {}),
        };
        return { ops: [{ type: 'put', key: nodeKey(cmd.node), value: rec }], result: { ok: true, value: rec }, topics: false, nodes: true };
      }
      case 'setNodeState':
        return this.setNodeState(cmd, index);
      case 'recommissionNode':
        return this.recommissionNode(cmd);
      case 'setReplicationFactor':
        return this.setReplicationFactor(cmd);
      case 'startRebalance': {
        const rec: RebalanceRecord = { maxMoves: cmd.maxMoves, since: index };
        return { ops: [{ type: 'put', key: REBALANCE_KEY, value: rec }], result: { ok: true, value: rec }, topics: false };
      }
      case 'finishRebalance':
        return { ops: this.rebalance() === undefined ? [] : [{ type: 'del', key: REBALANCE_KEY }], result: { ok: true }, topics: false };
      case 'createAcls':
      case 'deleteAcls': {
        const { ops, result } = executeAclCommand(this.store, cmd);
        if (ops.length > 0) this.aclChanges++;
        return { ops, result, topics: false };
      }
      case 'upsertUser':
      case 'deleteUser':
        return { ...applyUserCommand(this.store, cmd, index), topics: false };
      case 'setQuota':
        return { ...applySetQuota(this.quota(cmd.entity), cmd), topics: false };
      case 'setTopicConfig':
      case 'addPartitions': {
        const r = changeTopic(this.topic(cmd.topic), cmd);
        if (!r.ok) return { ops: [], result: r, topics: false };
        return { ops: [{ type: 'put', key: TOPIC + cmd.topic, value: r.value }], result: r, topics: true };
      }
      default: {
        const unknown: never = cmd;
        throw new Error(`unknown metadata command ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * Sets one partition's target replicas, when its topic is still the one the controller checked
   * (same id) and has the partition. The controller refuses empty lists and repeated nodes; one
   * that reaches the log anyway (a bug) changes nothing, here as on every replica.
   */
  private reassignPartition(cmd: Extract<MetaCommand, { type: 'reassignPartition' }>): { ops: StateOp[]; result: MetaResult; topics: boolean } {
    const t = this.topic(cmd.topic);
    const where = `${cmd.topic}/${cmd.partition}`;
    if (t === undefined || t.id !== cmd.topicId || cmd.partition >= t.partitions) {
      const message =
        t === undefined
          ? `topic '${cmd.topic}' was deleted before the reassignment of ${where} was committed; nothing changed`
          : t.id !== cmd.topicId
            ? `topic '${cmd.topic}' was deleted and created again before the reassignment of ${where} was committed; nothing changed (reassign it again to move the new topic's partition)`
            : `topic '${cmd.topic}' has no partition ${cmd.partition}; nothing changed`;
      return { ops: [], result: { ok: false, code: ErrorCode.UnknownTopicOrPartition, message }, topics: false };
    }
    if (cmd.replicas.length === 0 || new Set(cmd.replicas).size !== cmd.replicas.length) {
      return { ops: [], result: { ok: false, code: ErrorCode.InvalidReplicaAssignment, message: `the replicas [${cmd.replicas.join(', ')}] for ${where} are empty or name a node twice; nothing changed` }, topics: false };
    }
    const now = t.assignments[cmd.partition]!;
    if (now.length === cmd.replicas.length && now.every((n, i) => n === cmd.replicas[i])) return { ops: [], result: { ok: true, value: t }, topics: false };
    const assignments = t.assignments.map((a, p) => (p === cmd.partition ? [...cmd.replicas] : a));
    // From now on a replica created for this partition joins its running group (node.ts).
    const moved = assignments.map((_, p) => p === cmd.partition || t.moved?.[p] === true);
    const { resizing, ...rest } = t;
    // A replication factor change is over once every target has that many replicas.
    const resized = resizing === undefined || assignments.every((a) => a.length === t.replicationFactor);
    const rec: TopicRecord = { ...rest, assignments, moved, ...(resized ? {} : { resizing }) };
    return { ops: [{ type: 'put', key: TOPIC + t.name, value: rec }], result: { ok: true, value: rec }, topics: true };
  }

  /**
   * A node starts leaving (once: asking again changes nothing, and a node that has left never
   * comes back this way), or has left, which only a leaving node can.
   */
  private setNodeState(cmd: Extract<MetaCommand, { type: 'setNodeState' }>, index: number): { ops: StateOp[]; result: MetaResult; topics: boolean; nodes?: boolean } {
    const known = this.node(cmd.node);
    const now = known?.decommission?.state;
    if (now === cmd.state || (now === 'decommissioned' && cmd.state === 'decommissioning')) return { ops: [], result: { ok: true, value: known }, topics: false };
    if (cmd.state === 'decommissioned' && now !== 'decommissioning') {
      return { ops: [], result: { ok: false, code: ErrorCode.InvalidRequest, message: `node ${cmd.node} is not being decommissioned; nothing changed` }, topics: false };
    }
    const rec: NodeRecord = { ...(known ?? { node: cmd.node, incarnation: '', since: index }), decommission: { state: cmd.state, since: index, maxMoves: cmd.maxMoves } };
    // A node decommissioned leaves the node set (its peers stop dialling it).
    return { ops: [{ type: 'put', key: nodeKey(cmd.node), value: rec }], result: { ok: true, value: rec }, topics: false, nodes: cmd.state === 'decommissioned' };
  }

  /** A node being decommissioned becomes an ordinary member again; one not leaving stays as it is. */
  private recommissionNode(cmd: Extract<MetaCommand, { type: 'recommissionNode' }>): { ops: StateOp[]; result: MetaResult; topics: boolean } {
    const known = this.node(cmd.node);
    const state = known?.decommission?.state;
    if (known === undefined || state === undefined) return { ops: [], result: { ok: true, value: known }, topics: false };
    if (state === 'decommissioned') {
      return { ops: [], result: { ok: false, code: ErrorCode.InvalidRequest, message: `node ${cmd.node} was decommissioned already and cannot come back: join a new node (an empty --data folder, --join and a new --id); nothing changed` }, topics: false };
    }
    const { decommission: _, ...rec } = known;
    return { ops: [{ type: 'put', key: nodeKey(cmd.node), value: rec }], result: { ok: true, value: rec }, topics: false };
  }

  /** A topic's new replication factor, when its topic is still the one the controller checked; a change only while some target has another count. */
  private setReplicationFactor(cmd: Extract<MetaCommand, { type: 'setReplicationFactor' }>): { ops: StateOp[]; result: MetaResult; topics: boolean } {
    const t = this.topic(cmd.topic);
    if (t === undefined || t.id !== cmd.topicId) {
      const message = `topic '${cmd.topic}' was ${t === undefined ? 'deleted' : 'deleted and created again'} before its replication factor change was committed; nothing changed`;
      return { ops: [], result: { ok: false, code: ErrorCode.UnknownTopicOrPartition, message }, topics: false };
    }
    if (!Number.isSafeInteger(cmd.replicationFactor) || cmd.replicationFactor < 1) {
      return { ops: [], result: { ok: false, code: ErrorCode.InvalidReplicationFactor, message: `replication factor ${cmd.replicationFactor} for '${cmd.topic}' is not a positive integer; nothing changed` }, topics: false };
    }
    const { resizing: _, ...rest } = t;
    const done = t.assignments.every((a) => a.length === cmd.replicationFactor);
    const rec: TopicRecord = { ...rest, replicationFactor: cmd.replicationFactor, ...(done ? {} : { resizing: { maxMoves: cmd.maxMoves } }) };
    return { ops: [{ type: 'put', key: TOPIC + t.name, value: rec }], result: { ok: true, value: rec }, topics: false };
  }

  /**
   * A producer id and epoch (protocol.ts's InitProducerIdRequest): new; the next epoch of a
   * transactional id's producer, fencing the last one; or the next epoch of a producer that
   * re-initializes, unless another took a later epoch of its id. Past the last epoch, a new id.
   */
  private initProducerId(cmd: Extract<MetaCommand, { type: 'initProducerId' }>): { ops: StateOp[]; result: MetaResult; topics: boolean } {
    const ops: StateOp[] = [];
    const fresh = (): ProducerEpochRecord => {
      const id = this.store.get<number>(NEXT_PRODUCER_ID) ?? 1;
      ops.push({ type: 'put', key: NEXT_PRODUCER_ID, value: id + 1 });
      return { producerId: id, epoch: 0 };
    };
    const next = (r: ProducerEpochRecord): ProducerEpochRecord => (r.epoch >= PRODUCER_EPOCH_MAX ? fresh() : { producerId: r.producerId, epoch: r.epoch + 1 });
    let given: ProducerEpochRecord;
    if (cmd.transactionalId !== undefined) {
      const last = this.store.get<ProducerEpochRecord>(transactionalKey(cmd.transactionalId));
      given = last === undefined ? fresh() : next(last);
      ops.push({ type: 'put', key: transactionalKey(cmd.transactionalId), value: given });
    } else if (cmd.producerId !== undefined) {
      const allocated = cmd.producerId < (this.store.get<number>(NEXT_PRODUCER_ID) ?? 1);
      const last = this.store.get<ProducerEpochRecord>(producerEpochKey(cmd.producerId)) ?? { producerId: cmd.producerId, epoch: 0 };
      if (!allocated) return { ops: [], result: { ok: false, code: ErrorCode.InvalidRequest, message: `producer id ${cmd.producerId} was never given out; ask for a new one` }, topics: false };
      if ((cmd.producerEpoch ?? 0) !== last.epoch) {
        return { ops: [], result: { ok: false, code: ErrorCode.InvalidProducerEpoch, message: `producer ${cmd.producerId} is at epoch ${last.epoch}, not ${cmd.producerEpoch}: another producer took it over` }, topics: false };
      }
      given = next(last);
      if (given.producerId === cmd.producerId) ops.push({ type: 'put', key: producerEpochKey(cmd.producerId), value: given });
    } else {
      given = fresh();
    }
    return { ops, result: { ok: true, value: { producerId: given.producerId, producerEpoch: given.epoch } }, topics: false };
  }

  /** Writes offsets of existing partitions; the others get UNKNOWN_TOPIC_OR_PARTITION. */
  private writeOffsets(group: string, offsets: readonly OffsetCommit[], at: number): { ops: StateOp[]; result: MetaResult; topics: boolean } {
    const ops: StateOp[] = [];
    const results: OffsetResults = [];
    for (const o of offsets) {
      const t = this.topic(o.topic);
      if (t === undefined || o.partition >= t.partitions) {
        results.push({ topic: o.topic, partition: o.partition, error: { code: ErrorCode.UnknownTopicOrPartition, message: `${o.topic}/${o.partition} does not exist` } });
        continue;
      }
      const rec: OffsetRecord = { offset: o.offset, metadata: o.metadata, committedAt: at };
      ops.push({ type: 'put', key: offsetKey(group, o.topic, o.partition), value: rec });
      results.push({ topic: o.topic, partition: o.partition });
    }
    return { ops, result: { ok: true, value: results }, topics: false };
  }

  /**
   * Installs the leader's snapshot. In this order, so that a crash between any two steps leaves
   * what reconcile() (at the next open) completes: the snapshot file, then the log reset to
   * start after it, then the store replaced in one batch.
   */
  async restore(snapshot: Snapshot, log: SegmentLog): Promise<void> {
    this.storage.save(snapshot);
    log.resetTo(snapshot.index, snapshot.term, 0, snapshot.membership);
    await this.store.importSnapshot(snapshot.data);
    this.appliedSinceSnapshot = 0;
    this.aclChanges++;
    this.logger.info({ index: snapshot.index }, `installed a metadata snapshot at index ${snapshot.index}`);
    this.events.nodesChanged();
    this.events.topicsChanged();
    const cluster = this.cluster();
    if (cluster !== undefined) this.events.clusterKnown(cluster);
  }

  onSoftState(soft: SoftState): void {
    const now = soft.role === Role.Leader;
    if (now !== this.isController) {
      this.isController = now;
      this.events.controllerChanged(now);
    }
  }

  onPersisted(): void {}

  onReadStates(states: readonly ReadState[], dropped: readonly unknown[]): void {
    const lost = (): Error => new RaftError(RaftErrorCode.NotLeader, 'this node stopped being the controller', true, this.group.raft.lead);
    this.reads.onReadStates(states, dropped, lost, this.appliedUpTo(), this.appliedTerm);
  }

  /** How far the state machine has applied (entries before a restart's resume point included). */
  private appliedUpTo(): number {
    return Math.max(this.lastApplied, this.group.raft.applied);
  }

  /** Exports the state, saves it as the log-start snapshot, and drops the log before it. */
  private async takeSnapshot(): Promise<void> {
    this.snapshotting = true;
    try {
      const { index, data } = await this.store.exportSnapshot();
      let term: number;
      try {
        term = this.storage.log.term(index);
      } catch (err) {
        if (err instanceof LogCompactedError) return;
        throw err;
      }
      // The configuration at the snapshot's index goes with it, for a follower that installs it.
      const membership = this.storage.membershipAt(index);
      this.storage.save(membership === undefined ? { index, term, data } : { index, term, data, membership });
      const dropped = this.storage.log.truncatePrefix(index + 1);
      this.appliedSinceSnapshot = 0;
      this.logger.info({ index, segmentsDropped: dropped }, `metadata snapshot at index ${index}`);
    } catch (err) {
      // A failed store takes no more writes (storage/state-store.ts): retrying cannot help, and its message says what to do.
      if (err instanceof StateStoreFailedError) this.logger.error({ err: err.message }, `metadata snapshot failed: ${err.message}`);
      else this.logger.error({ err: (err as Error).message }, 'metadata snapshot failed; will retry');
    } finally {
      this.snapshotting = false;
    }
  }
}

/** The saved snapshot file's body (msgpack of the Snapshot), or why it is not one. */
function decodeSavedSnapshot(body: Uint8Array): Snapshot | string {
  let v: unknown;
  try {
    v = decodeFrame(body);
  } catch (err) {
    return (err as Error).message;
  }
  const o = v as Partial<Record<keyof Snapshot, unknown>> | null;
  if (typeof o !== 'object' || o === null || typeof o.index !== 'number' || typeof o.term !== 'number' || !(o.data instanceof Uint8Array)) return 'not a snapshot';
  if (o.membership === undefined) return { index: o.index, term: o.term, data: o.data };
  const m = o.membership as { voters?: unknown; learners?: unknown } | null;
  if (typeof m !== 'object' || m === null || !isIdList(m.voters) || !isIdList(m.learners)) return `its configuration is not a membership: ${JSON.stringify(o.membership).slice(0, 200)}`;
  return { index: o.index, term: o.term, data: o.data, membership: { voters: m.voters, learners: m.learners } };
}

function isIdList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0);
}
