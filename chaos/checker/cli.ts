/**
 * `node dist/chaos/checker/cli.js FILE... [options]`: checks each history file (JSON Lines, Jepsen
 * register log or key-value EDN, chosen by content) and prints one line per file:
 * `FILE: valid`, `FILE: invalid (<anomaly kinds>)`, `FILE: unknown` (a linearizability search hit
 * its step limit) or `FILE: error (<why>)` (unreadable).
 *
 * Options:
 * - `--replicas FILE`: the replicas' logs after the run (format in `checks/replicas.ts`), checked
 *   for replica agreement with every file;
 * - `--report`: the full text report under each line;
 * - `--liveness-bound-ms N`: time allowed after the final heal for an operation to succeed;
 * - `--search-steps-max N`: step limit of each linearizability search.
 *
 * Exit code: 0 when every file is valid, 1 when any is invalid or unreadable, 2 when none is
 * invalid but some are unknown.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { checkParsed, type CheckOptions } from './report.js';
import { parseHistoryFile } from './parse/index.js';
import { parsePlacements } from './checks/placement.js';
import { parseReplicaLogs } from './checks/replicas.js';
import { renderReport, summarize } from './render.js';

export const ExitCode = { Valid: 0, Invalid: 1, Unknown: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly readText: (path: string) => Promise<string>;
}

const defaultIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readText: (path) => readFile(path, 'utf8'),
};

/** Runs the CLI on `argv` (the arguments after the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<ExitCode> {
  const program = new Command()
    .name('check')
    .description('Check chaos-run histories against the promises of CHECKER.md')
    .argument('<files...>', 'history files')
    .option('--replicas <file>', 'replica logs after the run (JSON), for the replica agreement check')
    .option('--placement <file>', 'partitions\' targets and replica configurations after the run (JSON, format in checks/placement.ts), for the final replica set check')
    .option('--report', 'print the full report under each file')
    .option('--liveness-bound-ms <ms>', 'time allowed after the final heal for operations to succeed')
    .option('--search-steps-max <n>', 'step limit of each linearizability search')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Valid : ExitCode.Invalid;
    throw e;
  }
  const opts = program.opts<{ replicas?: string; placement?: string; report?: boolean; livenessBoundMs?: string; searchStepsMax?: string }>();
  const files = program.processedArgs[0] as string[];

  const options: { -readonly [K in keyof CheckOptions]: CheckOptions[K] } = {};
  try {
    if (opts.replicas !== undefined) options.replicas = parseReplicaLogs(await io.readText(opts.replicas));
    if (opts.placement !== undefined) options.placement = parsePlacements(await io.readText(opts.placement));
    if (opts.livenessBoundMs !== undefined) options.livenessBoundNs = positive(opts.livenessBoundMs, '--liveness-bound-ms') * 1e6;
    if (opts.searchStepsMax !== undefined) options.searchStepsMax = positive(opts.searchStepsMax, '--search-steps-max');
  } catch (e) {
    io.err(`check: ${e instanceof Error ? e.message : String(e)}`);
    return ExitCode.Invalid;
  }

  let invalid = false;
  let unknown = false;
  for (const file of files) {
    try {
      const report = checkParsed(parseHistoryFile(await io.readText(file)), options);
      io.out(`${file}: ${summarize(report)}`);
      if (opts.report === true) io.out(renderReport(report, file));
      invalid ||= report.verdict === 'invalid';
      unknown ||= report.verdict === 'unknown';
    } catch (e) {
      io.out(`${file}: error (${e instanceof Error ? e.message : String(e)})`);
      invalid = true;
    }
  }
  return invalid ? ExitCode.Invalid : unknown ? ExitCode.Unknown : ExitCode.Valid;
}

function positive(raw: string, flag: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, not ${raw}`);
  return n;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  process.exitCode = await main(process.argv.slice(2));
}
