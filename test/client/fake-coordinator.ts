/**
 * An in-memory group coordinator for the fake broker, following what the real one promises
 * (src/wire/protocol.ts, "Consumer groups"): joinGroup is a long poll answered when every known
 * member rejoined or the rebalance timeout passed (an empty group's first rebalance waits
 * `initialRebalanceDelayMs` for more joiners); the leader member's syncGroup hands out the
 * assignments; heartbeats answer REBALANCE_IN_PROGRESS while a rebalance is being prepared; a
 * member silent past its session timeout is removed; commits carry the generation and are refused
 * per partition when it is stale. Nothing is replicated or persisted. Sessions and rebalance
 * delays run on the clock it is given, which a test may move by hand (test/helpers/manual-clock.ts).
 */
import {
  ErrorCode,
  type ApiError,
  type CommitOffsetsRequest,
  type DeleteGroupsRequest,
  type DescribeGroupsRequest,
  type FetchOffsetsRequest,
  type GroupDescription,
  type GroupProtocol,
  type GroupState,
  type HeartbeatRequest,
  type JoinGroupRequest,
  type LeaveGroupRequest,
  type ResetOffsetsRequest,
  type SyncGroupRequest,
} from '../../src/wire/protocol.js';
import { systemClock, type Clock, type Timer } from '../../src/wire/clock.js';

export type Reply = Record<string, unknown>;

export interface FakeMember {
  readonly memberId: string;
  clientId: string;
  protocols: readonly GroupProtocol[];
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  lastSeen: number;
  assignment: Uint8Array;
  joinWaiter: ((r: Reply) => void) | null;
  syncWaiter: ((r: Reply) => void) | null;
}

export interface FakeGroup {
  readonly id: string;
  state: GroupState;
  generation: number;
  protocolType: string;
  protocol: string;
  leader: string;
  readonly members: Map<string, FakeMember>;
  timer: Timer | null;
  /** The empty group's first rebalance waits for more joiners before it may complete. */
  initialDelay: boolean;
  readonly offsets: Map<string, { offset: number; metadata: string }>;
}

