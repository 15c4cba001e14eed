/**
 * `npm run bench:rebalance -- [--rounds 10] [--session-timeout 10000]`: how long a consumer group
 * takes to get every member consuming again, on a 3-node cluster with a 6-partition topic under
 * a steady producer:
 *
 * - join: two members consume; a third starts; the time from its start until every member has
 *   received a record produced after the rebalance began;
 * - kill: three members (separate processes) consume; one is SIGKILLed; the time from the kill
 *   until records of every partition flow to the survivors again. This is dominated by the
 *   session timeout (the coordinator cannot tell a dead member from a slow one before it).
 *
 * Prints each round and p50/p99, and as its last line a JSON object.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Command } from 'commander';
import { LocalCluster, repoRoot, sleep } from '../../chaos/cluster.js';
import { Client, silentLogger } from '../../src/client/index.js';
import { percentile } from './stats.js';

const opts = new Command()
  .name('bench:rebalance')
  .option('--rounds <n>', 'rounds of each kind', '10')
  .option('--session-timeout <ms>', 'consumer session timeout', '10000')
  .option('--heartbeat-interval <ms>', 'consumer heartbeat interval', '1000')
  .parse()
  .opts<{ rounds: string; sessionTimeout: string; heartbeatInterval: string }>();

const WORKER = path.join(repoRoot(), 'dist', 'test', 'cluster', 'group-worker.js');
const TOPIC = 'rebalance';

interface Worker {
  readonly id: number;
  readonly proc: ChildProcess;
  /** Time of the last record received, per partition. */
  readonly lastRecord: Map<number, number>;
  joinedAt: number;
}

async function main(): Promise<void> {
  const cluster = new LocalCluster({ nodes: 3, entry: 'production', logLevel: 'warn' });
  process.stderr.write(`starting a 3-node cluster in ${cluster.dir}\n`);
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger });
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 6, replicationFactor: 3 }] });
  let stop = false;
  const producer = client.producer({ lingerMs: 5 });
  const producing = (async () => {
    for (let i = 0; !stop; i++) {
      await producer.send({ topic: TOPIC, messages: Array.from({ length: 6 }, (_, p) => ({ value: `v${i}`, partition: p })) });
      await sleep(5);
    }
  })();

  let nextId = 0;
  const spawn = (group: string): Worker => {
    const config = { brokers: cluster.brokers, groupId: group, topic: TOPIC, autoCommitInterval: 1000, sessionTimeout: Number(opts.sessionTimeout), heartbeatInterval: Number(opts.heartbeatInterval) };
    const w: Worker = { id: nextId++, proc: fork(WORKER, [], { env: { ...process.env, RAFTLOG_WORKER: JSON.stringify(config) }, stdio: 'ignore' }), lastRecord: new Map(), joinedAt: 0 };
    w.proc.on('message', (m: { type: string; partition?: number }) => {
      if (m.type === 'record') w.lastRecord.set(m.partition!, Date.now());
      if (m.type === 'join') w.joinedAt = Date.now();
    });
    return w;
  };
  const waitFor = async (cond: () => boolean, what: string, ms = 120_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  };
  const consumingSince = (ws: Worker[], t: number): boolean => ws.every((w) => [...w.lastRecord.values()].some((at) => at > t));
  const partitionsFlowingSince = (ws: Worker[], t: number): boolean => {
    for (let p = 0; p < 6; p++) if (!ws.some((w) => (w.lastRecord.get(p) ?? 0) > t)) return false;
    return true;
  };

  const joins: number[] = [];
  const kills: number[] = [];
  for (let r = 0; r < Number(opts.rounds); r++) {
    const group = `join-${r}`;
    const base = [spawn(group), spawn(group)];
    await waitFor(() => partitionsFlowingSince(base, Date.now() - 500) && consumingSince(base, Date.now() - 500), 'two members consuming');
    const t = Date.now();
    const third = spawn(group);
    const all = [...base, third];
    await waitFor(() => consumingSince(all, Math.max(t, third.joinedAt || Infinity)) && third.joinedAt > 0, 'all three consuming after the join');
    const ms = Date.now() - t;
    joins.push(ms);
    process.stderr.write(`join ${r + 1}/${opts.rounds}: every member consuming ${ms} ms after the third started\n`);
    for (const w of all) w.proc.kill('SIGKILL');
  }
  for (let r = 0; r < Number(opts.rounds); r++) {
    const group = `kill-${r}`;
    const ws = [spawn(group), spawn(group), spawn(group)];
    await waitFor(() => partitionsFlowingSince(ws, Date.now() - 500) && consumingSince(ws, Date.now() - 500), 'three members consuming');
    const t = Date.now();
    ws[0]!.proc.kill('SIGKILL');
    const rest = ws.slice(1);
    await waitFor(() => partitionsFlowingSince(rest, t) && rest.every((w) => w.joinedAt > t), 'every partition consumed again after the kill');
    const ms = Date.now() - t;
    kills.push(ms);
    process.stderr.write(`kill ${r + 1}/${opts.rounds}: every partition consumed again ${ms} ms after SIGKILL (session timeout ${opts.sessionTimeout} ms)\n`);
    for (const w of rest) w.proc.kill('SIGKILL');
  }
  stop = true;
  await producing;
  await producer.disconnect();
  await admin.disconnect();
  await cluster.stop();
  const summary = {
    sessionTimeoutMs: Number(opts.sessionTimeout),
    heartbeatIntervalMs: Number(opts.heartbeatInterval),
    joinMs: { p50: percentile(joins, 50), p99: percentile(joins, 99), max: Math.max(...joins) },
    killMs: { p50: percentile(kills, 50), p99: percentile(kills, 99), max: Math.max(...kills) },
  };
  console.log(`rebalance after a join: p50 ${summary.joinMs.p50} ms, p99 ${summary.joinMs.p99} ms; after a kill: p50 ${summary.killMs.p50} ms, p99 ${summary.killMs.p99} ms (session timeout ${summary.sessionTimeoutMs} ms)`);
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
