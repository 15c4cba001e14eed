/**
 * `raftlog produce TOPIC`: one record per line of stdin (key<sep>value with --key-separator,
 * headers from --header k=v), printing `partition P offset O` per record in input order as
 * acknowledgements come back.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Acks, Message, RecordMetadata } from '../../client/index.js';
import { ACKS } from '../../client/producer.js';
import { makeClient, type CommonOptions } from '../context.js';
import { UsageError, describeError } from '../errors.js';
import type { Io } from '../io.js';
import { brokersOption, intOption, type Run } from './shared.js';

interface ProduceOptions extends CommonOptions {
  readonly keySeparator?: string;
  readonly acks: string;
  readonly partition?: number;
  readonly lingerMs: number;
  readonly header: string[];
}

/** Records sent but not yet printed, before reading more input waits. */
const UNACKED_MAX = 10_000;

function toAcks(v: string): Acks {
  const acks = ACKS.find((a) => a === v);
  if (!acks) throw new UsageError(`--acks must be one of ${ACKS.join(', ')}, not '${v}'`);
  return acks;
}

/** `--header k=v`, repeated: the headers every record gets, in the order given. */
function parseHeaders(pairs: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--header '${pair}' is not key=value (e.g. --header source=web)`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(headers, key)) throw new UsageError(`--header '${key}' is given twice; give each header once`);
    headers[key] = pair.slice(at + 1);
  }
  return headers;
}

function parseLine(line: string, opts: ProduceOptions, headers: Record<string, string> | undefined): Message | string {
  const base = { ...(opts.partition === undefined ? {} : { partition: opts.partition }), ...(headers === undefined ? {} : { headers }) };
  if (opts.keySeparator === undefined) return { ...base, value: line };
  const at = line.indexOf(opts.keySeparator);
  if (at < 0) return `no key separator '${opts.keySeparator}' in the line`;
  return { ...base, key: line.slice(0, at), value: line.slice(at + opts.keySeparator.length) };
}

export function produceCommand(program: Command, io: Io, run: Run): void {
  brokersOption(program.command('produce').description('send one record per line of stdin'), io)
    .argument('<topic>', 'topic to write to')
    .option('--key-separator <sep>', 'split each line into key<sep>value')
    .option('--acks <acks>', 'all (replicated to a majority), leader, or none', 'all')
    .option('--partition <p>', 'write every record to this partition', intOption('--partition'))
    .option('--linger-ms <ms>', 'how long records wait to be batched', intOption('--linger-ms'), 5)
    .option('--header <key=value>', 'a header for every record (repeat it for more)', (v: string, prev: string[]) => [...prev, v], [])
    .action((topic: string, opts: ProduceOptions) =>
      run(opts, async () => {
        const acks = toAcks(opts.acks);
        const given = parseHeaders(opts.header);
        const headers = Object.keys(given).length > 0 ? given : undefined;
        if (opts.keySeparator === '') throw new UsageError('--key-separator must not be empty');
        const client = makeClient(io, opts);
        const admin = client.admin();
        const producer = client.producer({ acks, lingerMs: opts.lingerMs });
        let failures = 0;
        try {
          const [t] = (await admin.describeTopics({ topics: [topic] })).topics;
          if (opts.partition !== undefined && opts.partition >= t.partitions.length) {
            throw new UsageError(`--partition ${opts.partition} does not exist: topic '${topic}' has partitions 0..${t.partitions.length - 1}`);
          }
          await producer.connect();
          let unacked = 0;
          let printed = Promise.resolve();
          let lineNo = 0;
          const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
          // Ctrl-C ends the input: what was read is still sent and acknowledged.
          const onAbort = (): void => lines.close();
          io.signal?.addEventListener('abort', onAbort);
          for await (const line of lines) {
            lineNo++;
            const n = lineNo;
            const message = parseLine(line, opts, headers);
            if (typeof message === 'string') {
              failures++;
              io.err(`raftlog: line ${n}: ${message}; skipped\n`);
              continue;
            }
            const sent = producer.send({ topic, messages: [message] });
            unacked++;
            printed = printed.then(() =>
              sent.then(
                ([r]: RecordMetadata[]) => io.out(acks === 'none' ? `partition ${r.partition} sent (acks none: no offset)\n` : `partition ${r.partition} offset ${r.offset}\n`),
                (err: unknown) => {
                  failures++;
                  io.err(`raftlog: line ${n}: ${describeError(err, [])}\n`);
                },
              ).finally(() => unacked--),
            );
            if (unacked >= UNACKED_MAX) await printed;
          }
          io.signal?.removeEventListener('abort', onAbort);
          await printed;
          return failures > 0 ? 1 : 0;
        } finally {
          await Promise.all([producer.disconnect(), admin.disconnect()]);
        }
      }),
    );
}
