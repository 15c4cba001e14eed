/**
 * `raftlog consume TOPIC`: prints records, one line each (or one JSON object with --json, or as a
 * kcat-style format string with -f; keys and values as text, hex or base64: src/cli/records.ts),
 * from the end, the beginning, a time (--from-time) or an offset. Without --follow it stops once
 * every partition reaches the high watermark it had at the start, and an offset past the end is
 * OFFSET_OUT_OF_RANGE; with it, it waits for that offset and long-polls until Ctrl-C (or
 * --max-messages).
 *
 * With --group it joins a consumer group instead: it reads the partitions the group assigns it,
 * from the group's committed offsets, commits as it goes, and follows until Ctrl-C or
 * --max-messages, then commits what it printed and leaves the group.
 */
import type { Command } from 'commander';
import { ErrorCode, RaftlogError, type Admin, type ConsumerEvents, type PartitionAssignment, type PartitionOffsets, type StartOffset } from '../../client/index.js';
import { makeClient, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { ENCODINGS, FORMAT_HELP, parseFormat, renderRecord, toEncoding, type RecordOutput } from '../records.js';
import { brokersOption, intOption, type Run } from './shared.js';

interface ConsumeOptions extends CommonOptions {
  readonly fromBeginning?: boolean;
  readonly fromTime?: number;
  readonly offset?: number;
  readonly partition?: number;
  readonly follow?: boolean;
  readonly maxMessages?: number;
  readonly json?: boolean;
  readonly format?: string;
  readonly encoding: string;
  readonly maxWaitMs: number;
  readonly group?: string;
}

/** How often a group member commits what it printed (it also commits when it stops). */
const GROUP_COMMIT_INTERVAL_MS = 1000;

/** `--from-time`: ms since the epoch, or a date and time Date.parse reads (ISO 8601). */
function timeOption(value: string): number {
  const ms = /^\d+$/.test(value.trim()) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) throw new UsageError(`--from-time '${value}' is not a time: give ms since the epoch or a date and time such as 2024-05-01T12:00:00Z`);
  return ms;
}

/** The output the options ask for (checked before anything is read). */
function recordOutput(opts: ConsumeOptions): RecordOutput {
  const encoding = toEncoding(opts.encoding);
  if (opts.format !== undefined && opts.json) throw new UsageError('give --json or --format, not both');
  if (opts.format !== undefined) return { kind: 'format', format: parseFormat(opts.format), encoding };
  return { kind: opts.json ? 'json' : 'line', encoding };
}

