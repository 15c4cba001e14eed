/**
 * A controller's node, faked for unit tests of src/node/controller.ts: node n1 of `nodes`, the
 * metadata given (topics, node records, the cluster), peers connected as `connected` says, each
 * proposal recorded and committed with `result` (or what `apply` makes of it).
 */
import type { Membership, MembershipChange } from '../../raft/membership.js';
import type { PeerStatus } from '../../raft/types.js';
import type { ClusterRecord, MetaCommand, NodeRecord, TopicRecord } from '../../src/meta/commands.js';
import type { MetaResult } from '../../src/meta/meta-state.js';
import { Controller, type ControllerHost } from '../../src/node/controller.js';
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
}

export interface FakeHost {
  readonly controller: Controller;
  readonly host: ControllerHost;
  /** What the controller proposed, in order. */
  readonly proposed: MetaCommand[];
  /** Changes of the metadata group's configuration it asked for, in order. */
  readonly metaChanges: MembershipChange[];
}

export function fakeControllerHost(o: FakeHostOptions = {}): FakeHost {
  const nodes = o.nodes ?? ['n1', 'n2', 'n3', 'n4'];
  const connected = new Set(o.connected ?? nodes);
  const proposed: MetaCommand[] = [];
  const metaChanges: MembershipChange[] = [];
  const records = new Map((o.records ?? []).map((r) => [r.node, r]));
  const topics = o.topics ?? [];
  const host: ControllerHost = {
    config: { id: 'n1', listen: '127.0.0.1:7001' },
    logger: quiet,
    meta: {
      isReady: () => true,
      cluster: () => o.cluster,
      node: (id) => records.get(id),
      nodes: () => [...records.values()],
      topic: (name) => topics.find((t) => t.name === name),
      topics: () => [...topics],
      propose: (cmd) => {
        proposed.push(cmd);
        return Promise.resolve(o.result ?? { ok: true });
      },
    },
    identity: { identity: { node: 'n1', incarnation: 'i1', cluster: o.cluster?.clusterId ?? 'c1', metaVoters: nodes.slice(0, 3), created: '2026-01-01T00:00:00.000Z' } },
    peerIdentities: new Map([...(o.peerIncarnations ?? new Map<string, string>())].map(([id, inc]) => [id, { inc }])),
    transport: { isConnected: (peer) => connected.has(peer), send: () => undefined },
    isController: () => o.isController ?? true,
    controllerId: () => (o.isController === false ? 'n2' : 'n1'),
    nodeIds: () => [...nodes],
    nodeAddresses: () => new Map(nodes.map((n, i) => [n, `127.0.0.1:${7001 + i}`])),
    metaMembership: () => ({ membership: o.metaMembership ?? { voters: nodes.slice(0, 3), learners: [] }, committed: true, peers: [] as PeerStatus[] }),
    changeMetaMembership: (c) => void metaChanges.push(c),
    metaVotersMax: () => 5,
    leaderOf: () => ({ leader: null, term: 0 }),
    handOver: () => undefined,
  };
  return { controller: new Controller(host), host, proposed, metaChanges };
}
