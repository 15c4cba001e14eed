/**
 * `raftlog consume TOPIC`: prints records, one line each (or one JSON object with --json). Without
 * --follow it stops once every partition reaches the high watermark it had at the start; with it,
 * it long-polls until Ctrl-C (or --max-messages).
 *
 * With --group it joins a consumer group instead: it reads the partitions the group assigns it,
 * from the group's committed offsets, commits as it goes, and follows until Ctrl-C or
 * --max-messages, then commits what it printed and leaves the group.
 */
import type { Command } from 'commander';
import type { ConsumedMessage, ConsumerEvents, PartitionAssignment, StartOffset } from '../../client/index.js';
import { makeClient, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { printable } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, intOption, type Run } from './shared.js';

interface ConsumeOptions extends CommonOptions {
  readonly fromBeginning?: boolean;
  readonly offset?: number;
  readonly partition?: number;
  readonly follow?: boolean;
  readonly maxMessages?: number;
  readonly json?: boolean;
  readonly maxWaitMs: number;
  readonly group?: string;
}

/** How often a group member commits what it printed (it also commits when it stops). */
const GROUP_COMMIT_INTERVAL_MS = 1000;

const utf8 = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

function formatRecord(topic: string, partition: number, m: ConsumedMessage, json: boolean): string {
  if (json) {
    const headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString('utf8')]));
    return JSON.stringify({ topic, partition, offset: m.offset, timestamp: m.timestamp, key: utf8(m.key), value: utf8(m.value), headers });
  }
  const key = m.key === null ? '(null)' : printable(m.key.toString('utf8'));
  const value = m.value === null ? '(null)' : printable(m.value.toString('utf8'));
  return `partition ${partition} offset ${m.offset} key ${key} value ${value}`;
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
    .option('--offset <n>', 'start at this offset (needs --partition)', intOption('--offset'))
    .option('--partition <p>', 'read only this partition', intOption('--partition'))
    .option('--follow', 'keep waiting for new records until Ctrl-C')
    .option('--max-messages <n>', 'stop after this many records', intOption('--max-messages', 1))
    .option('--json', 'one JSON object per record')
    .option('--max-wait-ms <ms>', 'how long one fetch waits for new records', intOption('--max-wait-ms'), 1000)
    .option('--group <id>', "join this consumer group: read the partitions it assigns, from its committed offsets, committing as it goes (until Ctrl-C or --max-messages)")
    .action((topic: string, opts: ConsumeOptions) =>
      run(opts, async () => {
        if (opts.group !== undefined) return consumeInGroup(topic, opts.group, opts, io);
        if (opts.offset !== undefined && opts.partition === undefined) throw new UsageError('--offset needs --partition: offsets belong to one partition');
        if (opts.offset !== undefined && opts.fromBeginning) throw new UsageError('give --offset or --from-beginning, not both');
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
          const start: StartOffset = opts.offset !== undefined ? String(opts.offset) : opts.fromBeginning ? 'earliest' : 'latest';
          // Without --follow: read up to each partition's high watermark as of now.
          const ends = new Map<number, number>();
          if (!opts.follow) {
            const offsets = await admin.fetchTopicOffsets(topic);
            for (const p of partitions) {
              const o = offsets.find((x) => x.partition === p);
              const begin = start === 'earliest' ? Number(o?.low ?? 0) : start === 'latest' ? Number(o?.high ?? 0) : Number(start);
              if (o && begin < Number(o.high)) ends.set(p, Number(o.high));
            }
            if (ends.size === 0) {
              io.err(`raftlog: nothing to read in '${topic}' from ${start === 'latest' ? 'the end' : `offset ${start}`}; use --from-beginning for records already there, or --follow to wait for new ones\n`);
              return 0;
            }
          }
          const assignment: PartitionAssignment[] = (opts.follow ? partitions : [...ends.keys()]).map((partition) => ({ topic, partition, offset: start }));
          let count = 0;
          const { finish, done } = whenFinished(io, consumer);
          consumer.assign(assignment);
          await consumer.run({
            eachMessage: ({ partition, message }) => {
              if (opts.maxMessages !== undefined && count >= opts.maxMessages) return;
              io.out(`${formatRecord(topic, partition, message, opts.json === true)}\n`);
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

async function consumeInGroup(topic: string, groupId: string, opts: ConsumeOptions, io: Io): Promise<number> {
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
        io.out(`${formatRecord(topic, partition, message, opts.json === true)}\n`);
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
