/**
 * A controller's node, faked for unit tests of src/node/controller.ts: node n1 of `nodes`, the
 * metadata given (topics, node records, the cluster), peers connected as `connected` says, each
 * proposal recorded and committed with `result` (or what `apply` makes of it, changing `state`).
 * The partition leaders' reports of their moves (src/node/placer.ts) say the groups in
 * `state.atTarget` are at their target.
 */
import type { Membership, MembershipChange } from '../../raft/membership.js';
import type { PeerStatus } from '../../raft/types.js';
import type { ClusterRecord, MetaCommand, NodeRecord, RebalanceRecord, TopicRecord } from '../../src/meta/commands.js';
import type { MetaResult } from '../../src/meta/meta-state.js';
import { Controller, type ControllerHost } from '../../src/node/controller.js';
import type { ReplicaLimit } from '../../src/node/limits.js';
import { quiet } from '../partition/harness.js';

export interface FakeHostOptions {
  readonly nodes?: readonly string[];
  readonly connected?: readonly string[];
  readonly isController?: boolean;
  readonly result?: MetaResult;
  readonly topics?: readonly TopicRecord[];
  readonly cluster?: ClusterRecord;
  readonly records?: readonly NodeRecord[];
  /** The incarnation each connected peer said it has. */
  readonly peerIncarnations?: ReadonlyMap<string, string>;
  readonly metaMembership?: Membership;
  /** Commits a proposal: its result, and what it changes of `state` (default: `result`, no change). */
  readonly apply?: (cmd: MetaCommand, state: FakeMetaState) => MetaResult;
  /** The metadata group's configuration follows the changes asked for (default: it stays as given). */
  readonly applyMembership?: boolean;
  /** The node's open-files limit and the replicas it leaves room for (default: none known). */
  readonly replicaLimit?: ReplicaLimit;
}

/** The metadata as the fake controller reads it, which `apply` may change. */
export interface FakeMetaState {
  topics: TopicRecord[];
  readonly records: Map<string, NodeRecord>;
  rebalance: RebalanceRecord | undefined;
  membership: Membership;
  /** Groups whose leaders report them at their target. */
  readonly atTarget: Set<string>;
}

export interface FakeHost {
  readonly controller: Controller;
  readonly host: ControllerHost;
  /** What the controller proposed, in order. */
  readonly proposed: MetaCommand[];
  /** Changes of the metadata group's configuration it asked for, in order. */
  readonly metaChanges: MembershipChange[];
  readonly state: FakeMetaState;
}

export function fakeControllerHost(o: FakeHostOptions = {}): FakeHost {
  const nodes = o.nodes ?? ['n1', 'n2', 'n3', 'n4'];
  const connected = new Set(o.connected ?? nodes);
  const proposed: MetaCommand[] = [];
  const metaChanges: MembershipChange[] = [];
  const state: FakeMetaState = {
    topics: [...(o.topics ?? [])],
    records: new Map((o.records ?? []).map((r) => [r.node, r])),
    rebalance: undefined,
    membership: o.metaMembership ?? { voters: nodes.slice(0, 3), learners: [] },
    atTarget: new Set(),
  };
  const host: ControllerHost = {
    config: { id: 'n1', listen: '127.0.0.1:7001' },
    logger: quiet,
    meta: {
      isReady: () => true,
      cluster: () => o.cluster,
      node: (id) => state.records.get(id),
      nodes: () => [...state.records.values()],
      topic: (name) => state.topics.find((t) => t.name === name),
      topics: () => [...state.topics],
      quotas: () => [],
      propose: (cmd) => {
        proposed.push(cmd);
        return Promise.resolve(o.apply?.(cmd, state) ?? o.result ?? { ok: true });
      },
      appliedIndex: () => proposed.length,
      rebalance: () => state.rebalance,
    },
    identity: { identity: { node: 'n1', incarnation: 'i1', cluster: o.cluster?.clusterId ?? 'c1', metaVoters: nodes.slice(0, 3), created: '2026-01-01T00:00:00.000Z' } },
    peerIdentities: new Map([...(o.peerIncarnations ?? new Map<string, string>())].map(([id, inc]) => [id, { inc }])),
    transport: { isConnected: (peer) => connected.has(peer), send: () => undefined },
    isController: () => o.isController ?? true,
    controllerId: () => (o.isController === false ? 'n2' : 'n1'),
    nodeIds: () => [...nodes],
    nodeAddresses: () => new Map(nodes.map((n, i) => [n, `127.0.0.1:${7001 + i}`])),
    peerAddresses: () => new Map(nodes.map((n, i) => [n, `127.0.0.1:${7001 + i}`])),
    metaMembership: () => ({ membership: state.membership, committed: true, peers: [] as PeerStatus[] }),
    changeMetaMembership: (c) => {
      metaChanges.push(c);
      if (o.applyMembership === true && c.type === 'remove') state.membership = { voters: state.membership.voters.filter((id) => id !== c.node), learners: state.membership.learners.filter((id) => id !== c.node) };
    },
    metaVotersMax: () => 5,
    leaderOf: () => ({ leader: null, term: 0 }),
    handOver: () => undefined,
    replicaLimit: o.replicaLimit ?? null,
    movingGroups: () => new Set(),
    groupAtTarget: (g) => state.atTarget.has(g),
  };
  return { controller: new Controller(host), host, proposed, metaChanges, state };
}
