/**
 * `raftlog nodes list`: every node of the cluster with what an operator asks first: is it up,
 * which data folder (incarnation) it runs on, how many partition replicas it holds and leads,
 * which of them are learners or rejoining, and how much disk it uses. From the metadata's node
 * list and each node's `status` answer.
 *
 * `raftlog nodes decommission <id>`: moves every replica off the node (up or down), then takes it
 * out of the metadata group; returns once the cluster has recorded it. `raftlog nodes status
 * <id>`: how far that has got, per partition, and what blocks it (node-progress.ts).
 */
import type { Command } from 'commander';
import { MOVES_AT_ONCE_DEFAULT, type StatusResponse } from '../../wire/protocol.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { bytes, duration, table } from '../format.js';
import type { Io } from '../io.js';
import { nodeProgress, type NodeProgress } from './node-progress.js';
import { MAX_MOVES_HELP, brokersOption, maxMovesOption, type Run } from './shared.js';
import { askEveryNode } from './status.js';

interface NodesOptions extends CommonOptions {
  readonly json?: boolean;
}

interface DecommissionOptions extends NodesOptions {
  readonly maxMoves?: number;
}


/** One node's line, as `--json` prints it. */
export interface NodeSummary {
  readonly id: string;
  readonly address: string;
  readonly state: 'up' | 'unreachable';
  readonly controller: boolean;
  readonly incarnation?: string;
  readonly uptimeMs?: number;
  /** Partition replicas on the node (the metadata group's is not counted), those it leads, those that are learners or rejoining. */
  readonly replicas?: number;
  readonly leaders?: number;
  readonly learners?: number;
  readonly rejoining?: number;
  readonly stopped?: number;
  readonly diskBytes?: number;
  readonly error?: string;
}

/** One node's line from its status answer (the console's cluster page shows the same). */
export function summarize(id: string, s: StatusResponse): Omit<NodeSummary, 'address' | 'state' | 'controller' | 'error'> {
  const parts = s.groups.filter((g) => g.group !== 'meta');
  return {
    id,
    ...(s.incarnation !== undefined ? { incarnation: s.incarnation } : {}),
    uptimeMs: s.uptimeMs,
    replicas: parts.length,
    leaders: parts.filter((g) => g.role === 'leader').length,
    learners: parts.filter((g) => g.learners?.includes(id) === true).length,
    rejoining: parts.filter((g) => g.rejoining !== undefined).length,
    stopped: parts.filter((g) => g.role === 'stopped').length,
    ...(s.diskBytes !== undefined ? { diskBytes: s.diskBytes } : {}),
  };
}

