/**
 * A real raftlog cluster of child processes on loopback, for integration tests, chaos runs and
 * benchmarks: start, stop, SIGKILL, SIGSTOP/SIGCONT, restart, with each node's data folder and log
 * file kept apart. Ports are chosen free at start.
 *
 * Nodes start through the chaos entry point (node-main.ts, compiled to dist/chaos/node-main.js),
 * which takes the flags of `node cluster.js` and those that make a node cheat or cut its links;
 * benchmarks, and tests of the launcher itself, start `cluster.js` instead (`entry`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatusResponse } from '../src/wire/protocol.js';
import { NODE_RUNTIME_FLAGS } from '../src/node/runtime-flags.js';

/** The repository root (this file runs from chaos/ in tests and from dist/chaos/ when built). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'cluster.js')) || !fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the raftlog repository root (cluster.js and package.json)');
    dir = up;
  }
  return dir;
}

/** What each node of a cluster runs. */
export const NODE_ENTRIES = {
  /** The chaos entry point (node-main.ts): `node cluster.js`'s options and --unsafe-mutant, --chaos-endpoints. */
  chaos: path.join(repoRoot(), 'dist', 'chaos', 'node-main.js'),
  /** The production launcher. */
  production: path.join(repoRoot(), 'cluster.js'),
} as const;
export type NodeEntry = keyof typeof NODE_ENTRIES;

export interface LocalClusterOptions {
  readonly nodes: number;
  /** What each node runs (default 'chaos'). */
  readonly entry?: NodeEntry;
  /** Root folder for data and logs (default: a new temporary folder). */
  readonly dir?: string;
  readonly secret?: string;
  /** Extra flags for every node (e.g. ['--sync', 'interval']). */
  readonly args?: readonly string[];
  /** Flags for the Node.js runtime of every node (e.g. ['--cpu-prof', '--cpu-prof-dir=prof']). */
  readonly nodeArgs?: readonly string[];
  /** The runtime flags a node starts with before nodeArgs (default NODE_RUNTIME_FLAGS, as `node cluster.js` gives them). */
  readonly runtimeFlags?: readonly string[];
  /** Extra environment for every node (e.g. RAFTLOG_FAULTS). */
  readonly env?: Readonly<Record<string, string>>;
  readonly logLevel?: string;
  /** Give every node a Kafka listener (--kafka) on a free port (default: none). */
  readonly kafka?: boolean;
  /** Give every node a client listener (--client-listen) and an HTTP listener (--http-listen) of their own, each on a free port (default: all at its --listen address). */
  readonly separateListeners?: boolean;
  /**
   * TLS on every listener of every node (--tls-cert, --tls-key, --tls-ca; `--tls` all unless
   * `listeners` names some): the CA file, and each node's certificate and key files by id. The
   * cluster's own HTTP requests (waitUp, status) trust `ca`.
   */
  readonly tls?: { readonly ca: string; readonly node: (id: string) => { readonly cert: string; readonly key: string }; readonly listeners?: readonly string[] };
  /** The user the cluster's own HTTP requests (status) log in as, with HTTP Basic: for nodes started with --auth sasl, whose /status needs one. */
  readonly httpAuth?: { readonly username: string; readonly password: string };
}

export interface ClusterNode {
  readonly id: string;
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  process: ChildProcess | null;
  /** How the last run ended: exit code or signal name; null while running. */
  exit: string | null;
  /** The addresses it joined the running cluster through (--join); absent for a node of --peers. */
  join?: readonly string[];
  /** host:port of its Kafka listener, when the cluster has them. */
  readonly kafka?: string;
  /** host:port of its client listener and of its HTTP listener (its `address` unless separateListeners). */
  readonly client: string;
  readonly http: string;
}

