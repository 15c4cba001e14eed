/** Pieces every command uses: the --brokers option, integer options, and the action wrapper. */
import { InvalidArgumentError, type Command } from 'commander';
import { defaultBrokers, type CommonOptions } from '../context.js';
import type { Io } from '../io.js';

/** Runs a command body; its exit code is recorded by main(). Errors are reported there. */
export type Run = (opts: CommonOptions, body: () => Promise<number>) => Promise<void>;

export function brokersOption(cmd: Command, io: Io): Command {
  return cmd.option('--brokers <list>', 'comma-separated host:port of cluster nodes (env RAFTLOG_BROKERS)', defaultBrokers(io));
}

/** A parser for a non-negative integer option. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer of at least ${min}`);
    return n;
  };
}
