/**
 * The consumer group coordinator (Kafka's protocol): members join and get a generation, the
 * leader member assigns partitions with an assignor all members name, everyone syncs to get its
 * share, heartbeats keep sessions alive, and offsets are committed per generation.
 *
 * Where the state lives, and why: every group's generations, members, assignments and committed
 * offsets are commands of the metadata group (src/meta/meta-state.ts), replicated and kept in
 * LevelDB. Group metadata is small and changes only on rebalances and commits, so one log that
 * every node already runs is simpler than coordinator groups of their own, and a coordinator
 * failover is a plain metadata-leader change. The coordinator is therefore the controller.
 * What is not replicated stays here, on the coordinator: heartbeats and session timers, the
 * join and sync requests waiting for a rebalance to finish, and the PreparingRebalance state.
 * A new coordinator reloads the replicated groups and gives every member a fresh session.
 *
 * A generation is replied to members only once its command is committed; offsets are answered
 * only once committed; and the generation and member of a commit are checked when the commit is
 * applied, so a commit from an old generation can never land.
 */
import { randomUUID } from 'node:crypto';
import { RaftError } from '../../raft/errors.js';
import type { Clock, Timer } from '../wire/clock.js';
import {
  ErrorCode,
  type CommitOffsetsRequest,
  type CommitOffsetsResponse,
  type DescribeGroupsResponse,
  type FetchOffsetsRequest,
  type FetchOffsetsResponse,
  type GroupDescription,
  type GroupProtocol,
  type GroupResultsResponse,
  type GroupState,
  type HeartbeatRequest,
  type JoinGroupRequest,
  type JoinGroupResponse,
  type LeaveGroupRequest,
  type ListGroupsResponse,
  type ResetOffsetsRequest,
  type SyncGroupRequest,
  type SyncGroupResponse,
} from '../wire/protocol.js';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { GroupMemberRecord, GroupRecord, MetaCommand } from '../meta/commands.js';
import type { MetaResult, MetaStateMachine, OffsetResults } from '../meta/meta-state.js';

/** How long the first rebalance of an empty group waits for more members to join. */
const INITIAL_REBALANCE_DELAY_MS = 300;
/** How often sessions and rebalance deadlines are checked. */
const CHECK_EVERY_MS = 100;
/** How long a group change may take to commit before the request is answered REQUEST_TIMED_OUT. */
const PROPOSE_TIMEOUT_MS = 10_000;

/** A join or sync parked on a member until the rebalance answers it (see `park`). */
interface Waiter<T> {
  readonly resolve: (r: T) => void;
  readonly reject: (e: Error) => void;
}

interface Member {
  readonly memberId: string;
  clientId: string;
  protocols: readonly GroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  lastSeen: number;
  /** A join waiting for the rebalance to complete. */
  join: Waiter<JoinGroupResponse> | null;
  /** A sync waiting for the leader's assignment. */
  sync: Waiter<SyncGroupResponse> | null;
}

interface LiveGroup {
  readonly id: string;
  /** The replicated record, as last applied. */
  record: GroupRecord | null;
  /** PreparingRebalance while members (re)join; otherwise the record's state. */
  preparing: boolean;
  /** When the join phase ends even if some known members have not rejoined. */
  rebalanceDeadline: number;
  /** A generation or assignment command is being committed. */
  proposing: boolean;
  protocolType: string;
  readonly members: Map<string, Member>;
}

export interface CoordinatorHost {
  readonly meta: MetaStateMachine;
  readonly logger: Logger;
  /** Sessions, rebalance deadlines and proposal timeouts are timed on it. */
  readonly clock: Clock;
  isController(): boolean;
  controllerId(): string | null;
}

/**
 * What the coordinator does with an offset commit before it answers: 'replicate' (the metadata
 * group commits it; every node runs REPLICATE_OFFSET_COMMITS) or 'skip' (nothing is written: passed
 * in only by the chaos entry point, chaos/node-main.ts, to prove that the checker notices).
 */
export interface OffsetCommitPolicy {
  readonly write: 'replicate' | 'skip';
}

export const REPLICATE_OFFSET_COMMITS: OffsetCommitPolicy = Object.freeze({ write: 'replicate' });

