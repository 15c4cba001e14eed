/**
 * Admin calls, kafkajs style. Topic changes go to the controller (the metadata group's leader);
 * descriptions come from metadata; offsets from each partition's leader; consumer-group calls
 * to the group's coordinator (group-admin.ts).
 */
import { sleep } from '../wire/clock.js';
import {
  ErrorCode,
  LIMITS,
  quotaEntityProblem,
  type AlterReplicationFactorResponse,
  type QuotaAlteration,
  type QuotaEntry,
  type AlterTopicConfigResponse,
  type CreatePartitionsResponse,
  type DecommissionNodeResponse,
  type NodeRef,
  type RebalancePartitionsResponse,
  type StatusResponse,
  type TopicConfig,
} from '../wire/protocol.js';
import { localTimeout, type Cluster } from './cluster.js';
import { ClientErrorCode, RaftlogError, checkTopicName, fromApiError, invalidArgument } from './errors.js';
import { listOffsets } from './list-offsets.js';
import { GroupAdmin, type ConsumerGroupDescription, type GroupOverview, type GroupTopicOffsets, type ResetTarget } from './group-admin.js';
import { formatOffset } from './offsets.js';
import { withRetry } from './retry.js';
import { toTopicConfig, type ConfigEntry } from './topic-config.js';
import { ACLS_PER_REQUEST_MAX, aclBindingProblem, describeBinding, type AclBinding, type AclFilter } from '../auth/acl.js';
import { newCredentials, passwordProblem } from '../auth/credentials.js';
import { SCRAM_ITERATIONS_DEFAULT, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_MECHANISMS, isScramMechanism, type ScramMechanism } from '../auth/scram.js';
import { userNameProblem } from '../wire/protocol.js';

export interface NewTopic {
  readonly topic: string;
  /** Default 1. */
  readonly numPartitions?: number;
  /** Default -1: the cluster's choice, min(3, its nodes) (kafkajs's default too). */
  readonly replicationFactor?: number;
  /** Kafka names (retention.ms, retention.bytes, segment.bytes, max.message.bytes) or camelCase. */
  readonly configEntries?: readonly ConfigEntry[];
}

export interface CreateTopicsOptions {
  readonly topics: readonly NewTopic[];
  /** How long the controller may take (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Wait until every partition of the new topics has a leader (default true). */
  readonly waitForLeaders?: boolean;
}

export interface PartitionDescription {
  readonly partitionId: number;
  readonly leader: string | null;
  readonly leaderTerm: number;
  /**
   * The target replicas (the first is the preferred leader): as created, or as last reassigned.
   * While a reassignment runs, the partition's Raft group may still hold others (nodeStatus).
   */
  readonly replicas: readonly string[];
}

/** A partition's new target replicas: node ids, the first its preferred leader. */
export interface PartitionReassignment {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly string[];
}

export interface TopicDescription {
  readonly name: string;
  readonly partitions: readonly PartitionDescription[];
  readonly replicationFactor: number;
  readonly config: TopicConfig;
}

export interface PartitionOffsets {
  readonly partition: number;
  /** The high watermark: the offset the next record will get (kafkajs calls it offset). */
  readonly offset: string;
  readonly high: string;
  readonly low: string;
}

/** A user as listUsers shows it: never its credentials. */
export interface UserDescription {
  readonly name: string;
  /** The SCRAM mechanisms it has a credential of (and may log in with), in SCRAM_MECHANISMS's order. */
  readonly mechanisms: readonly ScramMechanism[];
}

export interface ClusterDescription {
  readonly nodes: readonly NodeRef[];
  readonly controller: string | null;
}

const DEFAULT_ADMIN_TIMEOUT_MS = 5000;
const LEADER_POLL_MS = 50;

export class Admin {
  private readonly groups: GroupAdmin;

  constructor(private readonly cluster: Cluster) {
    this.groups = new GroupAdmin(cluster);
  }

  async connect(): Promise<void> {
    await this.cluster.metadataWithRetry();
  }

  async disconnect(): Promise<void> {
    this.cluster.close();
  }