const fail = (code: ErrorCode, message: string): Reply => ({ error: { code, message } satisfies ApiError });
const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class FakeCoordinator {
  readonly groups = new Map<string, FakeGroup>();
  initialRebalanceDelayMs = 50;
  /** How often sessions are looked at. */
  readonly sweepMs = 20;
  private nextMember = 1;
  private readonly sweeper: Timer;

  constructor(private readonly clock: Clock = systemClock) {
    this.sweeper = clock.every(this.sweepMs, () => this.expireSessions());
  }

  close(): void {
    this.sweeper.cancel();
    for (const g of this.groups.values()) g.timer?.cancel();
  }

  /** Committed offset of a partition, -1 when none. */
  committed(group: string, topic: string, partition: number): number {
    return this.groups.get(group)?.offsets.get(key(topic, partition))?.offset ?? -1;
  }

  join(req: JoinGroupRequest): Promise<Reply> {
    const g = this.group(req.group);
    if (g.members.size > 0) {
      const names = new Set(req.protocols.map((p) => p.name));
      const common = [...g.members.values()].every((m) => m.protocols.some((p) => names.has(p.name)));
      if (g.protocolType !== req.protocolType || !common) return Promise.resolve(fail(ErrorCode.InconsistentGroupProtocol, 'no assignor in common with the group'));
    }
    let m: FakeMember | undefined;
    if (req.memberId === '') {
      m = {
        memberId: `${req.clientId || 'member'}-${this.nextMember++}`,
        clientId: req.clientId,
        protocols: req.protocols,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        lastSeen: this.clock.now(),
        assignment: new Uint8Array(),
        joinWaiter: null,
        syncWaiter: null,
      };
      g.members.set(m.memberId, m);
    } else {
      m = g.members.get(req.memberId);
      if (!m) return Promise.resolve(fail(ErrorCode.UnknownMemberId, `no member ${req.memberId} in ${req.group}`));
      m.protocols = req.protocols;
      m.sessionTimeoutMs = req.sessionTimeoutMs;
      m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
      m.lastSeen = this.clock.now();
    }
    g.protocolType = req.protocolType;
    const member = m;
    const answer = new Promise<Reply>((resolve) => {
      member.joinWaiter?.(fail(ErrorCode.RebalanceInProgress, 'joined again'));
      member.joinWaiter = resolve;
    });
    if (g.state === 'PreparingRebalance') this.maybeComplete(g);
    else this.prepare(g);
    return answer;
  }

  sync(req: SyncGroupRequest): Promise<Reply> {
    const g = this.groups.get(req.group);
    const m = g?.members.get(req.memberId);
    if (!g || !m) return Promise.resolve(fail(ErrorCode.UnknownMemberId, `no member ${req.memberId}`));
    if (req.generation !== g.generation) return Promise.resolve(fail(ErrorCode.IllegalGeneration, `generation ${req.generation} is not ${g.generation}`));
    if (g.state === 'PreparingRebalance') return Promise.resolve(fail(ErrorCode.RebalanceInProgress, 'rebalancing'));
    m.lastSeen = this.clock.now();
    if (g.state === 'Stable') return Promise.resolve({ assignment: m.assignment });
    const answer = new Promise<Reply>((resolve) => (m.syncWaiter = resolve));
    if (req.memberId === g.leader) {
      for (const x of g.members.values()) x.assignment = req.assignments.find((a) => a.memberId === x.memberId)?.assignment ?? new Uint8Array();
      g.state = 'Stable';
      for (const x of g.members.values()) {
        const w = x.syncWaiter;
        x.syncWaiter = null;
        w?.({ assignment: x.assignment });
      }
    }
    return answer;
  }

  heartbeat(req: HeartbeatRequest): Reply {
    const g = this.groups.get(req.group);
    const m = g?.members.get(req.memberId);
    if (!g || !m) return fail(ErrorCode.UnknownMemberId, `no member ${req.memberId}`);
    if (req.generation !== g.generation) return fail(ErrorCode.IllegalGeneration, `generation ${req.generation} is not ${g.generation}`);
    m.lastSeen = this.clock.now();
    if (g.state === 'PreparingRebalance') return fail(ErrorCode.RebalanceInProgress, 'rebalancing');
    return {};
  }

  leave(req: LeaveGroupRequest): Reply {
    const g = this.groups.get(req.group);
    if (!g || !g.members.has(req.memberId)) return fail(ErrorCode.UnknownMemberId, `no member ${req.memberId}`);
    this.remove(g, req.memberId);
    return {};
  }

  commit(req: CommitOffsetsRequest): Reply {
    const g = this.group(req.group);
    const standalone = req.generation === -1 && req.memberId === '';
    const m = g.members.get(req.memberId);
    const refusal: ApiError | null = standalone
      ? g.members.size > 0
        ? { code: ErrorCode.UnknownMemberId, message: `group ${req.group} has members: a standalone commit is refused` }
        : null
      : !m
        ? { code: ErrorCode.UnknownMemberId, message: `no member ${req.memberId}` }
        : req.generation !== g.generation
          ? { code: ErrorCode.IllegalGeneration, message: `generation ${req.generation} is not ${g.generation}` }
          : null;
    if (m) m.lastSeen = this.clock.now();
    const results = req.offsets.map((o) => {
      if (refusal) return { topic: o.topic, partition: o.partition, error: refusal };
      g.offsets.set(key(o.topic, o.partition), { offset: o.offset, metadata: o.metadata });
      return { topic: o.topic, partition: o.partition };
    });
    return { results };
  }

  fetchOffsets(req: FetchOffsetsRequest): Reply {
    const g = this.groups.get(req.group);
    if (req.partitions) {
      return {
        offsets: req.partitions.map((p) => {
          const o = g?.offsets.get(key(p.topic, p.partition));
          return { topic: p.topic, partition: p.partition, offset: o?.offset ?? -1, metadata: o?.metadata ?? '' };
        }),
      };
    }
    return {
      offsets: [...(g?.offsets ?? new Map<string, { offset: number; metadata: string }>())].map(([k, o]) => {
        const [topic, partition] = k.split('\u0000');
        return { topic, partition: Number(partition), offset: o.offset, metadata: o.metadata };
      }),
    };
  }

  listGroups(): Reply {
    return { groups: [...this.groups.values()].map((g) => ({ group: g.id, state: g.state, protocolType: g.protocolType, members: g.members.size })) };
  }

  describeGroups(req: DescribeGroupsRequest): Reply {
    const groups = req.groups.map((id): GroupDescription => {
      const g = this.groups.get(id);
      // As the real coordinator (and Kafka) answer for a group they do not know: Dead, no error.
      if (!g) return { group: id, state: 'Dead', generation: 0, protocolType: '', protocol: '', leader: '', members: [] };
      return {
        group: id,
        state: g.state,
        generation: g.generation,
        protocolType: g.protocolType,
        protocol: g.protocol,
        leader: g.leader,
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          clientId: m.clientId,
          metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? new Uint8Array(),
          assignment: m.assignment,
        })),
      };
    });
    return { groups };
  }

  resetOffsets(req: ResetOffsetsRequest): Reply {
    const g = this.group(req.group);
    if (g.members.size > 0) return fail(ErrorCode.GroupNotEmpty, `group ${req.group} has ${g.members.size} active members`);
    for (const o of req.offsets) g.offsets.set(key(o.topic, o.partition), { offset: o.offset, metadata: o.metadata });
    return { results: req.offsets.map((o) => ({ topic: o.topic, partition: o.partition })) };
  }

  deleteGroups(req: DeleteGroupsRequest): Reply {
    return {
      groups: req.groups.map((id) => {
        const g = this.groups.get(id);
        if (!g) return { group: id, error: { code: ErrorCode.UnknownGroup, message: `no group ${id}` } };
        if (g.members.size > 0) return { group: id, error: { code: ErrorCode.GroupNotEmpty, message: `group ${id} has members` } };
        this.groups.delete(id);
        return { group: id };
      }),
    };
  }

  // ---------------------------------------------------------------------------------------------

  private group(id: string): FakeGroup {
    let g = this.groups.get(id);
    if (!g) {
      g = { id, state: 'Empty', generation: 0, protocolType: '', protocol: '', leader: '', members: new Map(), timer: null, initialDelay: false, offsets: new Map() };
      this.groups.set(id, g);
    }
    return g;
  }

  /** Starts a rebalance: pending syncs are told, and known members have until the timeout to rejoin. */
  private prepare(g: FakeGroup): void {
    const first = g.state === 'Empty';
    g.state = 'PreparingRebalance';
    for (const m of g.members.values()) {
      const w = m.syncWaiter;
      m.syncWaiter = null;
      w?.(fail(ErrorCode.RebalanceInProgress, 'rebalancing'));
    }
    g.timer?.cancel();
    const wait = first ? this.initialRebalanceDelayMs : Math.max(...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    g.initialDelay = first;
    g.timer = this.clock.after(wait, () => this.complete(g));
    if (!first) this.maybeComplete(g);
  }

  private maybeComplete(g: FakeGroup): void {
    if (!g.initialDelay && [...g.members.values()].every((m) => m.joinWaiter !== null)) this.complete(g);
  }

  /** Ends the join phase: members that did not rejoin are dropped, the rest get the new generation. */
  private complete(g: FakeGroup): void {
    g.timer?.cancel();
    g.timer = null;
    g.initialDelay = false;
    for (const m of [...g.members.values()]) if (m.joinWaiter === null) g.members.delete(m.memberId);
    g.generation++;
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.leader = '';
      return;
    }
    const members = [...g.members.values()];
    // Kafka's vote: each member names its first choice among the protocols every member supports.
    const candidates = members[0].protocols.map((p) => p.name).filter((n) => members.every((m) => m.protocols.some((p) => p.name === n)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    g.protocol = candidates.reduce((best, n) => ((votes.get(n) ?? 0) > (votes.get(best) ?? 0) ? n : best), candidates[0]);
    if (!g.members.has(g.leader)) g.leader = members[0].memberId;
    g.state = 'CompletingRebalance';
    const all = members.map((m) => ({ memberId: m.memberId, metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? new Uint8Array() }));
    for (const m of members) {
      const w = m.joinWaiter;
      m.joinWaiter = null;
      m.lastSeen = this.clock.now();
      w?.({ generation: g.generation, protocol: g.protocol, leader: g.leader, memberId: m.memberId, members: m.memberId === g.leader ? all : [] });
    }
  }

  private remove(g: FakeGroup, memberId: string): void {
    const m = g.members.get(memberId);
    if (!m) return;
    g.members.delete(memberId);
    m.joinWaiter?.(fail(ErrorCode.UnknownMemberId, 'removed'));
    m.syncWaiter?.(fail(ErrorCode.UnknownMemberId, 'removed'));
    if (g.members.size === 0) {
      g.timer?.cancel();
      g.timer = null;
      g.state = 'Empty';
      g.leader = '';
      g.generation++;
      return;
    }
    if (g.state === 'PreparingRebalance') this.maybeComplete(g);
    else this.prepare(g);
  }

  /** Members silent past their session timeout are removed (a member waiting in a join is alive). */
  private expireSessions(): void {
    const now = this.clock.now();
    for (const g of this.groups.values()) {
      for (const m of [...g.members.values()]) if (m.joinWaiter === null && now - m.lastSeen > m.sessionTimeoutMs) this.remove(g, m.memberId);
    }
  }
}
