/**
 * The hostile clients of a chaos run (`--nemesis hostile`): the attacks of issue 22 §1, each run
 * against one node of the live cluster while the workloads produce and consume, and what came of
 * it. No attack stops, restarts or pauses a node: a node that dies is a failure of the run.
 *
 * The attacks run in a process of their own (hostile-main.ts, forked by HostileClients), so that
 * what they cost (masking 60 MB frames, hundreds of sockets) shows in the cluster's latency, not
 * in that of the chaos process's own clients. The fetch attacks aim at a partition leader and
 * name the partitions it leads; unread-replies fetches a topic of its own (BLOB_TOPIC) from its leader. Each attack runs for the fault's hold time, unless its outcome
 * takes one of the node's own time limits to show (unread-replies, half-frame, and the strangers
 * of idle-flood wait for them), and meanwhile polls the node's /status to see that it keeps
 * answering.
 *
 * | attack             | what it does                                                              | expected
 * |--------------------|---------------------------------------------------------------------------|---------------------------------------------
 * | fetch-repeat       | fetches naming one partition 10,000 times, maxBytes 64 MiB                | answered INVALID_REQUEST
 * | fetch-huge         | fetches of the partitions it leads from offset 0, maxBytes 64 MiB each, all | answered, within maxBytes (plus one batch)
 * | unread-replies     | 3 connections that send 200 fetches of 11 MB each and never read a reply   | closed once their replies fill the budget and stall
 * | junk-60mb-client   | 60 MB frames of random bytes on /client, again and again                  | closed at each frame's header (over the limit)
 * | junk-60mb-peer     | the same on /raft before authenticating                                   | closed at each frame's header
 * | junk-flood-client  | junk frames as fast as they are answered: 64 KB random, 1 MB of msgpack zeros | answered INVALID_REQUEST, connection kept
 * | junk-flood-peer    | connections to /raft that send a 2 KB junk frame after the challenge      | closed
 * | half-frame         | frames that claim 60 MB (10 MB on /client too) and send 1 KB, on every port | closed: at once when over the limit, else after the frame time limit
 * | idle-flood         | hundreds of connections that send nothing on every port                   | held, the peers' closed after the handshake time
 * | preauth-large-peer | 1 MB frames on /raft before authenticating                                | closed at the header (a stranger may send a few KB)
 * | kafka-junk         | Kafka frames: 60 MB Metadata of empty names, 4 KB of random bytes         | closed
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../src/wire/codec.js';
import { LIMITS } from '../src/wire/protocol.js';
import { FRAME_COMPLETE_MS } from '../src/wire/ws-guard.js';
import { HANDSHAKE_MS } from '../src/transport/peer-transport.js';
import { CONNECTION_REPLY_STALL_MS } from '../src/server/reply-budget.js';
import { KAFKA_FRAME_COMPLETE_MS } from '../src/kafka/listener.js';
import { connect, flood, junkFrames, masked, upgrade, wsFrame, wsHeader, writeAll, type FloodCounts, type Junk, type JunkFlood } from './attacks.js';
import { repoRoot, sleep, type ClusterNode } from './cluster.js';
import { Client } from '../src/client/client.js';
import { silentLogger } from '../src/client/logger.js';

export const HOSTILE_ATTACKS = [
  'fetch-repeat',
  'fetch-huge',
  'unread-replies',
  'junk-60mb-client',
  'junk-60mb-peer',
  'junk-flood-client',
  'junk-flood-peer',
  'half-frame',
  'idle-flood',
  'preauth-large-peer',
  'kafka-junk',
] as const;
export type HostileAttack = (typeof HOSTILE_ATTACKS)[number];
/** The attacks that fetch: aimed at a partition leader, naming the partitions it leads. */
export const FETCH_ATTACKS: readonly HostileAttack[] = ['fetch-repeat', 'fetch-huge'];
/** The attacks that need the node's Kafka listener. */
export const KAFKA_ATTACKS: readonly HostileAttack[] = ['kafka-junk'];

