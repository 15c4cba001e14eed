/** `raftlog status`: every node's view of its Raft groups, from the `status` request. */
import type { Command } from 'commander';
import type { GroupStatus, StatusResponse } from '../../wire/protocol.js';
import type { Admin } from '../../client/index.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { describeError } from '../errors.js';
import { duration, table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, type Run } from './shared.js';

interface StatusOptions extends CommonOptions {
  readonly json?: boolean;
}

export type NodeAnswer = { readonly id: string; readonly address: string } & ({ readonly status: StatusResponse } | { readonly error: string });

/** Every node the cluster's metadata names, with its status or why it did not answer; and the controller. */
export async function askEveryNode(admin: Admin): Promise<{ controller: string | null; answers: NodeAnswer[] }> {
  const cluster = await admin.describeCluster();
  const answers: NodeAnswer[] = await Promise.all(
    cluster.nodes.map(async (n) => {
      try {
        return { ...n, status: await admin.nodeStatus(n.address) };
      } catch (err) {
        return { ...n, error: describeError(err, []) };
      }
    }),
  );
  return { controller: cluster.controller, answers };
}

/** A node's listeners as one line: "peer 127.0.0.1:7001 (TLS), client 127.0.0.1:8001 (TLS), ...". */
function listenerLine(l: NonNullable<StatusResponse['listeners']>): string {
  const kinds = ['peer', 'client', 'http', 'kafka'] as const;
  return kinds.flatMap((k) => (l[k] !== undefined ? [`${k} ${l[k]}${l.tls.includes(k) ? ' (TLS)' : ''}`] : [])).join(', ');
}

function groupRows(groups: readonly GroupStatus[]): string[][] {
  const rows: string[][] = [];
  for (const g of groups) {
    const hw = g.highWatermark === undefined ? '-' : `${g.highWatermark} (log ${g.logStartOffset ?? '?'}..${g.logEndOffset ?? '?'})`;
    const role = g.rejoining !== undefined ? `${g.role} (rejoining)` : g.role;
    const members = g.voters === undefined ? '-' : `${g.voters.join(',')}${(g.learners ?? []).length > 0 ? ` +learners ${g.learners!.join(',')}` : ''}${g.membershipCommitted === false ? ' (changing)' : ''}`;
    // A leader's in-sync view, as raftlog_partition_under_replicated and the console have it.
    const underReplicated = g.underReplicated === true ? `under-replicated: in sync ${(g.inSync ?? []).join(',')}` : '';
    const note = [g.move !== undefined ? `move: ${g.move}` : '', underReplicated].filter((x) => x !== '').join('; ');
    rows.push([g.group, role, String(g.term), g.leader ?? '(none)', String(g.commit), String(g.applied), `${g.firstIndex}..${g.lastIndex}`, hw, members, g.error ?? note]);
    for (const r of g.replicas) {
      const state = `${r.state}${r.learner === true ? ', learner' : ''}${r.rejoining === true ? ' (rejoining)' : ''}`;
      rows.push([`  replica ${r.id}`, state, '', '', `match ${r.match}`, `next ${r.next}`, '', '', '', '']);
    }
  }
  return rows;
}

export function statusCommand(program: Command, io: Io, run: Run): void {
  brokersOption(program.command('status').description('each node: its Raft groups with leader, term, commit index and replica progress'), io)
    .option('--json', 'print the raw status answers as JSON')
    .action((opts: StatusOptions) =>
      run(opts, async () => {
        return withAdmin(io, opts, async (admin) => {
          const { controller, answers } = await askEveryNode(admin);
          const cluster = { controller };
          if (opts.json) {
            io.out(`${JSON.stringify({ controller: cluster.controller, nodes: answers }, null, 2)}\n`);
          } else {
            for (const a of answers) {
              const role = a.id === cluster.controller ? ', controller' : '';
              if ('error' in a) {
                io.out(`node ${a.id} (${a.address}${role}): unreachable: ${a.error}\n\n`);
                continue;
              }
              const peers = a.status.peers.map((p) => `${p.id} ${p.connected ? 'connected' : 'disconnected'}`).join(', ');
              const folder = a.status.incarnation !== undefined ? `, data folder ${a.status.incarnation}` : '';
              io.out(`node ${a.id} (${a.address}${role}), up ${duration(a.status.uptimeMs)}${folder}, peers: ${peers || 'none'}\n`);
              if (a.status.listeners !== undefined) io.out(`  listeners: ${listenerLine(a.status.listeners)}\n`);
              io.out(table(['GROUP', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LOG', 'HIGH WATERMARK', 'VOTERS', 'ERROR / MOVE'], groupRows(a.status.groups), '  '));
              io.out('\n');
            }
          }
          return answers.some((a) => 'error' in a) ? 1 : 0;
        });
      }),
    );
}
