/**
 * Admin calls about consumer groups, each sent to the group's coordinator (coordinator.ts):
 * list, describe (members with their metadata and assignment decoded when they speak the consumer
 * protocol), committed offsets, offset resets (only while the group has no members) and deletion.
 */
import { ErrorCode, type ApiError, type GroupDescription as WireDescription, type GroupState, type OffsetSpec } from '../wire/protocol.js';
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeMetadata } from './assignors/protocol.js';
import { compareIds, type TopicPartitionList } from './assignors/types.js';
import { localTimeout, type Cluster } from './cluster.js';
import { GroupCoordinator } from './coordinator.js';
import { RaftlogError, checkTopicName, fromApiError, invalidArgument, toRaftlogError } from './errors.js';
import { listOffsets } from './list-offsets.js';
import { asBuffer } from './messages.js';
import { formatOffset, parseOffset } from './offsets.js';

export interface GroupOverview {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupState;
  readonly members: number;
}

export interface MemberDescription {
  readonly memberId: string;
  readonly clientId: string;
  readonly memberMetadata: Buffer;
  readonly memberAssignment: Buffer;
  /** The subscribed topics, decoded from the metadata; null when it is not the consumer protocol's. */
  readonly subscription: string[] | null;
  /** The assigned partitions, decoded; null when the bytes are not the consumer protocol's. */
  readonly assignment: TopicPartitionList[] | null;
}

export interface ConsumerGroupDescription {
  readonly groupId: string;
  readonly state: GroupState;
  readonly generation: number;
  readonly protocolType: string;
  /** The assignor in use. */
  readonly protocol: string;
  readonly leader: string;
  readonly members: readonly MemberDescription[];
  /** GROUP_ID_NOT_FOUND for a group that does not exist (state 'Dead'). */
  readonly error: RaftlogError | null;
}

export interface GroupTopicOffsets {
  readonly topic: string;
  /** offset "-1" when nothing is committed. */
  readonly partitions: { readonly partition: number; readonly offset: string; readonly metadata: string }[];
}

/** Where resetOffsets moves a group: the log start, the end, an offset (clamped into the log), or the first record at or after a time (ms). */
export type ResetTarget = 'earliest' | 'latest' | { readonly offset: string | bigint } | { readonly timestamp: number };

const DEFAULT_TIMEOUT_MS = 5000;

export class GroupAdmin {
  private readonly coordinators = new Map<string, GroupCoordinator>();

  constructor(private readonly cluster: Cluster) {}

  async listGroups(): Promise<{ groups: GroupOverview[] }> {
    const resp = await new GroupCoordinator(this.cluster, null).send({ type: 'listGroups' }, this.cluster.config.requestTimeoutMs);
    const groups = (Array.isArray(resp.groups) ? resp.groups : [])
      .map((g) => ({ groupId: g.group, protocolType: g.protocolType, state: g.state, members: g.members }))
      .sort((a, b) => compareIds(a.groupId, b.groupId));
    return { groups };
  }

  async describeGroups(groupIds: readonly string[]): Promise<{ groups: ConsumerGroupDescription[] }> {
    const ids = checkGroups(groupIds);
    const groups = await Promise.all(
      ids.map(async (id) => {
        const resp = await this.coordinator(id).send({ type: 'describeGroups', groups: [id] }, this.cluster.config.requestTimeoutMs);
        const d = (Array.isArray(resp.groups) ? resp.groups : []).find((g) => g.group === id);
        if (!d) throw new RaftlogError(ErrorCode.UnknownServerError, `group '${id}': the coordinator's description does not name it`);
        // The coordinator (as Kafka's) answers Dead, with no error, for a group it does not know.
        const unknown: ApiError = { code: ErrorCode.UnknownGroup, message: `group '${id}' does not exist` };
        const error = d.error ? groupError(d.error, id) : d.state === 'Dead' ? groupError(unknown, id) : null;
        const members: WireDescription['members'] = Array.isArray(d.members) ? d.members : [];
        if (error && error.code !== ErrorCode.UnknownGroup) throw error;
        return {
          groupId: id,
          state: error ? 'Dead' : d.state,
          generation: d.generation,
          protocolType: d.protocolType,
          protocol: d.protocol,
          leader: d.leader,
          members: members.map((m) => describeMember(m, d.protocolType)),
          error,
        } satisfies ConsumerGroupDescription;
      }),
    );
    return { groups };
  }

