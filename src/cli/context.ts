/** The options every command shares (--brokers) and the client built from them. */
import { Client, silentLogger, type Admin, type Logger } from '../client/index.js';
import type { Io } from './io.js';
import { UsageError } from './errors.js';

/** The embedded cluster that `node cluster.js` starts. */
export const DEFAULT_BROKERS = '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003';

export interface CommonOptions {
  readonly brokers: string;
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
  return new Client({
    brokers: brokerList(opts.brokers),
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