export function nodesCommand(program: Command, io: Io, run: Run): void {
  const nodes = program.command('nodes').description('the cluster\'s nodes');
  brokersOption(nodes.command('list').description('each node: up or not, data folder incarnation, replicas, leaders, learners, rejoining, disk used'), io)
    .option('--json', 'print one JSON object per node, in a list')
    .action((opts: NodesOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const { controller, answers } = await askEveryNode(admin);
          const list: NodeSummary[] = answers.map((a) =>
            'error' in a
              ? { id: a.id, address: a.address, state: 'unreachable', controller: a.id === controller, error: a.error }
              : { ...summarize(a.id, a.status), address: a.address, state: 'up', controller: a.id === controller },
          );
          if (opts.json) {
            io.out(`${JSON.stringify(list, null, 2)}\n`);
          } else {
            const rows = list.map((n) => [
              n.id + (n.controller ? ' (controller)' : ''),
              n.address,
              n.state,
              n.incarnation ?? '-',
              n.uptimeMs === undefined ? '-' : duration(n.uptimeMs),
              n.replicas === undefined ? '-' : String(n.replicas),
              n.leaders === undefined ? '-' : String(n.leaders),
              n.learners === undefined ? '-' : String(n.learners),
              n.rejoining === undefined ? '-' : String(n.rejoining),
              n.diskBytes === undefined ? '-' : bytes(n.diskBytes),
              n.error ?? (n.stopped !== undefined && n.stopped > 0 ? `${n.stopped} replica(s) stopped: see raftlog status` : ''),
            ]);
            io.out(table(['NODE', 'ADDRESS', 'STATE', 'INCARNATION', 'UP', 'REPLICAS', 'LEADERS', 'LEARNERS', 'REJOINING', 'DISK', 'PROBLEM'], rows));
          }
          return list.some((n) => n.state !== 'up') ? 1 : 0;
        }),
      ),
    );

  brokersOption(nodes.command('decommission').description('move every replica off a node (up or down), then take it out of the metadata group'), io)
    .argument('<id>', 'the node, e.g. n3')
    .option('--max-moves <n>', MAX_MOVES_HELP, maxMovesOption)
    .option('--json', 'print the answer as JSON')
    .action((id: string, opts: DecommissionOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const r = await admin.decommissionNode(id, opts.maxMoves !== undefined ? { maxMoves: opts.maxMoves } : {});
          if (opts.json) {
            io.out(`${JSON.stringify(r, null, 2)}\n`);
            return 0;
          }
          if (r.state === 'decommissioned') {
            io.out(`${id} is decommissioned already: it holds no replica and is not in the metadata group; stop it\n`);
            return 0;
          }
          io.out(`decommissioning ${id}: ${r.partitions} partition${r.partitions === 1 ? '' : 's'} to move off it, ${opts.maxMoves ?? MOVES_AT_ONCE_DEFAULT} at once; then it leaves the metadata group\n`);
          io.out(`The replicas move in the background while writes and reads go on. Watch it with: raftlog nodes status ${id}\n`);
          return 0;
        }),
      ),
    );

  brokersOption(nodes.command('recommission').description('stop the decommission of a node still being decommissioned: it stays, and takes replicas again'), io)
    .argument('<id>', 'the node, e.g. n3')
    .option('--json', 'print the answer as JSON')
    .action((id: string, opts: NodesOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const r = await admin.recommissionNode(id);
          if (opts.json) {
            io.out(`${JSON.stringify(r, null, 2)}\n`);
            return 0;
          }
          io.out(`${id} is an active node: it holds ${r.partitions} replica${r.partitions === 1 ? '' : 's'} and takes new ones. Replicas already moved off it stay where they are; to spread them again: raftlog partitions rebalance\n`);
          return 0;
        }),
      ),
    );

  brokersOption(nodes.command('status').description("a node's state and, per partition it holds or is leaving, the move's step and what blocks it"), io)
    .argument('<id>', 'the node, e.g. n3')
    .option('--json', 'print it as JSON')
    .action((id: string, opts: NodesOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const { controller, answers } = await askEveryNode(admin);
          if (!answers.some((a) => a.id === id)) throw new UsageError(`'${id}' is not a node of this cluster (${answers.map((a) => a.id).join(', ')})`);
          const { topics } = await admin.describeTopics();
          const progress = nodeProgress(id, answers, topics);
          if (opts.json) io.out(`${JSON.stringify(progress, null, 2)}\n`);
          else io.out(renderProgress(progress, controller));
          // A move only slow is no failure; one the controller cannot make, or no controller, is.
          return progress.state === 'unknown' || progress.partitions.some((p) => p.stuck === true) ? 1 : 0;
        }),
      ),
    );
}

function renderProgress(p: NodeProgress, controller: string | null): string {
  const lines: string[] = [];
  const meta = p.meta === 'unknown' ? '' : `, metadata group: ${p.meta}`;
  lines.push(`node ${p.node}: ${p.state === 'unknown' ? `state unknown (the controller${controller === null ? '' : ` ${controller}`} did not answer)` : p.state} (${p.up ? 'up' : 'down'})${meta}`);
  if (p.step !== undefined) lines.push(`decommission: ${p.step}`);
  if (p.movesRunning !== undefined) lines.push(`moves running in the cluster: ${p.movesRunning}`);
  if (p.partitions.length === 0) {
    lines.push(p.state === 'active' ? 'it holds no partition replica' : 'no partition holds it any more');
    return `${lines.join('\n')}\n`;
  }
  const rows = p.partitions.map((x) => [x.partition, x.target.join(','), x.voters?.join(',') ?? '-', x.learners?.length ? x.learners.join(',') : '-', x.leader ?? '(none)', x.move ?? '-', x.blockedBy ?? '']);
  return `${lines.join('\n')}\n${table(['PARTITION', 'TARGET', 'VOTERS', 'LEARNERS', 'LEADER', 'STEP', 'BLOCKED BY'], rows)}`;
}
