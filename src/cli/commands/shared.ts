/** Pieces every command uses: the --brokers and TLS options, integer options (--max-moves among them), and the action wrapper. */
import { InvalidArgumentError, type Command } from 'commander';
import { LIMITS, MOVES_AT_ONCE_DEFAULT } from '../../wire/protocol.js';
import { AUTH_MECHANISMS, authMechanismOf, defaultBrokers, type AuthMechanism, type CommonOptions } from '../context.js';
import type { Io } from '../io.js';

/** Runs a command body; its exit code is recorded by main(). Errors are reported there. */
export type Run = (opts: CommonOptions, body: () => Promise<number>) => Promise<void>;

/** --brokers, and the TLS options that go with it; each but --tls also read from its environment variable (RAFTLOG_BROKERS, RAFTLOG_TLS_CA, RAFTLOG_TLS_CERT, RAFTLOG_TLS_KEY). */
export function brokersOption(cmd: Command, io: Io): Command {
  const env = (name: string): string | undefined => {
    const v = io.env[name];
    return v !== undefined && v !== '' ? v : undefined;
  };
  return credentialOptions(
    cmd
      .option('--brokers <list>', "comma-separated host:port of the nodes' client listeners (env RAFTLOG_BROKERS)", defaultBrokers(io))
      .option('--tls', "connect with TLS (wss), trusting the system's CAs unless --tls-ca names one")
      .option('--tls-ca <file>', "PEM file of the CA that signed the nodes' certificates; implies --tls (env RAFTLOG_TLS_CA)", env('RAFTLOG_TLS_CA'))
      .option('--tls-cert <file>', 'PEM file of a client certificate, for nodes that require one (--tls-client-auth required); implies --tls (env RAFTLOG_TLS_CERT)', env('RAFTLOG_TLS_CERT'))
      .option('--tls-key <file>', "PEM file of the client certificate's key (env RAFTLOG_TLS_KEY)", env('RAFTLOG_TLS_KEY')),
  );
}

/** The --auth-mechanism parser: one of AUTH_MECHANISMS, in any case. */
function authMechanismOption(value: string): AuthMechanism {
  const m = authMechanismOf(value);
  if (m === null) throw new InvalidArgumentError(`--auth-mechanism must be one of ${AUTH_MECHANISMS.join(', ')}`);
  return m;
}

/**
 * `--auth-user`, `--auth-password-file` and `--auth-mechanism`: who the command authenticates as
 * and how (context.ts saslOf), for a cluster started with --auth sasl. Not `--user`: `raftlog
 * quotas` names the user a quota is for with it.
 */
function credentialOptions(cmd: Command): Command {
  return cmd
    .option('--auth-user <name>', 'authenticate as this user (env RAFTLOG_USER)')
    .option('--auth-password-file <file>', "the --auth-user's password: the first line of this file (or env RAFTLOG_PASSWORD)")
    .option(
      '--auth-mechanism <mechanism>',
      `how --auth-user logs in: ${AUTH_MECHANISMS.join(', ')} (default scram-sha-256, or env RAFTLOG_AUTH_MECHANISM; plain sends the password: over TLS only)`,
      authMechanismOption,
    );
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
