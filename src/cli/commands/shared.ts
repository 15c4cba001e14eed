/** Pieces every command uses: the --brokers option, integer options (--max-moves among them), and the action wrapper. */
import { InvalidArgumentError, type Command } from 'commander';
import { LIMITS, MOVES_AT_ONCE_DEFAULT } from '../../wire/protocol.js';
import { defaultBrokers, type CommonOptions } from '../context.js';
import type { Io } from '../io.js';

/** Runs a command body; its exit code is recorded by main(). Errors are reported there. */
export type Run = (opts: CommonOptions, body: () => Promise<number>) => Promise<void>;

export function brokersOption(cmd: Command, io: Io): Command {
  return credentialOptions(cmd.option('--brokers <list>', 'comma-separated host:port of cluster nodes (env RAFTLOG_BROKERS)', defaultBrokers(io)));
}

/**
 * `--auth-user` and `--auth-password-file`: who the command authenticates as (context.ts saslOf),
 * for a cluster started with --auth sasl. Not `--user`: `raftlog quotas` names the user a quota is
 * for with it.
 */
function credentialOptions(cmd: Command): Command {
  return cmd
    .option('--auth-user <name>', 'authenticate as this user, with SCRAM-SHA-256 (env RAFTLOG_USER)')
    .option('--auth-password-file <file>', "the --auth-user's password: the first line of this file (or env RAFTLOG_PASSWORD)");
}

/** A parser for a non-negative integer option. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    return n;
  };
}

/** `--max-moves`, shared by the commands that start replica moves. */
export function maxMovesOption(value: string): number {
  const n = intOption('--max-moves', 1)(value);
  if (n > LIMITS.movesAtOnceMax) throw new InvalidArgumentError(`--max-moves is at most ${LIMITS.movesAtOnceMax}`);
  return n;
}

export const MAX_MOVES_HELP = `replica moves to run at once (default ${MOVES_AT_ONCE_DEFAULT}, at most ${LIMITS.movesAtOnceMax}); each copies a partition to a new node`;