/** What each attack should come to (the table above). */
export const EXPECTED: Readonly<Record<HostileAttack, string>> = {
  'fetch-repeat': 'answered INVALID_REQUEST',
  'fetch-huge': 'answered within maxBytes',
  'unread-replies': 'closed once the replies stall',
  'junk-60mb-client': 'closed at the header',
  'junk-60mb-peer': 'closed at the header',
  'junk-flood-client': 'answered INVALID_REQUEST, kept open',
  'junk-flood-peer': 'closed',
  'half-frame': 'closed',
  'idle-flood': 'held; peers closed after the handshake time',
  'preauth-large-peer': 'closed at the header',
  'kafka-junk': 'closed',
};

/** Where an attack aims: one node's endpoints. */
export interface AttackTarget {
  readonly node: string;
  /** host:port of its native client endpoint (/client). */
  readonly client: string;
  /** host:port of its peer endpoint (/raft). */
  readonly peer: string;
  /** host:port of its HTTP endpoints (/status, /metrics). */
  readonly http: string;
  readonly kafka?: string;
}

/** A cluster node's endpoints (one listener for all, unless the cluster gives each its own). */
export function attackTarget(n: ClusterNode): AttackTarget {
  return { node: n.id, client: n.client, peer: n.address, http: n.http, ...(n.kafka !== undefined ? { kafka: n.kafka } : {}) };
}

export interface AttackSpec {
  readonly attack: HostileAttack;
  readonly target: AttackTarget;
  /** The topic the workloads use, and the partitions of it the fetch attacks name. */
  readonly topic: string;
  readonly partitions: readonly number[];
  /** Every running node's endpoints (unread-replies goes where its own topic's leader is). */
  readonly nodes: readonly AttackTarget[];
  readonly holdMs: number;
}

/** What one attack came to. */
export interface AttackOutcome {
  readonly attack: HostileAttack;
  readonly node: string;
  readonly ms: number;
  readonly connections: number;
  /** Connections the node closed. */
  readonly closed: number;
  /** Requests or frames the node answered. */
  readonly answered: number;
  /** Connections still open when the attack ended (the attacker closed them). */
  readonly open: number;
  /** Frames or requests sent (begun). */
  readonly sent: number;
  /** What else there is to say: close codes, error codes, times to close, reply sizes. */
  readonly detail: string;
  readonly expected: string;
  readonly asExpected: boolean;
  /** The slowest /status answer of the node during the attack, and the polls that failed. */
  readonly statusMaxMs: number | null;
  readonly statusFailures: number;
}

// -------------------------------------------------------------------------------------------------
// The attacks (run in the attacker process)

class Tally {
  connections = 0;
  closed = 0;
  answered = 0;
  open = 0;
  sent = 0;
  readonly notes = new Map<string, number>();
  note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }
  detail(more: string[] = []): string {
    return [...[...this.notes].map(([k, n]) => `${k} ×${n}`), ...more].join(', ');
  }
}

/** A `ws` client connection whose replies (msgpack maps) and close are watched. */
class Conn {
  readonly ws: WebSocket;
  readonly opened: Promise<boolean>;
  closedWith: number | null = null;
  /** Waiters for the reply to one request id. */
  private readonly waiting = new Map<number, (r: Record<string, unknown> | null) => void>();
  /** Replies no one waited for by id, in order, and those waiting for the next of them. */
  private readonly unclaimed: { frame: Record<string, unknown>; bytes: number }[] = [];
  private readonly anyReply: ((r: { frame: Record<string, unknown>; bytes: number } | null) => void)[] = [];

