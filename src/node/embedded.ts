/**
 * The embedded default, `node cluster.js` with no options: three nodes on 127.0.0.1:7001-7003, with
 * Kafka listeners on 127.0.0.1:9092-9094 (so that kcat and kafkajs work against it as they are), each
 * a child process with its data (and its log file) under ./data/<id>. Topic auto-creation is on
 * here (`--auto-create-topics`; RAFTLOG_AUTO_CREATE_TOPICS=off turns it off): a Kafka client's
 * first record to a new topic creates it, as a local Kafka or Redpanda's dev mode does; a node
 * started with --peers has it off unless told, as Kafka and Redpanda in production leave it off.
 * Prints where they listen and
 * what to try next; Ctrl-C or SIGTERM stops all three cleanly. Started again, it finds its data and
 * resumes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_KAFKA, EMBEDDED_NODES, clusterSecret, parsePeers } from './options.js';
import { NODE_RUNTIME_FLAGS } from './runtime-flags.js';
import { META_GROUP } from '../meta/commands.js';
import type { StatusResponse } from '../wire/protocol.js';

const CLUSTER_JS = fileURLToPath(new URL('../../../cluster.js', import.meta.url));
const READY_WAIT_MS = 30_000;
const STOP_WAIT_MS = 15_000;

export async function runEmbedded(): Promise<void> {
  const nodes = parsePeers(EMBEDDED_NODES);
  const root = path.resolve('data');
  const secret = clusterSecret(root);
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const stopAll = async (code: number): Promise<never> => {
    stopping = true;
    const exits = [...children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), STOP_WAIT_MS);
          c.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
    process.exit(code);
  };

  const kafka = new Map([...nodes.keys()].map((id, i) => [id, EMBEDDED_KAFKA[i]!]));
  for (const [id, address] of nodes) {
    const data = path.join(root, id);
    const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, CLUSTER_JS, '--id', id, '--peers', EMBEDDED_NODES, '--kafka', kafka.get(id)!, '--auto-create-topics', process.env['RAFTLOG_AUTO_CREATE_TOPICS'] ?? 'on', '--data', data, '--log-file', path.join(data, 'node.log')], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, RAFTLOG_SECRET: secret },
    });
    children.set(id, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      // The cluster stays available with two of three nodes: say so, and keep the others running.
      const alive = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null).length;
      console.error(`raftlog: node ${id} (${address}) exited (${signal ?? `code ${code}`}); see ${path.join(data, 'node.log')}. ${alive} node(s) still running${alive >= 2 ? ' (the cluster keeps serving)' : ''}; Ctrl-C stops them.`);
      if (alive === 0) process.exit(1);
    });
  }
  process.on('SIGINT', () => {
    console.log('\nstopping the 3 nodes...');
    void stopAll(0);
  });
  process.on('SIGTERM', () => void stopAll(0));

  const deadline = Date.now() + READY_WAIT_MS;
  for (const [id, address] of nodes) {
    while (!(await answers(address))) {
      if (stopping) return;
      if (Date.now() > deadline) {
        console.error(`raftlog: node ${id} did not answer on ${address} within ${READY_WAIT_MS / 1000} s; see ${path.join(root, id, 'node.log')}`);
        await stopAll(1);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const width = Math.max(...[...nodes.keys()].map((k) => k.length));
  console.log('raftlog: a 3-node cluster is running');
  for (const [id, address] of nodes) {
    console.log(`  ${id.padEnd(width)}  ${address}  kafka ${kafka.get(id)}  data ${path.relative(process.cwd(), path.join(root, id))}/  log ${path.relative(process.cwd(), path.join(root, id, 'node.log'))}`);
  }
  console.log(`  status: http://${nodes.get('n1')}/status   metrics: http://${nodes.get('n1')}/metrics`);
  console.log(`  console: http://${nodes.get('n1')}/ui/   (every node serves it)`);
  console.log('Try:  npx raftlog topics create demo --partitions 3 --replication-factor 3 && echo "k1:hello" | npx raftlog produce demo --key-separator : && npx raftlog consume demo --from-beginning');
  console.log(`Kafka clients: kcat -b ${EMBEDDED_KAFKA[0]} -L   (kafkajs: new Kafka({ brokers: ['${EMBEDDED_KAFKA[0]}'] }))`);
  console.log('Stop with Ctrl-C (data is kept; start again to resume).');
}

/** The node answers /status and knows the controller (the metadata group's leader): a Kafka client's first Metadata names it. */
async function answers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return false;
    const status = (await res.json()) as StatusResponse;
    return status.groups.some((g) => g.group === META_GROUP && g.leader !== null);
  } catch {
    return false;
  }
}