  /** Committed offsets: of every partition of `topics` ("-1" where none), or every committed one. */
  async fetchOffsets(opts: { readonly groupId: string; readonly topics?: readonly string[] }): Promise<GroupTopicOffsets[]> {
    const [id] = checkGroups([opts.groupId]);
    let partitions: { topic: string; partition: number }[] | undefined;
    if (opts.topics !== undefined) {
      partitions = [];
      for (const topic of opts.topics) {
        checkTopicName(topic);
        const t = await this.cluster.topic(topic);
        for (const p of t.partitions) partitions.push({ topic, partition: p.partition });
      }
    }
    const resp = await this.coordinator(id).send(partitions === undefined ? { type: 'fetchOffsets', group: id } : { type: 'fetchOffsets', group: id, partitions }, this.cluster.config.requestTimeoutMs);
    const byTopic = new Map<string, { partition: number; offset: string; metadata: string }[]>();
    for (const o of Array.isArray(resp.offsets) ? resp.offsets : []) {
      if (o.error !== undefined) throw fromApiError(o.error, { topic: o.topic, partition: o.partition });
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: formatOffset(o.offset < 0 ? -1 : o.offset), metadata: o.metadata ?? '' });
      byTopic.set(o.topic, list);
    }
    return [...byTopic.keys()].sort().map((topic) => ({ topic, partitions: (byTopic.get(topic) ?? []).sort((a, b) => a.partition - b.partition) }));
  }

  /**
   * Sets the group's committed offsets of a topic's partitions (all, or those named). The group
   * must have no members: NON_EMPTY_GROUP otherwise. Resolves with the offsets set.
   */
  async resetOffsets(opts: {
    readonly groupId: string;
    readonly topic: string;
    readonly to: ResetTarget;
    readonly partitions?: readonly number[];
    readonly timeoutMs?: number;
  }): Promise<{ partition: number; offset: string }[]> {
    const [id] = checkGroups([opts.groupId]);
    const t = await this.cluster.topic(opts.topic);
    const all = t.partitions.map((p) => p.partition);
    const partitions = opts.partitions ?? all;
    for (const p of partitions) if (!all.includes(p)) throw invalidArgument(`partition ${p} does not exist: topic '${opts.topic}' has partitions 0..${all.length - 1}`);
    const targets = await this.targets(opts.topic, partitions, opts.to);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const offsets = partitions.map((partition, i) => ({ topic: opts.topic, partition, offset: targets[i], metadata: '' }));
    let resp;
    try {
      resp = await this.coordinator(id).send({ type: 'resetOffsets', group: id, offsets, timeoutMs }, localTimeout(timeoutMs));
    } catch (err) {
      throw explainGroupError(toRaftlogError(err), id);
    }
    for (const r of Array.isArray(resp.results) ? resp.results : []) if (r.error) throw explainGroupError(fromApiError(r.error, { topic: r.topic, partition: r.partition }), id);
    return offsets.map((o) => ({ partition: o.partition, offset: formatOffset(o.offset) }));
  }

  /** Deletes groups and their committed offsets; a group with members is refused (NON_EMPTY_GROUP). */
  async deleteGroups(groupIds: readonly string[], opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    const ids = checkGroups(groupIds);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const failures: RaftlogError[] = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const resp = await this.coordinator(id).send({ type: 'deleteGroups', groups: [id], timeoutMs }, localTimeout(timeoutMs));
          const r = (Array.isArray(resp.groups) ? resp.groups : []).find((g) => g.group === id);
          if (r?.error) failures.push(explainGroupError(groupError(r.error, id), id));
        } catch (err) {
          failures.push(explainGroupError(toRaftlogError(err), id));
        }
      }),
    );
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new RaftlogError(failures[0].code, failures.map((f) => f.message).join('; '), { cause: failures[0] });
  }

  private coordinator(id: string): GroupCoordinator {
    let c = this.coordinators.get(id);
    if (!c) {
      c = new GroupCoordinator(this.cluster, id);
      this.coordinators.set(id, c);
    }
    return c;
  }

  private async targets(topic: string, partitions: readonly number[], to: ResetTarget): Promise<number[]> {
    const look = async (spec: OffsetSpec): Promise<number[]> => (await listOffsets(this.cluster, partitions.map((partition) => ({ topic, partition, spec })))).map((o) => o.offset);
    if (to === 'earliest' || to === 'latest') return look(to);
    if ('timestamp' in to) {
      if (!Number.isSafeInteger(to.timestamp) || to.timestamp < 0) throw invalidArgument(`timestamp ${String(to.timestamp)} is not ms since the epoch`);
      const [found, latest] = await Promise.all([look({ timestamp: to.timestamp }), look('latest')]);
      // Past every record: the end, as Kafka's --to-datetime does.
      return found.map((o, i) => (o < 0 ? latest[i] : o));
    }
    if ('offset' in to) {
      const wanted = parseOffset(to.offset);
      const [earliest, latest] = await Promise.all([look('earliest'), look('latest')]);
      return earliest.map((low, i) => Math.min(Math.max(wanted, low), latest[i]));
    }
    throw invalidArgument("resetOffsets 'to' must be 'earliest', 'latest', { offset } or { timestamp }");
  }
}

function checkGroups(ids: readonly string[]): string[] {
  if (!Array.isArray(ids) || ids.length === 0) throw invalidArgument('name at least one group');
  for (const id of ids) if (typeof id !== 'string' || id.length === 0) throw invalidArgument(`group id ${JSON.stringify(id)} must be a non-empty string`);
  return [...ids];
}

function groupError(e: ApiError, id: string): RaftlogError {
  return fromApiError(e).withContext(`group '${id}'`);
}

/** Says what to do about the refusals a person meets most. */
function explainGroupError(e: RaftlogError, id: string): RaftlogError {
  if (e.code === ErrorCode.GroupNotEmpty) {
    return new RaftlogError(e.code, `group '${id}' has active members, and its offsets can change only while it is empty: stop its consumers first (raftlog groups describe ${id} lists them)`, { cause: e });
  }
  if (e.code === ErrorCode.UnknownGroup) return new RaftlogError(e.code, `group '${id}' does not exist (raftlog groups list shows the groups there are)`, { cause: e });
  return e.message.includes(`'${id}'`) ? e : e.withContext(`group '${id}'`);
}

function describeMember(m: { memberId: string; clientId: string; metadata: Uint8Array; assignment: Uint8Array }, protocolType: string): MemberDescription {
  let subscription: string[] | null = null;
  let assignment: TopicPartitionList[] | null = null;
  if (protocolType === CONSUMER_PROTOCOL_TYPE) {
    try {
      subscription = [...decodeMetadata(m.metadata).topics];
    } catch {
      subscription = null;
    }
    try {
      assignment = [...decodeAssignment(m.assignment).partitions];
    } catch {
      assignment = null;
    }
  }
  return { memberId: m.memberId, clientId: m.clientId, memberMetadata: asBuffer(m.metadata), memberAssignment: asBuffer(m.assignment), subscription, assignment };
}