  constructor(address: string, path: string, tally: Tally) {
    this.ws = new WebSocket(`ws://${address}${path}`, { maxPayload: LIMITS.frameBytesMax, perMessageDeflate: false });
    tally.connections++;
    this.opened = new Promise((resolve) => {
      this.ws.once('open', () => resolve(true));
      this.ws.once('error', () => resolve(false));
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (d: Buffer) => {
      let frame: Record<string, unknown>;
      try {
        frame = decodeFrame(d) as Record<string, unknown>;
      } catch {
        frame = {};
      }
      const id = typeof frame['id'] === 'number' ? frame['id'] : -1;
      const w = this.waiting.get(id);
      if (w !== undefined) {
        this.waiting.delete(id);
        w(frame);
        return;
      }
      const r = { frame, bytes: d.length };
      const next = this.anyReply.shift();
      if (next !== undefined) next(r);
      else this.unclaimed.push(r);
    });
    this.ws.on('close', (code) => {
      this.closedWith = code;
      for (const w of this.waiting.values()) w(null);
      this.waiting.clear();
      for (const w of this.anyReply.splice(0)) w(null);
    });
  }

  /** The reply to request `id` sent as `bytes`, or null when the connection closed or nothing came within `ms`. */
  request(id: number, bytes: Buffer, ms = 20_000): Promise<Record<string, unknown> | null> {
    return new Promise((resolve) => {
      if (this.ws.readyState !== WebSocket.OPEN) return resolve(null);
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, ms);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.ws.send(bytes);
    });
  }

  /** The next reply not waited for by id (with its size), or null once closed or after `ms`. */
  nextReply(ms = 20_000): Promise<{ frame: Record<string, unknown>; bytes: number } | null> {
    const ready = this.unclaimed.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => {
      if (this.closedWith !== null) return resolve(null);
      const w = (r: { frame: Record<string, unknown>; bytes: number } | null): void => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        const i = this.anyReply.indexOf(w);
        if (i >= 0) this.anyReply.splice(i, 1);
        resolve(null);
      }, ms);
      this.anyReply.push(w);
    });
  }

  /** Resolves with the close code once the node closes the connection, or null after `ms`. */
  async closed(ms: number): Promise<number | null> {
    const deadline = Date.now() + ms;
    while (this.closedWith === null && Date.now() < deadline) await sleep(20);
    return this.closedWith;
  }

  end(tally: Tally): void {
    if (this.closedWith === null && this.ws.readyState !== WebSocket.CLOSED) tally.open++;
    this.ws.terminate();
  }
}

function errorCode(r: Record<string, unknown>): string {
  const e = r['error'] as { code?: string } | undefined;
  return e?.code ?? 'ok';
}

/** Runs `loops` copies of `body` until `stop` (a Date.now() time). */
async function repeat(loops: number, stop: number, body: () => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (Date.now() < stop) await body();
    }),
  );
}

let junk: Junk | null = null;
/** The 60 MB junk frames, made once per attacker process. */
const JUNK_BYTES = 60 * 1024 * 1024;

/** An attack's outcome; `node` when it hit another node than its target's. */
type Attack = (s: AttackSpec, stop: number) => Promise<Omit<AttackOutcome, 'attack' | 'node' | 'ms' | 'expected' | 'statusMaxMs' | 'statusFailures'> & { node?: string }>;

/** The tally as an outcome. */
function outcome(t: Tally, asExpected: boolean, more: string[] = []): Omit<Awaited<ReturnType<Attack>>, 'node'> {
  return { connections: t.connections, closed: t.closed, answered: t.answered, open: t.open, sent: t.sent, detail: t.detail(more), asExpected };
}