/**
 * A loopback port nothing listens on now, and never one this process handed out before: the
 * kernel may give the same port to two listen(0) calls in a row once the first closes, and two
 * servers told the same port cannot both start (seen in the benchmark: a NATS server's
 * monitoring port taken by another of its servers).
 *
 * The ports come from below the kernel's ephemeral range (ip_local_port_range): a port from
 * listen(0) is one of those an outgoing connection takes as its source port, and with many
 * loopback connections open (the test workers' clusters and clients) one did take a port between
 * this check and the node's listen ("127.0.0.1:39449 is already in use", a cluster test on CI).
 * Each process starts at a random place in the window and goes up from there, so test workers
 * running side by side do not try the same ports. Where the range leaves no window below it,
 * listen(0) decides, as before.
 */
export async function freePort(): Promise<number> {
  return freePortRun(1);
}

/**
 * The first of `count` free loopback ports in a row, all handed out (as by freePort): for what
 * takes a base port and counts up from it (`node cluster.js --base-port`).
 */
export async function freePortRun(count: number): Promise<number> {
  const window = portWindow();
  if (window !== null) {
    const size = window.last - window.first + 1 - (count - 1);
    for (let tried = 0; tried < size; tried++) {
      const first = window.first + ((portCursor + tried) % size);
      if (!(await runIsFree(first, count))) continue;
      portCursor = (first - window.first + count) % size;
      for (let k = 0; k < count; k++) portsHandedOut.add(first + k);
      return first;
    }
  }
  for (;;) {
    const first = await ephemeralPort();
    if (first + count - 1 <= 65_535 && (await runIsFree(first + 1, count - 1))) {
      for (let k = 1; k < count; k++) portsHandedOut.add(first + k);
      return first;
    }
  }
}

async function runIsFree(first: number, count: number): Promise<boolean> {
  for (let k = 0; k < count; k++) if (portsHandedOut.has(first + k) || !(await canListen(first + k))) return false;
  return true;
}

/** Ports below the ephemeral range that freePort hands out, if the range leaves PORT_WINDOW_MIN of them above 10,000. */
const PORT_WINDOW_FIRST = 10_000;
const PORT_WINDOW_MIN = 2_000;
let portCursor = Math.floor(Math.random() * 1_000_000);
let windowRead: { first: number; last: number } | null | undefined;

function portWindow(): { first: number; last: number } | null {
  if (windowRead !== undefined) return windowRead;
  let low: number;
  try {
    low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // Not Linux: its default range (49152 up on macOS) leaves the window anyway.
    low = 49_152;
  }
  windowRead = Number.isInteger(low) && low - PORT_WINDOW_FIRST >= PORT_WINDOW_MIN ? { first: PORT_WINDOW_FIRST, last: low - 1 } : null;
  return windowRead;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function ephemeralPort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!portsHandedOut.has(port)) {
      portsHandedOut.add(port);
      return port;
    }
  }
}
const portsHandedOut = new Set<number>();

export class LocalCluster {
  readonly dir: string;
  readonly nodes: ClusterNode[] = [];
  private peers = '';
  /** The script each node runs (NODE_ENTRIES). */
  private readonly entry: string;

  constructor(private readonly o: LocalClusterOptions) {
    this.dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-cluster-'));
    this.entry = NODE_ENTRIES[o.entry ?? 'chaos'];
  }

  /** The nodes' client listeners. */
  get brokers(): string[] {
    return this.nodes.map((n) => n.client);
  }

  /** The nodes' Kafka listeners (LocalClusterOptions.kafka). */
  get kafkaBrokers(): string[] {
    return this.nodes.flatMap((n) => (n.kafka !== undefined ? [n.kafka] : []));
  }

