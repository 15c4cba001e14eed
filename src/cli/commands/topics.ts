/** `raftlog topics create | list | describe | alter | alter-config | add-partitions | delete`. */
import type { Command } from 'commander';
import { DEFAULT_TOPIC_CONFIG, KAFKA_TOPIC_CONFIG_NAMES, type TopicConfig } from '../../wire/protocol.js';
import { ErrorCode, RaftlogError, type Admin, type ConfigEntry, type PartitionOffsets, type TopicDescription } from '../../client/index.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError, describeError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { MAX_MOVES_HELP, brokersOption, intOption, maxMovesOption, type Run } from './shared.js';

interface JsonOptions extends CommonOptions {
  readonly json?: boolean;
}

interface AlterOptions extends JsonOptions {
  readonly replicationFactor: number;
  readonly maxMoves?: number;
}

interface CreateOptions extends CommonOptions {
  readonly partitions: number;
  readonly replicationFactor?: number;
  readonly config: string[];
  readonly ifNotExists?: boolean;
}

interface AlterConfigOptions extends JsonOptions {
  readonly set: string[];
  readonly delete: string[];
}

interface AddPartitionsOptions extends JsonOptions {
  readonly num?: number;
  readonly total?: number;
}

const CONFIG_KEYS = Object.keys(KAFKA_TOPIC_CONFIG_NAMES) as (keyof TopicConfig)[];

/** A repeatable option's values, in the order given. */
const collect = (v: string, prev: string[]): string[] => [...prev, v];