export class GroupCoordinator {
  private readonly groups = new Map<string, LiveGroup>();
  private active = false;
  private timer: Timer | null = null;

  constructor(
    private readonly host: CoordinatorHost,
    private readonly offsetCommits: OffsetCommitPolicy = REPLICATE_OFFSET_COMMITS,
  ) {}

  start(): void {
    this.timer = this.host.clock.every(CHECK_EVERY_MS, () => this.check());
  }

  stop(): void {
    this.timer?.cancel();
    this.deactivate('the node is shutting down');
  }

  /** The controller changed: load the replicated groups, or drop everything held here. */
  onControllerChange(isController: boolean): void {
    if (!isController) this.deactivate('this node is no longer the coordinator');
  }

  private deactivate(why: string): void {
    if (!this.active && this.groups.size === 0) return;
    this.active = false;
    for (const g of this.groups.values()) {
      for (const m of g.members.values()) this.failWaiters(m, this.notCoordinator(why));
    }
    this.groups.clear();
  }

  /** Loads groups once this node leads the metadata group and has applied everything before its term. */
  private ensureActive(): void {
    if (!this.host.isController()) throw this.notCoordinator('this node is not the coordinator');
    if (!this.host.meta.isReady()) throw new ServerError(ErrorCode.CoordinatorNotAvailable, 'the coordinator is loading group state; retry shortly');
    if (this.active) return;
    this.active = true;
    const now = this.host.clock.now();
    for (const rec of this.host.meta.consumerGroups()) {
      const members = new Map<string, Member>();
      for (const m of rec.members) {
        members.set(m.memberId, { memberId: m.memberId, clientId: m.clientId, protocols: [{ name: rec.protocol, metadata: m.metadata }], sessionTimeoutMs: m.sessionTimeoutMs, rebalanceTimeoutMs: m.rebalanceTimeoutMs, lastSeen: now, join: null, sync: null });
      }
      // A generation whose assignment never got committed must start over.
      const preparing = rec.state === 'CompletingRebalance';
      this.groups.set(rec.group, { id: rec.group, record: rec, preparing, rebalanceDeadline: now + maxRebalance(members), proposing: false, protocolType: rec.protocolType, members });
    }
    this.host.logger.info({ groups: this.groups.size }, `coordinating ${this.groups.size} consumer group(s)`);
  }

  private notCoordinator(why: string): ServerError {
    const c = this.host.controllerId();
    return new ServerError(c === null ? ErrorCode.CoordinatorNotAvailable : ErrorCode.NotCoordinator, `${why}${c !== null ? `; ${c} is` : '; none is elected yet'}`, c);
  }

  private get(id: string): LiveGroup {
    let g = this.groups.get(id);
    if (g === undefined) {
      g = { id, record: null, preparing: false, rebalanceDeadline: 0, proposing: false, protocolType: '', members: new Map() };
      this.groups.set(id, g);
    }
    return g;
  }

  state(g: LiveGroup): GroupState {
    if (g.preparing) return 'PreparingRebalance';
    return g.record?.state ?? 'Empty';
  }

  // -----------------------------------------------------------------------------------------------
  // Join, sync, heartbeat, leave

