/**
 * `raftlog partitions reassign TOPIC/PARTITION --replicas n1,n2,n4`: sets a partition's target
 * replicas. The command returns once the cluster has recorded the new target; the move itself
 * happens in the background, which `topics describe` and `status` show.
 *
 * `raftlog partitions rebalance [--max-moves N] [--dry-run]`: spreads replicas, then preferred
 * leaders, evenly over the nodes up and not leaving (after adding a node, say); the controller
 * makes the moves in the background, N at once.
 */
import type { Command } from 'commander';
import { LIMITS, MOVES_AT_ONCE_DEFAULT, topicNameProblem, type RebalanceMove } from '../../wire/protocol.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { MAX_MOVES_HELP, brokersOption, maxMovesOption, type Run } from './shared.js';

interface RebalanceOptions extends CommonOptions {
  readonly maxMoves?: number;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

interface ReassignOptions extends CommonOptions {
  readonly replicas: string;
  readonly json?: boolean;
}

/** `TOPIC/PARTITION`: a topic name cannot hold '/', so the last one splits them. */
export function parsePartitionRef(ref: string): { topic: string; partition: number } {
  const at = ref.lastIndexOf('/');
  const topic = ref.slice(0, at);
  const partition = ref.slice(at + 1);
  if (at <= 0 || !/^\d+$/.test(partition)) throw new UsageError(`'${ref}' is not TOPIC/PARTITION (e.g. orders/0)`);
  const problem = topicNameProblem(topic);
  if (problem !== null) throw new UsageError(problem);
  const n = Number(partition);
  if (n >= LIMITS.partitionsPerTopicMax) throw new UsageError(`partition ${partition} is past the most a topic may have (${LIMITS.partitionsPerTopicMax})`);
  return { topic, partition: n };
}

/** `--replicas n1,n2,n4`: node ids, comma-separated, the first the preferred leader. */
export function parseReplicaList(value: string): string[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((id) => id.length === 0)) throw new UsageError(`--replicas '${value}' is not a comma-separated list of node ids (e.g. n1,n2,n4)`);
  return ids;
}

export function partitionsCommand(program: Command, io: Io, run: Run): void {
  const partitions = program.command('partitions').description("move partitions' replicas between nodes");

  brokersOption(partitions.command('reassign').description("set a partition's replicas; the replicas move in the background"), io)
    .argument('<topic/partition>', 'the partition, e.g. orders/0')
    .requiredOption('--replicas <ids>', 'comma-separated node ids, the first the preferred leader (e.g. n1,n2,n4)')
    .option('--json', 'print the change as JSON')
    .action((ref: string, opts: ReassignOptions) =>
      run(opts, async () => {
        const { topic, partition } = parsePartitionRef(ref);
        const replicas = parseReplicaList(opts.replicas);
        return withAdmin(io, opts, async (admin) => {
          const [t] = (await admin.describeTopics({ topics: [topic] })).topics;
          const previous = t.partitions.find((p) => p.partitionId === partition)?.replicas ?? null;
          await admin.reassignPartitions([{ topic, partition, replicas }]);
          const unchanged = previous !== null && previous.join(',') === replicas.join(',');
          if (opts.json) {
            io.out(`${JSON.stringify({ topic, partition, previous, replicas, changed: !unchanged }, null, 2)}\n`);
            return 0;
          }
          if (unchanged) {
            io.out(`${topic}/${partition} already has replicas ${replicas.join(',')}: nothing to move\n`);
            return 0;
          }
          io.out(`reassigned ${topic}/${partition}: replicas ${previous?.join(',') ?? '?'} -> ${replicas.join(',')} (preferred leader ${replicas[0]})\n`);
          io.out(
            'The replicas move in the background: new ones catch up as learners before they count, then the ones leaving are removed; writes and reads go on.\n' +
              `Watch it with: raftlog topics describe ${topic} (replicas and leader) and raftlog status (each group's members and how far each has caught up)\n`,
          );
          return 0;
        });
      }),
    );

  brokersOption(partitions.command('rebalance').description('spread replicas and preferred leaders evenly over the nodes up and not leaving; the moves run in the background'), io)
    .option('--max-moves <n>', MAX_MOVES_HELP, maxMovesOption)
    .option('--dry-run', 'only print the moves it would make now')
    .option('--json', 'print the plan as JSON')
    .action((opts: RebalanceOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const r = await admin.rebalancePartitions({ ...(opts.maxMoves !== undefined ? { maxMoves: opts.maxMoves } : {}), ...(opts.dryRun === true ? { dryRun: true } : {}) });
          if (opts.json) {
            io.out(`${JSON.stringify(r, null, 2)}\n`);
            return 0;
          }
          if (r.total === 0) {
            io.out('nothing to rebalance: replicas and preferred leaders are as even as the partitions allow\n');
            return 0;
          }
          const head = opts.dryRun === true ? `a rebalance would make ${r.total} move${r.total === 1 ? '' : 's'}:` : `rebalance started: ${r.total} move${r.total === 1 ? '' : 's'}, ${opts.maxMoves ?? MOVES_AT_ONCE_DEFAULT} at once:`;
          io.out(`${head}\n${table(['PARTITION', 'FROM', 'TO', 'MOVES'], r.moves.map(moveRow), '  ')}`);
          if (r.moves.length < r.total) io.out(`  ... and ${r.total - r.moves.length} more\n`);
          if (opts.dryRun !== true) io.out('The replicas move in the background while writes and reads go on. Watch it with: raftlog status (the controller lists the moves running)\n');
          return 0;
        }),
      ),
    );
}

function moveRow(m: RebalanceMove): string[] {
  return [`${m.topic}/${m.partition}`, m.from.join(','), m.replicas.join(','), m.leaderOnly ? 'preferred leader only' : 'replica'];
}
