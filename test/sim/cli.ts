/**
 * `npm run sim -- --seeds N [--start S] [--mutant NAME] [--chaos-time T]`: runs many simulation
 * seeds and reports seeds per second; `SEED=n npm run sim` replays one seed with its trace.
 *
 * `npm run sim -- --host ...` runs the host simulation instead (host-simulation.ts: the real host,
 * partitions and segment logs on a simulated disk), with the same options; `--seed N` (or SEED=N)
 * replays one seed with its trace.
 */
import { Command } from 'commander';
import { HOST_MUTANTS, HostSimulation, type HostMutant } from './host-simulation.js';
import { MUTANTS, runSeed, type MutantName } from './simulation.js';

const program = new Command()
  .name('sim')
  .description('Run the deterministic Raft simulator over many seeds')
  .option('--seeds <n>', 'how many seeds to run', '10000')
  .option('--start <n>', 'first seed', '1')
  .option('--mutant <name>', `break the core on purpose: ${MUTANTS.join(', ')}`)
  .option('--chaos-time <units>', 'length of the chaos phase in time units (default 600; with --host, milliseconds, default 3000)')
  .option('--host', `simulate the real host, partitions and storage (mutants: ${HOST_MUTANTS.join(', ')})`)
  .option('--seed <n>', 'replay one seed with its trace')
  .parse();

const opts = program.opts<{ seeds: string; start: string; mutant?: string; chaosTime?: string; host?: boolean; seed?: string }>();
if (opts.host === true) await runHost();
const mutant = opts.mutant as MutantName | undefined;
if (mutant !== undefined && !MUTANTS.includes(mutant)) {
  console.error(`unknown mutant ${mutant}; choose one of ${MUTANTS.join(', ')}`);
  process.exit(2);
}
const chaosTime = opts.chaosTime !== undefined ? Number(opts.chaosTime) : undefined;

const one = process.env['SEED'];
if (one !== undefined) {
  const r = runSeed(Number(one), mutant, chaosTime);
  if (!r.ok) {
    console.log(r.trace.slice(-200).join('\n'));
    console.log(`seed ${r.seed}: ${r.error}`);
    process.exit(1);
  }
  console.log(`seed ${r.seed}: ok ${JSON.stringify(r.stats)}`);
  process.exit(0);
}

await runMany({ kind: 'seeds', every: 500, mutant, run: async (s) => runSeed(s, mutant, chaosTime), replay: (s) => `SEED=${s}${mutant !== undefined ? ` npm run sim -- --mutant ${mutant}` : ' npm run sim'}` });

/** Runs `--seeds` seeds from `--start`, with progress every `every`, and exits: 1 if a seed failed (a mutant stops at the first). */
async function runMany(o: { kind: string; every: number; mutant: string | undefined; run: (seed: number) => Promise<{ ok: boolean; error?: string; stats: { events: number } }>; replay: (seed: number) => string; extra?: Record<string, unknown> }): Promise<never> {
  const start = Number(opts.start);
  const count = Number(opts.seeds);
  const t0 = performance.now();
  let failed = 0;
  let events = 0;
  for (let s = start; s < start + count; s++) {
    const r = await o.run(s);
    events += r.stats.events;
    if (!r.ok) {
      failed++;
      console.log(`${o.kind === 'seeds' ? 'seed' : 'host seed'} ${s}: FAILED ${r.error}`);
      console.log(`  replay: ${o.replay(s)}`);
      if (o.mutant !== undefined) break;
    }
    const done = s - start + 1;
    if (done % o.every === 0) {
      const secs = (performance.now() - t0) / 1000;
      process.stderr.write(`${done}/${count} ${o.kind}, ${(done / secs).toFixed(1)} seeds/s, ${failed} failed\n`);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ ...o.extra, seeds: count, failed, seconds: Number(secs.toFixed(1)), seedsPerSecond: Number((count / secs).toFixed(1)), eventsPerSecond: Math.round(events / secs) }));
  process.exit(failed > 0 && o.mutant === undefined ? 1 : 0);
}

async function runHost(): Promise<never> {
  const mutant = opts.mutant as HostMutant | undefined;
  if (mutant !== undefined && !HOST_MUTANTS.includes(mutant)) {
    console.error(`unknown host mutant ${mutant}; choose one of ${HOST_MUTANTS.join(', ')}`);
    process.exit(2);
  }
  const chaosMs = opts.chaosTime !== undefined ? Number(opts.chaosTime) : undefined;
  const base = { ...(mutant !== undefined ? { mutant } : {}), ...(chaosMs !== undefined ? { chaosMs } : {}) };
  const one = opts.seed ?? process.env['SEED'];
  if (one !== undefined) {
    const r = await new HostSimulation({ seed: Number(one), ...base, trace: true }).run();
    console.log(r.trace.slice(-300).join('\n'));
    console.log(`host seed ${r.seed}: ${r.ok ? `ok ${JSON.stringify(r.stats)}` : r.error}`);
    process.exit(r.ok ? 0 : 1);
  }
  return runMany({ kind: 'host seeds', every: 100, mutant, extra: { host: true }, run: (s) => new HostSimulation({ seed: s, ...base }).run(), replay: (s) => `npm run sim -- --host --seed ${s}${mutant !== undefined ? ` --mutant ${mutant}` : ''}` });
}
