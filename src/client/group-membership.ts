/**
 * One member's side of the group protocol, without the fetching: join and sync (a generation and
 * an assignment), heartbeat, commit and fetch offsets, leave. It keeps the member id the
 * coordinator gave and the generation; answers that concern an older generation or member id than
 * the current one (a heartbeat in flight across a rejoin) are reported as stale and change nothing.
 *
 * The coordinator's answers that mean "join again" come back as outcomes, not errors:
 *   REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION  -> rejoin with the same member id
 *   UNKNOWN_MEMBER_ID                          -> the member was dropped: rejoin with '' ("lost")
 */
import type { Clock } from '../wire/clock.js';
import { ErrorCode, LIMITS, type CommitOffsetsResponse, type CommittedOffset, type JoinGroupResponse } from '../wire/protocol.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment } from './assignors/protocol.js';
import { tpKey, type Assignor, type TopicPartitionList } from './assignors/types.js';
import { localTimeout, type Cluster } from './cluster.js';
import { GroupCoordinator } from './coordinator.js';
import { RaftlogError, fromApiError, invalidArgument, toRaftlogError } from './errors.js';
import type { RetryOptions } from './retry.js';

/** Slack on top of the rebalance timeout for a join or sync long poll (Kafka's client adds 5 s). */
const JOIN_SLACK_MS = 5000;

/** The group options a member sends the coordinator, checked against the protocol's limits. */
export function checkGroupOptions(opts: { groupId: unknown; sessionTimeout?: number; rebalanceTimeout?: number; heartbeatInterval?: number }): {
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  heartbeatIntervalMs: number;
} {
  const id = opts.groupId;
  if (typeof id !== 'string' || id.length === 0) throw invalidArgument('groupId must be a non-empty string');
  if (id.length > LIMITS.groupIdLengthMax) throw invalidArgument(`groupId is longer than ${LIMITS.groupIdLengthMax} characters`);
  if (/[\u0000-\u001f\u007f]/.test(id)) throw invalidArgument('groupId must not contain control characters');
  const sessionTimeoutMs = opts.sessionTimeout ?? 30_000;
  const rebalanceTimeoutMs = opts.rebalanceTimeout ?? 60_000;
  const heartbeatIntervalMs = opts.heartbeatInterval ?? 3000;
  if (!Number.isSafeInteger(sessionTimeoutMs) || sessionTimeoutMs < LIMITS.sessionTimeoutMsMin || sessionTimeoutMs > LIMITS.sessionTimeoutMsMax) {
    throw invalidArgument(`sessionTimeout must be ${LIMITS.sessionTimeoutMsMin}..${LIMITS.sessionTimeoutMsMax} ms, not ${String(sessionTimeoutMs)}`);
  }
  if (!Number.isSafeInteger(rebalanceTimeoutMs) || rebalanceTimeoutMs < 1 || rebalanceTimeoutMs > LIMITS.requestTimeoutMsMax) {
    throw invalidArgument(`rebalanceTimeout must be 1..${LIMITS.requestTimeoutMsMax} ms, not ${String(rebalanceTimeoutMs)}`);
  }
  if (!Number.isSafeInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 1 || heartbeatIntervalMs >= sessionTimeoutMs) {
    throw invalidArgument(`heartbeatInterval must be below the session timeout (${sessionTimeoutMs} ms; a third of it is usual), not ${String(heartbeatIntervalMs)}`);
  }
  return { sessionTimeoutMs, rebalanceTimeoutMs, heartbeatIntervalMs };
}

export interface MembershipConfig {
  readonly groupId: string;
  readonly clientId: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly assignors: readonly Assignor[];
  readonly retry: Required<RetryOptions>;
}

export type JoinOutcome =
  | {
      readonly kind: 'joined';
      readonly generation: number;
      readonly memberId: string;
      readonly leaderId: string;
      readonly protocol: string;
      readonly assignment: TopicPartitionList[];
      readonly durationMs: number;
    }
  | { readonly kind: 'rejoin'; readonly reason: string; readonly lost: boolean };

