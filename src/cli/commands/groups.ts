/**
 * `raftlog groups list | describe | reset-offsets | delete`: consumer groups as the coordinator
 * sees them, with each partition's committed offset, high watermark and lag.
 */
import type { Command } from 'commander';
import type { Admin, ConsumerGroupDescription, GroupTopicOffsets, PartitionOffsets, ResetTarget } from '../../client/index.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError, describeError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, intOption, type Run } from './shared.js';

interface JsonOptions extends CommonOptions {
  readonly json?: boolean;
}

interface ResetOptions extends CommonOptions {
  readonly topic: string;
  readonly toEarliest?: boolean;
  readonly toLatest?: boolean;
  readonly toOffset?: number;
  readonly toDatetime?: string;
}

function resetTarget(opts: ResetOptions): ResetTarget {
  const given: ResetTarget[] = [];
  if (opts.toEarliest) given.push('earliest');
  if (opts.toLatest) given.push('latest');
  if (opts.toOffset !== undefined) given.push({ offset: String(opts.toOffset) });
  if (opts.toDatetime !== undefined) {
    const ms = Date.parse(opts.toDatetime);
    if (Number.isNaN(ms)) throw new UsageError(`--to-datetime '${opts.toDatetime}' is not a date and time (e.g. 2024-05-01T12:00:00Z)`);
    if (ms < 0) throw new UsageError(`--to-datetime '${opts.toDatetime}' is before 1970`);
    given.push({ timestamp: ms });
  }
  if (given.length !== 1) throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO');
  return given[0];
}

function describeTarget(t: ResetTarget): string {
  if (t === 'earliest' || t === 'latest') return `the ${t} offsets`;
  return 'offset' in t ? `offset ${String(t.offset)} (kept within each partition's log)` : `the first records at or after ${new Date(t.timestamp).toISOString()}`;
}

/** Member by partition, from the decoded assignments. */
function owners(d: ConsumerGroupDescription): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of d.members) for (const l of m.assignment ?? []) for (const p of l.partitions) out.set(`${l.topic}/${p}`, m.memberId);
  return out;
}

/** One partition of a group: committed offset (null: none), high watermark (null: unknown), lag (null: not computable), owner. */
interface LagRow {
  readonly topic: string;
  readonly partition: number;
  readonly committed: string | null;
  readonly highWatermark: string | null;
  readonly lag: number | null;
  readonly member: string | null;
}

/** Per partition of every topic the group reads or has offsets for: committed, high watermark, lag, owner. */
async function lagRows(admin: Admin, d: ConsumerGroupDescription, committed: readonly GroupTopicOffsets[], io: Io): Promise<{ rows: LagRow[]; total: number }> {
  const byPartition = owners(d);
  const topics = new Set([...committed.map((c) => c.topic), ...d.members.flatMap((m) => (m.assignment ?? []).map((l) => l.topic))]);
  const rows: LagRow[] = [];
  let total = 0;
  for (const topic of [...topics].sort()) {
    let offsets: PartitionOffsets[] = [];
    try {
      offsets = await admin.fetchTopicOffsets(topic);
    } catch (err) {
      io.err(`raftlog: topic ${topic}: high watermarks unavailable: ${describeError(err, [])}\n`);
    }
    const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
    const partitions = [...new Set([...offsets.map((o) => o.partition), ...done.map((c) => c.partition)])].sort((a, b) => a - b);
    for (const p of partitions) {
      const c = done.find((x) => x.partition === p)?.offset ?? '-1';
      const hw = offsets.find((o) => o.partition === p)?.high;
      const lag = c !== '-1' && hw !== undefined ? Math.max(0, Number(hw) - Number(c)) : null;
      if (lag !== null) total += lag;
      rows.push({ topic, partition: p, committed: c === '-1' ? null : c, highWatermark: hw ?? null, lag, member: byPartition.get(`${topic}/${p}`) ?? null });
    }
  }
  return { rows, total };
}