  join(req: JoinGroupRequest): Promise<JoinGroupResponse> {
    this.ensureActive();
    const g = this.get(req.group);
    if (g.members.size > 0 && g.protocolType !== '' && req.protocolType !== g.protocolType) {
      throw new ServerError(ErrorCode.InconsistentGroupProtocol, `group '${req.group}' is a '${g.protocolType}' group; this member speaks '${req.protocolType}'`);
    }
    if (req.memberId !== '' && !g.members.has(req.memberId)) {
      throw new ServerError(ErrorCode.UnknownMemberId, `member '${req.memberId}' is not in group '${req.group}'; join again without a member id`);
    }
    const others = [...g.members.values()].filter((m) => m.memberId !== req.memberId);
    if (others.length > 0 && commonProtocols([...others.map((m) => m.protocols), req.protocols]).length === 0) {
      throw new ServerError(ErrorCode.InconsistentGroupProtocol, `no assignor is shared by every member of '${req.group}' (this member offers ${req.protocols.map((p) => p.name).join(', ')})`);
    }
    const memberId = req.memberId !== '' ? req.memberId : `${req.clientId || 'member'}-${randomUUID()}`;
    let m = g.members.get(memberId);
    if (m === undefined) {
      m = { memberId, clientId: req.clientId, protocols: req.protocols, sessionTimeoutMs: req.sessionTimeoutMs, rebalanceTimeoutMs: req.rebalanceTimeoutMs, lastSeen: this.host.clock.now(), join: null, sync: null };
      g.members.set(memberId, m);
      if (g.members.size > 1 || g.record?.state !== undefined) this.host.logger.info({ group: g.id, member: memberId }, `member ${memberId} joins group ${g.id}`);
    }
    m.clientId = req.clientId;
    m.protocols = req.protocols;
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.lastSeen = this.host.clock.now();
    g.protocolType = req.protocolType;
    if (m.join !== null) m.join.reject(new ServerError(ErrorCode.RebalanceInProgress, 'a newer join from this member replaced this one'));
    const member = m;
    const done = park<JoinGroupResponse>((w) => (member.join = w));
    if (!g.preparing) this.prepareRebalance(g, joinWaitMs(g));
    this.maybeCompleteJoin(g);
    return done;
  }

  private prepareRebalance(g: LiveGroup, waitMs: number): void {
    g.preparing = true;
    g.rebalanceDeadline = this.host.clock.now() + waitMs;
    for (const m of g.members.values()) {
      if (m.sync !== null) {
        m.sync.reject(rebalancing(g.id));
        m.sync = null;
      }
    }
  }

  /** Ends the join phase when every member has rejoined (after the initial delay), or at the deadline. */
  private maybeCompleteJoin(g: LiveGroup): void {
    if (!g.preparing || g.proposing) return;
    const all = [...g.members.values()].every((m) => m.join !== null);
    const initial = g.record === null || g.record.members.length === 0;
    const now = this.host.clock.now();
    if (!(all && (!initial || now >= g.rebalanceDeadline)) && now < g.rebalanceDeadline) return;
    for (const m of [...g.members.values()]) {
      if (m.join === null) {
        g.members.delete(m.memberId);
        this.host.logger.info({ group: g.id, member: m.memberId }, `member ${m.memberId} did not rejoin group ${g.id} in time; removed`);
      }
    }
    void this.completeJoin(g);
  }