const fetchRepeat: Attack = async (s, stop) => {
  const t = new Tally();
  const c = new Conn(s.target.client, '/client', t);
  if (!(await c.opened)) return outcome(t, false, ['could not connect']);
  const partitions = Array.from({ length: LIMITS.fetchPartitionsMax }, () => ({ topic: s.topic, partition: s.partitions[0] ?? 0, offset: 0, maxBytes: LIMITS.fetchBytesMax }));
  let id = 0;
  await repeat(1, stop, async () => {
    id++;
    t.sent++;
    const r = await c.request(id, encodeFrame({ id, type: 'fetch', maxWaitMs: 0, maxBytes: LIMITS.fetchBytesMax, partitions }));
    if (r === null) {
      t.note(c.closedWith !== null ? `closed ${c.closedWith}` : 'no reply');
      if (c.closedWith !== null) {
        t.closed++;
        await sleep(stop - Date.now());
      }
      return;
    }
    t.answered++;
    t.note(errorCode(r));
  });
  c.end(t);
  return outcome(t, t.answered === t.sent && t.closed === 0 && [...t.notes.keys()].every((k) => k === 'INVALID_REQUEST'));
};

const fetchHuge: Attack = async (s, stop) => {
  const t = new Tally();
  const c = new Conn(s.target.client, '/client', t);
  if (!(await c.opened)) return outcome(t, false, ['could not connect']);
  const partitions = s.partitions.map((p) => ({ topic: s.topic, partition: p, offset: 0, maxBytes: LIMITS.fetchBytesMax }));
  let id = 0;
  let largest = 0;
  await repeat(1, stop, async () => {
    id++;
    t.sent++;
    const bytes = encodeFrame({ id, type: 'fetch', maxWaitMs: 0, maxBytes: LIMITS.fetchBytesMax, partitions });
    const next = c.nextReply();
    c.ws.send(bytes);
    const r = await next;
    if (r === null) {
      t.note(c.closedWith !== null ? `closed ${c.closedWith}` : 'no reply');
      if (c.closedWith !== null) {
        t.closed++;
        await sleep(stop - Date.now());
      }
      return;
    }
    t.answered++;
    largest = Math.max(largest, r.bytes);
    t.note(errorCode(r.frame));
  });
  c.end(t);
  // A response holds at most maxBytes of batches, or its first batch alone when that is larger.
  const bound = LIMITS.fetchBytesMax + LIMITS.topicMessageBytesMax + 1024 * 1024;
  return outcome(t, t.answered === t.sent && t.closed === 0 && largest <= bound, [`largest reply ${(largest / 1024 / 1024).toFixed(2)} MiB`]);
};

/** raftlog_slow_clients_closed_total{listener="client"} of the node now. */
async function slowClientsClosed(address: string): Promise<number> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) });
  // (Its labels in any order: the node adds its own id to every metric.)
  const m = /^raftlog_slow_clients_closed_total\{(?=[^}]*listener="client")[^}]*\} ([0-9.eE+-]+)$/m.exec(await res.text());
  return m === null ? 0 : Number(m[1]);
}

/**
 * The topic unread-replies fetches: the workloads' partitions may hold too little for unread
 * replies to fill a connection's budget and the kernel's buffers (a paused socket's receive
 * buffer alone grows to tcp_rmem's most, 32 MiB here), so the attacker writes its own, once:
 * BLOB_RECORDS records of BLOB_RECORD_BYTES on one partition of one replica (the checker sees it
 * only in the replicas' agreement).
 */
export const BLOB_TOPIC = 'hostile-blob';
const BLOB_RECORDS = 12;
const BLOB_RECORD_BYTES = 900 * 1024;
let blob: Promise<string> | null = null;

