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
 *
 * It takes three options of its own, and nothing else (embeddedOptions): `--base-port P` (the
 * nodes on P, P+1, P+2), `--kafka-base-port K` (their Kafka listeners on K, K+1, K+2; default
 * 9092 with the default base port, P+2091 with another) and `--data DIR` (instead of ./data), so
 * that two embedded clusters can run side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeStartError } from '../errors.js';
import { EMBEDDED_KAFKA, EMBEDDED_NODES, clusterSecret, parsePeers } from './options.js';
import { NODE_RUNTIME_FLAGS } from './runtime-flags.js';

export interface EmbeddedOptions {
  readonly basePort?: number;
  readonly kafkaBasePort?: number;
  readonly data?: string;
}

/** The embedded cluster's nodes, one port after another from the base port. */
const EMBEDDED_NODE_COUNT = 3;
/** The default base port: the first node of EMBEDDED_NODES. */
const EMBEDDED_BASE_PORT = 7001;
/** How far above the base port the Kafka listeners start when only --base-port is given (7001 + 2091 = 9092, Kafka's port). */
const KAFKA_PORT_OFFSET = 2091;

const FLAGS: Readonly<Record<string, keyof EmbeddedOptions>> = { '--base-port': 'basePort', '--kafka-base-port': 'kafkaBasePort', '--data': 'data' };

/**
 * The embedded cluster's options when `argv` holds only those (none: the default), or null when
 * it is a node's command line (any other option: --id, --peers, --join, ...). Throws a
 * NodeStartError for a value that is missing or not a port.
 */
export function embeddedOptions(argv: readonly string[]): EmbeddedOptions | null {
  const o: { -readonly [K in keyof EmbeddedOptions]: EmbeddedOptions[K] } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const key = Object.hasOwn(FLAGS, flag) ? FLAGS[flag] : undefined;
    if (key === undefined) return null;
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new NodeStartError(`${flag} needs a value`);
    if (key === 'data') {
      o.data = value;
      continue;
    }
    const port = Number(value);
    if (!/^\d+$/.test(value) || port < 1 || port > 65535 - (EMBEDDED_NODE_COUNT - 1)) throw new NodeStartError(`${flag} must be a port from 1 to ${65535 - (EMBEDDED_NODE_COUNT - 1)} (it and the next ${EMBEDDED_NODE_COUNT - 1} are used), not '${value}'`);
    o[key] = port;
  }
  return o;
}

const CLUSTER_JS = fileURLToPath(new URL('../../../cluster.js', import.meta.url));
const READY_WAIT_MS = 30_000;
const STOP_WAIT_MS = 15_000;

export async function runEmbedded(opts: EmbeddedOptions = {}): Promise<void> {
  const base = opts.basePort ?? EMBEDDED_BASE_PORT;
  const kafkaBase = opts.kafkaBasePort ?? base + KAFKA_PORT_OFFSET;
  const peers = base === EMBEDDED_BASE_PORT ? EMBEDDED_NODES : Array.from({ length: EMBEDDED_NODE_COUNT }, (_, i) => `n${i + 1}=127.0.0.1:${base + i}`).join(',');
  const nodes = parsePeers(peers);
  const kafkaAddresses = kafkaBase === EMBEDDED_BASE_PORT + KAFKA_PORT_OFFSET ? EMBEDDED_KAFKA : Array.from({ length: EMBEDDED_NODE_COUNT }, (_, i) => `127.0.0.1:${kafkaBase + i}`);
  const root = path.resolve(opts.data ?? 'data');
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

  const kafka = new Map([...nodes.keys()].map((id, i) => [id, kafkaAddresses[i]!]));
  for (const [id, address] of nodes) {
    const data = path.join(root, id);
    const child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, CLUSTER_JS, '--id', id, '--peers', peers, '--kafka', kafka.get(id)!, '--auto-create-topics', process.env['RAFTLOG_AUTO_CREATE_TOPICS'] ?? 'on', '--data', data, '--log-file', path.join(data, 'node.log')], {
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
    console.log(`\nstopping the ${nodes.size} nodes...`);
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
  // The CLI looks for the default ports unless told (--brokers, or RAFTLOG_BROKERS).
  const brokers = [...nodes.values()].join(',');
  if (peers !== EMBEDDED_NODES) console.log(`The CLI needs these addresses:  export RAFTLOG_BROKERS=${brokers}   (or --brokers ${brokers})`);
  console.log('Try:  npx raftlog topics create demo --partitions 3 && echo "k1:hello" | npx raftlog produce demo --key-separator : && npx raftlog consume demo --from-beginning');
  console.log(`Kafka clients: kcat -b ${kafkaAddresses[0]} -L   (kafkajs: new Kafka({ brokers: ['${kafkaAddresses[0]}'] }))`);
  console.log('Stop with Ctrl-C (data is kept; start again to resume).');
}

/** The node answers /health ready: its metadata is open and has a leader (the controller), which a Kafka client's first Metadata names. */
async function answers(address: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return false;
    return ((await res.json()) as { ready?: unknown }).ready === true;
  } catch {
    return false;
  }
}
