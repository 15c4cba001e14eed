/** The options every command shares (--brokers, TLS, --auth-user, --auth-password-file, --auth-mechanism) and the client built from them. */
import fs from 'node:fs';
import { Client, silentLogger, type Admin, type Logger, type SaslOptions, type TlsOptions } from '../client/index.js';
import type { Io } from './io.js';
import { UsageError } from './errors.js';

/** The embedded cluster that `node cluster.js` starts. */
export const DEFAULT_BROKERS = '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003';

export interface CommonOptions {
  readonly brokers: string;
  /** Who to authenticate as (or RAFTLOG_USER), where the password is (or RAFTLOG_PASSWORD), and with which mechanism (default scram-sha-256). */
  readonly authUser?: string;
  readonly authPasswordFile?: string;
  readonly authMechanism?: AuthMechanism;
  /** --tls: connect with TLS, trusting the system's CAs unless --tls-ca names one. */
  readonly tls?: boolean;
  /** Files: the CA that signed the nodes' certificates, and a client certificate and its key (--tls-ca, --tls-cert, --tls-key). */
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

/** The first line of a file holding a secret (a password), or a UsageError naming the option. */
export function readSecretFile(file: string, option: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split(/\r?\n/)[0]!;
  } catch (err) {
    throw new UsageError(`cannot read ${option} ${file}: ${(err as Error).message}`);
  }
}

/** The credentials of --auth-user (or RAFTLOG_USER) with the password of --auth-password-file (or RAFTLOG_PASSWORD) and --auth-mechanism; none without a user. */
export function saslOf(io: Io, opts: CommonOptions): SaslOptions | undefined {
  const username = opts.authUser ?? io.env.RAFTLOG_USER;
  if (username === undefined || username === '') {
    if (opts.authPasswordFile !== undefined) throw new UsageError('--auth-password-file is the password of --auth-user: give --auth-user too (or RAFTLOG_USER)');
    return undefined;
  }
  const password = opts.authPasswordFile !== undefined ? readSecretFile(opts.authPasswordFile, '--auth-password-file') : io.env.RAFTLOG_PASSWORD;
  if (password === undefined || password === '') throw new UsageError(`--auth-user ${username} needs a password: --auth-password-file FILE (its first line) or RAFTLOG_PASSWORD`);
  const env = io.env.RAFTLOG_AUTH_MECHANISM;
  const mechanism = opts.authMechanism ?? (env !== undefined && env !== '' ? authMechanismOf(env) : 'scram-sha-256');
  if (mechanism === null) throw new UsageError(`RAFTLOG_AUTH_MECHANISM must be one of ${AUTH_MECHANISMS.join(', ')}, not '${env}'`);
  return { mechanism, username, password };
}

/** The mechanisms --auth-mechanism (and RAFTLOG_AUTH_MECHANISM) take, as the client library's sasl.mechanism spells them. */
export const AUTH_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;
export type AuthMechanism = (typeof AUTH_MECHANISMS)[number];

/** `value` as one of AUTH_MECHANISMS (in any case), or null. */
export function authMechanismOf(value: string): AuthMechanism | null {
  const m = value.toLowerCase();
  return (AUTH_MECHANISMS as readonly string[]).includes(m) ? (m as AuthMechanism) : null;
}

/**
 * The TLS the options ask for, their files read; undefined for none. Any of --tls-ca, --tls-cert,
 * --tls-key implies --tls. (No RAFTLOG_TLS here: a node reads that name as its list of TLS
 * listeners, and a shell that starts nodes may run the CLI too.)
 */
export function tlsOf(opts: CommonOptions): TlsOptions | undefined {
  const on = opts.tls === true;
  if (!on && opts.tlsCa === undefined && opts.tlsCert === undefined && opts.tlsKey === undefined) return undefined;
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new UsageError('give --tls-cert and --tls-key together (a client certificate and its key)');
  const read = (flag: string, file: string): string => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    ...(opts.tlsCa !== undefined ? { ca: read('--tls-ca', opts.tlsCa) } : {}),
    ...(opts.tlsCert !== undefined && opts.tlsKey !== undefined ? { cert: read('--tls-cert', opts.tlsCert), key: read('--tls-key', opts.tlsKey) } : {}),
  };
}

export function brokerList(value: string): string[] {
  const list = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (list.length === 0) throw new UsageError('--brokers needs at least one host:port');
  return list;
}

export function defaultBrokers(io: Io): string {
  return io.env.RAFTLOG_BROKERS ?? DEFAULT_BROKERS;
}

/** Warnings of the client library go to stderr, prefixed. */
function cliLogger(io: Io): Logger {
  return { ...silentLogger, warn: (m) => io.err(`raftlog: ${m}\n`), error: (m) => io.err(`raftlog: ${m}\n`) };
}

/** A client that gives up on an unreachable cluster within a couple of seconds. */
export function makeClient(io: Io, opts: CommonOptions): Client {
  const sasl = saslOf(io, opts);
  const tls = tlsOf(opts);
  return new Client({
    ...(sasl !== undefined ? { sasl } : {}),
    brokers: brokerList(opts.brokers),
    ...(tls !== undefined ? { tls } : {}),
    clientId: 'raftlog-cli',
    connectionTimeoutMs: 2000,
    retry: { retries: 3, initialRetryTimeMs: 200, maxRetryTimeMs: 2000 },
    logger: cliLogger(io),
    ...io.clientOptions,
  });
}

/** Runs `body` with an admin client of its own, disconnected afterwards. */
export async function withAdmin(io: Io, opts: CommonOptions, body: (admin: Admin) => Promise<number>): Promise<number> {
  const admin = makeClient(io, opts).admin();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}