/** Creates and fills the blob topic (once per attacker process); resolves with its leader's id. */
function blobLeader(nodes: readonly AttackTarget[]): Promise<string> {
  blob ??= (async () => {
    const client = new Client({ brokers: nodes.map((n) => n.client), logger: silentLogger, retry: { retries: 30, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } });
    const admin = client.admin();
    try {
      await admin.createTopics({ topics: [{ topic: BLOB_TOPIC, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 20_000 });
      const producer = client.producer();
      for (let i = 0; i < BLOB_RECORDS; i++) await producer.send({ topic: BLOB_TOPIC, acks: 'all', messages: [{ value: Buffer.alloc(BLOB_RECORD_BYTES, i) }] });
      await producer.disconnect();
      const { topics } = await admin.describeTopics({ topics: [BLOB_TOPIC] });
      const leader = topics[0]?.partitions[0]?.leader;
      if (leader === undefined || leader === null) throw new Error(`${BLOB_TOPIC} has no leader`);
      return leader;
    } finally {
      await admin.disconnect();
    }
  })();
  const p = blob;
  // A failure (the cluster busy) is tried again next time.
  p.catch(() => (blob === p ? (blob = null) : undefined));
  return p;
}

const unreadReplies: Attack = async (s) => {
  const t = new Tally();
  const CONNECTIONS = 3;
  const FETCHES = 200;
  const leader = await blobLeader(s.nodes);
  const target = s.nodes.find((n) => n.node === leader);
  if (target === undefined) return outcome(t, false, [`${BLOB_TOPIC}'s leader ${leader} is not running`]);
  const before = await slowClientsClosed(target.http);
  const started = Date.now();
  const sockets: net.Socket[] = [];
  const fetchBytes = 16 * 1024 * 1024;
  const request = (id: number): Buffer => Buffer.concat(wsFrame(encodeFrame({ id, type: 'fetch', maxWaitMs: 0, maxBytes: fetchBytes, partitions: [{ topic: BLOB_TOPIC, partition: 0, offset: 0, maxBytes: fetchBytes }] })));
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = await connect(target.client).catch(() => null);
    if (socket === null) continue;
    t.connections++;
    socket.on('error', () => undefined);
    try {
      await upgrade(socket, target.client, '/client');
    } catch {
      socket.destroy();
      continue;
    }
    // Never read a reply: the kernel's buffers fill, then the node's.
    socket.pause();
    sockets.push(socket);
    for (let id = 1; id <= FETCHES; id++) {
      t.sent++;
      socket.write(request(id));
    }
  }
  // The node closes a connection whose replies have stalled for CONNECTION_REPLY_STALL_MS; a
  // paused socket does not see its end, so the node's own count says.
  const deadline = started + CONNECTION_REPLY_STALL_MS + 20_000;
  let closed = 0;
  while (Date.now() < deadline) {
    closed = (await slowClientsClosed(target.http).catch(() => before)) - before;
    if (closed >= sockets.length) break;
    await sleep(1000);
  }
  const tookS = ((Date.now() - started) / 1000).toFixed(1);
  t.closed = Math.min(closed, sockets.length);
  t.open = sockets.length - t.closed;
  for (const socket of sockets) socket.destroy();
  return { ...outcome(t, t.closed === sockets.length && sockets.length > 0, [`on ${leader}, which leads ${BLOB_TOPIC}`, `${t.closed} closed for not reading within ${tookS} s`]), node: leader };
};

function junkFlood(kind: JunkFlood): Attack {
  return async (s, stop) => {
    junk ??= junkFrames(JUNK_BYTES);
    const address = kind.startsWith('peer') ? s.target.peer : kind.startsWith('kafka') ? s.target.kafka! : s.target.client;
    const CONNECTIONS = 2;
    const counts: FloodCounts = { frames: 0, connections: 0, closedByNode: 0 };
    await Promise.all(Array.from({ length: CONNECTIONS }, () => flood(kind, address, junk!, stop, counts)));
    const t = new Tally();
    t.connections = counts.connections;
    t.closed = counts.closedByNode;
    t.open = counts.connections - counts.closedByNode;
    t.sent = counts.frames;
    // The connections still being written to when the attack stopped were the attacker's to close.
    return outcome(t, counts.connections > 0 && t.open <= CONNECTIONS, [`${JUNK_BYTES / 1024 / 1024} MB frames`]);
  };
}

const junkFloodClient: Attack = async (s, stop) => {
  const t = new Tally();
  const conns = [new Conn(s.target.client, '/client', t), new Conn(s.target.client, '/client', t)];
  if (!(await Promise.all(conns.map((c) => c.opened))).every(Boolean)) return outcome(t, false, ['could not connect']);
  const random = randomBytes(64 * 1024);
  const zeros = Buffer.alloc(1024 * 1024);
  zeros[0] = 0xdd;
  zeros.writeUInt32BE(zeros.length - 5, 1);
  let i = 0;
  await Promise.all(
    conns.map((c) =>
      repeat(8, stop, async () => {
        const next = c.nextReply();
        t.sent++;
        c.ws.send(i++ % 2 === 0 ? random : zeros);
        const r = await next;
        if (r === null) {
          if (c.closedWith !== null) await sleep(stop - Date.now());
          return;
        }
        t.answered++;
        t.note(errorCode(r.frame));
      }),
    ),
  );
  for (const c of conns) {
    if (c.closedWith !== null) {
      t.closed++;
      t.note(`closed ${c.closedWith}`);
    }
    c.end(t);
  }
  return outcome(t, t.closed === 0 && t.answered > 0 && [...t.notes.keys()].every((k) => k === 'INVALID_REQUEST'));
};

/** Opens /raft, waits for the challenge, sends `frame`, and waits up to `ms` for the node to close. */
async function strangerSends(address: string, frame: Buffer, t: Tally, ms = 10_000): Promise<void> {
  const c = new Conn(address, '/raft', t);
  if (!(await c.opened)) {
    t.note('could not connect');
    return;
  }
  const challenge = await c.nextReply(ms);
  if (challenge === null || challenge.frame['t'] !== 'challenge') t.note('no challenge');
  t.sent++;
  c.ws.send(frame);
  const code = await c.closed(ms);
  if (code !== null) {
    t.closed++;
    t.note(`closed ${code}`);
  }
  c.end(t);
}

const junkFloodPeer: Attack = async (s, stop) => {
  const t = new Tally();
  await repeat(8, stop, () => strangerSends(s.target.peer, randomBytes(2048), t));
  return outcome(t, t.connections > 0 && t.closed === t.connections);
};

const preauthLargePeer: Attack = async (s, stop) => {
  const t = new Tally();
  const large = randomBytes(1024 * 1024);
  await repeat(4, stop, () => strangerSends(s.target.peer, large, t));
  return outcome(t, t.connections > 0 && t.closed === t.connections && [...t.notes.keys()].every((k) => k === 'closed 1009'));
};

/** A raw connection that began a frame it never finishes; resolves with the seconds the node took to close it, or null. */
async function halfFrame(address: string, kind: 'ws' | 'kafka', path: string, claims: number, observeMs: number, t: Tally): Promise<number | null> {
  const socket = await connect(address).catch(() => null);
  if (socket === null) return null;
  t.connections++;
  socket.on('error', () => undefined);
  const started = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve((Date.now() - started) / 1000)));
  socket.on('data', () => undefined);
  try {
    if (kind === 'ws') {
      await upgrade(socket, address, path);
      const { header, mask } = wsHeader(claims);
      t.sent++;
      await writeAll(socket, [header, masked(randomBytes(1024), mask)]);
    } else {
      const size = Buffer.alloc(4);
      size.writeInt32BE(claims);
      t.sent++;
      await writeAll(socket, [size, randomBytes(1024)]);
    }
  } catch {
    // closed at once
  }
  const s = await Promise.race([closed, sleep(observeMs).then(() => null)]);
  if (s === null) t.open++;
  else t.closed++;
  socket.destroy();
  return s;
}

