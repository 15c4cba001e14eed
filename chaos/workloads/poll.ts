/**
 * Polls as single fetch requests: one `poll` operation is one `fetch` of one partition sent to one
 * node, through the client library's connection layer, with no retry. Three workloads use it:
 *
 * - tail readers follow each key from where they are, at the leader the metadata names;
 * - probes each poll once, as a fresh process, a random node from a random offset below the
 *   highest high watermark seen: a follower must refuse (NOT_LEADER), a node that answers
 *   without confirming it leads shows a stale high watermark;
 * - final reads, after the last fault is healed, read every key from its log start to its high
 *   watermark.
 *
 * History values: invoke `{ from: { key: offset } }` → ok `{ msgs: { key: [[offset, value], ...] },
 * hw: { key: highWatermark } }`, with `node` the node asked.
 */
import type { Cluster } from '../../src/client/cluster.js';
import { fromApiError, RaftlogError, toRaftlogError } from '../../src/client/errors.js';
import { listOffsets } from '../../src/client/list-offsets.js';
import { records } from '../../src/wire/record-batch/decode.js';
import { BatchAttributes, readBatchHeader } from '../../src/wire/record-batch/header.js';
import { classify, withDeadline } from '../outcome.js';
import { keys, noteHw, nodeId, pick, rawCluster, type WorkloadContext } from './context.js';

export interface Fetched {
  readonly msgs: Array<[number, string | null]>;
  readonly hw: number;
  readonly logStart: number;
}

/** One fetch of one partition from `address`; throws a RaftlogError. */
export async function fetchOnce(
  cluster: Cluster,
  address: string,
  topic: string,
  partition: number,
  from: number,
  opts: { maxBytes: number; maxWaitMs: number; timeoutMs: number },
): Promise<Fetched> {
  const res = await cluster.request(
    address,
    { type: 'fetch', maxWaitMs: opts.maxWaitMs, minBytes: 1, maxBytes: opts.maxBytes, partitions: [{ topic, partition, offset: from, maxBytes: opts.maxBytes }] },
    opts.maxWaitMs + opts.timeoutMs,
  );
  const r = res.partitions.find((p) => p.topic === topic && p.partition === partition);
  if (r === undefined) throw toRaftlogError(new Error(`${address} answered a fetch of ${topic}/${partition} without that partition`));
  if (r.error !== undefined) throw fromApiError(r.error, { topic, partition, node: address });
  const msgs: Array<[number, string | null]> = [];
  for (const b of r.batches) {
    if ((readBatchHeader(b).attributes & BatchAttributes.Control) !== 0) continue;
    for (const rec of records(b)) {
      if (rec.offset < from) continue;
      msgs.push([rec.offset, rec.value === null ? null : Buffer.from(rec.value).toString('utf8')]);
    }
  }
  return { msgs, hw: r.highWatermark, logStart: r.logStartOffset };
}

/**
 * Records one poll of `partition` at `address` by `process`. Returns the result, or null when the
 * poll did not succeed; `info` says the process must end (outcome unknown).
 */
export async function recordedPoll(
  ctx: WorkloadContext,
  cluster: Cluster,
  process: number,
  address: string,
  partition: number,
  from: number,
  opts: { maxBytes: number; maxWaitMs: number },
): Promise<{ result: Fetched | null; info: boolean }> {
  const key = `${ctx.topic}/${partition}`;
  const node = nodeId(ctx, address);
  const op = ctx.recorder.invoke(process, 'poll', { from: { [key]: from } }, node);
  try {
    const timeoutMs = ctx.timeouts.requestMs;
    const result = await withDeadline(
      fetchOnce(cluster, address, ctx.topic, partition, from, { ...opts, timeoutMs }),
      opts.maxWaitMs + timeoutMs + 2000,
      `poll of ${key} at ${node}`,
    );
    ctx.recorder.ok(op, { msgs: { [key]: result.msgs }, hw: { [key]: result.hw } });
    noteHw(ctx, key, result.hw);
    return { result, info: false };
  } catch (err) {
    if (err instanceof RaftlogError) cluster.notePartitionError(ctx.topic, partition, err);
    const c = classify(err);
    if (c.type === 'fail') ctx.recorder.fail(op, c.error);
    else ctx.recorder.info(op, c.error);
    return { result: null, info: c.type === 'info' };
  }
}

