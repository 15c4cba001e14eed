/**
 * `raftlog nodes list`: every node of the cluster with what an operator asks first: is it up,
 * which data folder (incarnation) it runs on, how many partition replicas it holds and leads,
 * which of them are learners or rejoining, and how much disk it uses. From the metadata's node
 * list and each node's `status` answer.
 */
import type { Command } from 'commander';
import type { StatusResponse } from '../../wire/protocol.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { bytes, duration, table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, type Run } from './shared.js';
import { askEveryNode } from './status.js';

interface NodesOptions extends CommonOptions {
  readonly json?: boolean;
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

function summarize(id: string, s: StatusResponse): Omit<NodeSummary, 'address' | 'state' | 'controller' | 'error'> {
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
}
