/**
 * The benchmark's peer system: a 3-node NATS JetStream cluster of real `nats-server` child
 * processes on loopback, behind the same `Target` interface as raftlog (target.ts), so every
 * workload runs unchanged against both.
 *
 * Layout. `startNats` picks free ports (client, cluster route, HTTP monitoring) for servers n1, n2
 * and n3, writes one config file per server into the folder (a new temporary folder unless the
 * caller passes `dir`), and starts them: `<dir>/n1.conf`, JetStream data in `<dir>/n1/jetstream`,
 * stdout and stderr appended to `<dir>/n1.log` (appended, so a restart keeps the earlier run's
 * lines). Every server lists all three routes. It is ready when every server's /healthz answers ok
 * with both routes up and a throwaway R3 stream can be created and deleted.
 *
 * Mapping. A log is a stream of the same name (characters a stream name cannot hold, '.', '*',
 * '>', whitespace and path separators, become '_') with one subject, that same name; three
 * replicas, file storage, everything else default. `partitions` is ignored: one stream is one
 * ordered log. A send is a JetStream publish, resolved by the stream's PubAck, which the stream
 * leader sends once its Raft group has a quorum of the message. A subscriber is an ordered push
 * consumer (ephemeral, flow-controlled, no acks, in memory on one server) on its own connection:
 * the server pushes each message as soon as it is stored, with no pull round trip; and if the
 * consumer's server dies, missed idle heartbeats make the client recreate it where it left off.
 * A subscriber of a group (the soak's consumer group reading along) is a durable push consumer of
 * that name instead, acknowledging with AckAll every 5 s as raftlog's group consumer commits. A
 * log with a retention (the soak) is a stream with that max_age.
 *
 * Durability, stated for a fair comparison: JetStream does not fsync each write. A PubAck means a
 * quorum of servers has the message in their file store's write path (the OS page cache), and the
 * file store fsyncs on a timer, every 2 minutes by default. Newer servers make this configurable
 * (`jetstream { sync_interval: always }`); this nats-server, 2.9.10 from Debian, has no such option.
 * So a SIGKILL of a server is covered by the other replicas, but a power cut of a quorum could lose
 * acknowledged messages: its durability is nearer raftlog's interval sync mode than its fsync mode.
 *
 * Failover. Every connection lists all three servers and reconnects forever, a short fixed wait
 * apart, so a producer whose server is SIGKILLed moves to another by itself; publishes in flight
 * then reject (timeout, or 503 no responders while the stream has no leader) and the workload
 * retries. A publish waits at most PUBLISH_TIMEOUT_MS for its PubAck, which bounds how long a lost
 * one delays a retry.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  connect,
  consumerOpts,
  createInbox,
  Empty,
  Events,
  JSONCodec,
  nanos,
  StorageType,
  type ConnectionOptions,
  type JsMsg,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import { freePort, sleep } from '../../chaos/cluster.js';
import type { Closeable, SubscribeOptions, Target, TargetProducer } from './target.js';

const LABEL = 'NATS JetStream R3';
const NODE_IDS = ['n1', 'n2', 'n3'] as const;
const REPLICAS = 3;
const CLUSTER_NAME = 'raftlog-bench';
const HOST = '127.0.0.1';
/** Created and deleted at start to prove the cluster can place an R3 stream. */
const PROBE_STREAM = 'raftlog_bench_probe';
/** Debian installs nats-server in /usr/sbin, which a non-root PATH often lacks. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** From spawning the servers to a usable JetStream (routes up, meta leader, R3 stream placed). */
const STARTUP_TIMEOUT_MS = 30_000;
/** From restarting one server to it serving with its routes up and back in every stream's group. */
const RESTART_TIMEOUT_MS = 30_000;
/** How long leader() waits for a stream leader (covers an election after a kill). */
const LEADER_TIMEOUT_MS = 10_000;
/** How long a publish waits for its PubAck before rejecting. */
const PUBLISH_TIMEOUT_MS = 2_000;
/** How long one admin request (stream info, create, step-down) waits for an answer. */
const ADMIN_REQUEST_TIMEOUT_MS = 2_000;
/** How long a first connection attempt to one server may take. */
const CONNECT_TIMEOUT_MS = 2_000;
/** Fixed pause between reconnect attempts (no jitter: failover timings should not be random). */
const RECONNECT_WAIT_MS = 50;
/** Idle heartbeat of the ordered consumer; two missed ones make the client recreate it. */
const CONSUMER_HEARTBEAT_MS = 1_000;
/**
 * A durable consumer (SubscribeOptions.group) acknowledges what it received this often, as
 * raftlog's group consumer commits on its auto-commit interval (5 s), and earlier once half its
 * acknowledgement window is outstanding.
 */
