/**
 * Running one node in this process, shared by the two entry points that start one: `node
 * cluster.js` (main.ts) and the chaos entry point (chaos/node-main.ts), which adds options of its
 * own and builds the node with other parts. Parses the command line, builds and starts the node,
 * stops it cleanly on SIGTERM and SIGINT and once the cluster has decommissioned it, crashes loudly on an uncaught exception, warns about
 * missing runtime flags, and exits non-zero with a message a person can act on when the node cannot
 * start (bad option, busy port, unusable data folder).
 */
import { CommanderError, type Command } from 'commander';
import { NodeStartError } from '../errors.js';
import type { NodeConfig, RaftlogNode } from './node.js';
import { strictBooleanEnv, toNodeConfig, type CliOptions } from './options.js';
import { missingRuntimeFlags } from './runtime-flags.js';

export interface NodeLaunch<O extends CliOptions> {
  /** The command line, without the program name. */
  readonly argv: readonly string[];
  /** The command that parses it: options.ts command(), plus whatever the entry point adds. */
  readonly command: Command;
  /** The script a person starts, for messages (`cluster.js`). */
  readonly script: string;
  /** Builds the node from the configuration the options give (and the options themselves). */
  readonly build: (config: NodeConfig, opts: O) => RaftlogNode;
}

/** Parses the command line, builds the node and runs it until a signal stops it. */
export async function runNode<O extends CliOptions>(l: NodeLaunch<O>): Promise<void> {
  try {
    l.command.exitOverride().parse([...l.argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    throw err;
  }
  strictBooleanEnv(l.command);
  const opts = l.command.opts<O>();
  const config = toNodeConfig(opts, (key) => l.command.getOptionValueSource(key));
  const node = l.build(config, opts);
  if (l.command.getOptionValueSource('secret') === 'cli') {
    node.logger.warn('the cluster secret was given on the command line, where `ps` shows it to every user of this machine: give it in a file (--secret-file) or in RAFTLOG_SECRET instead');
  }
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    node.logger.info({ why }, `${why === 'decommissioned' ? 'decommissioned' : `received ${why}`}; stopping cleanly`);
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
      `started without ${missing.join(' ')}: expect frequent garbage-collection pauses under load (see src/node/runtime-flags.ts); start the node with \`node ${missing.join(' ')} ${l.script} ...\``,
    );
  }
  // Decommissioned (a peer said so): stop, and exit 0, the end of a decommission; a service
  // manager restarting on failure leaves it be, and a start on the same folder refuses.
  void node.retired.then((why) => {
    console.error(`raftlog ${config.id}: ${why}`);
    stop('decommissioned');
  });
  await node.start();
}

/** Runs `start`; if it fails, exits: 2 with the message of a NodeStartError, 1 with the stack of anything else. */
export async function exitOnFailure(start: () => Promise<void>): Promise<void> {
  try {
    await start();
  } catch (err) {
    if (err instanceof NodeStartError) {
      console.error(`raftlog: ${err.message}`);
      process.exit(2);
    }
    console.error(`raftlog: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  }
}