  private async completeJoin(g: LiveGroup): Promise<void> {
    const members = [...g.members.values()];
    const protocol = members.length === 0 ? '' : chooseProtocol(members.map((m) => m.protocols));
    const prevLeader = g.record?.leader ?? '';
    const leader = members.some((m) => m.memberId === prevLeader) ? prevLeader : (members[0]?.memberId ?? '');
    const generation = (g.record?.generation ?? 0) + 1;
    const records: GroupMemberRecord[] = members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      metadata: m.protocols.find((p) => p.name === protocol)?.metadata ?? new Uint8Array(0),
    }));
    g.proposing = true;
    let r: MetaResult;
    try {
      r = await this.propose({ type: 'groupGeneration', group: g.id, generation, protocolType: g.protocolType, protocol, leader, members: records });
    } catch (err) {
      for (const m of members) this.failWaiters(m, this.toGroupError(err));
      return;
    } finally {
      g.proposing = false;
    }
    if (!r.ok) {
      this.host.logger.warn({ group: g.id, err: r.message }, 'a group generation was refused; rebalancing again');
      g.record = this.host.meta.consumerGroup(g.id) ?? null;
      this.prepareRebalance(g, joinWaitMs(g));
      return;
    }
    g.record = r.value as GroupRecord;
    g.preparing = false;
    const now = this.host.clock.now();
    this.host.logger.info({ group: g.id, generation, members: members.length, protocol }, `group ${g.id} is at generation ${generation} with ${members.length} member(s)`);
    for (const m of members) {
      m.lastSeen = now;
      const join = m.join;
      m.join = null;
      join?.resolve({
        generation,
        protocol,
        leader,
        memberId: m.memberId,
        members: m.memberId === leader ? records.map((x) => ({ memberId: x.memberId, metadata: x.metadata })) : [],
      });
    }
    // Members that joined while this generation was being committed start the next one.
    if ([...g.members.values()].some((m) => m.join !== null)) {
      this.prepareRebalance(g, joinWaitMs(g));
      this.maybeCompleteJoin(g);
    }
  }

  async sync(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    const { g, m } = this.liveMember(req.group, req.memberId);
    const rec = g.record!;
    if (req.generation !== rec.generation) throw new ServerError(ErrorCode.IllegalGeneration, `generation ${req.generation} of group '${req.group}' is over (it is at ${rec.generation}); join again`);
    if (rec.state === 'Stable') return { assignment: rec.assignments[req.memberId] ?? new Uint8Array(0) };
    const mine = park<SyncGroupResponse>((w) => (m.sync = w));
    if (req.memberId === rec.leader && !g.proposing) {
      g.proposing = true;
      try {
        const r = await this.propose({ type: 'groupAssign', group: g.id, generation: rec.generation, assignments: req.assignments });
        if (!r.ok) throw new ServerError(r.code, r.message);
        g.record = r.value as GroupRecord;
      } catch (err) {
        const e = this.toGroupError(err);
        for (const x of g.members.values()) this.failWaiters(x, e);
        throw e;
      } finally {
        g.proposing = false;
      }
      for (const x of g.members.values()) {
        const s = x.sync;
        x.sync = null;
        s?.resolve({ assignment: g.record.assignments[x.memberId] ?? new Uint8Array(0) });
      }
    }
    return mine;
  }

  heartbeat(req: HeartbeatRequest): Record<string, never> {
    const { g } = this.liveMember(req.group, req.memberId);
    if (req.generation !== g.record?.generation) throw new ServerError(ErrorCode.IllegalGeneration, `generation ${req.generation} of group '${req.group}' is over; join again`);
    return {};
  }

  /** The member a sync or heartbeat comes from, now seen alive; REBALANCE_IN_PROGRESS while its group rejoins. */
  private liveMember(group: string, memberId: string): { g: LiveGroup; m: Member } {
    this.ensureActive();
    const g = this.groups.get(group);
    const m = g?.members.get(memberId);
    if (g === undefined || m === undefined) throw new ServerError(ErrorCode.UnknownMemberId, `member '${memberId}' is not in group '${group}'; join again`);
    m.lastSeen = this.host.clock.now();
    if (g.preparing) throw rebalancing(group);
    return { g, m };
  }

  async leave(req: LeaveGroupRequest): Promise<Record<string, never>> {
    this.ensureActive();
    const g = this.groups.get(req.group);
    const m = g?.members.get(req.memberId);
    if (g === undefined || m === undefined) throw new ServerError(ErrorCode.UnknownMemberId, `member '${req.memberId}' is not in group '${req.group}'`);
    this.remove(g, m, 'left');
    return {};
  }

  private remove(g: LiveGroup, m: Member, why: string): void {
    g.members.delete(m.memberId);
    this.failWaiters(m, new ServerError(ErrorCode.UnknownMemberId, `member '${m.memberId}' ${why}`));
    this.host.logger.info({ group: g.id, member: m.memberId }, `member ${m.memberId} ${why} group ${g.id}`);
    if (!g.preparing) this.prepareRebalance(g, joinWaitMs(g));
    this.maybeCompleteJoin(g);
  }

  /** Expires silent members and ends join phases whose time is up. */
  private check(): void {
    if (!this.active) return;
    if (!this.host.isController()) {
      this.deactivate('this node is no longer the coordinator');
      return;
    }
    const now = this.host.clock.now();
    for (const g of this.groups.values()) {
      for (const m of [...g.members.values()]) {
        // A member waiting in a join or sync is not heartbeating; the rebalance timeout covers it.
        if (m.join === null && m.sync === null && now - m.lastSeen > m.sessionTimeoutMs) this.remove(g, m, `expired (no heartbeat for ${m.sessionTimeoutMs} ms) and was removed from`);
      }
      if (g.preparing) this.maybeCompleteJoin(g);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Offsets and views

  async commit(req: CommitOffsetsRequest): Promise<CommitOffsetsResponse> {
    this.ensureActive();
    if (this.offsetCommits.write === 'skip') return { results: req.offsets.map((o) => ({ topic: o.topic, partition: o.partition })) };
    const g = this.groups.get(req.group);
    const m = g?.members.get(req.memberId);
    if (m !== undefined) m.lastSeen = this.host.clock.now();
    const r = await this.propose({ type: 'commitOffsets', group: req.group, generation: req.generation, memberId: req.memberId, offsets: req.offsets, at: this.host.clock.now() }, req.timeoutMs);
    if (!r.ok) {
      const error = { code: r.code, message: r.message };
      return { results: req.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error })) };
    }
    return { results: r.value as OffsetResults };
  }

  async resetOffsets(req: ResetOffsetsRequest): Promise<CommitOffsetsResponse> {
    this.ensureActive();
    const g = this.groups.get(req.group);
    if (g !== undefined && g.members.size > 0) {
      throw new ServerError(ErrorCode.GroupNotEmpty, `group '${req.group}' has ${g.members.size} active member(s); stop its consumers before resetting offsets`);
    }
    const r = await this.propose({ type: 'resetOffsets', group: req.group, offsets: req.offsets, at: this.host.clock.now() }, req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    return { results: r.value as OffsetResults };
  }

  /** Committed offsets, confirmed current by a quorum (ReadIndex) first. */
  async fetchOffsets(req: FetchOffsetsRequest): Promise<FetchOffsetsResponse> {
    this.ensureActive();
    try {
      await this.host.meta.linearizable();
    } catch (err) {
      throw this.toGroupError(err);
    }
    if (req.partitions === undefined) {
      return { offsets: this.host.meta.offsets(req.group).map(([topic, partition, o]) => ({ topic, partition, offset: o.offset, metadata: o.metadata })) };
    }
    return {
      offsets: req.partitions.map((p) => {
        const o = this.host.meta.offset(req.group, p.topic, p.partition);
        return { topic: p.topic, partition: p.partition, offset: o?.offset ?? -1, metadata: o?.metadata ?? '' };
      }),
    };
  }

  listGroups(): ListGroupsResponse {
    this.ensureActive();
    // A group with only committed offsets is listed too, Empty, as Kafka lists it.
    const ids = new Set([...this.groups.keys(), ...this.host.meta.consumerGroups().map((g) => g.group), ...this.host.meta.groupsWithOffsets()]);
    return {
      groups: [...ids].sort().map((id) => {
        const g = this.groups.get(id);
        const rec = g?.record ?? this.host.meta.consumerGroup(id) ?? null;
        return { group: id, state: g !== undefined ? this.state(g) : (rec?.state ?? 'Empty'), protocolType: rec?.protocolType ?? g?.protocolType ?? '', members: g?.members.size ?? rec?.members.length ?? 0 };
      }),
    };
  }

  describeGroups(ids: readonly string[]): DescribeGroupsResponse {
    this.ensureActive();
    return {
      groups: ids.map((id): GroupDescription => {
        const g = this.groups.get(id);
        const rec = g?.record ?? this.host.meta.consumerGroup(id) ?? null;
        if (rec === null && g === undefined) {
          const state: GroupState = this.host.meta.offsets(id).length > 0 ? 'Empty' : 'Dead';
          return { group: id, state, generation: 0, protocolType: '', protocol: '', leader: '', members: [] };
        }
        const stable = rec !== null && rec.state === 'Stable' && g?.preparing !== true;
        return {
          group: id,
          state: g !== undefined ? this.state(g) : rec!.state,
          generation: rec?.generation ?? 0,
          protocolType: rec?.protocolType ?? g?.protocolType ?? '',
          protocol: rec?.protocol ?? '',
          leader: rec?.leader ?? '',
          members: (rec?.members ?? []).map((m) => ({
            memberId: m.memberId,
            clientId: m.clientId,
            metadata: m.metadata,
            assignment: stable ? (rec!.assignments[m.memberId] ?? new Uint8Array(0)) : new Uint8Array(0),
          })),
        };
      }),
    };
  }

  async deleteGroups(ids: readonly string[]): Promise<GroupResultsResponse> {
    this.ensureActive();
    const out: GroupResultsResponse['groups'][number][] = [];
    for (const id of ids) {
      const g = this.groups.get(id);
      if (g !== undefined && g.members.size > 0) {
        out.push({ group: id, error: { code: ErrorCode.GroupNotEmpty, message: `group '${id}' has active members` } });
        continue;
      }
      const r = await this.propose({ type: 'deleteGroup', group: id });
      if (r.ok) this.groups.delete(id);
      out.push(r.ok ? { group: id } : { group: id, error: { code: r.code, message: r.message } });
    }
    return { groups: out };
  }

  // -----------------------------------------------------------------------------------------------

  /** Proposes to the metadata group; a lost leadership or no commit in time is a typed, retriable error. */
  private async propose(cmd: MetaCommand, timeoutMs = PROPOSE_TIMEOUT_MS): Promise<MetaResult> {
    let timer: Timer | undefined;
    try {
      return await Promise.race([
        this.host.meta.propose(cmd),
        new Promise<never>((_, reject) => {
          timer = this.host.clock.after(timeoutMs, () => reject(new ServerError(ErrorCode.RequestTimedOut, `the coordinator could not commit the change within ${timeoutMs} ms; it may or may not have happened`)));
        }),
      ]);
    } catch (err) {
      throw this.toGroupError(err);
    } finally {
      timer?.cancel();
    }
  }

  private failWaiters(m: Member, err: Error): void {
    m.join?.reject(err);
    m.join = null;
    m.sync?.reject(err);
    m.sync = null;
  }

  private toGroupError(err: unknown): ServerError {
    if (err instanceof ServerError) return err;
    if (err instanceof RaftError) {
      const lead = this.host.controllerId();
      return new ServerError(lead === null ? ErrorCode.CoordinatorNotAvailable : ErrorCode.NotCoordinator, `the coordinator changed: ${err.message}`, lead);
    }
    return new ServerError(ErrorCode.UnknownServerError, err instanceof Error ? err.message : String(err));
  }
}