const halfFrames: Attack = async (s) => {
  const t = new Tally();
  // Each waits for the node's own limit to close it, whatever the hold.
  const observeMs = Math.max(FRAME_COMPLETE_MS, KAFKA_FRAME_COMPLETE_MS) + 15_000;
  const MB = 1_000_000;
  const cases: [string, Promise<number | null>][] = [
    ['client 60 MB', halfFrame(s.target.client, 'ws', '/client', 60 * MB, observeMs, t)],
    ['client 10 MB', halfFrame(s.target.client, 'ws', '/client', 10 * MB, observeMs, t)],
    ['peer 60 MB', halfFrame(s.target.peer, 'ws', '/raft', 60 * MB, observeMs, t)],
    ...(s.target.kafka !== undefined ? [['Kafka 60 MB', halfFrame(s.target.kafka, 'kafka', '', 60 * MB, observeMs, t)] as [string, Promise<number | null>]] : []),
  ];
  const times: string[] = [];
  for (const [what, p] of cases) {
    const secs = await p;
    times.push(`${what} ${secs === null ? 'held' : `closed after ${secs.toFixed(1)} s`}`);
  }
  return outcome(t, t.open === 0 && t.connections === cases.length, times);
};

const idleFlood: Attack = async (s, stop) => {
  const t = new Tally();
  const groups: { what: string; address: string; path: string | null; n: number }[] = [
    { what: 'client', address: s.target.client, path: '/client', n: 150 },
    { what: 'peer', address: s.target.peer, path: '/raft', n: 100 },
    { what: 'http', address: s.target.http, path: null, n: 50 },
    ...(s.target.kafka !== undefined ? [{ what: 'Kafka', address: s.target.kafka, path: null, n: 100 }] : []),
  ];
  let lastPeerAt = Date.now();
  const held = await Promise.all(
    groups.map(async (g) => {
      const sockets: { socket: net.Socket; closed: boolean }[] = [];
      for (let i = 0; i < g.n; i++) {
        const socket = await connect(g.address).catch(() => null);
        if (socket === null) continue;
        t.connections++;
        const entry = { socket, closed: false };
        socket.on('error', () => undefined);
        socket.once('close', () => (entry.closed = true));
        sockets.push(entry);
        // Upgraded, then silent: no request, no pong.
        if (g.path !== null) await upgrade(socket, g.address, g.path).catch(() => undefined);
        socket.on('data', () => undefined);
        if (g.what === 'peer') lastPeerAt = Date.now();
      }
      return { g, sockets };
    }),
  );
  await sleep(stop - Date.now());
  // Strangers on /raft have HANDSHAKE_MS to authenticate: past the hold if need be, wait for the last of them.
  const peers = held.find((h) => h.g.what === 'peer')!;
  while (!peers.sockets.every((x) => x.closed) && Date.now() < lastPeerAt + HANDSHAKE_MS + 5000) await sleep(100);
  const byGroup: string[] = [];
  for (const { g, sockets } of held) {
    const closed = sockets.filter((x) => x.closed).length;
    t.closed += closed;
    t.open += sockets.length - closed;
    byGroup.push(`${g.what} ${sockets.length - closed} held, ${closed} closed`);
    for (const x of sockets) x.socket.destroy();
  }
  // The others may stay: their idle limits are longer than a hold.
  return outcome(t, peers.sockets.length > 0 && peers.sockets.every((x) => x.closed), byGroup);
};

