/**
 * `npm run sim -- --seeds N [--start S] [--mutant NAME] [--chaos-time MS]`: runs many seeds of
 * the host simulation (host-simulation.ts: the real host, partitions and segment logs on a
 * simulated disk and clock) and reports seeds per second; a mutant stops at the first seed that
 * catches it. `npm run sim -- --seed N` (or `SEED=N npm run sim`) replays one seed with its trace.
 * (`--host` is still taken, and changes nothing: the host simulation is the only one.)
 */
import { Command, Option } from 'commander';
import { HOST_MUTANTS, HostSimulation, type HostMutant } from './host-simulation.js';

const program = new Command()
  .name('sim')
  .description('Run the deterministic simulation of the real host, partitions and storage over many seeds')
  .option('--seeds <n>', 'how many seeds to run', '10000')
  .option('--start <n>', 'first seed', '1')
  .option('--mutant <name>', `break the shell or the core on purpose: ${HOST_MUTANTS.join(', ')}`)
  .option('--chaos-time <ms>', 'length of the fault phase in simulated milliseconds (default 3000)')
  .option('--seed <n>', 'replay one seed with its trace')
  .option('--full-trace', 'with --seed: print the whole trace, not its last 300 lines')
  .addOption(new Option('--host', 'the host simulation (the only one; kept for old command lines)').hideHelp())
  .parse();

const opts = program.opts<{ seeds: string; start: string; mutant?: string; chaosTime?: string; seed?: string; fullTrace?: boolean }>();
const mutant = opts.mutant as HostMutant | undefined;
if (mutant !== undefined && !HOST_MUTANTS.includes(mutant)) {
  console.error(`unknown mutant ${mutant}; choose one of ${HOST_MUTANTS.join(', ')}`);
  process.exit(2);
}
const chaosMs = opts.chaosTime !== undefined ? Number(opts.chaosTime) : undefined;
const base = { ...(mutant !== undefined ? { mutant } : {}), ...(chaosMs !== undefined ? { chaosMs } : {}) };

const one = opts.seed ?? process.env['SEED'];
if (one !== undefined) {
  const r = await new HostSimulation({ seed: Number(one), ...base, trace: true }).run();
  console.log(r.trace.slice(opts.fullTrace === true ? 0 : -300).join('\n'));
  console.log(`seed ${r.seed}: ${r.ok ? `ok ${JSON.stringify(r.stats)}` : r.error}`);
  process.exit(r.ok ? 0 : 1);
}

const start = Number(opts.start);
const count = Number(opts.seeds);
const t0 = performance.now();
let failed = 0;
let events = 0;
let done = 0;
for (let s = start; s < start + count; s++) {
  const r = await new HostSimulation({ seed: s, ...base }).run();
  done++;
  events += r.stats.events;
  if (!r.ok) {
    failed++;
    console.log(`seed ${s}: FAILED ${r.error}`);
    console.log(`  replay: npm run sim -- --seed ${s}${mutant !== undefined ? ` --mutant ${mutant}` : ''}`);
    if (mutant !== undefined) break;
  }
  if (done % 100 === 0) {
    const secs = (performance.now() - t0) / 1000;
    process.stderr.write(`${done}/${count} seeds, ${(done / secs).toFixed(1)} seeds/s, ${failed} failed\n`);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ seeds: done, failed, seconds: Number(secs.toFixed(1)), seedsPerSecond: Number((done / secs).toFixed(1)), eventsPerSecond: Math.round(events / secs) }));
// A mutant's run succeeds when a seed caught it.
process.exit(mutant !== undefined ? (failed > 0 ? 0 : 1) : failed > 0 ? 1 : 0);