  /** Creates topics; true if any was created, false if all existed already. */
  async createTopics(opts: CreateTopicsOptions): Promise<boolean> {
    const topics = checkTopicList(opts.topics.map((t) => t.topic));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const specs = opts.topics.map((t) => {
      const partitions = t.numPartitions ?? 1;
      const replicationFactor = t.replicationFactor ?? -1;
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > LIMITS.partitionsPerTopicMax) {
        throw new RaftlogError(ErrorCode.InvalidPartitions, `topic '${t.topic}': numPartitions must be 1..${LIMITS.partitionsPerTopicMax}, not ${partitions}`, { topic: t.topic });
      }
      if (!Number.isInteger(replicationFactor) || (replicationFactor < 1 && replicationFactor !== -1)) {
        throw new RaftlogError(ErrorCode.InvalidReplicationFactor, `topic '${t.topic}': replicationFactor must be a positive integer (or -1, the cluster's default), not ${replicationFactor}`, { topic: t.topic });
      }
      const config = toTopicConfig(t.configEntries ?? []);
      return Object.keys(config).length > 0 ? { name: t.topic, partitions, replicationFactor, config } : { name: t.topic, partitions, replicationFactor };
    });
    const resp = await this.cluster.toController({ type: 'createTopics', topics: specs, timeoutMs }, localTimeout(timeoutMs));
    const created: string[] = [];
    for (const name of topics) {
      const r = resp.topics.find((x) => x.name === name);
      if (!r?.error) created.push(name);
      else if (r.error.code !== ErrorCode.TopicAlreadyExists) throw fromApiError(r.error, { topic: name });
    }
    if (created.length > 0 && (opts.waitForLeaders ?? true)) await this.waitForLeaders(created, this.cluster.clock.now() + timeoutMs);
    return created.length > 0;
  }

  async deleteTopics(opts: { readonly topics: readonly string[]; readonly timeoutMs?: number }): Promise<void> {
    const topics = checkTopicList(opts.topics);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'deleteTopics', topics, timeoutMs }, localTimeout(timeoutMs));
    for (const name of topics) {
      const r = resp.topics.find((x) => x.name === name);
      if (r?.error) throw fromApiError(r.error, { topic: name });
    }
    this.cluster.markStale();
  }

  async listTopics(): Promise<string[]> {
    const md = await this.cluster.metadataWithRetry();
    return md.topics.filter((t) => !t.error).map((t) => t.name).sort();
  }

  /**
   * Sets partitions' target replicas. Resolves once the cluster has recorded every new target;
   * the replicas then move in the background while writes and reads go on (each partition's
   * leader adds the new ones as learners, promotes them once caught up and removes the ones that
   * leave): describeTopics shows the targets and leaders, nodeStatus each group's replicas.
   * Rejects with the first partition the cluster refused (the others named were set). Setting a
   * partition's current list again changes nothing, so a call that failed may be repeated.
   */
  async reassignPartitions(reassignments: readonly PartitionReassignment[], opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    const partitions = checkReassignments(reassignments);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'reassignPartitions', partitions, timeoutMs }, localTimeout(timeoutMs));
    this.cluster.markStale();
    for (const r of partitions) {
      const answer = resp.partitions.find((x) => x.topic === r.topic && x.partition === r.partition);
      if (answer === undefined) throw new RaftlogError(ClientErrorCode.ProtocolError, `the controller did not answer for ${r.topic}/${r.partition}`, { topic: r.topic, partition: r.partition });
      if (answer.error) throw fromApiError(answer.error, { topic: r.topic, partition: r.partition });
    }
  }

  /**
   * Starts moving every replica off a node (up or down), then out of the metadata group. Resolves
   * once the cluster has recorded it; the moves run in the background, `maxMoves` at once
   * (nodeStatus of the controller shows them). Rejects, changing nothing, when the nodes left
   * could not hold some partition, or the metadata group would lose its live majority.
   */
  async decommissionNode(node: string, opts: { readonly maxMoves?: number; readonly timeoutMs?: number } = {}): Promise<DecommissionNodeResponse> {
    if (typeof node !== 'string' || node.length === 0 || node.length > LIMITS.nodeIdLengthMax) throw invalidArgument(`a node id is 1 to ${LIMITS.nodeIdLengthMax} characters`);
    checkMaxMoves(opts.maxMoves);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'decommissionNode', node, ...(opts.maxMoves !== undefined ? { maxMoves: opts.maxMoves } : {}), timeoutMs }, localTimeout(timeoutMs));
    this.cluster.markStale();
    return { node: resp.node, state: resp.state, partitions: resp.partitions };
  }

  /**
   * Stops the decommission of a node still being decommissioned: it stays a member and takes
   * replicas again (those already moved off it stay moved; rebalancePartitions evens them out).
   * Rejects for a node decommissioned already.
   */
  async recommissionNode(node: string, opts: { readonly timeoutMs?: number } = {}): Promise<DecommissionNodeResponse> {
    if (typeof node !== 'string' || node.length === 0 || node.length > LIMITS.nodeIdLengthMax) throw invalidArgument(`a node id is 1 to ${LIMITS.nodeIdLengthMax} characters`);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'recommissionNode', node, timeoutMs }, localTimeout(timeoutMs));
    this.cluster.markStale();
    return { node: resp.node, state: resp.state, partitions: resp.partitions };
  }

  /** Sets a topic's replication factor; its partitions then move to that many replicas in the background, `maxMoves` at once. */
  async alterReplicationFactor(topic: string, replicationFactor: number, opts: { readonly maxMoves?: number; readonly timeoutMs?: number } = {}): Promise<AlterReplicationFactorResponse> {
    checkTopicName(topic);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > LIMITS.replicationFactorMax) {
      throw new RaftlogError(ErrorCode.InvalidReplicationFactor, `topic '${topic}': replicationFactor must be an integer 1..${LIMITS.replicationFactorMax}, not ${replicationFactor}`, { topic });
    }
    checkMaxMoves(opts.maxMoves);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController(
      { type: 'alterReplicationFactor', topic, replicationFactor, ...(opts.maxMoves !== undefined ? { maxMoves: opts.maxMoves } : {}), timeoutMs },
      localTimeout(timeoutMs),
    );
    this.cluster.markStale();
    return { topic: resp.topic, previous: resp.previous, replicationFactor: resp.replicationFactor, partitions: resp.partitions };
  }

  /**
   * Changes a topic's config while it runs; the entries not named keep their values. Resolves
   * with the config before and after, once the cluster has recorded it.
   */
  async alterTopicConfig(topic: string, configEntries: readonly ConfigEntry[], opts: { readonly timeoutMs?: number } = {}): Promise<AlterTopicConfigResponse> {
    checkTopicName(topic);
    const config = toTopicConfig(configEntries);
    if (Object.keys(config).length === 0) throw invalidArgument('name at least one config entry to change');
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'alterTopicConfig', topic, config, timeoutMs }, localTimeout(timeoutMs));
    this.cluster.markStale();
    return { topic: resp.topic, previous: resp.previous, config: resp.config };
  }

  /**
   * Grows topics to `count` partitions each (kafkajs's createPartitions: the new total). The new
   * partitions start empty; a key may hash to another partition from then on. Resolves once the
   * cluster has recorded them and they have leaders (or the time is up).
   */
  async createPartitions(opts: { readonly topicPartitions: readonly { readonly topic: string; readonly count: number }[]; readonly timeoutMs?: number }): Promise<CreatePartitionsResponse[]> {
    checkTopicList(opts.topicPartitions.map((t) => t.topic));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const out: CreatePartitionsResponse[] = [];
    for (const { topic, count } of opts.topicPartitions) {
      if (!Number.isInteger(count) || count < 1 || count > LIMITS.partitionsPerTopicMax) {
        throw new RaftlogError(ErrorCode.InvalidPartitions, `topic '${topic}': count must be 1..${LIMITS.partitionsPerTopicMax}, not ${count}`, { topic });
      }
      const resp = await this.cluster.toController({ type: 'createPartitions', topic, partitions: count, timeoutMs }, localTimeout(timeoutMs));
      this.cluster.markStale();
      out.push({ topic: resp.topic, previous: resp.previous, partitions: resp.partitions, assignments: resp.assignments });
    }
    return out;
  }

  /**
   * Spreads replicas, then preferred leaders, evenly over the nodes up and not leaving, `maxMoves`
   * moves at once, in the background. Resolves with the moves it plans as the cluster is now; with
   * `dryRun`, only says them.
   */
  async rebalancePartitions(opts: { readonly maxMoves?: number; readonly dryRun?: boolean; readonly timeoutMs?: number } = {}): Promise<RebalancePartitionsResponse> {
    checkMaxMoves(opts.maxMoves);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController(
      { type: 'rebalancePartitions', ...(opts.maxMoves !== undefined ? { maxMoves: opts.maxMoves } : {}), ...(opts.dryRun === true ? { dryRun: true } : {}), timeoutMs },
      localTimeout(timeoutMs),
    );
    this.cluster.markStale();
    return { moves: resp.moves, total: resp.total, started: resp.started };
  }

  /**
   * Adds ACL bindings (src/auth/acl.ts); resolves once the cluster holds them all, or rejects with
   * the first refusal (none was added then). A binding held already is kept once. They are
   * enforced by nodes started with `--authorizer acl`.
   */
  async createAcls(bindings: readonly AclBinding[], opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    checkAclCount(bindings.length);
    for (const b of bindings) {
      const problem = aclBindingProblem(b);
      if (problem !== null) throw invalidArgument(`ACL binding ${describeBinding(b)}: ${problem}`);
    }
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'createAcls', bindings, timeoutMs }, localTimeout(timeoutMs));
    const refused = resp.results.find((r) => r.error !== undefined);
    if (refused?.error !== undefined) throw fromApiError(refused.error);
  }

  /** The ACL bindings `filter` matches (every one by default), as the controller holds them. */
  async describeAcls(filter: AclFilter = {}): Promise<AclBinding[]> {
    const resp = await this.cluster.toController({ type: 'describeAcls', filter }, this.cluster.config.requestTimeoutMs);
    return [...resp.bindings];
  }

  /**
   * Removes every ACL binding each filter matches (Kafka's DeleteAcls; `{}` matches all of them);
   * resolves with what each filter removed, in order.
   */
  async deleteAcls(filters: readonly AclFilter[], opts: { readonly timeoutMs?: number } = {}): Promise<AclBinding[][]> {
    checkAclCount(filters.length);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'deleteAcls', filters, timeoutMs }, localTimeout(timeoutMs));
    const refused = resp.results.find((r) => r.error !== undefined);
    if (refused?.error !== undefined) throw fromApiError(refused.error);
    return resp.results.map((r) => [...r.removed]);
  }

  /**
   * Creates user `name` with `password`, or gives an existing one this password (Kafka's
   * AlterUserScramCredentials upsertion); resolves with whether the user is new. A credential of
   * each of `mechanisms` (default both, SCRAM-SHA-256 and SCRAM-SHA-512: each a fresh salt,
   * `iterations` of PBKDF2, StoredKey and ServerKey) is made here: the password is never sent.
   * They replace every credential the user had, so the old password works with no mechanism after
   * (a mechanism left out is one the user cannot log in with). Connections the user authenticated
   * before keep running.
   */
  async upsertUser(name: string, password: string, opts: { readonly iterations?: number; readonly mechanisms?: readonly ScramMechanism[]; readonly timeoutMs?: number } = {}): Promise<{ created: boolean }> {
    checkUserName(name);
    const problem = passwordProblem(password);
    if (problem !== null) throw invalidArgument(`user '${name}': ${problem}`);
    const iterations = opts.iterations ?? SCRAM_ITERATIONS_DEFAULT;
    if (!Number.isInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN || iterations > SCRAM_ITERATIONS_MAX) throw invalidArgument(`iterations must be an integer ${SCRAM_ITERATIONS_MIN}..${SCRAM_ITERATIONS_MAX}, not ${iterations}`);
    const mechanisms = opts.mechanisms ?? SCRAM_MECHANISMS;
    if (!Array.isArray(mechanisms) || mechanisms.length === 0 || !mechanisms.every(isScramMechanism)) {
      throw invalidArgument(`mechanisms must be a non-empty list of ${SCRAM_MECHANISMS.map((m) => `'${m}'`).join(', ')}, not ${JSON.stringify(opts.mechanisms)}`);
    }
    const credentials = await newCredentials(password, mechanisms, iterations);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'upsertUser', name, credentials, timeoutMs }, localTimeout(timeoutMs));
    return { created: resp.created };
  }

  /** Deletes a user (RESOURCE_NOT_FOUND if there is none); connections it authenticated before keep running. */
  async deleteUser(name: string, opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    checkUserName(name);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    await this.cluster.toController({ type: 'deleteUser', name, timeoutMs }, localTimeout(timeoutMs));
  }

  /** The users, by name, with the mechanisms each has a credential of. */
  async listUsers(): Promise<UserDescription[]> {
    const resp = await this.cluster.toController({ type: 'listUsers' }, this.cluster.config.requestTimeoutMs);
    return resp.users.map((u) => ({ name: u.name, mechanisms: [...u.mechanisms] }));
  }

  /**
   * Sets or removes client quota rates: per entity ('User:<name>', or QUOTA_DEFAULT_ENTITY for
   * every principal without a rate of its own), a number sets a rate in bytes per second, null
   * removes it, absent leaves it. Resolves once every change is committed; each node then holds
   * the principals to them by throttling (README "Quotas"). Rejects with the first entry the
   * controller refused (the ones before it were made). Setting a rate again changes nothing.
   */
  async alterQuotas(alterations: readonly QuotaAlteration[], opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    const entries = checkQuotaAlterations(alterations);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'alterQuotas', entries, timeoutMs }, localTimeout(timeoutMs));
    for (const e of entries) {
      const r = resp.entries.find((x) => x.entity === e.entity);
      if (r === undefined) throw new RaftlogError(ClientErrorCode.ProtocolError, `the controller did not answer for the quota of ${e.entity}`);
      if (r.error) throw fromApiError(r.error);
    }
  }

  /** Every entity that has a client quota rate, with its rates (bytes per second), the default first. */
  async describeQuotas(opts: { readonly timeoutMs?: number } = {}): Promise<QuotaEntry[]> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_ADMIN_TIMEOUT_MS;
    const resp = await this.cluster.toController({ type: 'describeQuotas' }, localTimeout(timeoutMs));
    return resp.quotas.map((q) => ({ ...q }));
  }

  /** Topics with their partitions; all topics when none are named. Unknown names reject. */
  async describeTopics(opts: { readonly topics?: readonly string[] } = {}): Promise<{ topics: TopicDescription[] }> {
    const names = opts.topics === undefined ? undefined : checkTopicList(opts.topics);
    const md = await this.cluster.metadataWithRetry(names);
    const topics = md.topics.map((t) => {
      if (t.error) throw fromApiError(t.error, { topic: t.name });
      return {
        name: t.name,
        replicationFactor: t.replicationFactor,
        config: t.config,
        partitions: [...t.partitions]
          .sort((a, b) => a.partition - b.partition)
          .map((p) => ({ partitionId: p.partition, leader: p.leader, leaderTerm: p.leaderTerm, replicas: p.replicas })),
      };
    });
    return { topics };
  }

  /** kafkajs's name for describeTopics. */
  fetchTopicMetadata(opts: { readonly topics?: readonly string[] } = {}): Promise<{ topics: TopicDescription[] }> {
    return this.describeTopics(opts);
  }

  /** Each partition's high watermark (offset, high) and log start (low). */
  async fetchTopicOffsets(topic: string): Promise<PartitionOffsets[]> {
    checkTopicList([topic]);
    const t = await this.cluster.topic(topic);
    const partitions = t.partitions.map((p) => p.partition);
    const [latest, earliest] = await Promise.all(
      (['latest', 'earliest'] as const).map((spec) => listOffsets(this.cluster, partitions.map((partition) => ({ topic, partition, spec })))),
    );
    return partitions.map((partition, i) => ({
      partition,
      offset: formatOffset(latest[i].offset),
      high: formatOffset(latest[i].offset),
      low: formatOffset(earliest[i].offset),
    }));
  }

  /**
   * Per partition, the offset of its first record at or after `timestamp` (ms since the epoch),
   * or its high watermark when every record is older (kafkajs's call of the same name).
   */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp: number): Promise<{ partition: number; offset: string }[]> {
    checkTopicList([topic]);
    if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw invalidArgument(`a timestamp is ms since the epoch, not ${timestamp}`);
    const t = await this.cluster.topic(topic);
    const partitions = t.partitions.map((p) => p.partition);
    const [at, latest] = await Promise.all(
      [{ timestamp }, 'latest' as const].map((spec) => listOffsets(this.cluster, partitions.map((partition) => ({ topic, partition, spec })))),
    );
    return partitions.map((partition, i) => ({ partition, offset: formatOffset(at[i].offset < 0 ? latest[i].offset : at[i].offset) }));
  }

  /** Nodes and the controller, from metadata. */
  async describeCluster(): Promise<ClusterDescription> {
    const md = await this.cluster.metadataWithRetry([]);
    return { nodes: md.nodes, controller: md.controller };
  }

  /**
   * Hands a partition's leadership to another of its replicas (a planned failover: the target is
   * caught up first, so nothing is lost and writes pause only briefly). Resolves with the new leader.
   */
  async transferLeadership(opts: { readonly topic: string; readonly partition: number; readonly to: string; readonly timeoutMs?: number }): Promise<string | null> {
    checkTopicList([opts.topic]);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    await this.cluster.topic(opts.topic);
    const res = await withRetry(
      async () => {
        const address = this.cluster.leaderAddress(opts.topic, opts.partition);
        try {
          return await this.cluster.request(address, { type: 'transferLeadership', topic: opts.topic, partition: opts.partition, to: opts.to, timeoutMs }, localTimeout(timeoutMs));
        } catch (err) {
          if (err instanceof RaftlogError) this.cluster.notePartitionError(opts.topic, opts.partition, err);
          throw err;
        }
      },
      this.cluster.config.retry,
      { clock: this.cluster.clock, onRetry: () => this.cluster.refreshIfStale() },
    );
    this.cluster.markStale();
    return res.leader;
  }

  /** Every consumer group the coordinator knows, with its state and member count. */
  listGroups(): Promise<{ groups: GroupOverview[] }> {
    return this.groups.listGroups();
  }

  /** State, generation, assignor and members (metadata and assignment, decoded) of each group. */
  describeGroups(groupIds: readonly string[]): Promise<{ groups: ConsumerGroupDescription[] }> {
    return this.groups.describeGroups(groupIds);
  }

  /** A group's committed offsets: of every partition of `topics` ("-1" where none), or all it has. */
  fetchOffsets(opts: { readonly groupId: string; readonly topics?: readonly string[] }): Promise<GroupTopicOffsets[]> {
    return this.groups.fetchOffsets(opts);
  }

  /** Moves an empty group's committed offsets of a topic (NON_EMPTY_GROUP while it has members). */
  resetOffsets(opts: { readonly groupId: string; readonly topic: string; readonly to: ResetTarget; readonly partitions?: readonly number[]; readonly timeoutMs?: number }): Promise<{ partition: number; offset: string }[]> {
    return this.groups.resetOffsets(opts);
  }

  /** Deletes empty groups and their committed offsets. */
  deleteGroups(groupIds: readonly string[], opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    return this.groups.deleteGroups(groupIds, opts);
  }

  /** One node's view of its Raft groups (the `status` request). */
  async nodeStatus(address: string): Promise<StatusResponse> {
    // The answer without the frame's request id, which is the connection's, not the node's.
    const { id: _, ...status } = (await this.cluster.request(address, { type: 'status' })) as StatusResponse & { id?: unknown };
    return status;
  }

  private async waitForLeaders(topics: readonly string[], deadline: number): Promise<void> {
    for (;;) {
      const md = await this.cluster.metadataWithRetry(topics);
      const waiting = md.topics.filter((t) => t.error || t.partitions.some((p) => p.leader === null));
      if (waiting.length === 0 && md.topics.length >= topics.length) return;
      if (this.cluster.clock.now() + LEADER_POLL_MS > deadline) {
        this.cluster.logger.warn(`created ${topics.join(', ')}, but not every partition has a leader yet`);
        return;
      }
      await sleep(this.cluster.clock, LEADER_POLL_MS);
    }
  }
}