const kafkaJunk: Attack = async (s, stop) => {
  if (s.target.kafka === undefined) return outcome(new Tally(), true, ['no Kafka listener']);
  const metadata = await junkFlood('kafka-metadata')(s, Math.min(stop, Date.now() + s.holdMs / 2));
  const t = new Tally();
  t.connections = metadata.connections;
  t.closed = metadata.closed;
  t.open = metadata.open;
  t.sent = metadata.sent;
  await repeat(4, stop, async () => {
    const socket = await connect(s.target.kafka!).catch(() => null);
    if (socket === null) return;
    t.connections++;
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
    const size = Buffer.alloc(4);
    size.writeInt32BE(4096);
    t.sent++;
    await writeAll(socket, [size, randomBytes(4096)]);
    if (await Promise.race([closed, sleep(10_000).then(() => false)])) t.closed++;
    else t.open++;
    socket.destroy();
  });
  return outcome(t, t.connections > 0 && t.open <= 2, ['60 MB Metadata frames of empty names, then 4 KB frames of random bytes']);
};

const ATTACKS: Readonly<Record<HostileAttack, Attack>> = {
  'fetch-repeat': fetchRepeat,
  'fetch-huge': fetchHuge,
  'unread-replies': unreadReplies,
  'junk-60mb-client': junkFlood('client-random'),
  'junk-60mb-peer': junkFlood('peer-random'),
  'junk-flood-client': junkFloodClient,
  'junk-flood-peer': junkFloodPeer,
  'half-frame': halfFrames,
  'idle-flood': idleFlood,
  'preauth-large-peer': preauthLargePeer,
  'kafka-junk': kafkaJunk,
};

