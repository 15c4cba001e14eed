/**
 * The membership nemesis (issue 20 §5): changes the cluster's shape while the workloads run and
 * the other faults strike, and remembers what it asked for, so the run can check at the end that
 * every partition holds exactly the replicas asked for (chaos/checker/checks/placement.ts).
 *
 * - `join`: a new node joins the running cluster (`--join`, src/node/join.ts), up to
 *   JOINED_NODES_MAX beyond the cluster's first nodes.
 * - `move`: one partition gets a new set of replicas (as many as it has), chosen at random among
 *   the nodes that are running and not leaving, through the admin API's reassignPartitions.
 * - `replace`: a node is killed, its data folder wiped, and a new process started under the same
 *   id on the empty folder with `--join`: the disk-loss replacement of the README's runbook. Its
 *   replicas rejoin (raft/rejoin.ts) and must not vote before they have caught up.
 * - `decommission`: `decommissionNode` on a node while at least DECOMMISSION_NODES_MIN others
 *   remain; once the controller has moved everything off it and taken it out of the metadata
 *   group, the node is stopped for good (LocalCluster.retire). The controller chose the new
 *   replicas, so the targets are read again from the metadata.
 *
 * History: `membership` nemesis events (process -1), value `{op, node?, key?, replicas?}`, an
 * `invoke` when the action starts and `ok` or `fail` when it is done; a replace also records its
 * `kill` and `restart`. A move the cluster refused (a node went down meanwhile) is a `fail` and
 * changes no target.
 */
import { Client } from '../src/client/client.js';
import { silentLogger } from '../src/client/logger.js';
import type { LocalCluster } from './cluster.js';
import type { Recorder } from './recorder.js';
import type { ControllerStatus } from '../src/wire/protocol.js';
import { clusterView, nodeStatus } from './view.js';
import { pick, shuffle } from './workloads/context.js';

export const MEMBERSHIP_OPS = ['join', 'move', 'replace', 'decommission'] as const;
export type MembershipOp = (typeof MEMBERSHIP_OPS)[number];

/** Nodes a run may add by `join`, beyond those it started with. */
export const JOINED_NODES_MAX = 2;
/** Nodes that must remain after a decommission (a minority down or rejoining still leaves a majority of every group). */
export const DECOMMISSION_NODES_MIN = 4;
/** How long a decommission may take before the nemesis gives up waiting (and reports it). */
const DECOMMISSION_MS_MAX = 90_000;
/** How long an admin request of the nemesis may take. */
const ADMIN_TIMEOUT_MS = 10_000;

export interface MembershipEnv {
  readonly cluster: LocalCluster;
  readonly recorder: Recorder;
  readonly random: () => number;
  /** The topic whose partitions `move` reassigns, and how many it has. */
  readonly topic: string;
  readonly partitions: number;
  readonly log: (line: string) => void;
}

export class MembershipNemesis {
  /** Per key (`topic/partition`), the replicas last asked for, in order (the first is preferred to lead). */
  readonly targets = new Map<string, readonly string[]>();
  private joined = 0;

  constructor(private readonly env: MembershipEnv) {}

  /** Reads each partition's replicas from the metadata: the targets before any move, and after the controller chose new ones. */
  async init(): Promise<void> {
    await this.withAdmin(async (admin) => {
      const md = await admin.fetchTopicMetadata({ topics: [this.env.topic] });
      for (const p of md.topics[0]!.partitions) this.targets.set(`${this.env.topic}/${p.partitionId}`, [...p.replicas]);
    });
  }

  /**
   * Runs one action. `killed` are nodes another fault holds down now (a replace never picks one).
   * Resolves with what it did, for the run's fault list, or null when it could not act.
   */
  async apply(op: MembershipOp, killed: ReadonlySet<string>): Promise<string | null> {
    switch (op) {
      case 'join':
        return this.join();
      case 'move':
        return this.move();
      case 'replace':
        return this.replace(killed);
      case 'decommission':
        return this.decommission(killed);
    }
  }

  private async decommission(killed: ReadonlySet<string>): Promise<string | null> {
    const running = this.env.cluster.nodes.filter((n) => n.process !== null && !killed.has(n.id)).map((n) => n.id);
    if (running.length < this.env.cluster.nodes.length || running.length <= DECOMMISSION_NODES_MIN) return this.join();
    const node = pick(this.env.random, running);
    return this.step({ op: 'decommission', node }, async () => {
      await this.withAdmin((admin) => admin.decommissionNode(node, { timeoutMs: ADMIN_TIMEOUT_MS }));
      await this.waitUntil(
        async () => (await this.controllerView())?.nodes.find((n) => n.id === node)?.state === 'decommissioned',
        `the controller to decommission ${node}`,
        DECOMMISSION_MS_MAX,
      );
      await this.env.cluster.retire(node);
      await this.init();
      return `decommission ${node} (then stopped for good)`;
    });
  }