/** The reassignments as the request carries them, after the checks the client can make alone. */
function checkReassignments(reassignments: readonly PartitionReassignment[]): PartitionReassignment[] {
  if (!Array.isArray(reassignments) || reassignments.length === 0) throw invalidArgument('name at least one partition to reassign');
  if (reassignments.length > LIMITS.reassignmentsPerRequestMax) throw invalidArgument(`at most ${LIMITS.reassignmentsPerRequestMax} partitions per reassignment, not ${reassignments.length}`);
  return reassignments.map((r) => {
    checkTopicName(r.topic);
    const where = `${r.topic}/${String(r.partition)}`;
    if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= LIMITS.partitionsPerTopicMax) throw invalidArgument(`${where}: partition must be an integer 0..${LIMITS.partitionsPerTopicMax - 1}`);
    if (!Array.isArray(r.replicas) || !r.replicas.every((n: unknown) => typeof n === 'string' && n.length > 0 && n.length <= LIMITS.nodeIdLengthMax)) {
      throw invalidArgument(`${where}: replicas must be a list of node ids (1 to ${LIMITS.nodeIdLengthMax} characters each)`);
    }
    return { topic: r.topic, partition: r.partition, replicas: [...r.replicas] };
  });
}

function checkUserName(name: string): void {
  const problem = userNameProblem(name);
  if (problem !== null) throw invalidArgument(problem);
}

