/** Shared set-up of the client tests: a fake cluster and a client with fast retries. */
import { Readable } from 'node:stream';
import { main, type Io } from '../../src/cli/program.js';
import { Client, type ClientOptions } from '../../src/client/index.js';
import { silentLogger } from '../../src/client/logger.js';
import type { FakeCluster } from './fake-broker.js';

/** Retries that fit a test: 20 ms, 40 ms, ... */
export const FAST_RETRY = { retries: 5, initialRetryTimeMs: 20, maxRetryTimeMs: 200 } as const;

export function clientFor(cluster: FakeCluster, opts: Partial<ClientOptions> = {}): Client {
  return new Client({ brokers: cluster.brokers, logger: silentLogger, retry: FAST_RETRY, requestTimeoutMs: 2000, ...opts });
}

/** Resolves when `check` holds, polling every 10 ms; fails after `ms`. */
export async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const text = (b: Uint8Array | null | undefined): string | null => (b === null || b === undefined ? null : Buffer.from(b).toString('utf8'));

/** What the CLI helpers need of a cluster, fake (FakeCluster) or real (chaos/cluster.ts LocalCluster). */
export type HasBrokers = Pick<FakeCluster, 'brokers'>;

/** CLI input and environment pointed at `cluster`, with the output captured line by line. */
export function cliIo(cluster: HasBrokers, stdin = '', signal?: AbortSignal, clientOptions: Io['clientOptions'] = { retry: FAST_RETRY, requestTimeoutMs: 2000 }): { io: Io; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (t) => void out.push(t),
      err: (t) => void err.push(t),
      stdin: Readable.from([stdin]),
      env: { RAFTLOG_BROKERS: cluster.brokers.join(',') },
      signal,
      clientOptions,
    },
  };
}

/** Runs the CLI in-process with space-separated `args`: its exit code and output. */
export async function runCli(cluster: HasBrokers, args: string, stdin = '', clientOptions?: Io['clientOptions']): Promise<{ code: number; out: string; err: string }> {
  const x = cliIo(cluster, stdin, undefined, clientOptions);
  const code = await main(args.split(' ').filter((a) => a.length > 0), x.io);
  return { code, out: x.out.join(''), err: x.err.join('') };
}