/** The error for an offset past a partition's end. */
function pastTheEnd(topic: string, partition: number, offset: number, o: PartitionOffsets): RaftlogError {
  const holds = o.low === o.high ? `holds no records (log start ${o.low})` : `holds offsets ${o.low} to ${BigInt(o.high) - 1n}`;
  return new RaftlogError(
    ErrorCode.OffsetOutOfRange,
    `${topic}/${partition}: ${ErrorCode.OffsetOutOfRange}: offset ${offset} is past the end of ${topic}/${partition}, which ${holds} (high watermark ${o.high}); give --follow to wait for it`,
    { topic, partition },
  );
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

/** Waits until the partition's high watermark reaches `offset` (true), or Ctrl-C (false). */
async function waitForOffset(admin: Admin, topic: string, partition: number, offset: number, pollMs: number, io: Io): Promise<boolean> {
  for (;;) {
    const o = (await admin.fetchTopicOffsets(topic)).find((x) => x.partition === partition);
    if (o !== undefined && Number(o.high) >= offset) return true;
    if (io.signal?.aborted) return false;
    await pause(Math.max(pollMs, 50), io.signal);
    if (io.signal?.aborted) return false;
  }
}

/** What both consumers offer: their crash and offsetReset events. */
interface Watched {
  on<K extends 'crash' | 'offsetReset'>(event: K, listener: (e: ConsumerEvents[K]) => void): () => void;
}

/**
 * The end of a consume run: finish(code) sets the exit code; Ctrl-C finishes with 0 and a crash
 * with 1 (said on stderr). Offset resets are said on stderr. done() waits for the exit code.
 */
function whenFinished(io: Io, consumer: Watched): { finish: (code: number) => void; done: () => Promise<number> } {
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const onAbort = (): void => finish(0);
  io.signal?.addEventListener('abort', onAbort);
  if (io.signal?.aborted) finish(0);
  consumer.on('crash', ({ error }) => {
    io.err(`raftlog: ${error.message}\n`);
    finish(1);
  });
  consumer.on('offsetReset', (e) => io.err(`raftlog: partition ${e.partition}: offset ${e.from} is out of range; reading from the earliest offset ${e.to}\n`));
  const done = async (): Promise<number> => {
    const code = await finished;
    io.signal?.removeEventListener('abort', onAbort);
    return code;
  };
  return { finish, done };
}

export function consumeCommand(program: Command, io: Io, run: Run): void {
  brokersOption(program.command('consume').description('print records of a topic'), io)
    .argument('<topic>', 'topic to read')
    .option('--from-beginning', 'start at the earliest offset (default: only new records; with --group, only where the group has committed nothing)')
    .option('--from-time <time>', 'start at the first record at or after this time: ms since the epoch, or e.g. 2024-05-01T12:00:00Z', timeOption)
    .option('--offset <n>', 'start at this offset (needs --partition); past the end it is an error, unless --follow waits for it', intOption('--offset'))
    .option('--partition <p>', 'read only this partition', intOption('--partition'))
    .option('--follow', 'keep waiting for new records until Ctrl-C')
    .option('--max-messages <n>', 'stop after this many records', intOption('--max-messages', 1))
    .option('--json', 'one JSON object per record')
    .option('-f, --format <fmt>', FORMAT_HELP)
    .option('--encoding <enc>', `how keys, values and header values are printed: ${ENCODINGS.join(', ')} (text is UTF-8; hex and base64 are binary-safe)`, 'text')
    .option('--max-wait-ms <ms>', 'how long one fetch waits for new records', intOption('--max-wait-ms'), 1000)
    .option('--group <id>', "join this consumer group: read the partitions it assigns, from its committed offsets, committing as it goes (until Ctrl-C or --max-messages)")
    .action((topic: string, opts: ConsumeOptions) =>
      run(opts, async () => {
        const output = recordOutput(opts);
        if (opts.group !== undefined) return consumeInGroup(topic, opts.group, opts, output, io);
        if (opts.offset !== undefined && opts.partition === undefined) throw new UsageError('--offset needs --partition: offsets belong to one partition');
        const starts = [opts.offset !== undefined, opts.fromBeginning === true, opts.fromTime !== undefined].filter(Boolean).length;
        if (starts > 1) throw new UsageError('give one of --offset, --from-beginning and --from-time');
        const client = makeClient(io, opts);
        const admin = client.admin();
        const consumer = client.consumer({ maxWaitTimeInMs: opts.maxWaitMs });
        try {
          const [t] = (await admin.describeTopics({ topics: [topic] })).topics;
          const all = t.partitions.map((p) => p.partitionId);
          if (opts.partition !== undefined && !all.includes(opts.partition)) {
            throw new UsageError(`--partition ${opts.partition} does not exist: topic '${topic}' has partitions 0..${all.length - 1}`);
          }
          const partitions = opts.partition === undefined ? all : [opts.partition];
          // Where each partition starts.
          const start = new Map<number, StartOffset>();
          if (opts.fromTime !== undefined) {
            const at = await admin.fetchTopicOffsetsByTimestamp(topic, opts.fromTime);
            for (const p of partitions) start.set(p, at.find((x) => x.partition === p)?.offset ?? 'latest');
          } else {
            for (const p of partitions) start.set(p, opts.offset !== undefined ? String(opts.offset) : opts.fromBeginning ? 'earliest' : 'latest');
          }
          const offsets = opts.follow && opts.offset === undefined ? [] : await admin.fetchTopicOffsets(topic);
          // An offset past the end: an error, or with --follow a wait until the partition gets there.
          if (opts.offset !== undefined && opts.partition !== undefined) {
            const o = offsets.find((x) => x.partition === opts.partition);
            if (o !== undefined && opts.offset > Number(o.high)) {
              if (!opts.follow) throw pastTheEnd(topic, opts.partition, opts.offset, o);
              io.err(`raftlog: ${topic}/${opts.partition} ends at offset ${o.high}; waiting for offset ${opts.offset}\n`);
              if (!(await waitForOffset(admin, topic, opts.partition, opts.offset, opts.maxWaitMs, io))) return 0;
            }
          }
          // Without --follow: read up to each partition's high watermark as of now.
          const ends = new Map<number, number>();
          if (!opts.follow) {
            for (const p of partitions) {
              const o = offsets.find((x) => x.partition === p);
              const s = start.get(p)!;
              const begin = s === 'earliest' ? Number(o?.low ?? 0) : s === 'latest' ? Number(o?.high ?? 0) : Number(s);
              if (o && begin < Number(o.high)) ends.set(p, Number(o.high));
            }
            if (ends.size === 0) {
              const from = opts.fromTime !== undefined ? `${new Date(opts.fromTime).toISOString()} on` : opts.offset !== undefined ? `offset ${opts.offset}` : opts.fromBeginning ? 'the beginning' : 'the end';
              io.err(`raftlog: nothing to read in '${topic}' from ${from}; use --from-beginning for records already there, or --follow to wait for new ones\n`);
              return 0;
            }
          }
          const assignment: PartitionAssignment[] = (opts.follow ? partitions : [...ends.keys()]).map((partition) => ({ topic, partition, offset: start.get(partition)! }));
          let count = 0;
          const { finish, done } = whenFinished(io, consumer);
          consumer.assign(assignment);
          await consumer.run({
            eachMessage: ({ partition, message }) => {
              if (opts.maxMessages !== undefined && count >= opts.maxMessages) return;
              io.out(renderRecord(topic, partition, message, output));
              count++;
              if (opts.maxMessages !== undefined && count >= opts.maxMessages) finish(0);
              const end = ends.get(partition);
              if (end !== undefined && Number(message.offset) + 1 >= end) {
                ends.delete(partition);
                consumer.pause([{ topic, partitions: [partition] }]);
                if (ends.size === 0) finish(0);
              }
            },
          });
          return await done();
        } finally {
          await consumer.disconnect();
          await admin.disconnect();
        }
      }),
    );
}

async function consumeInGroup(topic: string, groupId: string, opts: ConsumeOptions, output: RecordOutput, io: Io): Promise<number> {
  if (opts.fromTime !== undefined) throw new UsageError(`with --group the group starts at its committed offsets: to move them to a time, see: raftlog groups reset-offsets ${groupId} --to-datetime`);
  if (opts.partition !== undefined || opts.offset !== undefined) {
    throw new UsageError(`with --group the group assigns the partitions and starts at its committed offsets: leave out --partition and --offset (to move the group, see: raftlog groups reset-offsets ${groupId} --help)`);
  }
  if (groupId.trim() === '') throw new UsageError('--group needs a group id');
  const client = makeClient(io, opts);
  const consumer = client.consumer({ groupId, maxWaitTimeInMs: opts.maxWaitMs });
  try {
    let count = 0;
    const { finish, done } = whenFinished(io, consumer);
    consumer.on('group.join', (e) => {
      const partitions = e.memberAssignment.flatMap((l) => l.partitions).join(',');
      io.err(`raftlog: group ${e.groupId}, generation ${e.generation}: reading ${partitions === '' ? 'no partitions (the other members have them all)' : `partition${partitions.includes(',') ? 's' : ''} ${partitions}`} of ${topic}\n`);
    });
    consumer.subscribe({ topics: [topic], fromBeginning: opts.fromBeginning === true });
    await consumer.run({
      autoCommitInterval: GROUP_COMMIT_INTERVAL_MS,
      eachMessage: async ({ partition, message }) => {
        io.out(renderRecord(topic, partition, message, output));
        count++;
        if (opts.maxMessages !== undefined && count >= opts.maxMessages) {
          // From inside the handler stop() returns at once: no record after this one is handled,
          // and the commit on leaving covers exactly what was printed.
          await consumer.stop();
          finish(0);
        }
      },
    });
    return await done();
  } finally {
    await consumer.disconnect();
  }
}
