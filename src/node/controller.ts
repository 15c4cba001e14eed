/**
 * The controller: the duties of the metadata group's leader. It decides and proposes topic
 * changes (validation, placement, partitions' target replicas), allocates producer ids, and
 * moves each partition's leadership back to its preferred replica after failovers, so leaders
 * stay spread across the nodes. Decommissions, replication factor changes and rebalances are
 * checked here and recorded in the metadata as intents; the placer (placer.ts) carries them out.
 */
import { randomUUID } from 'node:crypto';
import { RaftError } from '../../raft/errors.js';
import { isMember, type Membership, type MembershipChange } from '../../raft/membership.js';
import type { NodeId, PeerStatus } from '../../raft/types.js';
import {
  DEFAULT_TOPIC_CONFIG,
  ErrorCode,
  LIMITS,
  MOVES_AT_ONCE_DEFAULT,
  TOPIC_PARTITIONS_DEFAULT,
  defaultReplicationFactor,
  type AlterReplicationFactorRequest,
  type AlterReplicationFactorResponse,
  type AlterTopicConfigRequest,
  type AlterTopicConfigResponse,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type ApiError,
  type ControllerStatus,
  type DecommissionNodeRequest,
  type DecommissionNodeResponse,
  type RecommissionNodeRequest,
  type RebalancePartitionsRequest,
  type RebalancePartitionsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type CreateTopicSpec,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  type PartitionReassignment,
  type ReassignPartitionsRequest,
  type ReassignPartitionsResponse,
  type TopicConfig,
  type TopicResult,
  type UpsertUserRequest,
  type UpsertUserResponse,
  type DeleteUserRequest,
  type DeleteUserResponse,
  type ListUsersResponse,
  type AlterQuotasRequest,
  type AlterQuotasResponse,
  type DescribeQuotasResponse,
} from '../wire/protocol.js';
import { bootstrapCredentials, type BootstrapUser } from './bootstrap-user.js';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import { partitionGroupId, type MetaCommand } from '../meta/commands.js';
import type { MetaResult, MetaStateMachine } from '../meta/meta-state.js';
import { decommissionCapacityProblem, wholePlan } from '../meta/plan.js';
import { REASSIGN_REPLICAS_MAX, placePartitions, reassignmentProblem } from '../meta/placement.js';
import { mechanismsOf } from '../meta/users.js';
import type { JoinAnswer } from '../transport/peer-frames.js';
import { JoinRefusal, type JoinRequest, type PeerIdentity, type PeerNetwork } from '../transport/peer-transport.js';
import { HOST_PORT, NODE_ID } from './options.js';
import type { NodeIdentity } from './identity.js';
import type { LeaderInfo } from './leaders.js';
import { replicaLimitHint, type ReplicaLimit } from './limits.js';
import { PLACE_EVERY_MS, Placer, metaRemovalProblem, type PlacerHost } from './placer.js';

const BALANCE_EVERY_MS = 5000;
/** How long the controller waits for a joining node's record to commit before the joiner asks again. */
const JOIN_COMMIT_MS = 5000;
/** How often the controller looks for a cluster to name and node incarnations to record. */
const REGISTER_EVERY_MS = 1000;
/**
 * How often, until the cluster is named, the controller looks whether it may name it (once the
 * first entry of its term is applied) and record the nodes, rather than every REGISTER_EVERY_MS:
 * the nodes of a new cluster serve clients only once the metadata records them
 * (RaftlogNode.metadataProblem).
 */
const NAMING_POLL_MS = 50;
/** Leadership transfers started per balancing round. */
const TRANSFERS_PER_ROUND_MAX = 8;
/** How long createTopics waits for enough peers to be connected before refusing the replication factor. */
const PEER_WAIT_MS_MAX = 3000;
/** How long createTopics waits for the new partitions to elect leaders before answering anyway. */
const LEADER_WAIT_MS_MAX = 10_000;