export type HeartbeatOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'rejoin'; readonly reason: string; readonly lost: boolean }
  /** The answer concerns an earlier generation or member id. */
  | { readonly kind: 'stale' }
  | { readonly kind: 'failed'; readonly error: RaftlogError };

/** The leader's part of a join: each member's assignment bytes from their metadata. */
export type LeaderAssign = (protocol: string, members: JoinGroupResponse['members']) => Promise<{ memberId: string; assignment: Uint8Array }[]>;

export interface CommitResult {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly error: RaftlogError | null;
}

export class GroupMembership {
  memberId = '';
  generation = -1;
  readonly coordinator: GroupCoordinator;
  private readonly clock: Clock;

  constructor(
    cluster: Cluster,
    private readonly config: MembershipConfig,
  ) {
    this.coordinator = new GroupCoordinator(cluster, config.groupId);
    this.clock = cluster.clock;
  }

  get groupId(): string {
    return this.config.groupId;
  }

  /** Whether the member holds a generation (joined and not dropped since). */
  get active(): boolean {
    return this.generation >= 0 && this.memberId !== '';
  }

  /** Forgets the member id and generation (dropped by the coordinator, or left). */
  reset(): void {
    this.memberId = '';
    this.generation = -1;
  }

  /** One round of joinGroup then syncGroup. Routing failures are retried inside; other errors throw. */
  async joinAndSync(metadata: Uint8Array, assign: LeaderAssign): Promise<JoinOutcome> {
    const started = this.clock.now();
    const { groupId, clientId, sessionTimeoutMs, rebalanceTimeoutMs } = this.config;
    const longPollMs = rebalanceTimeoutMs + JOIN_SLACK_MS;
    let join: JoinGroupResponse;
    try {
      join = await this.coordinator.send(
        {
          type: 'joinGroup',
          group: groupId,
          memberId: this.memberId,
          clientId,
          protocolType: CONSUMER_PROTOCOL_TYPE,
          protocols: this.config.assignors.map((a) => ({ name: a.name, metadata })),
          sessionTimeoutMs,
          rebalanceTimeoutMs,
        },
        longPollMs,
        this.config.retry,
      );
    } catch (err) {
      return this.rejoinOrThrow(err, 'join');
    }
    this.memberId = join.memberId;
    this.generation = join.generation;
    const assignments = join.leader === join.memberId ? await assign(join.protocol, join.members) : [];
    let assignment: Uint8Array;
    try {
      const sync = await this.coordinator.send(
        { type: 'syncGroup', group: groupId, generation: join.generation, memberId: join.memberId, assignments },
        longPollMs,
        this.config.retry,
      );
      assignment = sync.assignment;
    } catch (err) {
      return this.rejoinOrThrow(err, 'sync');
    }
    return {
      kind: 'joined',
      generation: join.generation,
      memberId: join.memberId,
      leaderId: join.leader,
      protocol: join.protocol,
      assignment: [...decodeAssignment(assignment, `assignment of member ${join.memberId} in generation ${join.generation}`).partitions],
      durationMs: this.clock.now() - started,
    };
  }

  async heartbeat(): Promise<HeartbeatOutcome> {
    const { generation, memberId } = this;
    if (!this.active) return { kind: 'stale' };
    try {
      await this.coordinator.send(
        { type: 'heartbeat', group: this.config.groupId, generation, memberId },
        Math.min(this.config.requestTimeoutMs, this.config.sessionTimeoutMs),
        { ...this.config.retry, retries: 1 },
      );
      return { kind: 'ok' };
    } catch (err) {
      const e = toRaftlogError(err);
      if (this.generation !== generation || this.memberId !== memberId) return { kind: 'stale' };
      const rejoin = this.rejoinFor(e);
      return rejoin ?? { kind: 'failed', error: e };
    }
  }

