/**
 * `npm run chaos -- [options]` (node dist/chaos/cli.js): one chaos run against a fresh local
 * cluster, written to a run folder (see run.ts for its contents), with progress on stderr and the
 * checker's report on stdout.
 *
 *     npm run chaos -- --nemesis kill,pause,partition,corrupt --time 600 --nodes 5 --seed 7
 *     npm run chaos -- --client kafkajs --nemesis kill,pause,partition --time 600 --seed 201
 *     npm run chaos -- --nemesis hostile --time 300 --seed 301
 *
 * Exit code: 0 when the history is valid, 1 when it is invalid, 2 when a linearizability search
 * gave up (unknown), 3 when the run itself could not be done (the cluster would not start...), 4
 * when the history is valid but, in a run with hostile clients, a node died.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { MUTANT_NAMES } from './mutants.js';
import { repoRoot } from './cluster.js';
import { NEMESIS_KINDS, type NemesisKind } from './nemesis.js';
import { CHAOS_CLIENTS, DEFAULT_WORKLOAD, runChaos, type ChaosClient } from './run.js';

export const ExitCode = { Valid: 0, Invalid: 1, Unknown: 2, RunFailed: 3, NodeDied: 4 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

interface Flags {
  nemesis: NemesisKind[];
  time: number;
  nodes: number;
  seed?: number;
  mutant?: string;
  dir?: string;
  partitions?: number;
  producers: number;
  gap: [number, number];
  hold: [number, number];
  loseUnsynced: boolean;
  corruptAcked?: boolean;
  keepData?: boolean;
  progress: number;
  client: ChaosClient;
}

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}, not '${v}'`);
    return n;
  };
}

function range(name: string) {
  return (v: string): [number, number] => {
    const m = /^(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))?$/.exec(v);
    if (m === null) throw new InvalidArgumentError(`${name} is seconds or a range of seconds like 3-6, not '${v}'`);
    const lo = Number(m[1]) * 1000;
    const hi = m[2] === undefined ? lo : Number(m[2]) * 1000;
    if (hi < lo) throw new InvalidArgumentError(`${name}: ${v} runs backwards`);
    return [lo, hi];
  };
}

function kinds(v: string): NemesisKind[] {
  if (v === '' || v === 'none') return [];
  const list = v.split(',').map((s) => s.trim());
  for (const k of list) {
    if (!(NEMESIS_KINDS as readonly string[]).includes(k)) throw new InvalidArgumentError(`unknown nemesis '${k}': choose from ${NEMESIS_KINDS.join(', ')} (comma-separated), or none`);
  }
  return list as NemesisKind[];
}

export async function main(argv: readonly string[]): Promise<ExitCode> {
  const program = new Command()
    .name('npm run chaos --')
    .description('Run a chaos test: a local cluster under faults, clients recording a history, and the checker proving it.')
    .addOption(new Option('--nemesis <kinds>', `faults to inject, comma-separated: ${NEMESIS_KINDS.join(', ')} (or none); hostile (clients attacking the nodes) only when named`).argParser(kinds).default(NEMESIS_KINDS.filter((k) => k !== 'hostile')))
    .addOption(new Option('--time <seconds>', 'length of the faulty phase').argParser(int('--time', 1)).default(60))
    .addOption(new Option('--nodes <n>', 'cluster size').argParser(int('--nodes', 1)).default(3))
    .addOption(new Option('--seed <n>', 'seed of the schedule and the workloads (default: random, printed)').argParser(int('--seed', 0)))
    .addOption(new Option('--mutant <name>', 'TESTING THE CHECKER: every node cheats in this way').choices(MUTANT_NAMES))
    .addOption(new Option('--dir <folder>', 'run folder (default: runs/<timestamp>)'))
    .addOption(new Option('--partitions <n>', 'partitions of the test topic (default: max(3, nodes))').argParser(int('--partitions', 1)))
    .addOption(new Option('--producers <n>', 'producer workers').argParser(int('--producers', 0)).default(DEFAULT_WORKLOAD.producers))
    .addOption(new Option('--gap <seconds>', 'healthy time before each fault, e.g. 5-10').argParser(range('--gap')).default([5000, 10_000], '5-10'))
    .addOption(new Option('--hold <seconds>', 'how long each fault lasts, e.g. 3-8').argParser(range('--hold')).default([3000, 8000], '3-8'))
    .addOption(new Option('--no-lose-unsynced', 'kills keep what the node wrote but did not fsync (no power loss)'))
    .addOption(new Option('--corrupt-acked', 'corrupt damages the last synced frame too: a disk losing acknowledged data, outside Raft\'s fault model (exploration only)'))
    .addOption(
      new Option('--client <name>', "client library of the producers and consumers: raftlog's native client, or kafkajs on the nodes' Kafka listeners (tail readers, probes, committers and final reads stay native)")
        .choices(CHAOS_CLIENTS)
        .default('native'),
    )
    .addOption(new Option('--keep-data', "keep the nodes' data folders in the run folder"))
    .addOption(new Option('--progress <seconds>', 'seconds between progress lines (0: none)').argParser(int('--progress', 0)).default(10))
    .exitOverride();
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Valid : ExitCode.RunFailed;
    throw e;
  }
  const f = program.opts<Flags>();
  const seed = f.seed ?? Math.floor(Math.random() * 2 ** 31);
  const dir = path.resolve(f.dir ?? path.join(repoRoot(), 'runs', new Date().toISOString().replace(/[:.]/g, '-')));
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  say(`chaos run: ${f.nodes} nodes, ${f.time} s, nemesis ${f.nemesis.join(',') || 'none'}, seed ${seed}, client ${f.client}${f.mutant !== undefined ? `, mutant ${f.mutant}` : ''}`);
  say(`run folder: ${dir}`);
  try {
    const result = await runChaos({
      dir,
      nodes: f.nodes,
      timeMs: f.time * 1000,
      seed,
      nemesis: f.nemesis,
      gapMs: f.gap,
      holdMs: f.hold,
      ...(f.mutant !== undefined ? { mutant: f.mutant } : {}),
      ...(f.partitions !== undefined ? { partitions: f.partitions } : {}),
      workload: { producers: f.producers },
      loseUnsynced: f.loseUnsynced,
      ...(f.corruptAcked === true ? { corruptMode: 'acked-frame' as const } : {}),
      keepData: f.keepData === true,
      client: f.client,
      progressSec: f.progress,
      log: say,
    });
    process.stdout.write(`${result.reportText}\n`);
    say(`${dir}: ${result.report.verdict} in ${(result.durationMs / 1000).toFixed(0)} s (report.txt, report.json, chart.svg, history.jsonl, replicas.json); rerun with --seed ${seed}${f.client !== 'native' ? ` --client ${f.client}` : ''}`);
    if (result.hostile !== undefined && !result.hostile.nodesAlive) say(`${dir}: a node died under the hostile clients (see report.txt)`);
    switch (result.report.verdict) {
      case 'valid':
        return result.hostile !== undefined && !result.hostile.nodesAlive ? ExitCode.NodeDied : ExitCode.Valid;
      case 'invalid':
        return ExitCode.Invalid;
      case 'unknown':
        return ExitCode.Unknown;
    }
  } catch (err) {
    say(`chaos run failed (seed ${seed}): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (fs.existsSync(dir)) say(`what there is of the run is in ${dir}`);
    return ExitCode.RunFailed;
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const code = await main(process.argv.slice(2));
  // Dropped producers may still be retrying against the stopped cluster; do not wait for them.
  process.exit(code);
}