/** What the controller needs of its node (node.ts's RaftlogNode is one). */
export interface ControllerHost extends PlacerHost {
  /** `bootstrapUser`: the user created while the cluster has none (bootstrap-user.ts). */
  readonly config: { readonly id: NodeId; readonly listen: string; readonly nodeDeadAfterMs?: number; readonly bootstrapUser?: BootstrapUser };
  readonly logger: Logger;
  /** The metadata it reads and proposes changes to. */
  readonly meta: Pick<MetaStateMachine, 'isReady' | 'cluster' | 'node' | 'nodes' | 'topic' | 'topics' | 'propose' | 'appliedIndex' | 'rebalance' | 'users' | 'quotas'>;
  /** This folder's cluster, metadata voters and incarnation (identity.ts). */
  readonly identity: Pick<NodeIdentity, 'identity'>;
  /** What each peer said of itself when it connected: its folder's incarnation. */
  readonly peerIdentities: ReadonlyMap<NodeId, Pick<PeerIdentity, 'inc'>>;
  /** Which peers are up, and the way to ask a peer's leader to hand over. */
  readonly transport: Pick<PeerNetwork, 'isConnected' | 'send'>;
  isController(): boolean;
  controllerId(): NodeId | null;
  nodeIds(): NodeId[];
  /** Every node and its address (the metadata's, and --peers' not registered yet). */
  nodeAddresses(): ReadonlyMap<NodeId, string>;
  /** The nodes to keep connected to: all but those decommissioned. */
  peerAddresses(): ReadonlyMap<NodeId, string>;
  /** The metadata group's configuration as this node (its leader) has it, whether it is committed, and its peers' progress. */
  metaMembership(): { readonly membership: Membership; readonly committed: boolean; readonly peers: readonly PeerStatus[] };
  /** Proposes a change of the metadata group's configuration (throws RaftError as Raft.proposeMembership does). */
  changeMetaMembership(change: MembershipChange): void;
  /** Voters of the metadata group, at most. */
  metaVotersMax(): number;
  leaderOf(group: string): LeaderInfo;
  /** Hands a group led here to `to` (hand-over.ts). */
  handOver(group: string, to: NodeId): void;
  /**
   * The replicas a node may hold by this node's open-files limit (limits.ts), null when it is not
   * known. The controller judges every node by it: the nodes of a cluster are meant to run under
   * one limit, and a node under a lower one refuses the replicas beyond its own (node.ts).
   */
  readonly replicaLimit: ReplicaLimit | null;
}

export class Controller {
  private timers: NodeJS.Timeout[] = [];
  private active = false;
  private registering = false;
  private readonly placer: Placer;

  constructor(private readonly node: ControllerHost) {
    this.placer = new Placer(node, (cmd, deadline) => this.propose(cmd, deadline));
  }

  start(): void {
    const naming = setInterval(() => {
      if (this.node.meta.cluster() === undefined) void this.register();
      else clearInterval(naming);
    }, NAMING_POLL_MS);
    this.timers.push(naming);
    this.timers.push(setInterval(() => this.balanceLeaders(), BALANCE_EVERY_MS));
    this.timers.push(setInterval(() => void this.register(), REGISTER_EVERY_MS));
    this.timers.push(setInterval(() => void this.placer.round(), PLACE_EVERY_MS));
  }

