/**
 * `npm run bench:failover -- [--kills 20] [--transfers 20] [--producers 4] [--nodes 3]`: failover
 * time of a real raftlog cluster alone (`npm run bench` measures it beside NATS). Producers send
 * 1 KB records continuously, one send in flight each, so every acknowledgement is timed; the
 * leader of the partition is SIGKILLed; the figure is the time from the kill to the
 * acknowledgement of the first send begun after the process was gone. The killed node is
 * restarted and the cluster settles (preferred leader back) before the next kill. Then planned
 * leadership transfers: the longest pause between acknowledgements around each. The workload is
 * scripts/bench/workloads.ts's failover().
 *
 * Prints each kill, p50/p99/max, and as its last line a JSON object with the figures.
 */
import { Command } from 'commander';
import { startRaftlog } from './raftlog.js';
import { failover } from './workloads.js';

const opts = new Command()
  .name('bench:failover')
  .option('--kills <n>', 'leader kills to time', '20')
  .option('--transfers <n>', 'planned transfers to time', '20')
  .option('--producers <n>', 'concurrent producers', '4')
  .option('--nodes <n>', 'cluster size (partitions have 3 replicas)', '3')
  .option('--settle-ms <ms>', 'pause after each restart', '3000')
  .parse()
  .opts<{ kills: string; transfers: string; producers: string; nodes: string; settleMs: string }>();

async function main(): Promise<void> {
  process.stderr.write(`starting a ${opts.nodes}-node cluster\n`);
  const t = await startRaftlog({ sync: 'fsync', nodes: Number(opts.nodes) });
  try {
    const r = await failover(t, {
      log: 'failover',
      producers: Number(opts.producers),
      recordBytes: 1024,
      kills: Number(opts.kills),
      transfers: Number(opts.transfers),
      settleMs: Number(opts.settleMs),
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    console.log(`failover over ${r.kills.length} leader kills: p50 ${r.killMs.p50} ms, p99 ${r.killMs.p99} ms, max ${r.killMs.max} ms`);
    if (r.transfers.length > 0) console.log(`planned transfers: longest pause in acknowledgements p50 ${r.transferMs.p50} ms, p99 ${r.transferMs.p99} ms`);
    console.log(JSON.stringify({ kills: r.kills.length, failoverMs: r.killMs, transferPauseMs: r.transfers.length > 0 ? r.transferMs : null }));
  } finally {
    await t.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
