/** `raftlog topics create | list | describe | alter | delete`. */
import type { Command } from 'commander';
import type { TopicConfig } from '../../wire/protocol.js';
import type { ConfigEntry, PartitionOffsets } from '../../client/index.js';
import { KAFKA_NAME } from '../../client/topic-config.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError, describeError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { MAX_MOVES_HELP, brokersOption, intOption, maxMovesOption, type Run } from './shared.js';

interface AlterOptions extends CommonOptions {
  readonly replicationFactor: number;
  readonly maxMoves?: number;
  readonly json?: boolean;
}

interface CreateOptions extends CommonOptions {
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: string[];
  readonly ifNotExists?: boolean;
}

function configEntries(pairs: readonly string[]): ConfigEntry[] {
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--config '${pair}' is not key=value (e.g. retention.ms=86400000)`);
    return { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() };
  });
}

export function topicsCommand(program: Command, io: Io, run: Run): void {
  const topics = program.command('topics').description('create, list, describe and delete topics');

  brokersOption(topics.command('create').description('create a topic'), io)
    .argument('<name>', 'topic name: 1-249 letters, digits, ".", "_", "-"')
    .option('--partitions <n>', 'number of partitions', intOption('--partitions', 1), 1)
    .option('--replication-factor <r>', 'replicas per partition', intOption('--replication-factor', 1), 3)
    .option('--config <key=value...>', 'topic config: retention.ms, retention.bytes, segment.bytes, max.message.bytes', [])
    .option('--if-not-exists', 'succeed when the topic exists already')
    .action((name: string, opts: CreateOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const created = await admin.createTopics({
            topics: [{ topic: name, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configEntries: configEntries(opts.config) }],
          });
          if (created) {
            io.out(`created topic ${name} (${opts.partitions} partition${opts.partitions === 1 ? '' : 's'}, replication factor ${opts.replicationFactor})\n`);
            return 0;
          }
          if (opts.ifNotExists) return 0;
          io.err(`raftlog: topic '${name}' already exists (describe it with: raftlog topics describe ${name})\n`);
          return 1;
        });
      }),
    );

  brokersOption(topics.command('list').description('list topic names'), io).action((opts: CommonOptions) =>
    run(opts, async () => {
      return withAdmin(io, opts, async (admin) => {
        for (const t of await admin.listTopics()) io.out(`${t}\n`);
        return 0;
      });
    }),
  );

  brokersOption(topics.command('describe').description('partitions with leader, replicas, high watermark and log start'), io)
    .argument('<name>', 'topic name')
    .action((name: string, opts: CommonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const [t] = (await admin.describeTopics({ topics: [name] })).topics;
          let offsets: PartitionOffsets[] = [];
          try {
            offsets = await admin.fetchTopicOffsets(name);
          } catch (err) {
            io.err(`raftlog: offsets unavailable: ${describeError(err, [])}\n`);
          }
          const config = (Object.keys(KAFKA_NAME) as (keyof TopicConfig)[]).map((k) => `${KAFKA_NAME[k]}=${t.config[k]}`).join(' ');
          io.out(`topic ${t.name}: ${t.partitions.length} partitions, replication factor ${t.replicationFactor}\nconfig: ${config}\n`);
          const rows = t.partitions.map((p) => {
            const o = offsets.find((x) => x.partition === p.partitionId);
            return [String(p.partitionId), p.leader ?? '(none)', String(p.leaderTerm), p.replicas.join(','), o?.high ?? '?', o?.low ?? '?'];
          });
          io.out(table(['PARTITION', 'LEADER', 'TERM', 'REPLICAS', 'HIGH WATERMARK', 'LOG START'], rows));
          return 0;
        });
      }),
    );

  brokersOption(topics.command('alter').description("change a topic's replication factor; the replicas move in the background"), io)
    .argument('<name>', 'topic name')
    .requiredOption('--replication-factor <r>', 'replicas per partition', intOption('--replication-factor', 1))
    .option('--max-moves <n>', MAX_MOVES_HELP, maxMovesOption)
    .option('--json', 'print the change as JSON')
    .action((name: string, opts: AlterOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const r = await admin.alterReplicationFactor(name, opts.replicationFactor, opts.maxMoves !== undefined ? { maxMoves: opts.maxMoves } : {});
          if (opts.json) {
            io.out(`${JSON.stringify(r, null, 2)}\n`);
            return 0;
          }
          io.out(`replication factor of ${name}: ${r.previous} -> ${r.replicationFactor}; ${r.partitions} partition${r.partitions === 1 ? '' : 's'} to move\n`);
          if (r.partitions > 0) {
            io.out(
              `New replicas catch up as learners before they count; replicas that leave hand over leadership first; writes and reads go on. Watch it with: raftlog topics describe ${name}\n`,
            );
          }
          return 0;
        });
      }),
    );

  brokersOption(topics.command('delete').description('delete a topic and its records'), io)
    .argument('<name>', 'topic name')
    .action((name: string, opts: CommonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          await admin.deleteTopics({ topics: [name] });
          io.out(`deleted topic ${name}\n`);
          return 0;
        });
      }),
    );
}
