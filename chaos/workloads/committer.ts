/**
 * Committed-offset clients: a group's committed offset per key is a register that the checker
 * verifies with a linearizability search, and a consumer that resumes from it must start where
 * the last acknowledged commit says (CHECKER.md "committed offsets", "resume position").
 *
 * Each process of a committer worker takes one key of one group and:
 * 1. resumes: `assign { group, keys: [key], seek: "committed" }` → ok `{ start: { key: offset } }`
 *    (a `fetchOffsets`; with nothing committed it starts a little below the newest data);
 * 2. `rounds` times: polls the key at its leader (see poll.ts), then commits the position it
 *    reached, `commit { group, offsets: { key: next } }` → ok, and now and then reads it back,
 *    `fetchCommitted { group, keys: [key] }` → ok `{ offsets: { key: offset | null } }`;
 * 3. ends; the next process resumes from the committed offset.
 *
 * Requests are the protocol's `commitOffsets` (generation -1, no member: a consumer outside group
 * membership, like Kafka's assign() consumers) and `fetchOffsets`, sent once each to the group's
 * coordinator (found with `findCoordinator`, and followed on NOT_COORDINATOR), with no retries.
 * The group consumer of the client library (`client.consumer({ groupId })`) can replace this
 * once it exposes commits; the recorded operations stay the same.
 */
import type { Cluster } from '../../src/client/cluster.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { RaftlogError, fromApiError } from '../../src/client/errors.js';
import { classify } from '../outcome.js';
import type { OpenOp } from '../recorder.js';
import { keyOf, rawCluster, type WorkloadContext } from './context.js';
import { leaderAddress, recordedPoll } from './poll.js';

export interface CommitterOptions {
  readonly groups: readonly string[];
  /** Poll-and-commit rounds per process. */
  readonly rounds: number;
  readonly intervalMs: number;
}

/** Offsets of one group, by partition of the run's topic; null where nothing is committed. */
type Committed = Map<number, number | null>;

/** commitOffsets and fetchOffsets, one request each, at the group's coordinator. */
export class OffsetClient {
  private readonly coordinators = new Map<string, string>();

  constructor(
    private readonly cluster: Cluster,
    private readonly topic: string,
    private readonly timeoutMs: number,
    private readonly random: () => number,
  ) {}

  /** The coordinator's address (looked up when unknown); throws a RaftlogError. */
  async coordinator(group: string): Promise<string> {
    const known = this.coordinators.get(group);
    if (known !== undefined) return known;
    const md = await this.cluster.fetchMetadata([]);
    const nodes = md.nodes.map((n) => n.address);
    const ask = nodes[Math.floor(this.random() * nodes.length)] ?? this.cluster.config.brokers[0]!;
    const res = await this.cluster.request(ask, { type: 'findCoordinator', group }, this.timeoutMs);
    this.coordinators.set(group, res.coordinator.address);
    return res.coordinator.address;
  }

  async commit(group: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    const address = await this.coordinator(group);
    try {
      const res = await this.cluster.request(
        address,
        {
          type: 'commitOffsets',
          group,
          generation: -1,
          memberId: '',
          offsets: [...offsets].map(([partition, offset]) => ({ topic: this.topic, partition, offset, metadata: '' })),
          timeoutMs: this.timeoutMs,
        },
        this.timeoutMs + 1000,
      );
      const bad = res.results.find((r) => r.error !== undefined);
      if (bad?.error !== undefined) throw fromApiError(bad.error, { topic: bad.topic, partition: bad.partition, node: address });
    } catch (err) {
      this.note(group, err);
      throw err;
    }
  }

  async fetch(group: string, partitions: readonly number[]): Promise<Committed> {
    const address = await this.coordinator(group);
    try {
      const res = await this.cluster.request(address, { type: 'fetchOffsets', group, partitions: partitions.map((partition) => ({ topic: this.topic, partition })) }, this.timeoutMs);
      const out: Committed = new Map();
      for (const p of partitions) {
        const o = res.offsets.find((x) => x.topic === this.topic && x.partition === p);
        out.set(p, o === undefined || o.offset < 0 ? null : o.offset);
      }
      return out;
    } catch (err) {
      this.note(group, err);
      throw err;
    }
  }