  /** The replica moves this controller runs and what they wait for (for /status). */
  status(): ControllerStatus {
    return this.placer.status();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  /**
   * Names the cluster if no controller has yet (node/identity.ts), and records each node's folder
   * incarnation as it says it when it connects, so the metadata group knows which folder each node
   * runs on (a node that comes back with a new one is shown as such).
   */
  private async register(): Promise<void> {
    const meta = this.node.meta;
    if (!this.active || this.registering || !this.node.isController() || !meta.isReady()) return;
    this.registering = true;
    try {
      const deadline = Date.now() + REGISTER_EVERY_MS * 5;
      if (meta.cluster() === undefined) {
        const clusterId = this.node.identity.identity.cluster ?? randomUUID();
        const r = await this.propose({ type: 'initCluster', clusterId, metaVoters: [...this.node.identity.identity.metaVoters] }, deadline);
        if (r.ok) this.node.logger.info({ cluster: meta.cluster()?.clusterId }, `named the cluster ${meta.cluster()?.clusterId}`);
      }
      const seen = new Map<string, string>([[this.node.config.id, this.node.identity.identity.incarnation]]);
      for (const [peer, id] of this.node.peerIdentities) if (this.node.transport.isConnected(peer)) seen.set(peer, id.inc);
      const addresses = this.node.nodeAddresses();
      for (const [node, incarnation] of seen) {
        const known = meta.node(node);
        const address = node === this.node.config.id ? this.node.config.listen : addresses.get(node);
        if (known?.incarnation === incarnation && known.address === address) continue;
        const r = await this.propose({ type: 'registerNode', node, incarnation, ...(address !== undefined ? { address } : {}) }, deadline);
        // A record without an incarnation is of a node decommissioned before it was heard from.
        if (r.ok && known !== undefined && known.incarnation !== '' && known.incarnation !== incarnation) {
          this.node.logger.warn({ peer: node, incarnation, was: known.incarnation }, `node ${node} runs on a new data folder (incarnation ${incarnation}, was ${known.incarnation}): its replicas rejoin as learners`);
        }
      }
      this.growMetaGroup(seen);
      await this.bootstrapUser(deadline);
    } catch (err) {
      this.node.logger.debug({ err: (err as Error).message }, 'registering the cluster and its nodes failed; will retry');
    } finally {
      this.registering = false;
    }
  }

  /**
   * Creates the bootstrap user (`RAFTLOG_BOOTSTRAP_USER`, bootstrap-user.ts) while the cluster has
   * no user: the command is applied only if it still has none when it commits, so two controllers
   * (or a controller and an operator) cannot both make one.
   */
  private async bootstrapUser(deadline: number): Promise<void> {
    const b = this.node.config.bootstrapUser;
    if (b === undefined || this.node.meta.users().length > 0) return;
    const credentials = await bootstrapCredentials(b.password);
    const r = await this.propose({ type: 'upsertUser', name: b.name, credentials, ifNoUsers: true }, deadline);
    if (r.ok && (r.value as { skipped?: boolean }).skipped !== true) this.node.logger.warn({ user: b.name }, `created the bootstrap user '${b.name}' (a super user) because the cluster had no user; create your own users with raftlog users create, and unset RAFTLOG_BOOTSTRAP_USER`);
  }

  /**
   * Takes the next step that brings every registered node into the metadata group: a node that is
   * up but no member is added as a learner (it receives the metadata), and a learner that has
   * caught up is promoted while the group has fewer than metaVotersMax voters. One change at a
   * time (raft/membership.ts); the next round takes the next. `up` holds the nodes connected now.
   */
  private growMetaGroup(up: ReadonlyMap<NodeId, string>): void {
    const { membership, committed, peers } = this.node.metaMembership();
    if (!committed) return;
    // A node leaving the cluster is taken out of the metadata group (placer.ts), never brought in.
    const leaving = this.leavingNodes();
    try {
      const outside = this.node.meta.nodes().find((n) => up.has(n.node) && !isMember(membership, n.node) && !leaving.has(n.node));
      if (outside !== undefined) {
        this.node.changeMetaMembership({ type: 'addLearner', node: outside.node });
        this.node.logger.info({ peer: outside.node }, `adding node ${outside.node} to the metadata group as a learner`);
        return;
      }
      if (membership.voters.length >= this.node.metaVotersMax()) return;
      const ready = membership.learners.find((id) => up.has(id) && !leaving.has(id) && peers.some((p) => p.id === id && p.rejoin === null));
      if (ready === undefined) return;
      this.node.changeMetaMembership({ type: 'promote', node: ready });
      this.node.logger.info({ peer: ready, voters: membership.voters.length + 1 }, `promoting node ${ready} to a voter of the metadata group (${membership.voters.length + 1} voters)`);
    } catch (err) {
      // A learner still catching up, or a change already in flight: asked again next round.
      if (!(err instanceof RaftError && err.retriable)) this.node.logger.warn({ err: (err as Error).message }, `cannot change the metadata group's members: ${(err as Error).message}`);
    }
  }

  /**
   * A node asks to join the cluster (join.ts): recorded in the metadata with its folder's
   * incarnation and address, then told the cluster and its nodes. Refused, with a JoinRefusal that
   * says what to do, when this node is not the controller (naming the one that is), when the id is
   * not one, is this node's, or is running now on another folder.
   */
  async admitJoin(req: JoinRequest): Promise<JoinAnswer> {
    const self = this.node.config.id;
    if (!this.node.isController()) {
      const lead = this.node.controllerId();
      const at = lead !== null ? (this.node.nodeAddresses().get(lead) ?? '') : '';
      throw new JoinRefusal(`${self} is not the controller${lead !== null ? `; ${lead} is` : '; none is elected yet'}`, true, at);
    }
    const meta = this.node.meta;
    const cluster = meta.cluster();
    if (!meta.isReady() || cluster === undefined) throw new JoinRefusal('the controller is starting; retry', true);
    if (!NODE_ID.test(req.id)) throw new JoinRefusal(`'${req.id.slice(0, 80)}' is not a node id: use 1 to 64 letters, digits, '.', '_' or '-'`, false);
    if (!HOST_PORT.test(req.address)) throw new JoinRefusal(`'${req.address.slice(0, 80)}' is not host:port: give --listen the address the other nodes reach this one at`, false);
    if (req.id === self) throw new JoinRefusal(`node id '${req.id}' is the controller's own: choose another --id`, false);
    if (meta.node(req.id)?.decommission?.state === 'decommissioned') throw new JoinRefusal(`node id '${req.id}' was decommissioned and cannot come back: choose another --id`, false);
    const running = this.node.peerIdentities.get(req.id);
    if (running !== undefined && running.inc !== req.inc && this.node.transport.isConnected(req.id)) {
      throw new JoinRefusal(`node '${req.id}' is running now on another data folder (at ${this.node.nodeAddresses().get(req.id)}): stop it first to replace it, or choose another --id`, false);
    }
    const known = meta.node(req.id);
    // A name the cluster knew on another folder must not vote as it did: it lost what it acknowledged.
    const rejoin = known !== undefined ? known.incarnation !== req.inc : cluster.metaVoters.includes(req.id);
    const r = await this.propose({ type: 'registerNode', node: req.id, incarnation: req.inc, address: req.address }, Date.now() + JOIN_COMMIT_MS);
    if (!r.ok) throw new JoinRefusal(`${r.message}; retry`, true);
    this.node.logger.info({ peer: req.id, address: req.address, incarnation: req.inc, rejoin }, `node ${req.id} joined the cluster from ${req.address}${rejoin ? ' (an id it knew on another data folder: its replicas rejoin)' : ''}`);
    // The joiner dials these: the nodes this one keeps connected to.
    const nodes = [...this.node.peerAddresses()];
    return { cluster: cluster.clusterId, founders: [...cluster.metaVoters], nodes, rejoin };
  }

  onControllerChange(isController: boolean): void {
    this.active = isController;
    this.placer.onControllerChange(isController);
    this.node.logger.info({ controller: isController }, isController ? 'this node is now the controller' : 'this node is no longer the controller');
  }

  private requireController(): void {
    requireController(this.node);
  }

  async createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    this.requireController();
    // A node leaving the cluster takes no new replicas.
    const nodes = this.activeNodes();
    // New replicas go only on nodes that are up (this one, and peers it is connected to): a
    // partition placed on a dead node could not elect a leader until that node returns.
    const liveNodes = (): string[] => nodes.filter((n) => n === this.node.config.id || this.node.transport.isConnected(n));
    // Peers may still be connecting (just after start-up, or after a blip): give them a moment.
    const needed = Math.max(...req.topics.map((t) => replicationFactor(t, nodes.length)));
    const waitUntil = Date.now() + Math.min(PEER_WAIT_MS_MAX, req.timeoutMs / 2);
    while (liveNodes().length < Math.min(needed, nodes.length) && Date.now() < waitUntil) await new Promise((r) => setTimeout(r, 50));
    const live = liveNodes();
    const results: TopicResult[] = [];
    const created: string[] = [];
    const deadline = Date.now() + req.timeoutMs;
    for (const spec of req.topics) {
      const partitions = spec.partitions === -1 ? TOPIC_PARTITIONS_DEFAULT : spec.partitions;
      const rf = replicationFactor(spec, nodes.length);
      if (partitions < 1) {
        results.push({ name: spec.name, error: { code: ErrorCode.InvalidPartitions, message: `a topic needs at least 1 partition, not ${partitions}` } });
        continue;
      }
      if (rf < 1 || rf > nodes.length) {
        results.push({ name: spec.name, error: { code: ErrorCode.InvalidReplicationFactor, message: `replication factor ${rf} must be between 1 and the ${nodes.length} nodes of the cluster${this.leavingNodes().size > 0 ? ` not leaving it (${[...this.leavingNodes()].join(', ')} ${this.leavingNodes().size === 1 ? 'is' : 'are'} decommissioned or being decommissioned)` : ''}` } });
        continue;
      }
      if (rf > live.length) {
        results.push({ name: spec.name, error: { code: ErrorCode.NotEnoughReplicas, message: `replication factor ${rf} needs ${rf} nodes up, but only ${live.length} of ${nodes.length} are reachable (${live.join(', ')}); retry when more are up` } });
        continue;
      }
      if (this.node.meta.topic(spec.name) !== undefined) {
        results.push({ name: spec.name, error: { code: ErrorCode.TopicAlreadyExists, message: `topic '${spec.name}' already exists` } });
        continue;
      }
      const assignments = placePartitions(live, this.node.meta.topics(), partitions, rf);
      const tooMany = this.replicaLimitProblem(spec.name, assignments);
      if (tooMany !== null) {
        results.push({ name: spec.name, error: { code: ErrorCode.InvalidPartitions, message: tooMany } });
        continue;
      }
      const r = await this.propose(
        { type: 'createTopic', name: spec.name, partitions, replicationFactor: rf, config: { ...DEFAULT_TOPIC_CONFIG, ...spec.config }, assignments },
        deadline,
      );
      if (r.ok) {
        created.push(spec.name);
        results.push({ name: spec.name });
        this.node.logger.info({ topic: spec.name, partitions, replicationFactor: rf }, `created topic ${spec.name}`);
      } else {
        results.push({ name: spec.name, error: resultError(r) });
      }
    }
    await this.waitForLeaders(created, Math.min(deadline, Date.now() + LEADER_WAIT_MS_MAX));
    return { topics: results };
  }