  /**
   * Commits offsets with this member's generation (or as a standalone consumer, -1 and '', when
   * it holds none). Per-partition refusals come back in the results; a refusal of the whole
   * request is thrown. Either way UNKNOWN_MEMBER_ID forgets the member id.
   */
  async commit(offsets: readonly { topic: string; partition: number; offset: number }[]): Promise<CommitResult[]> {
    const { generation, memberId } = this.active ? this : { generation: -1, memberId: '' };
    const timeoutMs = this.config.requestTimeoutMs;
    const dropped = (code: string | undefined): void => {
      if (code === ErrorCode.UnknownMemberId && this.generation === generation && this.memberId === memberId) this.reset();
    };
    const out: CommitResult[] = [];
    for (let i = 0; i < offsets.length; i += LIMITS.fetchPartitionsMax) {
      const chunk = offsets.slice(i, i + LIMITS.fetchPartitionsMax);
      const body: CommittedOffset[] = chunk.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: '' }));
      let results: CommitOffsetsResponse['results'];
      try {
        const resp = await this.coordinator.send({ type: 'commitOffsets', group: this.config.groupId, generation, memberId, offsets: body, timeoutMs }, localTimeout(timeoutMs), this.config.retry);
        results = Array.isArray(resp.results) ? resp.results : [];
      } catch (err) {
        const e = toRaftlogError(err);
        dropped(e.code);
        throw e;
      }
      for (const o of chunk) {
        const r = results.find((x) => x.topic === o.topic && x.partition === o.partition);
        const error = r?.error ? fromApiError(r.error, { topic: o.topic, partition: o.partition }) : null;
        dropped(error?.code);
        out.push({ ...o, error });
      }
    }
    return out;
  }

  /** The committed offset of each partition, -1 when none. */
  async fetchOffsets(partitions: readonly { topic: string; partition: number }[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < partitions.length; i += LIMITS.fetchPartitionsMax) {
      const chunk = partitions.slice(i, i + LIMITS.fetchPartitionsMax);
      const resp = await this.coordinator.send({ type: 'fetchOffsets', group: this.config.groupId, partitions: chunk }, this.config.requestTimeoutMs, this.config.retry);
      for (const o of Array.isArray(resp.offsets) ? resp.offsets : []) {
        // A partition whose topic this principal may not describe (TOPIC_AUTHORIZATION_FAILED).
        if (o.error !== undefined) throw fromApiError(o.error, { topic: o.topic, partition: o.partition });
        out.set(tpKey(o.topic, o.partition), o.offset);
      }
    }
    return out;
  }

  /** Leaves the group (one quick try: if it fails the session timeout removes the member). */
  async leave(): Promise<void> {
    if (this.memberId === '') return;
    const memberId = this.memberId;
    this.reset();
    try {
      await this.coordinator.send({ type: 'leaveGroup', group: this.config.groupId, memberId }, this.config.requestTimeoutMs, { ...this.config.retry, retries: 1 });
    } catch (err) {
      const e = toRaftlogError(err);
      if (e.code !== ErrorCode.UnknownMemberId) throw e;
    }
  }

  private rejoinFor(e: RaftlogError): Extract<JoinOutcome, { kind: 'rejoin' }> | null {
    switch (e.code) {
      case ErrorCode.UnknownMemberId:
        this.reset();
        return { kind: 'rejoin', reason: 'the coordinator no longer knows this member (its session expired or it was removed)', lost: true };
      case ErrorCode.IllegalGeneration:
        return { kind: 'rejoin', reason: `generation ${this.generation} is no longer the group's`, lost: false };
      case ErrorCode.RebalanceInProgress:
        return { kind: 'rejoin', reason: 'the group is rebalancing', lost: false };
      default:
        return null;
    }
  }

  private rejoinOrThrow(err: unknown, step: 'join' | 'sync'): JoinOutcome {
    const e = toRaftlogError(err);
    const rejoin = this.rejoinFor(e);
    if (rejoin) return rejoin;
    if (e.code === ErrorCode.InconsistentGroupProtocol) {
      const offered = this.config.assignors.map((a) => a.name).join(', ');
      throw new RaftlogError(
        e.code,
        `group '${this.config.groupId}': this member cannot join: it offers the assignors ${offered} and the group's members use none of them (or are not consumers); give every member a common one in partitionAssigners, or use another group id`,
        { cause: e },
      );
    }
    throw e.withContext(`group '${this.config.groupId}': ${step}`);
  }
}
