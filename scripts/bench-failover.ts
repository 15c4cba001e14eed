/**
 * `npm run bench:failover -- [--kills 20] [--producers 4] [--nodes 3]`: failover time of a real
 * cluster. Producers send continuously (1 KB records, acks all, one record per request so every
 * acknowledgement is timed); the leader of the partition is SIGKILLed; the figure is the time from
 * the kill to the next acknowledged write. The killed node is restarted and the cluster settles
 * (preferred leader back) before the next kill. Then planned leadership transfers: the figure is
 * the longest pause between acknowledgements around each (writes flow until the hand-over).
 *
 * Prints each kill, p50/p99/max, and as its last line a JSON object with the figures.
 */
import { Command } from 'commander';
import { LocalCluster, sleep } from '../chaos/cluster.js';
import { Client, silentLogger } from '../src/client/index.js';
import { percentile } from './stats.js';

const opts = new Command()
  .name('bench:failover')
  .option('--kills <n>', 'leader kills to time', '20')
  .option('--producers <n>', 'concurrent producers', '4')
  .option('--nodes <n>', 'cluster size', '3')
  .option('--settle-ms <ms>', 'pause after each restart', '3000')
  .parse()
  .opts<{ kills: string; producers: string; nodes: string; settleMs: string }>();

async function main(): Promise<void> {
  const cluster = new LocalCluster({ nodes: Number(opts.nodes), logLevel: 'warn' });
  process.stderr.write(`starting a ${opts.nodes}-node cluster in ${cluster.dir}\n`);
  await cluster.start();
  const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: { retries: 100, initialRetryTimeMs: 20, maxRetryTimeMs: 200 } });
  const admin = client.admin();
  await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: Number(opts.nodes) }] });

  let lastAck = 0;
  let acks = 0;
  const ackTimes: number[] = [];
  let stop = false;
  const value = Buffer.alloc(1024, 120);
  const producers = Array.from({ length: Number(opts.producers) }, async () => {
    const p = client.producer({ lingerMs: 0 });
    while (!stop) {
      await p.send({ topic: 'failover', messages: [{ value, partition: 0 }] });
      lastAck = performance.now();
      ackTimes.push(lastAck);
      acks++;
    }
    await p.disconnect();
  });

  // The real leader, from every live node's own view (metadata gossip may lag a rebalance).
  const leader = async (): Promise<string> => {
    for (;;) {
      let best: { id: string; term: number } | null = null;
      for (const n of cluster.nodes) {
        if (n.process === null) continue;
        const s = await cluster.status(n.id).catch(() => null);
        const g = s?.groups.find((x) => x.group.startsWith('failover/0'));
        if (g !== undefined && g.role === 'leader' && (best === null || g.term > best.term)) best = { id: n.id, term: g.term };
      }
      if (best !== null) return best.id;
      await sleep(20);
    }
  };
  /** The longest time without any acknowledgement between `from` and `to`. */
  const longestPause = (from: number, to: number): number => {
    let prev = from;
    let gap = 0;
    for (const t of ackTimes) {
      if (t < from) continue;
      if (t > to) break;
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    return Math.max(gap, to - prev);
  };
  const waitForAckAfter = async (t: number): Promise<number> => {
    const deadline = t + 30_000;
    while (lastAck <= t) {
      if (performance.now() > deadline) throw new Error('no acknowledgement within 30 s of the fault');
      await sleep(1);
    }
    return lastAck - t;
  };

  await sleep(2000);
  const kills: number[] = [];
  for (let i = 0; i < Number(opts.kills); i++) {
    const victim = await leader();
    const t = performance.now();
    await cluster.kill(victim);
    const ms = await waitForAckAfter(t);
    kills.push(ms);
    process.stderr.write(`kill ${i + 1}/${opts.kills}: SIGKILL ${victim}, next acknowledged write after ${ms.toFixed(0)} ms\n`);
    await cluster.restart(victim);
    await sleep(Number(opts.settleMs));
  }

  // Planned transfers: the leader catches the target up, then hands over.
  const transfers: number[] = [];
  for (let i = 0; i < Number(opts.kills); i++) {
    const from = await leader();
    const to = cluster.nodes.map((n) => n.id).find((id) => id !== from)!;
    const t = performance.now();
    await admin.transferLeadership({ topic: 'failover', partition: 0, to });
    await sleep(500);
    const ms = longestPause(t, performance.now() - 100);
    transfers.push(ms);
    process.stderr.write(`transfer ${i + 1}/${opts.kills}: ${from} → ${to}, longest pause in acknowledgements ${ms.toFixed(0)} ms\n`);
  }

  stop = true;
  await Promise.all(producers);
  await admin.disconnect();
  await cluster.stop();
  const summary = {
    kills: kills.length,
    failoverMs: { p50: Math.round(percentile(kills, 50)), p99: Math.round(percentile(kills, 99)), max: Math.round(Math.max(...kills)) },
    transferPauseMs: transfers.length > 0 ? { p50: Math.round(percentile(transfers, 50)), p99: Math.round(percentile(transfers, 99)) } : null,
    acks,
  };
  console.log(`failover over ${kills.length} leader kills: p50 ${summary.failoverMs.p50} ms, p99 ${summary.failoverMs.p99} ms, max ${summary.failoverMs.max} ms`);
  if (summary.transferPauseMs !== null) console.log(`planned transfers: longest pause in acknowledgements p50 ${summary.transferPauseMs.p50} ms, p99 ${summary.transferPauseMs.p99} ms`);
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