  /** The controller's view of the nodes and moves (its /status). */
  private async controllerView(): Promise<ControllerStatus | undefined> {
    for (const n of this.env.cluster.nodes) {
      if (n.process === null) continue;
      const s = await nodeStatus(n.address);
      if (s?.controller !== undefined) return s.controller;
    }
    return undefined;
  }

  private async join(): Promise<string | null> {
    if (this.joined >= JOINED_NODES_MAX) return this.move();
    // Never an id the run used before: a decommissioned id cannot join again, and its folder is still there.
    const ids = new Set([...this.env.cluster.nodes, ...this.env.cluster.retired].map((n) => n.id));
    let k = ids.size + 1;
    while (ids.has(`n${k}`)) k++;
    const node = `n${k}`;
    this.joined++;
    return this.step({ op: 'join', node }, async () => {
      await this.env.cluster.join(node);
      await this.waitUntil(async () => (await this.nodeIds()).includes(node), `${node} to be recorded by the controller`);
      return `join ${node}`;
    });
  }

  private async move(): Promise<string | null> {
    const partition = Math.floor(this.env.random() * this.env.partitions);
    const key = `${this.env.topic}/${partition}`;
    const current = this.targets.get(key);
    if (current === undefined) return null;
    const view = await clusterView(this.env.cluster);
    const up = shuffle(this.env.random, view.up);
    if (up.length < current.length) return null;
    const replicas = up.slice(0, current.length);
    return this.step({ op: 'move', key, replicas }, async () => {
      await this.withAdmin((admin) => admin.reassignPartitions([{ topic: this.env.topic, partition, replicas }], { timeoutMs: ADMIN_TIMEOUT_MS }));
      this.targets.set(key, replicas);
      return `move ${key} to ${replicas.join(',')} (was ${current.join(',')})`;
    });
  }

  private async replace(killed: ReadonlySet<string>): Promise<string | null> {
    const candidates = this.env.cluster.nodes.filter((n) => n.process !== null && !killed.has(n.id)).map((n) => n.id);
    // Only a minority may be down or rejoining at once, or the groups could not catch it up.
    if (candidates.length < this.env.cluster.nodes.length) return null;
    const node = pick(this.env.random, candidates);
    const c = this.env.recorder;
    return this.step({ op: 'replace', node }, async () => {
      c.nemesis('invoke', 'kill', [node]);
      await this.env.cluster.kill(node, 'SIGKILL');
      c.nemesis('ok', 'kill', [node]);
      c.nemesis('invoke', 'restart', [node]);
      try {
        await this.env.cluster.replace(node);
        c.nemesis('ok', 'restart', [node]);
      } catch (err) {
        c.nemesis('fail', 'restart', [node], (err as Error).message);
        throw err;
      }
      return `replace ${node} by a new process on an empty folder`;
    });
  }

  private async step(value: Record<string, unknown>, act: () => Promise<string>): Promise<string | null> {
    const c = this.env.recorder;
    c.nemesis('invoke', 'membership', value);
    try {
      const what = await act();
      c.nemesis('ok', 'membership', value);
      this.env.log(what);
      return what;
    } catch (err) {
      const why = (err as Error).message.split('\n')[0]!;
      c.nemesis('fail', 'membership', value, why);
      this.env.log(`membership ${JSON.stringify(value)} failed: ${why}`);
      return null;
    }
  }

  private async nodeIds(): Promise<string[]> {
    return this.withAdmin(async (admin) => (await admin.describeCluster()).nodes.map((n) => n.id));
  }

  private async waitUntil(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (await check().catch(() => false)) return;
      if (Date.now() >= deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async withAdmin<T>(f: (admin: ReturnType<Client['admin']>) => Promise<T>): Promise<T> {
    const brokers = this.env.cluster.nodes.filter((n) => n.process !== null).map((n) => n.address);
    const client = new Client({ brokers, logger: silentLogger, retry: { retries: 20, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } });
    const admin = client.admin();
    try {
      return await f(admin);
    } finally {
      await admin.disconnect();
    }
  }
}
