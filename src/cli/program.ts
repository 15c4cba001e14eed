/**
 * The raftlog command-line tool as a function: `main(argv, io)` parses the arguments (without
 * the node and script names), runs the command against the cluster and returns the exit code.
 * Tests call it in-process with captured output; src/cli/main.ts wires it to the process.
 */
import { Command, CommanderError } from 'commander';
import { aclsCommand } from './commands/acls.js';
import { consumeCommand } from './commands/consume.js';
import { groupsCommand } from './commands/groups.js';
import { nodesCommand } from './commands/nodes.js';
import { partitionsCommand } from './commands/partitions.js';
import { produceCommand } from './commands/produce.js';
import { quotasCommand } from './commands/quotas.js';
import type { Run } from './commands/shared.js';
import { statusCommand } from './commands/status.js';
import { topicsCommand } from './commands/topics.js';
import { brokerList } from './context.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, describeError } from './errors.js';
import type { Io } from './io.js';

export type { Io } from './io.js';

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let code = 0;
  let brokers: string[] = [];
  const run: Run = async (opts, body) => {
    brokers = brokerList(opts.brokers);
    code = await body();
  };
  const program = new Command('raftlog')
    .description('raftlog: a Kafka-style distributed log replicated by Raft.\nStart a local cluster with `node cluster.js`, then try `raftlog topics create demo --partitions 3`.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showSuggestionAfterError();
  topicsCommand(program, io, run);
  partitionsCommand(program, io, run);
  produceCommand(program, io, run);
  consumeCommand(program, io, run);
  groupsCommand(program, io, run);
  statusCommand(program, io, run);
  nodesCommand(program, io, run);
  aclsCommand(program, io, run);
  quotasCommand(program, io, run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    io.err(`raftlog: ${describeError(err, brokers)}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}