  /** A new node's addresses besides its peer address: Kafka, client and HTTP listeners. */
  private async listenerAddresses(address: string): Promise<{ kafka?: string; client: string; http: string }> {
    const kafka = this.o.kafka === true ? { kafka: `127.0.0.1:${await freePort()}` } : {};
    if (this.o.separateListeners !== true) return { ...kafka, client: address, http: address };
    return { ...kafka, client: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` };
  }

  /** Whether the nodes' HTTP listeners take TLS. */
  private get httpTls(): boolean {
    const t = this.o.tls;
    return t !== undefined && (t.listeners === undefined || t.listeners.includes('http') || t.listeners.includes('all'));
  }

  /** GET `path` on node `n`'s HTTP listener (https, trusting the cluster's CA, when it takes TLS; as `httpAuth`'s user when given): the status code and the body. */
  async httpGet(n: ClusterNode, urlPath: string, timeoutMs: number): Promise<{ status: number; body: string }> {
    const [host, port] = [n.http.slice(0, n.http.lastIndexOf(':')), Number(n.http.slice(n.http.lastIndexOf(':') + 1))];
    const tls = this.httpTls;
    const ca = tls ? fs.readFileSync(this.o.tls!.ca) : undefined;
    const a = this.o.httpAuth;
    return new Promise((resolve, reject) => {
      const req = (tls ? https : http).get({ host, port, path: urlPath, timeout: timeoutMs, ...(ca !== undefined ? { ca } : {}), ...(a !== undefined ? { auth: `${a.username}:${a.password}` } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${n.http}${urlPath} within ${timeoutMs} ms`)));
      req.on('error', reject);
    });
  }

  node(id: string): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Picks ports, starts every node, and waits until each answers /health. */
  async start(): Promise<void> {
    if (!fs.existsSync(this.entry)) throw new Error(`${this.entry} is missing: build first (npm run build)`);
    for (let i = 1; i <= this.o.nodes; i++) {
      const id = `n${i}`;
      const address = `127.0.0.1:${await freePort()}`;
      const dataDir = path.join(this.dir, id);
      this.nodes.push({ id, address, dataDir, logFile: path.join(this.dir, `${id}.log`), process: null, exit: null, ...(await this.listenerAddresses(address)) });
    }
    this.peers = this.nodes.map((n) => `${n.id}=${n.address}`).join(',');
    for (const n of this.nodes) this.spawn(n);
    try {
      await Promise.all(this.nodes.map((n) => this.waitUp(n)));
    } catch (err) {
      // A node that did not come up fails the start: the others are stopped, not left running
      // behind the caller, which has no cluster to stop.
      await Promise.all(this.nodes.filter((n) => n.process !== null).map((n) => this.kill(n.id, 'SIGKILL').catch(() => undefined)));
      throw err;
    }
  }

  /**
   * Starts a new node that joins the running cluster (`--join`, src/node/join.ts) through the
   * nodes running now, and waits until it answers /health (not until it has joined: that takes
   * the controller).
   */
  async join(id: string): Promise<ClusterNode> {
    if (this.nodes.some((n) => n.id === id)) throw new Error(`node ${id} exists: use replace() to start it again on an empty folder`);
    if (this.retired.some((n) => n.id === id)) throw new Error(`node ${id} was retired (decommissioned): a cluster does not take a decommissioned id back; choose another`);
    const address = `127.0.0.1:${await freePort()}`;
    const join = this.nodes.filter((n) => n.process !== null).map((n) => n.address);
    const n: ClusterNode = { id, address, dataDir: path.join(this.dir, id), logFile: path.join(this.dir, `${id}.log`), process: null, exit: null, join, ...(await this.listenerAddresses(address)) };
    this.nodes.push(n);
    this.spawn(n);
    await this.waitUp(n);
    return n;
  }

  /**
   * Replaces a node that is down by a new one under the same id on an empty data folder (a lost
   * disk, or a new machine), joining through the nodes running now.
   */
  async replace(id: string): Promise<ClusterNode> {
    const n = this.node(id);
    if (n.process !== null) throw new Error(`node ${id} is running: kill it first`);
    fs.rmSync(n.dataDir, { recursive: true, force: true });
    n.join = this.nodes.filter((x) => x.process !== null).map((x) => x.address);
    this.spawn(n);
    await this.waitUp(n);
    return n;
  }

  /** Nodes taken out of the cluster for good (decommissioned and stopped): no longer in `nodes`. */
  readonly retired: ClusterNode[] = [];

  /** Stops a node for good (SIGTERM) and takes it out of `nodes`: it was decommissioned. */
  async retire(id: string): Promise<void> {
    const n = this.node(id);
    if (n.process !== null) await this.kill(id, 'SIGTERM');
    this.nodes.splice(this.nodes.indexOf(n), 1);
    this.retired.push(n);
  }

  /** Empties the data folder of a node that is down: its disk is lost (restart() then starts it on the empty folder). */
  wipe(id: string): void {
    const n = this.node(id);
    if (n.process !== null) throw new Error(`node ${id} is running: kill it first`);
    fs.rmSync(n.dataDir, { recursive: true, force: true });
  }

  private spawn(n: ClusterNode): void {
    const membership = n.join !== undefined ? ['--listen', n.address, '--join', n.join.join(',')] : ['--peers', this.peers];
    const listeners = [...(n.client !== n.address ? ['--client-listen', n.client] : []), ...(n.http !== n.address ? ['--http-listen', n.http] : [])];
    const t = this.o.tls;
    const tls = t !== undefined ? ['--tls-cert', t.node(n.id).cert, '--tls-key', t.node(n.id).key, '--tls-ca', t.ca, ...(t.listeners !== undefined ? ['--tls', t.listeners.join(',')] : [])] : [];
    const args = [...(this.o.runtimeFlags ?? NODE_RUNTIME_FLAGS), ...(this.o.nodeArgs ?? []), this.entry, '--id', n.id, ...membership, '--data', n.dataDir, '--log-file', n.logFile, '--log-level', this.o.logLevel ?? 'info', ...(n.kafka !== undefined ? ['--kafka', n.kafka] : []), ...listeners, ...tls, ...(this.o.args ?? [])];
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, RAFTLOG_SECRET: this.o.secret ?? 'test-cluster-secret', ...this.o.env },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    n.process = child;
    n.exit = null;
    child.on('exit', (code, signal) => {
      n.exit = signal ?? `code ${code}${stderr !== '' ? `: ${stderr.trim()}` : ''}`;
      if (n.process === child) n.process = null;
    });
  }

  async waitUp(n: ClusterNode, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (n.process === null) throw new Error(`node ${n.id} exited while starting: ${n.exit}\n${this.tail(n)}`);
      try {
        // /health answers without credentials, before the node's metadata is open (as /status does under --auth none).
        const res = await this.httpGet(n, '/health', 500);
        // A Kafka listener opens once the node has its metadata, a moment after /status.
        if (res.status === 200 && (n.kafka === undefined || (await accepts(n.kafka)))) return;
      } catch {
        // not yet
      }
      await sleep(50);
    }
    throw new Error(`node ${n.id} did not come up on ${n.http} within ${timeoutMs} ms\n${this.tail(n)}`);
  }

  /** The last lines of a node's log, for failure messages. */
  tail(n: ClusterNode, lines = 20): string {
    try {
      return fs.readFileSync(n.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(id);
    const p = n.process;
    if (p === null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  pause(id: string): void {
    this.node(id).process?.kill('SIGSTOP');
  }

  resume(id: string): void {
    this.node(id).process?.kill('SIGCONT');
  }

  async restart(id: string): Promise<void> {
    const n = this.node(id);
    if (n.process !== null) await this.kill(id, 'SIGTERM');
    this.spawn(n);
    await this.waitUp(n);
  }

  async status(id: string): Promise<StatusResponse> {
    const res = await this.httpGet(this.node(id), '/status', 2000);
    if (res.status !== 200) throw new Error(`GET /status on ${id} answered ${res.status}: ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as StatusResponse;
  }

  /** Stops every node with SIGTERM (clean shutdown) and, unless `keep`, removes the folder. */
  async stop(keep = false): Promise<void> {
    // (Retired nodes were stopped when they were retired.)
    await Promise.all(this.nodes.filter((n) => n.process !== null).map((n) => this.kill(n.id, 'SIGTERM')));
    if (!keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether something accepts TCP connections at host:port. */
function accepts(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
