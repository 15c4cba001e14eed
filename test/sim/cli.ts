/**
 * `npm run sim -- --seeds N [--start S] [--mutant NAME] [--chaos-time T]`: runs many simulation
 * seeds and reports seeds per second; `SEED=n npm run sim` replays one seed with its trace.
 */
import { Command } from 'commander';
import { MUTANTS, runSeed, type MutantName } from './simulation.js';

const program = new Command()
  .name('sim')
  .description('Run the deterministic Raft simulator over many seeds')
  .option('--seeds <n>', 'how many seeds to run', '10000')
  .option('--start <n>', 'first seed', '1')
  .option('--mutant <name>', `break the core on purpose: ${MUTANTS.join(', ')}`)
  .option('--chaos-time <units>', 'length of the chaos phase in time units (default 600)')
  .parse();

const opts = program.opts<{ seeds: string; start: string; mutant?: string; chaosTime?: string }>();
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

const start = Number(opts.start);
const count = Number(opts.seeds);
const t0 = performance.now();
let failed = 0;
let events = 0;
for (let s = start; s < start + count; s++) {
  const r = runSeed(s, mutant, chaosTime);
  events += r.stats.events;
  if (!r.ok) {
    failed++;
    console.log(`seed ${s}: FAILED ${r.error}`);
    console.log(`  replay: SEED=${s}${mutant !== undefined ? ` npm run sim -- --mutant ${mutant}` : ' npm run sim'}`);
    if (mutant !== undefined) break;
  }
  const done = s - start + 1;
  if (done % 500 === 0) {
    const secs = (performance.now() - t0) / 1000;
    process.stderr.write(`${done}/${count} seeds, ${(done / secs).toFixed(0)} seeds/s, ${failed} failed\n`);
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ seeds: count, failed, seconds: Number(secs.toFixed(1)), seedsPerSecond: Number((count / secs).toFixed(1)), eventsPerSecond: Math.round(events / secs) }));
process.exit(failed > 0 && mutant === undefined ? 1 : 0);
