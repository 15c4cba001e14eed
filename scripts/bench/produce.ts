/**
 * `npm run bench:produce -- [--brokers host:port,...] [--producers 4] [--record-bytes 1024]
 * [--seconds 20] [--partitions 3] [--acks all] [--in-flight 256]`: producer throughput through the
 * client library with its default batching. Without --brokers it starts a 3-node cluster like the
 * embedded one (fsync before acknowledging) and removes it afterwards.
 *
 * Each producer keeps `--in-flight` sends outstanding (one record each; the client batches them
 * per partition). Prints progress every 2 s and, as its last line, a JSON object.
 */
import { Command } from 'commander';
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { Client, silentLogger, type Acks } from '../../src/client/index.js';
import { percentile } from './stats.js';

const opts = new Command()
  .name('bench:produce')
  .option('--brokers <list>', 'an existing cluster (default: start one)')
  .option('--producers <n>', 'producers, each with its own connections', '4')
  .option('--record-bytes <n>', 'value size', '1024')
  .option('--seconds <n>', 'measured time', '20')
  .option('--partitions <n>', 'partitions of the topic', '3')
  .option('--acks <acks>', 'all | leader | none', 'all')
  .option('--in-flight <n>', 'outstanding sends per producer', '256')
  .option('--sync <mode>', 'fsync | interval (only when starting a cluster)', 'fsync')
  .parse()
  .opts<{ brokers?: string; producers: string; recordBytes: string; seconds: string; partitions: string; acks: string; inFlight: string; sync: string }>();

async function main(): Promise<void> {
  let cluster: LocalCluster | null = null;
  let brokers: string[];
  if (opts.brokers !== undefined) {
    brokers = opts.brokers.split(',');
  } else {
    cluster = new LocalCluster({ nodes: 3, entry: 'production', logLevel: 'warn', args: ['--sync', opts.sync] });
    process.stderr.write(`starting a 3-node cluster (--sync ${opts.sync}) in ${cluster.dir}\n`);
    await cluster.start();
    brokers = cluster.brokers;
  }
  const client = new Client({ brokers, logger: silentLogger });
  const admin = client.admin();
  const topic = `bench-${Date.now()}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: Number(opts.partitions), replicationFactor: 3 }] });
  await admin.disconnect();

  const value = Buffer.alloc(Number(opts.recordBytes), 120);
  const seconds = Number(opts.seconds);
  let acked = 0;
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  const producers = Array.from({ length: Number(opts.producers) }, async (_, id) => {
    const p = client.producer({ acks: opts.acks as Acks });
    await p.connect();
    const one = async (): Promise<void> => {
      while (!stop) {
        const t0 = performance.now();
        await p.send({ topic, messages: [{ key: `p${id}-${acked % 1000}`, value }] });
        if (measuring) {
          acked++;
          if (acked % 50 === 0) latencies.push(performance.now() - t0);
        }
      }
    };
    await Promise.all(Array.from({ length: Number(opts.inFlight) }, one));
    await p.disconnect();
  });
  await sleep(2000); // warm up
  measuring = true;
  const t0 = performance.now();
  for (let s = 2; s <= seconds; s += 2) {
    await sleep(2000);
    const el = (performance.now() - t0) / 1000;
    process.stderr.write(`${el.toFixed(0)} s: ${Math.round(acked / el)} records/s, ${((acked * value.length) / el / 1e6).toFixed(1)} MB/s\n`);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const total = acked;
  stop = true;
  await Promise.all(producers);
  if (cluster !== null) await cluster.stop();
  const result = {
    producers: Number(opts.producers),
    recordBytes: value.length,
    acks: opts.acks,
    sync: opts.brokers === undefined ? opts.sync : 'external',
    recordsPerSec: Math.round(total / elapsed),
    mbPerSec: Number(((total * value.length) / elapsed / 1e6).toFixed(1)),
    sendLatencyMs: { p50: Number(percentile(latencies, 50).toFixed(1)), p99: Number(percentile(latencies, 99).toFixed(1)) },
  };
  console.log(`${result.recordsPerSec} records/s, ${result.mbPerSec} MB/s (${result.recordBytes}-byte records, acks ${result.acks}, ${result.producers} producers)`);
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