function configEntries(pairs: readonly string[], option = '--config'): ConfigEntry[] {
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${option} '${pair}' is not key=value (e.g. retention.ms=86400000)`);
    return { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() };
  });
}

/** A config by Kafka's names (retention.ms, ...), as describe and alter-config print it. */
function kafkaConfig(c: TopicConfig): Record<string, number> {
  return Object.fromEntries(CONFIG_KEYS.map((k) => [KAFKA_TOPIC_CONFIG_NAMES[k], c[k]]));
}

/** The config key of a Kafka or camelCase name, or a usage error listing them. */
function configKey(name: string): keyof TopicConfig {
  const key = CONFIG_KEYS.find((k) => k === name || KAFKA_TOPIC_CONFIG_NAMES[k] === name);
  if (key === undefined) throw new UsageError(`'${name}' is no topic config; the configs are ${CONFIG_KEYS.map((k) => KAFKA_TOPIC_CONFIG_NAMES[k]).join(', ')}`);
  return key;
}

/** Rethrows a topic that does not exist as that, without the hint to create it. */
function noSuchTopic(name: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof RaftlogError && err.code === ErrorCode.UnknownTopicOrPartition) {
      throw new RaftlogError(err.code, `topic '${name}' does not exist (raftlog topics list shows the topics there are)`, { topic: name, cause: err });
    }
    throw err;
  };
}

interface DescribedPartition {
  readonly partition: number;
  readonly leader: string | null;
  readonly leaderTerm: number;
  readonly replicas: readonly string[];
  readonly highWatermark: string | null;
  readonly logStartOffset: string | null;
}

interface DescribedTopic {
  readonly name: string;
  readonly replicationFactor: number;
  readonly config: Record<string, number>;
  readonly partitions: readonly DescribedPartition[];
}

/** A topic with each partition's offsets (null where they could not be had, said on stderr). */
async function describeOne(admin: Admin, t: TopicDescription, io: Io): Promise<DescribedTopic> {
  let offsets: PartitionOffsets[] = [];
  try {
    offsets = await admin.fetchTopicOffsets(t.name);
  } catch (err) {
    io.err(`raftlog: ${t.name}: offsets unavailable: ${describeError(err, [])}\n`);
  }
  return {
    name: t.name,
    replicationFactor: t.replicationFactor,
    config: kafkaConfig(t.config),
    partitions: t.partitions.map((p) => {
      const o = offsets.find((x) => x.partition === p.partitionId);
      return { partition: p.partitionId, leader: p.leader, leaderTerm: p.leaderTerm, replicas: p.replicas, highWatermark: o?.high ?? null, logStartOffset: o?.low ?? null };
    }),
  };
}

function renderTopic(t: DescribedTopic): string {
  const config = Object.entries(t.config).map(([k, v]) => `${k}=${v}`).join(' ');
  const rows = t.partitions.map((p) => [String(p.partition), p.leader ?? '(none)', String(p.leaderTerm), p.replicas.join(','), p.highWatermark ?? '?', p.logStartOffset ?? '?']);
  return `topic ${t.name}: ${t.partitions.length} partitions, replication factor ${t.replicationFactor}\nconfig: ${config}\n${table(['PARTITION', 'LEADER', 'TERM', 'REPLICAS', 'HIGH WATERMARK', 'LOG START'], rows)}`;
}

export function topicsCommand(program: Command, io: Io, run: Run): void {
  const topics = program.command('topics').description('create, list, describe, change and delete topics');

  brokersOption(topics.command('create').description('create a topic'), io)
    .argument('<name>', 'topic name: 1-249 letters, digits, ".", "_", "-"')
    .option('--partitions <n>', 'number of partitions', intOption('--partitions', 1), 1)
    .option('--replication-factor <r>', "replicas per partition (default: the cluster's, 3 or fewer when it has fewer nodes)", intOption('--replication-factor', 1))
    .option('--config <key=value...>', 'topic config: retention.ms, retention.bytes, segment.bytes, max.message.bytes', [])
    .option('--if-not-exists', 'succeed when the topic exists already')
    .action((name: string, opts: CreateOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const created = await admin.createTopics({
            topics: [{ topic: name, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor ?? -1, configEntries: configEntries(opts.config) }],
          });
          if (created) {
            // The cluster chose the replication factor when none was given: say what it chose.
            const rf = opts.replicationFactor ?? (await admin.describeTopics({ topics: [name] })).topics[0]!.replicationFactor;
            io.out(`created topic ${name} (${opts.partitions} partition${opts.partitions === 1 ? '' : 's'}, replication factor ${rf})\n`);
            return 0;
          }
          if (opts.ifNotExists) return 0;
          io.err(`raftlog: topic '${name}' already exists (describe it with: raftlog topics describe ${name})\n`);
          return 1;
        });
      }),
    );

  brokersOption(topics.command('list').description('list topic names'), io)
    .option('--json', 'print a JSON list of the topics with their partition count and replication factor')
    .action((opts: JsonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          if (opts.json) {
            const { topics: all } = await admin.describeTopics();
            const list = all.map((t) => ({ name: t.name, partitions: t.partitions.length, replicationFactor: t.replicationFactor })).sort((a, b) => (a.name < b.name ? -1 : 1));
            io.out(`${JSON.stringify(list, null, 2)}\n`);
            return 0;
          }
          for (const t of await admin.listTopics()) io.out(`${t}\n`);
          return 0;
        });
      }),
    );

  brokersOption(topics.command('describe').description('partitions with leader, replicas, high watermark and log start; every topic when none is named'), io)
    .argument('[names...]', 'topic names (default: every topic)')
    .option('--json', 'print a JSON list of the topics')
    .action((names: string[], opts: JsonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const { topics: found } = await admin.describeTopics(names.length > 0 ? { topics: names } : {});
          const sorted = names.length > 0 ? found : [...found].sort((a, b) => (a.name < b.name ? -1 : 1));
          const described: DescribedTopic[] = [];
          for (const t of sorted) described.push(await describeOne(admin, t, io));
          if (opts.json) io.out(`${JSON.stringify(described, null, 2)}\n`);
          else io.out(described.map(renderTopic).join('\n'));
          if (described.length === 0 && !opts.json) io.err('raftlog: there are no topics (create one with: raftlog topics create NAME)\n');
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

  brokersOption(
    topics
      .command('alter-config')
      .description(
        "change a topic's config while it runs: retention.ms and retention.bytes apply at the next retention pass, max.message.bytes to the next produce, segment.bytes to the next segment roll",
      ),
    io,
  )
    .argument('<name>', 'topic name')
    .option('--set <key=value>', 'set a config (repeat it for more): retention.ms, retention.bytes, segment.bytes, max.message.bytes', collect, [])
    .option('--delete <key>', 'put a config back to its default (repeat it for more)', collect, [])
    .option('--json', 'print the config before and after as JSON')
    .action((name: string, opts: AlterConfigOptions) =>
      run(opts, async () => {
        const set = configEntries(opts.set, '--set');
        const reset = opts.delete.map(configKey);
        for (const e of set) if (reset.includes(configKey(e.name))) throw new UsageError(`'${e.name}' is both --set and --delete; give it once`);
        if (set.length + reset.length === 0) throw new UsageError('give --set key=value or --delete key (e.g. --set retention.ms=86400000)');
        const entries = [...set, ...reset.map((k) => ({ name: k, value: String(DEFAULT_TOPIC_CONFIG[k]) }))];
        return withAdmin(io, opts, async (admin) => {
          const r = await admin.alterTopicConfig(name, entries).catch(noSuchTopic(name));
          if (opts.json) {
            io.out(`${JSON.stringify({ topic: r.topic, previous: kafkaConfig(r.previous), config: kafkaConfig(r.config) }, null, 2)}\n`);
            return 0;
          }
          const changed = CONFIG_KEYS.filter((k) => r.previous[k] !== r.config[k]);
          io.out(`topic ${name}: ${changed.length === 0 ? 'config unchanged' : changed.map((k) => `${KAFKA_TOPIC_CONFIG_NAMES[k]} ${r.previous[k]} -> ${r.config[k]}`).join(', ')}\n`);
          return 0;
        });
      }),
    );

  brokersOption(topics.command('add-partitions').description('add partitions to a topic (a topic never shrinks, as in Kafka); keys may map to other partitions from then on'), io)
    .argument('<name>', 'topic name')
    .option('-n, --num <n>', 'partitions to add', intOption('--num', 1))
    .option('--total <n>', 'the partition count to grow to', intOption('--total', 1))
    .option('--json', 'print the change as JSON')
    .action((name: string, opts: AddPartitionsOptions) =>
      run(opts, async () => {
        if ((opts.num === undefined) === (opts.total === undefined)) throw new UsageError('give --num N (partitions to add) or --total N (the count to grow to)');
        return withAdmin(io, opts, async (admin) => {
          const [t] = (await admin.describeTopics({ topics: [name] }).catch(noSuchTopic(name))).topics;
          const count = opts.total ?? t!.partitions.length + opts.num!;
          if (count <= t!.partitions.length) throw new UsageError(`topic '${name}' has ${t!.partitions.length} partitions already; a topic can only grow, so give --total more than ${t!.partitions.length}`);
          const [r] = await admin.createPartitions({ topicPartitions: [{ topic: name, count }] }).catch(noSuchTopic(name));
          if (opts.json) {
            io.out(`${JSON.stringify(r, null, 2)}\n`);
            return 0;
          }
          io.out(`topic ${name}: ${r!.previous} -> ${r!.partitions} partitions\n`);
          io.out(table(['PARTITION', 'REPLICAS'], r!.assignments.map((a, i) => [String(r!.previous + i), a.join(',')]), '  '));
          io.err(
            `raftlog: keyed producers take note: a key now hashes over ${r!.partitions} partitions instead of ${r!.previous}, so most keys go to another partition from now on; records already written stay where they are, and the order of a key's records holds only within a partition\n`,
          );
          return 0;
        });
      }),
    );

  brokersOption(topics.command('delete').description('delete a topic and its records'), io)
    .argument('<name>', 'topic name')
    .action((name: string, opts: CommonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          await admin.deleteTopics({ topics: [name] }).catch(noSuchTopic(name));
          io.out(`deleted topic ${name}\n`);
          return 0;
        });
      }),
    );
}