  /** Follows NOT_COORDINATOR's hint; any other routing failure looks the coordinator up again. */
  private note(group: string, err: unknown): void {
    if (!(err instanceof RaftlogError)) return;
    if (err.leader !== undefined) this.coordinators.set(group, err.leader.address);
    else if (err.code !== ErrorCode.IllegalGeneration && err.code !== ErrorCode.UnknownMemberId) this.coordinators.delete(group);
  }
}

/**
 * Whether the cluster answers offset requests at all: a run against a node without consumer
 * groups leaves the committers out (with a note) rather than recording failures.
 */
export async function offsetsSupported(ctx: WorkloadContext): Promise<string | null> {
  const cluster = rawCluster(ctx);
  const client = new OffsetClient(cluster, ctx.topic, ctx.timeouts.requestMs, ctx.random);
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await client.fetch('chaos-probe', [0]);
        return null;
      } catch (err) {
        if (err instanceof RaftlogError && (err.code === ErrorCode.UnsupportedRequest || err.code === ErrorCode.InvalidRequest)) {
          return `the cluster does not serve offset requests (${err.code}: ${err.message})`;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return 'offset requests kept failing before the run began';
  } finally {
    cluster.close();
  }
}

export async function committerWorker(ctx: WorkloadContext, opts: CommitterOptions): Promise<void> {
  const cluster = rawCluster(ctx);
  const offsets = new OffsetClient(cluster, ctx.topic, ctx.timeouts.requestMs, ctx.random);
  try {
    while (!ctx.stopper.isStopped) {
      await oneProcess(ctx, cluster, offsets, opts);
      await ctx.stopper.sleep(opts.intervalMs);
    }
  } finally {
    cluster.close();
  }
}

/** Records `call` as `op`; returns its value, or null after recording fail/info (`info` tells which). */
async function recorded<T>(ctx: WorkloadContext, op: OpenOp, call: () => Promise<T>, okValue: (v: T) => unknown): Promise<{ value: T | null; info: boolean }> {
  try {
    const v = await call();
    ctx.recorder.ok(op, okValue(v));
    return { value: v, info: false };
  } catch (err) {
    const c = classify(err);
    if (c.type === 'fail') ctx.recorder.fail(op, c.error);
    else ctx.recorder.info(op, c.error);
    return { value: null, info: c.type === 'info' };
  }
}

async function oneProcess(ctx: WorkloadContext, cluster: Cluster, offsets: OffsetClient, opts: CommitterOptions): Promise<void> {
  const process = ctx.recorder.newProcess();
  const group = opts.groups[Math.floor(ctx.random() * opts.groups.length)]!;
  const partition = Math.floor(ctx.random() * ctx.partitions);
  const key = keyOf(ctx.topic, partition);

  // 1. Resume from the committed offset.
  const assign = ctx.recorder.invoke(process, 'assign', { group, keys: [key], seek: 'committed' });
  const resumed = await recorded(
    ctx,
    assign,
    async () => {
      const c = await offsets.fetch(group, [partition]);
      return c.get(partition) ?? Math.max(0, (ctx.knownHw.get(key) ?? 0) - 10);
    },
    (start) => ({ start: { [key]: start } }),
  );
  if (resumed.value === null) return;
  let position = resumed.value;

  // 2. Poll, commit, sometimes read the commit back.
  for (let round = 0; round < opts.rounds && !ctx.stopper.isStopped; round++) {
    const address = await leaderAddress(cluster, ctx.topic, partition);
    if (address !== null) {
      const { result, info } = await recordedPoll(ctx, cluster, process, address, partition, position, { maxBytes: 16 * 1024, maxWaitMs: 100 });
      if (info) return;
      const last = result?.msgs[result.msgs.length - 1];
      if (last !== undefined) position = last[0] + 1;
    }
    const next = position;
    const commit = ctx.recorder.invoke(process, 'commit', { group, offsets: { [key]: next } });
    const committed = await recorded(ctx, commit, () => offsets.commit(group, new Map([[partition, next]])), () => null);
    if (committed.info) return;
    if (ctx.random() < 0.4) {
      const read = ctx.recorder.invoke(process, 'fetchCommitted', { group, keys: [key] });
      const got = await recorded(ctx, read, () => offsets.fetch(group, [partition]), (c) => ({ offsets: { [key]: c.get(partition) ?? null } }));
      if (got.info) return;
    }
    await ctx.stopper.sleep(opts.intervalMs);
  }
}