/** The alterations as the request carries them, after the checks the client can make alone. */
function checkQuotaAlterations(alterations: readonly QuotaAlteration[]): QuotaAlteration[] {
  if (!Array.isArray(alterations) || alterations.length === 0) throw invalidArgument('name at least one quota to set or remove');
  if (alterations.length > LIMITS.quotaEntriesPerRequestMax) throw invalidArgument(`at most ${LIMITS.quotaEntriesPerRequestMax} quotas per request, not ${alterations.length}`);
  return alterations.map((a) => {
    const problem = quotaEntityProblem(a.entity);
    if (problem !== null) throw invalidArgument(problem);
    const out: { entity: string; producerByteRate?: number | null; consumerByteRate?: number | null } = { entity: a.entity };
    for (const k of ['producerByteRate', 'consumerByteRate'] as const) {
      const v = a[k];
      if (v === undefined) continue;
      if (v !== null && (!Number.isSafeInteger(v) || v < 1 || v > LIMITS.quotaByteRateMax)) throw invalidArgument(`${a.entity}: ${k} must be an integer of 1..${LIMITS.quotaByteRateMax} bytes per second, or null to remove it; not ${v}`);
      out[k] = v;
    }
    if (out.producerByteRate === undefined && out.consumerByteRate === undefined) throw invalidArgument(`${a.entity}: give producerByteRate or consumerByteRate (null removes it)`);
    return out;
  });
}

function checkMaxMoves(maxMoves: number | undefined): void {
  if (maxMoves !== undefined && (!Number.isInteger(maxMoves) || maxMoves < 1 || maxMoves > LIMITS.movesAtOnceMax)) {
    throw invalidArgument(`maxMoves must be an integer 1..${LIMITS.movesAtOnceMax}, not ${maxMoves}`);
  }
}

function checkTopicList(topics: readonly string[]): string[] {
  if (!Array.isArray(topics) || topics.length === 0) throw invalidArgument('name at least one topic');
  if (topics.length > LIMITS.topicsPerRequestMax) throw invalidArgument(`at most ${LIMITS.topicsPerRequestMax} topics per request, not ${topics.length}`);
  for (const t of topics) checkTopicName(t);
  return [...topics];
}

function checkAclCount(n: number): void {
  if (n > ACLS_PER_REQUEST_MAX) throw invalidArgument(`at most ${ACLS_PER_REQUEST_MAX} ACL bindings or filters per request, not ${n}`);
}