/**
 * Parks a join or sync on its member. A parked request can be rejected at any moment (a join
 * starts a rebalance, the member leaves, the coordinator moves), even before anyone awaits it:
 * the leader's own sync is parked while it is still proposing the assignment, and is dropped if
 * that proposal fails. So every waiter is marked handled here, and such a rejection is never an
 * unhandled one that stops the node; whoever does await it still gets it.
 */
function park<T>(set: (w: Waiter<T>) => void): Promise<T> {
  const p = new Promise<T>((resolve, reject) => set({ resolve, reject }));
  p.catch(() => undefined);
  return p;
}

function rebalancing(group: string): ServerError {
  return new ServerError(ErrorCode.RebalanceInProgress, `group '${group}' is rebalancing; join again`);
}

/**
 * How long a join phase waits for members: a group whose committed generation has none (new, or
 * emptied) waits the initial delay for more to arrive (Kafka's group.initial.rebalance.delay.ms);
 * a group of members waits as long as the longest rebalance timeout among them.
 */
function joinWaitMs(g: LiveGroup): number {
  const initial = g.record === null || g.record.members.length === 0;
  return initial ? INITIAL_REBALANCE_DELAY_MS : maxRebalance(g.members);
}

function maxRebalance(members: Map<string, Member>): number {
  let max = 0;
  for (const m of members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
  return max;
}

/** Assignor names every member offers. */
function commonProtocols(lists: readonly (readonly GroupProtocol[])[]): string[] {
  if (lists.length === 0) return [];
  return lists[0]!.map((p) => p.name).filter((name) => lists.every((l) => l.some((p) => p.name === name)));
}

/** The shared assignor most members prefer (each member's order is its preference), ties by the first member's order. */
function chooseProtocol(lists: readonly (readonly GroupProtocol[])[]): string {
  const common = commonProtocols(lists);
  let best = common[0] ?? '';
  let bestVotes = -1;
  for (const name of common) {
    const votes = lists.filter((l) => l.find((p) => common.includes(p.name))?.name === name).length;
    if (votes > bestVotes) {
      best = name;
      bestVotes = votes;
    }
  }
  return best;
}