const DURABLE_ACK_MS = 5_000;
/** Messages a durable consumer may have delivered unacknowledged before the server holds the rest back. */
const DURABLE_ACK_PENDING_MAX = 65_536;
/** How long drain/close of a connection may take before giving up on it. */
const CLOSE_TIMEOUT_MS = 2_000;
/** After SIGTERM, how long a server may take to shut down before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/** Pause between readiness polls. */
const POLL_MS = 100;
/** Timeout of one HTTP probe of a monitoring endpoint. */
const HTTP_PROBE_TIMEOUT_MS = 500;
/** Lines of a server log quoted in failure messages. */
const LOG_TAIL_LINES = 20;

interface NatsNode {
  readonly id: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
  process: ChildProcess | null;
  /** How the last run ended: exit code or signal name; null while running or never started. */
  exit: string | null;
}

/** The nats-server binary: the first on PATH, else one in an sbin folder; null if none. */
export function natsServerPath(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''), ...SBIN_DIRS];
  for (const dir of dirs) {
    const file = path.join(dir, 'nats-server');
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** The stream (and subject) for a benchmark log name, e.g. "tp-1024-4-fsync" as it is. */
function streamName(log: string): string {
  if (log === '') throw new Error('a log name must not be empty');
  return log.replace(/[.*>\s/\\]/g, '_');
}

function configText(n: NatsNode, all: readonly NatsNode[]): string {
  const routes = all.map((x) => `nats-route://${HOST}:${x.clusterPort}`);
  return [
    `server_name: ${n.id}`,
    `listen: "${HOST}:${n.clientPort}"`,
    `http: "${HOST}:${n.httpPort}"`,
    `jetstream {`,
    `  store_dir: ${JSON.stringify(path.join(n.dataDir, 'jetstream'))}`,
    `}`,
    `cluster {`,
    `  name: ${CLUSTER_NAME}`,
    `  listen: "${HOST}:${n.clusterPort}"`,
    `  routes: [`,
    ...routes.map((r) => `    "${r}"`),
    `  ]`,
    `}`,
    '',
  ].join('\n');
}

function tail(n: NatsNode): string {
  try {
    return fs.readFileSync(n.logFile, 'utf8').trim().split('\n').slice(-LOG_TAIL_LINES).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitExit(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => p.once('exit', () => resolve()));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Resolves with `p`'s outcome, or rejects after `ms` (p keeps running; its result is dropped). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function httpJson(url: string): Promise<{ ok: boolean; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_PROBE_TIMEOUT_MS) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { ok: res.ok, body };
}

/**
 * Starts a 3-node NATS JetStream cluster and returns it as a benchmark Target. `dir` is kept on
 * stop() when given; otherwise a fresh temporary folder is used and removed. `log` receives
 * progress and connection events (default: dropped).
 */
export async function startNats(o: { dir?: string; log?: (line: string) => void } = {}): Promise<Target> {
  const bin = natsServerPath();
  if (bin === null) {
    throw new Error(
      'nats-server not found on PATH (nor in /usr/sbin): install it with `apt-get install nats-server` ' +
        '(Debian/Ubuntu), or put a nats-server 2.9+ binary on PATH, then run the benchmark again',
    );
  }
  const log = o.log ?? (() => {});
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-bench-nats-'));
  fs.mkdirSync(dir, { recursive: true });

  const nodes: NatsNode[] = [];
  for (const id of NODE_IDS) {
    const dataDir = path.join(dir, id);
    fs.mkdirSync(dataDir, { recursive: true });
    nodes.push({
      id,
      clientPort: await freePort(),
      clusterPort: await freePort(),
      httpPort: await freePort(),
      dataDir,
      configFile: path.join(dir, `${id}.conf`),
      logFile: path.join(dir, `${id}.log`),
      process: null,
      exit: null,
    });
  }
  for (const n of nodes) fs.writeFileSync(n.configFile, configText(n, nodes));
  const urls = nodes.map((n) => `${HOST}:${n.clientPort}`);
  const logFiles = nodes.map((n) => n.logFile).join(', ');

  // If this process exits without stop(), take the servers along rather than leave them running.
  const killAllOnExit = (): void => {
    for (const n of nodes) n.process?.kill('SIGKILL');
  };
  process.on('exit', killAllOnExit);

  const node = (id: string): NatsNode => {
    const n = nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no NATS node ${id} (nodes: ${NODE_IDS.join(', ')})`);
    return n;
  };

  const spawnNode = (n: NatsNode): void => {
    const fd = fs.openSync(n.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(bin, ['-c', n.configFile], { stdio: ['ignore', fd, fd] });
    } finally {
      fs.closeSync(fd);
    }
    n.process = child;
    n.exit = null;
    child.on('error', (e) => {
      n.exit = `spawn error: ${e.message}`;
      if (n.process === child) n.process = null;
    });
    child.on('exit', (code, signal) => {
      n.exit = signal ?? `code ${code}`;
      if (n.process === child) n.process = null;
    });
  };

  /** Waits until `n` answers /healthz ok and has a route to every other running server. */
  const waitServing = async (n: NatsNode, deadline: number, timeoutMs: number): Promise<void> => {
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (n.process === null) {
        throw new Error(`nats-server ${n.id} exited (${n.exit}) while starting; its log ${n.logFile} ends:\n${tail(n)}`);
      }
      try {
        const health = await httpJson(`http://${HOST}:${n.httpPort}/healthz`);
        const routes = await httpJson(`http://${HOST}:${n.httpPort}/routez`);
        const want = nodes.filter((x) => x !== n && x.process !== null).length;
        const have = (routes.body as { num_routes?: number }).num_routes ?? 0;
        if (health.ok && have >= want) return;
        last = health.ok ? `${have} of ${want} routes up` : `healthz: ${JSON.stringify(health.body)}`;
      } catch (e) {
        last = errorText(e);
      }
      await sleep(POLL_MS);
    }
    throw new Error(`nats-server ${n.id} did not become healthy within ${timeoutMs} ms (last: ${last}); its log ${n.logFile} ends:\n${tail(n)}`);
  };

  const connections = new Set<NatsConnection>();
  const connectionOptions = (name: string): ConnectionOptions => ({
    servers: urls,
    name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
    reconnectJitter: 0,
    reconnectJitterTLS: 0,
    timeout: CONNECT_TIMEOUT_MS,
  });
  /** Opens a tracked connection whose reconnects and async errors go to `log` (one line each). */
  const open = async (name: string): Promise<NatsConnection> => {
    const nc = await connect(connectionOptions(name));
    connections.add(nc);
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === Events.Reconnect) log(`nats: ${name} reconnected to ${String(s.data)}`);
        else if (s.type === Events.Error) log(`nats: ${name} error: ${String(s.data)}`);
      }
    })().catch(() => {});
    return nc;
  };
  const close = async (nc: NatsConnection): Promise<void> => {
    connections.delete(nc);
    if (nc.isClosed()) return;
    try {
      await withTimeout(nc.drain(), CLOSE_TIMEOUT_MS, 'draining a NATS connection');
    } catch {
      await nc.close().catch(() => {});
    }
  };

  const terminate = async (n: NatsNode): Promise<void> => {
    const p = n.process;
    if (p === null) return;
    const exited = waitExit(p);
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  let admin: NatsConnection | null = null;
  let jsm: JetStreamManager;
  try {
    for (const n of nodes) spawnNode(n);
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    await Promise.all(nodes.map((n) => waitServing(n, deadline, STARTUP_TIMEOUT_MS)));
    admin = await open('bench-admin');
    jsm = await admin.jetstreamManager({ timeout: ADMIN_REQUEST_TIMEOUT_MS, checkAPI: false });
    let last = '';
    for (;;) {
      try {
        await jsm.streams.add({ name: PROBE_STREAM, subjects: [PROBE_STREAM], num_replicas: REPLICAS, storage: StorageType.File });
        await jsm.streams.delete(PROBE_STREAM);
        break;
      } catch (e) {
        last = errorText(e);
      }
      if (Date.now() >= deadline) {
        throw new Error(`NATS JetStream did not accept an R${REPLICAS} stream within ${STARTUP_TIMEOUT_MS} ms (last error: ${last}); see the server logs ${logFiles}`);
      }
      await sleep(POLL_MS);
    }
  } catch (e) {
    if (admin !== null) await close(admin);
    await Promise.all(nodes.map((n) => terminate(n)));
    process.off('exit', killAllOnExit);
    if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const adminNc: NatsConnection = admin;
  log(`nats: ${NODE_IDS.length} servers up in ${dir} (clients on ${urls.join(', ')})`);

  const logs = new Set<string>();
  const jc = JSONCodec<{ success?: boolean; error?: { code: number; err_code?: number; description: string } }>();

  /**
   * Waits until `n` leads or is an online replica of every log created so far: it has rejoined
   * each stream's Raft group. Not until it has caught up: a restarted raftlog node is waited for
   * only until it serves too, and a NATS replica restarted under steady production can take well
   * over RESTART_TIMEOUT_MS to become current.
   */
  const waitReplicasJoined = async (n: NatsNode, deadline: number): Promise<void> => {
    for (const stream of logs) {
      let last = 'no answer yet';
      for (;;) {
        try {
          const c = (await jsm.streams.info(stream)).cluster;
          if (c?.leader === n.id || c?.replicas?.some((r) => r.name === n.id && r.offline !== true)) break;
          last = `leader ${c?.leader ?? 'none'}, replicas ${JSON.stringify(c?.replicas ?? [])}`;
        } catch (e) {
          last = errorText(e);
        }
        if (Date.now() >= deadline) {
          throw new Error(`nats-server ${n.id} did not rejoin stream ${stream} within ${RESTART_TIMEOUT_MS} ms (last: ${last}); see its log ${n.logFile}`);
        }
        await sleep(POLL_MS);
      }
    }
  };

  /**
   * A durable push consumer named `group` (the soak's consumer group reading along): new messages
   * only, its position replicated by its own Raft group on the servers, acknowledged with
   * AckAll every DURABLE_ACK_MS (or at half of DURABLE_ACK_PENDING_MAX outstanding).
   */
  const subscribeDurable = async (stream: string, group: string, onRecord: (value: Uint8Array) => void): Promise<Closeable> => {
    const nc = await open(`bench-durable-${group}`);
    let last: JsMsg | null = null;
    let pending = 0;
    let closed = false;
    const ack = (): void => {
      last?.ack();
      last = null;
      pending = 0;
    };
    const timer = setInterval(ack, DURABLE_ACK_MS);
    try {
      const opts = consumerOpts()
        .durable(streamName(group))
        .deliverTo(createInbox())
        .deliverNew()
        .ackAll()
        .maxAckPending(DURABLE_ACK_PENDING_MAX)
        .bindStream(stream)
        .callback((err, m) => {
          if (err !== null) {
            if (!closed) log(`nats: durable consumer ${group} on ${stream}: ${err.message}`);
            return;
          }
          if (m === null) return;
          onRecord(m.data);
          last = m;
          if (++pending >= DURABLE_ACK_PENDING_MAX / 2) ack();
        });
      const sub = await nc.jetstream().subscribe(stream, opts);
      return {
        async close(): Promise<void> {
          closed = true;
          clearInterval(timer);
          ack();
          sub.unsubscribe();
          await close(nc);
        },
      };
    } catch (e) {
      clearInterval(timer);
      await close(nc);
      throw e;
    }
  };

  let producers = 0;
  let stopped = false;
  const target: Target = {
    label: LABEL,
    nodes: [...NODE_IDS],

    async createLog(name, _partitions, lo): Promise<void> {
      const stream = streamName(name);
      await jsm.streams.add({ name: stream, subjects: [stream], num_replicas: REPLICAS, storage: StorageType.File, ...(lo?.retentionMs !== undefined ? { max_age: nanos(lo.retentionMs) } : {}) });
      logs.add(stream);
    },

    async producer(): Promise<TargetProducer> {
      const nc = await open(`bench-producer-${++producers}`);
      const js = nc.jetstream();
      return {
        async send(logName: string, value: Uint8Array): Promise<void> {
          await js.publish(streamName(logName), value, { timeout: PUBLISH_TIMEOUT_MS });
        },
        close: () => close(nc),
      };
    },

    async subscribe(logName: string, onRecord: (value: Uint8Array) => void, so?: SubscribeOptions): Promise<Closeable> {
      const stream = streamName(logName);
      if (so?.group !== undefined) return subscribeDurable(stream, so.group, onRecord);
      // Messages up to here are not the subscriber's. Deliver-new starts later still; this bound
      // matters only if the consumer is recreated before its first message, which restarts it
      // from the stream's beginning.
      const after = (await jsm.streams.info(stream)).state.last_seq;
      const nc = await open(`bench-consumer-${stream}`);
      let closed = false;
      try {
        const opts = consumerOpts()
          .orderedConsumer()
          .deliverNew()
          .idleHeartbeat(CONSUMER_HEARTBEAT_MS)
          .bindStream(stream)
          .callback((err, m) => {
            if (err !== null) {
              // After close, a recreation still retrying is cancelled with an error: not news.
              if (!closed) log(`nats: consumer on ${stream}: ${err.message}`);
              return;
            }
            if (m !== null && m.seq > after) onRecord(m.data);
          });
        const sub = await nc.jetstream().subscribe(stream, opts);
        return {
          async close(): Promise<void> {
            closed = true;
            sub.unsubscribe();
            await close(nc);
          },
        };
      } catch (e) {
        await close(nc);
        throw e;
      }
    },

    async leader(logName: string): Promise<string> {
      const stream = streamName(logName);
      const deadline = Date.now() + LEADER_TIMEOUT_MS;
      let last = 'no leader';
      for (;;) {
        try {
          const leader = (await jsm.streams.info(stream)).cluster?.leader;
          if (leader !== undefined && leader !== '') return leader;
        } catch (e) {
          last = errorText(e);
        }
        if (Date.now() >= deadline) {
          throw new Error(`stream ${stream} has no leader after ${LEADER_TIMEOUT_MS} ms (last: ${last}); is a quorum of servers up? see the server logs ${logFiles}`);
        }
        await sleep(POLL_MS);
      }
    },

    async kill(id: string): Promise<void> {
      const p = node(id).process;
      if (p === null) return;
      const exited = waitExit(p);
      p.kill('SIGKILL');
      await exited;
    },

    async restart(id: string): Promise<void> {
      const n = node(id);
      if (n.process !== null) await terminate(n);
      const deadline = Date.now() + RESTART_TIMEOUT_MS;
      spawnNode(n);
      await waitServing(n, deadline, RESTART_TIMEOUT_MS);
      await waitReplicasJoined(n, deadline);
      log(`nats: ${id} restarted`);
    },

    async transfer(logName: string): Promise<void> {
      const stream = streamName(logName);
      const res = await adminNc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${stream}`, Empty, { timeout: ADMIN_REQUEST_TIMEOUT_MS });
      const body = jc.decode(res.data);
      if (body.error !== undefined) {
        throw new Error(`NATS refused the leader step-down of stream ${stream}: ${body.error.description} (code ${body.error.code})`);
      }
    },

    async deletedRecords(logName: string): Promise<number> {
      return (await jsm.streams.info(streamName(logName))).state.first_seq - 1;
    },

    processes() {
      return nodes.flatMap((n) => (n.process?.pid !== undefined ? [{ node: n.id, pid: n.process.pid }] : []));
    },

    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await Promise.all([...connections].map((nc) => close(nc)));
      await Promise.all(nodes.map((n) => terminate(n)));
      process.off('exit', killAllOnExit);
      if (ownDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return target;
}
