/**
 * `raftlog users create | delete | list`: the cluster's users (issue 22 §3), who authenticate with
 * SCRAM-SHA-256 (or PLAIN) when the cluster runs with --auth sasl. A new password is read from a
 * file, the environment or standard input, never from the command line (where `ps` shows it), and
 * never leaves this process: the client library makes the credential and sends only that.
 */
import type { Command } from 'commander';
import { withAdmin, readSecretFile, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, intOption, type Run } from './shared.js';

interface CreateOptions extends CommonOptions {
  readonly passwordFile?: string;
  readonly iterations?: number;
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
  const users = program.command('users').description('create, list and delete the users clients authenticate as (SCRAM-SHA-256)');

  brokersOption(users.command('create').description("create a user, or set an existing user's password"), io)
    .argument('<name>', 'user name: 1-128 letters, digits, ".", "_", "-", "@"')
    .option('--password-file <file>', "the new user's password: the first line of this file (or env RAFTLOG_NEW_PASSWORD, or the first line of standard input)")
    .option('--iterations <n>', 'PBKDF2 iterations of the credential (4096-16384)', intOption('--iterations', 1))
    .action((name: string, opts: CreateOptions) =>
      run(opts, async () => {
        const password = await newPassword(io, opts);
        return withAdmin(io, opts, async (admin) => {
          const { created } = await admin.upsertUser(name, password, opts.iterations !== undefined ? { iterations: opts.iterations } : {});
          io.out(created ? `created user ${name} (principal User:${name})\n` : `set a new password for user ${name}\n`);
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

  brokersOption(users.command('list').description('list the users and their mechanism (never a credential)'), io)
    .option('--json', 'a JSON array of { name, mechanism }')
    .action((opts: CommonOptions & { readonly json?: boolean }) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const list = await admin.listUsers();
          if (opts.json === true) io.out(`${JSON.stringify(list)}\n`);
          else if (list.length === 0) io.out('no users (create one with: raftlog users create NAME < password-file)\n');
          else io.out(table(['NAME', 'MECHANISM'], list.map((u) => [u.name, u.mechanism])));
          return 0;
        }),
      ),
    );
}