  async deleteTopics(req: DeleteTopicsRequest): Promise<DeleteTopicsResponse> {
    this.requireController();
    const deadline = Date.now() + req.timeoutMs;
    const results: TopicResult[] = [];
    for (const name of req.topics) {
      const r = await this.propose({ type: 'deleteTopic', name }, deadline);
      results.push(r.ok ? { name } : { name, error: resultError(r) });
      if (r.ok) this.node.logger.info({ topic: name }, `deleted topic ${name}`);
    }
    return { topics: results };
  }

  /**
   * Sets partitions' target replicas: each entry checked against the metadata (its topic and
   * partition exist, its replicas are known nodes, each once, a count the cluster can hold), then
   * proposed as one command pinned to the topic's id, all together; answered once each is
   * committed. The partitions' leaders then move their groups to the new targets (node.ts).
   * Nodes that are down may be named: a replica moving onto one waits until it is up.
   */
  async reassignPartitions(req: ReassignPartitionsRequest): Promise<ReassignPartitionsResponse> {
    this.requireController();
    const nodes = this.node.nodeIds();
    const deadline = Date.now() + req.timeoutMs;
    const key = (r: PartitionReassignment): string => `${r.topic}/${r.partition}`;
    const named = new Map<string, number>();
    for (const r of req.partitions) named.set(key(r), (named.get(key(r)) ?? 0) + 1);
    const partitions = await Promise.all(
      req.partitions.map(async (r): Promise<ReassignPartitionsResponse['partitions'][number]> => {
        const at = { topic: r.topic, partition: r.partition };
        if (named.get(key(r))! > 1) {
          return { ...at, error: { code: ErrorCode.InvalidRequest, message: `${key(r)} is named ${named.get(key(r))} times in one request: name each partition once` } };
        }
        const t = this.node.meta.topic(r.topic);
        const problem = reassignmentProblem(t, r, nodes, this.leavingNodes());
        if (problem !== null) return { ...at, error: problem };
        const result = await this.propose({ type: 'reassignPartition', topic: r.topic, topicId: t!.id, partition: r.partition, replicas: [...r.replicas] }, deadline);
        if (!result.ok) return { ...at, error: resultError(result) };
        this.node.logger.info({ topic: r.topic, partition: r.partition, replicas: r.replicas, was: t!.assignments[r.partition] }, `reassigned ${key(r)} to ${r.replicas.join(',')} (was ${t!.assignments[r.partition]!.join(',')})`);
        return at;
      }),
    );
    return { partitions };
  }

