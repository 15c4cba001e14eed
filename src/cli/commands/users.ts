/**
 * `raftlog users create | delete | list`: the cluster's users (issue 22 §3), who authenticate with
 * SCRAM-SHA-256 or SCRAM-SHA-512 (or PLAIN) when the cluster runs with --auth sasl. A new password
 * is read from a file, the environment or standard input, never from the command line (where `ps`
 * shows it), and never leaves this process: the client library makes the credentials (one per
 * mechanism, `--mechanism`, both by default) and sends only those.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SCRAM_MECHANISMS, type ScramMechanism } from '../../auth/scram.js';
import { withAdmin, readSecretFile, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, intOption, type Run } from './shared.js';

interface CreateOptions extends CommonOptions {
  readonly passwordFile?: string;
  readonly iterations?: number;
  readonly mechanism: readonly ScramMechanism[];
}

/** `--mechanism`'s values, and the credentials each makes. */
const MECHANISM_CHOICES: Readonly<Record<string, readonly ScramMechanism[]>> = { 'scram-sha-256': ['SCRAM-SHA-256'], 'scram-sha-512': ['SCRAM-SHA-512'], all: SCRAM_MECHANISMS };

function mechanismOption(value: string): readonly ScramMechanism[] {
  const m = MECHANISM_CHOICES[value.toLowerCase()];
  if (m === undefined) throw new InvalidArgumentError(`--mechanism must be one of ${Object.keys(MECHANISM_CHOICES).join(', ')}`);
  return m;
}

/** The new user's password: --password-file, RAFTLOG_NEW_PASSWORD, or the first line of standard input when it is not a terminal. */
async function newPassword(io: Io, opts: CreateOptions): Promise<string> {
  if (opts.passwordFile !== undefined) return readSecretFile(opts.passwordFile, '--password-file');
  const env = io.env.RAFTLOG_NEW_PASSWORD;
  if (env !== undefined && env !== '') return env;
  if ((io.stdin as { isTTY?: boolean }).isTTY === true) {
    throw new UsageError("give the new user's password in a file (--password-file), in RAFTLOG_NEW_PASSWORD, or on standard input (e.g. `raftlog users create alice < alice.pw`); it is never read from the command line");
  }
  let text = '';
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.includes('\n')) break;
  }
  const line = text.split(/\r?\n/)[0]!;
  if (line === '') throw new UsageError('standard input held no password (its first line is empty)');
  return line;
}

export function usersCommand(program: Command, io: Io, run: Run): void {
  const users = program.command('users').description('create, list and delete the users clients authenticate as (SCRAM-SHA-256, SCRAM-SHA-512)');

  brokersOption(users.command('create').description("create a user, or set an existing user's password"), io)
    .argument('<name>', 'user name: 1-128 letters, digits, ".", "_", "-", "@"')
    .option('--password-file <file>', "the new user's password: the first line of this file (or env RAFTLOG_NEW_PASSWORD, or the first line of standard input)")
    .option('--iterations <n>', 'PBKDF2 iterations of the credentials (4096-16384)', intOption('--iterations', 1))
    .addOption(
      new Option('--mechanism <mechanism>', 'the mechanisms the user may log in with: scram-sha-256, scram-sha-512 or all (a credential of each); they replace every credential the user had')
        .argParser(mechanismOption)
        .default(SCRAM_MECHANISMS, 'all'),
    )
    .action((name: string, opts: CreateOptions) =>
      run(opts, async () => {
        const password = await newPassword(io, opts);
        return withAdmin(io, opts, async (admin) => {
          const { created } = await admin.upsertUser(name, password, { mechanisms: opts.mechanism, ...(opts.iterations !== undefined ? { iterations: opts.iterations } : {}) });
          const mechanisms = opts.mechanism.join(', ');
          io.out(created ? `created user ${name} (principal User:${name}), with ${mechanisms}\n` : `set a new password for user ${name}, with ${mechanisms}\n`);
          return 0;
        });
      }),
    );

  brokersOption(users.command('delete').description('delete a user (its connections already authenticated stay)'), io)
    .argument('<name>', 'user name')
    .action((name: string, opts: CommonOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          await admin.deleteUser(name);
          io.out(`deleted user ${name}\n`);
          return 0;
        }),
      ),
    );

  brokersOption(users.command('list').description('list the users and the mechanisms each may log in with (never a credential)'), io)
    .option('--json', 'a JSON array of { name, mechanisms }')
    .action((opts: CommonOptions & { readonly json?: boolean }) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const list = await admin.listUsers();
          if (opts.json === true) io.out(`${JSON.stringify(list)}\n`);
          else if (list.length === 0) io.out('no users (create one with: raftlog users create NAME < password-file)\n');
          else io.out(table(['NAME', 'MECHANISMS'], list.map((u) => [u.name, u.mechanisms.join(',')])));
          return 0;
        }),
      ),
    );
}
