/** Errors as a person reads them: what went wrong, and what to do about it. */
import { CommanderError } from 'commander';
import { ClientErrorCode, RaftlogError } from '../client/index.js';

/** A mistake on the command line, found after parsing (exit code 2 like a usage error). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The message for an error, with a hint when one helps. */
export function describeError(err: unknown, brokers: readonly string[]): string {
  if (err instanceof RaftlogError) {
    // Not retriable: the TLS settings do not match the node's; the message says which.
    if (err.code === ClientErrorCode.ConnectionError && err.retriable) {
      return `${err.message}\nIs the cluster running? Start one with \`node cluster.js\`, or point --brokers (or RAFTLOG_BROKERS) at it (now: ${brokers.join(',')}).`;
    }
    return err.message;
  }
  if (err instanceof UsageError || err instanceof CommanderError) return err.message;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