export function groupsCommand(program: Command, io: Io, run: Run): void {
  const groups = program.command('groups').description('list, describe, reset the offsets of, and delete consumer groups');

  brokersOption(groups.command('list').description('consumer groups with their state and member count'), io)
    .option('--json', 'print a JSON list of the groups')
    .action((opts: JsonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const { groups: list } = await admin.listGroups();
          if (opts.json) io.out(`${JSON.stringify(list.map((g) => ({ group: g.groupId, state: g.state, members: g.members, protocolType: g.protocolType })), null, 2)}\n`);
          else io.out(table(['GROUP', 'STATE', 'MEMBERS'], list.map((g) => [g.groupId, g.state, String(g.members)])));
          return 0;
        });
      }),
    );

  brokersOption(groups.command('describe').description('state, generation, members and their partitions; committed offset, high watermark and lag per partition'), io)
    .argument('<group>', 'group id')
    .option('--json', 'print the group as JSON')
    .action((groupId: string, opts: JsonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const [d] = (await admin.describeGroups([groupId])).groups;
          if (d.error) {
            io.err(`raftlog: group '${groupId}' does not exist (raftlog groups list shows the groups there are)\n`);
            return 1;
          }
          const committed = await admin.fetchOffsets({ groupId });
          const { rows, total } = await lagRows(admin, d, committed, io);
          if (opts.json) {
            const members = d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, assignment: m.assignment }));
            io.out(`${JSON.stringify({ group: d.groupId, state: d.state, generation: d.generation, protocolType: d.protocolType, protocol: d.protocol, leader: d.leader, members, offsets: rows, totalLag: total }, null, 2)}\n`);
            return 0;
          }
          const leader = d.members.find((m) => m.memberId === d.leader);
          io.out(
            `group ${d.groupId}: ${d.state}, generation ${d.generation}, assignor ${d.protocol || '-'}, ${d.members.length} member${d.members.length === 1 ? '' : 's'}` +
              `${leader ? ` (leader ${leader.memberId})` : ''}\n`,
          );
          if (d.members.length > 0) {
            const memberRows = d.members.map((m) => {
              const parts = m.assignment === null ? '(not the consumer protocol)' : m.assignment.map((l) => `${l.topic}: ${l.partitions.join(',')}`).join('; ') || '(none)';
              return [m.memberId, m.clientId, parts];
            });
            io.out(`\n${table(['MEMBER', 'CLIENT', 'PARTITIONS'], memberRows)}`);
          }
          const cells = rows.map((r) => [r.topic, String(r.partition), r.committed ?? '-', r.highWatermark ?? '?', r.lag === null ? '-' : String(r.lag), r.member ?? '-']);
          if (cells.length > 0) io.out(`\n${table(['TOPIC', 'PARTITION', 'COMMITTED', 'HIGH WATERMARK', 'LAG', 'MEMBER'], cells)}\ntotal lag ${total}\n`);
          else io.out('\nno committed offsets and no assigned partitions\n');
          return 0;
        });
      }),
    );

  brokersOption(groups.command('reset-offsets').description("move an empty group's committed offsets of a topic (stop its consumers first)"), io)
    .argument('<group>', 'group id')
    .requiredOption('--topic <topic>', 'the topic whose offsets move')
    .option('--to-earliest', 'to the start of each partition')
    .option('--to-latest', 'to the end of each partition (skip everything there now)')
    .option('--to-offset <n>', 'to this offset in every partition (kept within each log)', intOption('--to-offset'))
    .option('--to-datetime <iso>', 'to the first record at or after this time, e.g. 2024-05-01T12:00:00Z')
    .action((groupId: string, opts: ResetOptions) =>
      run(opts, async () => {
        const to = resetTarget(opts);
        return withAdmin(io, opts, async (admin) => {
          const before = (await admin.fetchOffsets({ groupId, topics: [opts.topic] })).find((t) => t.topic === opts.topic)?.partitions ?? [];
          // A group with members is refused with a message that says to stop them first.
          const after = await admin.resetOffsets({ groupId, topic: opts.topic, to });
          io.out(`group ${groupId}: ${opts.topic} moved to ${describeTarget(to)}\n`);
          const rows = after.map((a) => {
            const old = before.find((b) => b.partition === a.partition)?.offset ?? '-1';
            return [String(a.partition), old === '-1' ? '-' : old, a.offset];
          });
          io.out(table(['PARTITION', 'BEFORE', 'AFTER'], rows));
          return 0;
        });
      }),
    );

  brokersOption(groups.command('delete').description('delete an empty group and its committed offsets'), io)
    .argument('<group>', 'group id')
    .action((groupId: string, opts: CommonOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          await admin.deleteGroups([groupId]);
          io.out(`deleted group ${groupId}\n`);
          return 0;
        });
      }),
    );
}