  /**
   * Starts moving every replica off a node, then out of the metadata group (placer.ts): checked
   * first that the active nodes left can hold each partition it holds, and that the metadata
   * group keeps a live majority without it. The node may be down. Asking again changes nothing.
   */
  async decommissionNode(req: DecommissionNodeRequest): Promise<DecommissionNodeResponse> {
    this.requireController();
    const id = req.node;
    this.requireNode(id);
    const holding = (): number => this.replicasOn(id);
    const state = this.node.meta.node(id)?.decommission?.state;
    if (state !== undefined) return { node: id, state, partitions: holding() };
    const nodes = this.placer.nodes();
    const capacity = decommissionCapacityProblem(nodes, this.node.meta.topics(), id);
    if (capacity !== null) throw new ServerError(ErrorCode.InvalidReplicationFactor, `cannot decommission ${id}: ${capacity}`);
    const live = new Set(nodes.filter((n) => n.live).map((n) => n.id));
    const quorum = metaRemovalProblem(this.node.metaMembership().membership, id, (n) => live.has(n));
    if (quorum !== null) throw new ServerError(ErrorCode.NotEnoughReplicas, `cannot decommission ${id}: ${quorum}`);
    const maxMoves = req.maxMoves ?? MOVES_AT_ONCE_DEFAULT;
    const r = await this.propose({ type: 'setNodeState', node: id, state: 'decommissioning', maxMoves }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    const partitions = holding();
    this.node.logger.warn({ leaving: id, partitions, maxMoves }, `decommissioning ${id}: moving its ${partitions} replica(s) to other nodes, ${maxMoves} at once, then removing it from the metadata group`);
    return { node: id, state: 'decommissioning', partitions };
  }

  /**
   * Stops a decommission in progress: the node is an ordinary member again (placer.ts no longer
   * moves replicas off it; the moves already started finish). If it already left the metadata
   * group, the controller adds it back as it does any node (growMetaGroup).
   */
  async recommissionNode(req: RecommissionNodeRequest): Promise<DecommissionNodeResponse> {
    this.requireController();
    const id = req.node;
    this.requireNode(id);
    const holding = (): number => this.replicasOn(id);
    const state = this.node.meta.node(id)?.decommission?.state;
    if (state === undefined) return { node: id, state: 'active', partitions: holding() };
    const r = await this.propose({ type: 'recommissionNode', node: id }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    const partitions = holding();
    this.node.logger.warn({ node: id }, `recommissioned ${id}: its decommission is stopped; it holds ${partitions} replica(s) and takes new ones again`);
    return { node: id, state: 'active', partitions };
  }

  /** Throws INVALID_REQUEST, naming the nodes, when `id` is not one of the cluster's. */
  private requireNode(id: NodeId): void {
    const all = this.node.nodeIds();
    if (!all.includes(id)) throw new ServerError(ErrorCode.InvalidRequest, `'${id}' is not a node of this cluster (${all.join(', ')}); see raftlog nodes list`);
  }

  /** Partitions whose target replicas (as the metadata has them) name `id`. */
  private replicasOn(id: NodeId): number {
    return this.node.meta.topics().reduce((k, t) => k + t.assignments.filter((a) => a.includes(id)).length, 0);
  }

  /**
   * Sets a topic's replication factor: checked against the active nodes (and, to add replicas,
   * those up now), then recorded; the placer moves each partition to that many replicas.
   */
  async alterReplicationFactor(req: AlterReplicationFactorRequest): Promise<AlterReplicationFactorResponse> {
    this.requireController();
    const t = this.node.meta.topic(req.topic);
    if (t === undefined) throw new ServerError(ErrorCode.UnknownTopicOrPartition, `topic '${req.topic}' does not exist (list the topics with: raftlog topics list)`);
    const rf = req.replicationFactor;
    const active = this.activeNodes();
    if (rf > REASSIGN_REPLICAS_MAX) throw new ServerError(ErrorCode.InvalidReplicationFactor, `replication factor ${rf} is more than a partition may have (${REASSIGN_REPLICAS_MAX}); choose fewer`);
    if (rf > active.length) {
      throw new ServerError(ErrorCode.InvalidReplicationFactor, `replication factor ${rf} needs ${rf} nodes, but the cluster has ${active.length} not leaving it (${active.join(', ')}); add nodes first, or choose at most ${active.length}`);
    }
    const live = active.filter((n) => n === this.node.config.id || this.node.transport.isConnected(n));
    if (rf > live.length && t.assignments.some((a) => a.length < rf)) {
      throw new ServerError(ErrorCode.NotEnoughReplicas, `replication factor ${rf} needs ${rf} nodes up to copy replicas to, but only ${live.length} are (${live.join(', ')}); retry when more are up`);
    }
    const r = await this.propose({ type: 'setReplicationFactor', topic: t.name, topicId: t.id, replicationFactor: rf, maxMoves: req.maxMoves ?? MOVES_AT_ONCE_DEFAULT }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    const partitions = t.assignments.filter((a) => a.length !== rf).length;
    this.node.logger.info({ topic: t.name, replicationFactor: rf, was: t.replicationFactor, partitions }, `replication factor of ${t.name}: ${t.replicationFactor} -> ${rf}; ${partitions} partition(s) to move`);
    return { topic: t.name, previous: t.replicationFactor, replicationFactor: rf, partitions };
  }

  /**
   * Plans a rebalance as the cluster is now and, unless it is a dry run or there is nothing to
   * even out, records it; the placer then makes the moves, `maxMoves` at once.
   */
  async rebalancePartitions(req: RebalancePartitionsRequest): Promise<RebalancePartitionsResponse> {
    this.requireController();
    const plan = wholePlan({ nodes: this.placer.nodes(), topics: this.node.meta.topics(), rebalance: true });
    const mine = plan.moves.filter((m) => m.reason === 'rebalance' || m.reason === 'leader balance');
    const moves = mine.slice(0, LIMITS.plannedMovesListedMax).map((m) => ({ topic: m.topic, partition: m.partition, from: m.from, replicas: m.replicas, leaderOnly: !m.data }));
    const total = mine.length;
    if (req.dryRun === true || total === 0) return { moves, total, started: false };
    const maxMoves = req.maxMoves ?? MOVES_AT_ONCE_DEFAULT;
    const r = await this.propose({ type: 'startRebalance', maxMoves }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    this.node.logger.info({ moves: total, maxMoves }, `rebalance started: ${total} move(s)${plan.complete ? '' : ' at least'}, ${maxMoves} at once`);
    return { moves, total, started: true };
  }

  /**
   * Changes a topic's config: the change merged into what it has, recorded, and applied by every
   * replica of the topic as it learns of it (node.ts). A dry run stops before recording.
   */
  async alterTopicConfig(req: AlterTopicConfigRequest): Promise<AlterTopicConfigResponse> {
    this.requireController();
    const t = this.node.meta.topic(req.topic);
    if (t === undefined) throw new ServerError(ErrorCode.UnknownTopicOrPartition, `topic '${req.topic}' does not exist (list the topics with: raftlog topics list)`);
    const config: TopicConfig = { ...t.config, ...req.config };
    if (req.dryRun === true) return { topic: t.name, previous: t.config, config };
    const r = await this.propose({ type: 'setTopicConfig', topic: t.name, topicId: t.id, config }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    this.node.logger.info({ topic: t.name, config, was: t.config }, `config of ${t.name} changed`);
    return { topic: t.name, previous: t.config, config };
  }

  /**
   * Grows a topic to `req.partitions` partitions: the new ones placed as a new topic's are (on
   * nodes up and not leaving, spreading leaders and replicas), recorded, then opened by their
   * nodes (node.ts syncPartitions); answered once they have leaders, or the time is up. A dry run
   * is checked and placed the same, and stops before recording.
   */
  async createPartitions(req: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    this.requireController();
    const t = this.node.meta.topic(req.topic);
    if (t === undefined) throw new ServerError(ErrorCode.UnknownTopicOrPartition, `topic '${req.topic}' does not exist (list the topics with: raftlog topics list)`);
    if (req.partitions <= t.partitions) {
      throw new ServerError(ErrorCode.InvalidPartitions, `topic '${t.name}' has ${t.partitions} partition${t.partitions === 1 ? '' : 's'}; it can only grow (ask for more than ${t.partitions}), as in Kafka`);
    }
    const rf = t.replicationFactor;
    const live = this.activeNodes().filter((n) => n === this.node.config.id || this.node.transport.isConnected(n));
    if (rf > live.length) {
      throw new ServerError(ErrorCode.NotEnoughReplicas, `the new partitions need ${rf} nodes up (the topic's replication factor), but only ${live.length} are (${live.join(', ')}); retry when more are up`);
    }
    const assignments = placePartitions(live, this.node.meta.topics(), req.partitions - t.partitions, rf);
    const tooMany = this.replicaLimitProblem(t.name, assignments);
    if (tooMany !== null) throw new ServerError(ErrorCode.InvalidPartitions, tooMany);
    if (req.dryRun === true) return { topic: t.name, previous: t.partitions, partitions: req.partitions, assignments };
    const deadline = Date.now() + req.timeoutMs;
    const r = await this.propose({ type: 'addPartitions', topic: t.name, topicId: t.id, from: t.partitions, assignments }, deadline);
    if (!r.ok) throw new ServerError(r.code, r.message);
    this.node.logger.info({ topic: t.name, partitions: req.partitions, was: t.partitions }, `topic ${t.name} grew from ${t.partitions} to ${req.partitions} partitions`);
    await this.waitForLeaders([t.name], Math.min(deadline, Date.now() + LEADER_WAIT_MS_MAX));
    return { topic: t.name, previous: t.partitions, partitions: req.partitions, assignments };
  }

  /**
   * Why `assignments`, added to the replicas the metadata places now, would put more replicas on
   * a node than its open-files limit allows (null if they would not): the most loaded such node,
   * and what to raise. Refused as INVALID_PARTITIONS, as Redpanda refuses partitions past its
   * per-node limits: the request cannot succeed as it is, retried or not.
   */
  private replicaLimitProblem(topic: string, assignments: readonly (readonly NodeId[])[]): string | null {
    const limit = this.node.replicaLimit;
    if (limit === null) return null;
    const held = new Map<NodeId, number>();
    for (const t of this.node.meta.topics()) for (const a of t.assignments) for (const n of a) held.set(n, (held.get(n) ?? 0) + 1);
    const adding = new Map<NodeId, number>();
    for (const a of assignments) for (const n of a) adding.set(n, (adding.get(n) ?? 0) + 1);
    let worst: { node: NodeId; total: number } | null = null;
    for (const [node, n] of adding) {
      const total = (held.get(node) ?? 0) + n;
      if (total > limit.replicas && (worst === null || total > worst.total)) worst = { node, total };
    }
    if (worst === null) return null;
    const now = held.get(worst.node) ?? 0;
    return `topic '${topic}' would put ${worst.total} partition replicas on node ${worst.node} (it holds ${now}), more than a node's open-files limit allows: ${replicaLimitHint(limit, worst.total)} on every node, or create fewer partitions (at most ${Math.max(0, limit.replicas - now)} more on ${worst.node})`;
  }

  /** Nodes not leaving the cluster, in order. */
  private activeNodes(): NodeId[] {
    const leaving = this.leavingNodes();
    return this.node.nodeIds().filter((n) => !leaving.has(n));
  }

  /** Nodes decommissioned or being decommissioned. */
  private leavingNodes(): Set<NodeId> {
    return new Set(this.node.nodeIds().filter((n) => this.node.meta.node(n)?.decommission !== undefined));
  }

  /** Creates a user or replaces its credentials; they come derived already (the password never reaches the node). */
  async upsertUser(req: UpsertUserRequest): Promise<UpsertUserResponse> {
    this.requireController();
    const r = await this.propose({ type: 'upsertUser', name: req.name, credentials: req.credentials }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    const res = r.value as UpsertUserResponse;
    const mechanisms = Object.keys(req.credentials).join(', ');
    this.node.logger.info({ user: req.name, created: res.created, mechanisms }, res.created ? `created user ${req.name} (${mechanisms})` : `replaced the credentials of user ${req.name} (${mechanisms})`);
    return { name: res.name, created: res.created };
  }

  async deleteUser(req: DeleteUserRequest): Promise<DeleteUserResponse> {
    this.requireController();
    const r = await this.propose({ type: 'deleteUser', name: req.name }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    this.node.logger.info({ user: req.name }, `deleted user ${req.name}`);
    return { name: req.name };
  }

  /** The users' names and mechanisms, as the controller has them. */
  listUsers(): Promise<ListUsersResponse> {
    this.requireController();
    return Promise.resolve({ users: this.node.meta.users().map((u) => ({ name: u.name, mechanisms: mechanismsOf(u) })) });
  }

  async initProducerId(req: InitProducerIdRequest): Promise<InitProducerIdResponse> {
    this.requireController();
    const { transactionalId, producerId, producerEpoch } = req;
    const cmd = { type: 'initProducerId', ...(transactionalId !== undefined ? { transactionalId } : {}), ...(producerId !== undefined ? { producerId, producerEpoch } : {}) } as const;
    const r = await this.propose(cmd, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    return r.value as InitProducerIdResponse;
  }

  /**
   * Sets or removes client quota rates (src/meta/quotas.ts), one metadata command per entry, in
   * order; each answered once committed. Every node enforces them from then on (src/server/quotas.ts).
   */
  async alterQuotas(req: AlterQuotasRequest): Promise<AlterQuotasResponse> {
    this.requireController();
    const deadline = Date.now() + req.timeoutMs;
    const entries: AlterQuotasResponse['entries'][number][] = [];
    for (const e of req.entries) {
      const r = await this.propose({ type: 'setQuota', ...e }, deadline);
      if (!r.ok) {
        entries.push({ entity: e.entity, error: resultError(r) });
        continue;
      }
      entries.push({ entity: e.entity });
      this.node.logger.info({ entity: e.entity, producerByteRate: e.producerByteRate, consumerByteRate: e.consumerByteRate }, `client quota of ${e.entity} is now ${JSON.stringify(r.value ?? 'none')}`);
    }
    return { entries };
  }

  /** Every client quota, as this controller's metadata holds them. */
  describeQuotas(): DescribeQuotasResponse {
    this.requireController();
    return { quotas: this.node.meta.quotas() };
  }

  private propose(cmd: MetaCommand, deadline: number): Promise<MetaResult> {
    return proposeBefore(this.node.meta, cmd, deadline);
  }

  private async waitForLeaders(topics: readonly string[], until: number): Promise<void> {
    const groups: string[] = [];
    for (const name of topics) {
      const t = this.node.meta.topic(name);
      if (t !== undefined) for (let p = 0; p < t.partitions; p++) groups.push(partitionGroupId(t.id, p));
    }
    while (Date.now() < until && groups.some((g) => this.node.leaderOf(g).leader === null)) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Asks the leaders of partitions not led by their preferred replica to hand over. */
  private balanceLeaders(): void {
    if (!this.active || !this.node.isController()) return;
    let started = 0;
    for (const t of this.node.meta.topics()) {
      for (let p = 0; p < t.partitions && started < TRANSFERS_PER_ROUND_MAX; p++) {
        const group = partitionGroupId(t.id, p);
        const preferred = t.assignments[p]![0]!;
        const { leader } = this.node.leaderOf(group);
        if (leader === null || leader === preferred) continue;
        const preferredUp = preferred === this.node.config.id || this.node.transport.isConnected(preferred);
        if (!preferredUp) continue;
        started++;
        // The leader hands over only once the preferred replica is caught up (hand-over.ts).
        if (leader === this.node.config.id) this.node.handOver(group, preferred);
        else this.node.transport.send(leader, { t: 'transfer', group, to: preferred });
      }
    }
  }
}

/** The requested replication factor, or the default (-1) for a cluster of `nodes`. */
function replicationFactor(spec: CreateTopicSpec, nodes: number): number {
  return spec.replicationFactor === -1 ? defaultReplicationFactor(nodes) : spec.replicationFactor;
}

function resultError(r: MetaResult): ApiError {
  if (r.ok) throw new Error('not an error');
  return { code: r.code, message: r.message };
}

/** Throws NOT_LEADER, naming the controller when one is known, unless `node` is the controller. */
export function requireController(node: { isController(): boolean; controllerId(): NodeId | null }): void {
  if (!node.isController()) {
    const lead = node.controllerId();
    throw new ServerError(ErrorCode.NotLeader, `this node is not the controller${lead !== null ? `; ${lead} is` : '; none is elected yet'}`, lead);
  }
}

/**
 * Proposes a metadata command on the controller and resolves with its result once applied, or
 * throws REQUEST_TIMED_OUT at `deadline` (the outcome then unknown) and NOT_LEADER when this node
 * stops being the controller first.
 */
export async function proposeBefore(meta: Pick<MetaStateMachine, 'propose'>, cmd: MetaCommand, deadline: number): Promise<MetaResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const proposed = meta.propose(cmd);
    return await Promise.race([
      proposed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ServerError(ErrorCode.RequestTimedOut, 'the metadata change was not committed in time; it may or may not have happened')), Math.max(1, deadline - Date.now()));
      }),
    ]);
  } catch (err) {
    if (err instanceof RaftError) throw new ServerError(ErrorCode.NotLeader, err.message, err.leaderHint);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