/** The leader's address for a partition per the metadata cache, refreshing it if needed; null if unknown. */
export async function leaderAddress(cluster: Cluster, topic: string, partition: number): Promise<string | null> {
  try {
    await cluster.refreshIfStale();
    await cluster.topic(topic);
    return cluster.leaderAddress(topic, partition);
  } catch (err) {
    if (err instanceof RaftlogError) cluster.markStale();
    return null;
  }
}

const TAIL_MAX_BYTES = 64 * 1024;
const TAIL_WAIT_MS = 300;

/** Follows every key at its leader, one key per poll, round robin; a new process after `info`. */
export async function tailReader(ctx: WorkloadContext): Promise<void> {
  const cluster = rawCluster(ctx);
  const all = keys(ctx);
  let process = ctx.recorder.newProcess();
  let positions = new Map<number, number>();
  let turn = Math.floor(ctx.random() * all.length);
  try {
    while (!ctx.stopper.isStopped) {
      const partition = turn++ % all.length;
      const address = await leaderAddress(cluster, ctx.topic, partition);
      if (address === null) {
        await ctx.stopper.sleep(100);
        continue;
      }
      // A process starts a key a little below the highest high watermark seen.
      const from = positions.get(partition) ?? Math.max(0, (ctx.knownHw.get(all[partition]!) ?? 0) - Math.floor(ctx.random() * 20));
      const { result, info } = await recordedPoll(ctx, cluster, process, address, partition, from, { maxBytes: TAIL_MAX_BYTES, maxWaitMs: TAIL_WAIT_MS });
      if (info) {
        process = ctx.recorder.newProcess();
        positions = new Map();
        continue;
      }
      if (result === null) {
        await ctx.stopper.sleep(50);
        continue;
      }
      const last = result.msgs[result.msgs.length - 1];
      positions.set(partition, last === undefined ? from : last[0] + 1);
    }
  } finally {
    cluster.close();
  }
}

const PROBE_MAX_BYTES = 4 * 1024;

/** One poll per process at a random node from a random offset; `intervalMs` between probes. */
export async function prober(ctx: WorkloadContext, intervalMs: number): Promise<void> {
  const cluster = rawCluster(ctx);
  try {
    while (!ctx.stopper.isStopped) {
      const partition = Math.floor(ctx.random() * ctx.partitions);
      const known = ctx.knownHw.get(`${ctx.topic}/${partition}`) ?? 0;
      const from = Math.floor(ctx.random() * (known + 1));
      const node = pick(ctx.random, ctx.nodes);
      await recordedPoll(ctx, cluster, ctx.recorder.newProcess(), node.address, partition, from, { maxBytes: PROBE_MAX_BYTES, maxWaitMs: 0 });
      await ctx.stopper.sleep(intervalMs);
    }
  } finally {
    cluster.close();
  }
}

const FINAL_MAX_BYTES = 1024 * 1024;

/**
 * The final reads: every key from its log start to its high watermark, at its leader. Returns
 * the keys it could not finish before `deadline` (epoch ms), with why.
 */
export async function finalReads(ctx: WorkloadContext, deadline: number): Promise<string[]> {
  const cluster = rawCluster(ctx);
  const unfinished: string[] = [];
  try {
    await Promise.all(
      keys(ctx).map(async (key, partition) => {
        let process = ctx.recorder.newProcess();
        let from: number | null = null;
        let lastError = 'no leader known';
        while (Date.now() < deadline) {
          if (from === null) {
            try {
              const [start] = await listOffsets(cluster, [{ topic: ctx.topic, partition, spec: 'earliest' }]);
              from = start!.offset;
            } catch (err) {
              lastError = `log start unknown: ${toRaftlogError(err).message}`;
              await new Promise((r) => setTimeout(r, 200));
              continue;
            }
          }
          const address = await leaderAddress(cluster, ctx.topic, partition);
          if (address === null) {
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          const { result, info } = await recordedPoll(ctx, cluster, process, address, partition, from, { maxBytes: FINAL_MAX_BYTES, maxWaitMs: 0 });
          if (info) process = ctx.recorder.newProcess();
          if (result === null) {
            lastError = 'polls failed';
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          const last = result.msgs[result.msgs.length - 1];
          if (last !== undefined) from = last[0] + 1;
          if (from >= result.hw) return;
        }
        unfinished.push(`${key}: ${lastError}`);
      }),
    );
  } finally {
    cluster.close();
  }
  return unfinished;
}
