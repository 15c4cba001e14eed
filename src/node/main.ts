/**
 * `node cluster.js [options]`: with options, run one node; with none, run the embedded 3-node
 * cluster (embedded.ts). Exits non-zero with a message a person can act on when a node cannot
 * start (bad option, busy port, unusable data folder).
 */
import { CommanderError } from 'commander';
import { runEmbedded } from './embedded.js';
import { NodeStartError } from './errors.js';
import { RaftlogNode } from './node.js';
import { command, toNodeConfig, type CliOptions } from './options.js';
import { missingRuntimeFlags } from './runtime-flags.js';

async function runNode(argv: string[]): Promise<void> {
  const cmd = command().exitOverride();
  let opts: CliOptions;
  try {
    opts = cmd.parse(argv, { from: 'user' }).opts<CliOptions>();
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  const config = toNodeConfig(opts);
  const node = new RaftlogNode(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    node.logger.info({ signal }, `received ${signal}; stopping cleanly`);
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`raftlog: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (err) => {
    node.logger.fatal({ err: err.stack }, `crashing: ${err.message}`);
    node.logger.flush();
    console.error(`raftlog ${config.id}: fatal: ${err.stack ?? err.message}`);
    process.exit(70);
  });
  const missing = missingRuntimeFlags();
  if (missing.length > 0) {
    node.logger.warn(
      { missing },
      `started without ${missing.join(' ')}: expect frequent garbage-collection pauses under load (see src/node/runtime-flags.ts); start the node with \`node ${missing.join(' ')} cluster.js ...\``,
    );
  }
  await node.start();
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  try {
    if (argv.length === 0) await runEmbedded();
    else await runNode(argv);
  } catch (err) {
    if (err instanceof NodeStartError) {
      console.error(`raftlog: ${err.message}`);
      process.exit(2);
    }
    console.error(`raftlog: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  }
}

void main();