/** How often the attacker asks the node under attack for /status. */
const STATUS_POLL_MS = 500;
/** How long one /status may take before it counts as a failure. */
const STATUS_TIMEOUT_MS = 10_000;

/** Runs one attack against its node, polling the node's /status meanwhile (in the attacker process). */
export async function runAttack(s: AttackSpec): Promise<AttackOutcome> {
  const started = Date.now();
  let polling = true;
  let statusMaxMs: number | null = null;
  let statusFailures = 0;
  const poll = (async () => {
    while (polling) {
      const t0 = performance.now();
      try {
        const res = await fetch(`http://${s.target.http}/status`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (!res.ok) statusFailures++;
        statusMaxMs = Math.max(statusMaxMs ?? 0, Math.round(performance.now() - t0));
      } catch {
        statusFailures++;
      }
      await sleep(STATUS_POLL_MS);
    }
  })();
  let result: Awaited<ReturnType<Attack>>;
  try {
    result = await ATTACKS[s.attack](s, started + s.holdMs);
  } catch (err) {
    result = { connections: 0, closed: 0, answered: 0, open: 0, sent: 0, detail: `the attack failed: ${(err as Error).message}`, asExpected: false };
  }
  polling = false;
  await poll;
  return { attack: s.attack, node: s.target.node, ms: Date.now() - started, expected: EXPECTED[s.attack], statusMaxMs, statusFailures, ...result };
}

// -------------------------------------------------------------------------------------------------
// The attacker process, from the chaos run's side

/** The compiled attacker process (hostile-main.ts). */
function attackerModule(): string {
  const file = path.join(repoRoot(), 'dist', 'chaos', 'hostile-main.js');
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (the hostile clients run from the compiled attacker)`);
  return file;
}

/** The attacker process: one attack at a time, each answered with its outcome. */
export class HostileClients {
  private child: ChildProcess | null = null;
  private next = 0;
  private readonly waiting = new Map<number, (o: AttackOutcome) => void>();

  private start(): ChildProcess {
    const child = fork(attackerModule(), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.on('message', (m: { id: number; outcome: AttackOutcome }) => {
      this.waiting.get(m.id)?.(m.outcome);
      this.waiting.delete(m.id);
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      for (const [id, w] of this.waiting) {
        w({ attack: 'fetch-repeat', node: '?', ms: 0, connections: 0, closed: 0, answered: 0, open: 0, sent: 0, detail: `the attacker process exited (${signal ?? code})`, expected: '', asExpected: false, statusMaxMs: null, statusFailures: 0 });
        this.waiting.delete(id);
      }
    });
    return child;
  }

  run(spec: AttackSpec): Promise<AttackOutcome> {
    const child = (this.child ??= this.start());
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, (o) => resolve(o.node === '?' ? { ...o, attack: spec.attack, node: spec.target.node, expected: EXPECTED[spec.attack] } : o));
      child.send({ id, spec });
    });
  }

  close(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
  }
}
