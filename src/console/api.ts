/**
 * The console's JSON API, under `/api/` on the node's HTTP listener; the pages (ui/) call it.
 * Every answer is computed by the client library (src/client/) running in this node over the
 * console's channels (channel.ts): this node's requests go through its own handlers as the HTTP
 * request's session, another node's over a connection to its client listener. So the console
 * routes, retries and follows leaders as every client does, with the admin code the CLI uses.
 *
 *   GET  /api/cluster                  nodes (as `raftlog nodes list`), the controller, moves in progress
 *   GET  /api/topics                   topics, and per partition: leader, replicas and their lag, offsets, bytes
 *   POST /api/topics                   create one: {name, partitions, replicationFactor, config?}
 *   GET  /api/messages?topic&partition&(offset|timestamp)&limit    records of one partition
 *   POST /api/search                   {topic, partition, offset?, key?, value?, maxBytes?}: SEARCH_* budgets
 *   POST /api/produce                  {topic, partition?, key?, value, headers?}
 *   GET  /api/groups                   consumer groups
 *   GET  /api/groups/<id>              members, assignments, committed offsets, lag in records and seconds
 *   POST /api/groups/<id>/reset        {topic, to: 'earliest' | 'latest' | {offset} | {timestamp}} (empty groups only)
 *   GET  /api/samples                  this node's recent counters (samples.ts), for the charts
 *
 * Keys, values and header values travel as base64 (they are bytes); the page shows them as text,
 * JSON or hex. Errors answer `{error: {code, message}}` with a 4xx or 5xx status.
 *
 * Each call runs as the HTTP request's session (src/server/http-auth.ts: under `--auth sasl` the
 * user who logged in, or gave HTTP Basic), through the access table as a native request would
 * (src/server/access.ts): browsing and searching need read on the topic, producing write, creating
 * a topic create, a group's view describe on it and a reset read on it and its topics; the
 * cluster view and the charts need describe on the cluster; the topics view lists the topics the
 * user may describe, with their replicas' state only for a user who may describe the cluster. A
 * refusal answers 403 with its code (TOPIC_, GROUP_ or CLUSTER_AUTHORIZATION_FAILED) and the
 * node's message, which names the principal, the operation and the resource missing.
 */
import type http from 'node:http';
import { Admin } from '../client/admin.js';
import { Cluster, type Channel } from '../client/cluster.js';
import { ClientErrorCode, fromApiError, RaftlogError } from '../client/errors.js';
import { listOffsets } from '../client/list-offsets.js';
import type { Logger as ClientLogger } from '../client/logger.js';
import { Producer } from '../client/producer.js';
import { retryOptions, withRetry } from '../client/retry.js';
import type { ResetTarget } from '../client/group-admin.js';
import { summarize } from '../cli/commands/nodes.js';
import { lagRecords, lagSeconds } from '../groups/lag.js';
import { askEveryNode } from '../cli/commands/status.js';
import { CLUSTER } from '../auth/acl.js';
import { ServerError } from '../errors.js';
import { systemClock } from '../wire/clock.js';
import { records, type DecodedRecord } from '../wire/record-batch/decode.js';
import { ErrorCode, LIMITS, type FetchedPartition, type GroupStatus, type StatusResponse, type TopicConfig } from '../wire/protocol.js';
import { admitWhole, apiError, type HandlerNode } from '../server/handlers.js';
import type { Session } from '../server/session.js';
import type { DialTls } from '../server/tls.js';
import { localChannel, remoteChannel } from './channel.js';
import { SAMPLE_EVERY_MS, type MetricSamples } from './samples.js';

/** Bytes of a JSON request body the API reads (a produced test record and its headers fit). */
export const API_BODY_BYTES_MAX = 2 * 1024 * 1024;
/** Records one browse returns, at most, and by default. */
export const BROWSE_RECORDS_MAX = 500;
export const BROWSE_RECORDS_DEFAULT = 50;
/** Bytes of batches one browse reads from the leader. */
export const BROWSE_BYTES_MAX = 1024 * 1024;
/**
 * A search reads the partition from its start offset toward the high watermark, and stops at the
 * first of: SEARCH_BYTES_MAX bytes of batches read (or less when the request asks), SEARCH_MS_MAX
 * of time, SEARCH_MATCHES_MAX matches. It reads SEARCH_READ_BYTES at a time, one read in flight,
 * and at most SEARCHES_AT_ONCE_MAX searches run on a node at once (more are refused, 503: try again): a
 * search costs the leader what a slow consumer does, however wide its range.
 */
export const SEARCH_BYTES_MAX = 64 * 1024 * 1024;
export const SEARCH_MS_MAX = 5000;
export const SEARCH_MATCHES_MAX = 100;
export const SEARCH_READ_BYTES = 1024 * 1024;
export const SEARCHES_AT_ONCE_MAX = 2;
/** Characters of a search's key or value substring. */
export const SEARCH_TEXT_MAX = 1024;
/** Partitions of a group whose lag in seconds is worked out (one read of the record at the committed offset each). */
export const LAG_SECONDS_PARTITIONS_MAX = 200;
/** How long one of the console's requests may wait for the cluster, and how often it retries a leader change. */
const CONSOLE_REQUEST_MS = 10_000;
const CONSOLE_RETRY = retryOptions({ retries: 8, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 });
/** The console's library cache is per request; this only bounds its age within one. */
const CONSOLE_METADATA_AGE_MS = 60_000;

/** What the API needs of the node: its handlers' view, how to reach another node's client listener, and the secret to act there for a user. */
export interface ConsoleNode extends HandlerNode {
  readonly config: HandlerNode['config'] & { readonly secret: string };
  clientDial(id: string): { readonly address: string; readonly tls?: DialTls } | undefined;
}

/** Bad input to the API: answered 400 with the message. */
function badRequest(message: string): ServerError {
  return new ServerError(ErrorCode.InvalidRequest, message);
}

function clientLogger(node: HandlerNode): ClientLogger {
  return {
    debug: (m, f) => node.logger.debug(f ?? {}, `console: ${m}`),
    info: (m, f) => node.logger.debug(f ?? {}, `console: ${m}`),
    warn: (m, f) => node.logger.info(f ?? {}, `console: ${m}`),
    error: (m, f) => node.logger.warn(f ?? {}, `console: ${m}`),
  };
}

/** The library's view of the cluster for one HTTP request, run as `session`: this node in-process, the others over their client listeners. */
function clusterFor(node: ConsoleNode, session: Session): Cluster {
  const self = node.nodeRef(node.config.id)!.address;
  const channel = (address: string): Channel => {
    if (address === self) return localChannel(node, session);
    const id = node.nodeIds().find((n) => node.nodeRef(n)?.address === address);
    const dial = id === undefined ? undefined : node.clientDial(id);
    return remoteChannel(dial ?? { address }, CONSOLE_REQUEST_MS, session, node.config);
  };
  return new Cluster({
    brokers: [self],
    connectionTimeoutMs: CONSOLE_REQUEST_MS,
    requestTimeoutMs: CONSOLE_REQUEST_MS,
    retry: CONSOLE_RETRY,
    metadataMaxAgeMs: CONSOLE_METADATA_AGE_MS,
    logger: clientLogger(node),
    clock: systemClock,
    channel,
  });
}

async function readBody(req: http.IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > max) throw badRequest(`the request body is over ${max} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/**
 * Whether a POST says its body is of `type` (JSON). Required of every POST: a page of another site can
 * send a form or a text/plain body here without asking, but not one of these types (the browser
 * asks first, with CORS, and the API does not answer yes), so it cannot act as the user.
 */
function hasType(req: http.IncomingMessage, type: string): boolean {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === type;
}

async function jsonBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!hasType(req, 'application/json')) throw badRequest('send the body as application/json');
  const text = (await readBody(req, API_BODY_BYTES_MAX)).toString('utf8');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw badRequest('the request body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('the request body must be a JSON object');
  return v as Record<string, unknown>;
}

function reply(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(value));
}

/** The HTTP status of an expected failure. */
function statusOf(code: string): number {
  switch (code) {
    case ErrorCode.InvalidRequest:
    case ErrorCode.InvalidTopic:
    case ErrorCode.InvalidPartitions:
    case ErrorCode.InvalidReplicationFactor:
    case ErrorCode.OffsetOutOfRange:
    case ErrorCode.RecordTooLarge:
    case ClientErrorCode.InvalidArgument:
      return 400;
    case ErrorCode.UnknownTopicOrPartition:
    case ErrorCode.UnknownGroup:
      return 404;
    case ErrorCode.TopicAlreadyExists:
    case ErrorCode.GroupNotEmpty:
      return 409;
    case ErrorCode.TopicAuthorizationFailed:
    case ErrorCode.GroupAuthorizationFailed:
    case ErrorCode.ClusterAuthorizationFailed:
      return 403;
    case ErrorCode.AuthenticationRequired:
      return 401;
    default:
      return 503;
  }
}

function failed(node: HandlerNode, res: http.ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof RaftlogError) {
    reply(res, statusOf(err.code), { error: { code: err.code, message: err.message } });
    return;
  }
  if (err instanceof ServerError) {
    reply(res, err.code === ErrorCode.InvalidRequest ? 400 : statusOf(err.code), { error: { code: err.code, message: err.message } });
    return;
  }
  const e = apiError(node, err);
  reply(res, 500, { error: e });
}

// ------------------------------------------------------------------------------------------------
// Inputs

function str(o: Record<string, unknown>, k: string, max = 1000): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw badRequest(`'${k}' must be a string of 1 to ${max} characters`);
  return v;
}

function optStr(o: Record<string, unknown>, k: string, max: number): string | undefined {
  const v = o[k];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' || v.length > max) throw badRequest(`'${k}' must be a string of at most ${max} characters`);
  return v;
}

function int(v: unknown, name: string, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw badRequest(`'${name}' must be an integer from ${min} to ${max}`);
  return n;
}

function optInt(v: unknown, name: string, min: number, max: number): number | undefined {
  return v === undefined || v === null || v === '' ? undefined : int(v, name, min, max);
}

const b64 = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));

/** A record as the API returns it. */
function recordJson(r: DecodedRecord): Record<string, unknown> {
  return { offset: r.offset, timestamp: r.timestamp, key: b64(r.key), value: b64(r.value), headers: r.headers.map((h) => ({ key: h.key, value: b64(h.value) })) };
}

// ------------------------------------------------------------------------------------------------
// Reads of one partition, from its leader, through the library's routing

/** One fetch of `topic/partition` at `offset` from its leader, following leader changes. */
async function readOnce(cluster: Cluster, topic: string, partition: number, offset: number, maxBytes: number): Promise<FetchedPartition> {
  await cluster.topic(topic);
  return withRetry(
    async () => {
      const address = cluster.leaderAddress(topic, partition);
      let p: FetchedPartition | undefined;
      try {
        const resp = await cluster.request(address, { type: 'fetch', maxWaitMs: 0, minBytes: 1, maxBytes, partitions: [{ topic, partition, offset, maxBytes }] });
        p = resp.partitions[0];
      } catch (err) {
        if (err instanceof RaftlogError) cluster.notePartitionError(topic, partition, err);
        throw err;
      }
      if (p === undefined) throw new RaftlogError(ClientErrorCode.ProtocolError, `${topic}/${partition}: the leader did not answer for this partition`, { retriable: true });
      if (p.error !== undefined) {
        const e = fromApiError(p.error, { topic, partition, node: address });
        cluster.notePartitionError(topic, partition, e);
        throw e;
      }
      return p;
    },
    cluster.config.retry,
    { clock: cluster.clock, onRetry: () => cluster.refreshIfStale() },
  );
}

/** The records of a fetch's batches at or after `from`. */
function* recordsFrom(p: FetchedPartition, from: number): Generator<DecodedRecord> {
  for (const b of p.batches) for (const r of records(b)) if (r.offset >= from) yield r;
}

async function partitionRange(cluster: Cluster, topic: string, partition: number): Promise<{ low: number; high: number }> {
  // One look-up per spec: listOffsets answers each partition once per call.
  const [[low], [high]] = await Promise.all((['earliest', 'latest'] as const).map((spec) => listOffsets(cluster, [{ topic, partition, spec }])));
  return { low: low!.offset, high: high!.offset };
}

// ------------------------------------------------------------------------------------------------
// Pages

async function clusterView(admin: Admin): Promise<unknown> {
  const { controller, answers } = await askEveryNode(admin);
  const nodes = answers.map((a) =>
    'error' in a
      ? { id: a.id, address: a.address, state: 'unreachable', controller: a.id === controller, error: a.error }
      : { ...summarize(a.id, a.status), address: a.address, state: 'up', controller: a.id === controller },
  );
  const moves = answers.flatMap((a) => ('status' in a && a.status.controller !== undefined ? [a.status.controller] : []))[0] ?? null;
  const transfers = answers.flatMap((a) => ('status' in a ? (a.status.recovery?.transfers ?? []).map((t) => ({ node: a.id, ...t })) : []));
  const stopped = answers.flatMap((a) => ('status' in a ? a.status.groups.filter((g) => g.role === 'stopped').map((g) => ({ node: a.id, group: g.group, error: g.error ?? '' })) : []));
  // Each moving partition's step, as its leader tells it (src/partition/moves.ts).
  const steps: Record<string, string> = {};
  for (const a of answers) if ('status' in a) for (const g of a.status.groups) if (g.role === 'leader' && g.move !== undefined) steps[groupName(g)] = g.move;
  return { controller, nodes, moves, steps, transfers, stopped };
}

/** The name a partition's group goes by in a status answer ('orders/0'). */
const groupName = (g: GroupStatus): string => g.group.split(' ')[0]!;

/**
 * A partition is under-replicated when it has no leader, is stopped on a node, or its leader says so: fewer of its
 * replicas are in sync than it should have (GroupStatus.underReplicated, what raftlog_partition_under_replicated reports).
 * `answers` null: the nodes' status is not the user's to see (describe on the cluster), and the replicas' state is unknown.
 */
function partitionView(topic: string, partition: number, leader: string | null, target: readonly string[], answers: readonly { id: string; status?: StatusResponse }[] | null): Record<string, unknown> {
  if (answers === null) {
    const unknown = { voters: target, learners: [], highWatermark: null, logStartOffset: null, logEndOffset: null, bytes: null, move: null, stopped: [], underReplicated: null };
    return { partition, leader, replicas: target, replicaLag: target.map((id) => ({ id, lag: null, state: 'unknown' })), ...unknown };
  }
  const name = `${topic}/${partition}`;
  const up = new Set(answers.filter((a) => a.status !== undefined).map((a) => a.id));
  let lead: GroupStatus | undefined;
  const stopped: string[] = [];
  for (const a of answers) {
    for (const g of a.status?.groups ?? []) {
      if (groupName(g) !== name) continue;
      if (g.role === 'leader') lead = g;
      if (g.role === 'stopped') stopped.push(a.id);
    }
  }
  const voters = lead?.voters ?? target;
  const replicas = lead === undefined
    ? target.map((id) => ({ id, lag: null as number | null, state: up.has(id) ? 'unknown' : 'down' }))
    : [
        { id: lead.leader ?? '?', lag: 0, state: 'leader' },
        ...lead.replicas.filter((r) => r.id !== lead!.leader).map((r) => ({ id: r.id, lag: Math.max(0, lead!.lastIndex - r.match), state: !up.has(r.id) ? 'down' : `${r.state}${r.learner === true ? ', learner' : ''}` })),
      ];
  // The leader's in-sync view, which raftlog_partition_under_replicated reports (src/partition/in-sync.ts);
  // a leader of an earlier version gives none, and its followers' Raft states decide.
  const underReplicated =
    lead === undefined ||
    stopped.length > 0 ||
    (lead.underReplicated ?? (voters.length < target.length || replicas.some((r) => voters.includes(r.id) && r.state !== 'leader' && (r.state === 'down' || !r.state.startsWith('replicate')))));
  return {
    partition,
    leader,
    replicas: target,
    voters,
    learners: lead?.learners ?? [],
    replicaLag: replicas,
    highWatermark: lead?.highWatermark ?? null,
    logStartOffset: lead?.logStartOffset ?? null,
    logEndOffset: lead?.logEndOffset ?? null,
    bytes: lead?.logBytes ?? null,
    move: lead?.move ?? null,
    stopped,
    underReplicated,
  };
}

/** The topics `admin`'s user may describe; with each replica's state when `withStatus` (the user may describe the cluster). */
async function topicsView(admin: Admin, withStatus: boolean): Promise<unknown> {
  const [{ topics }, statuses] = await Promise.all([
    admin.describeTopics(),
    withStatus ? askEveryNode(admin).then(({ answers }) => answers.map((a) => ({ id: a.id, ...('status' in a ? { status: a.status } : {}) }))) : Promise.resolve(null),
  ]);
  return {
    clusterView: withStatus,
    topics: topics
      .map((t) => ({
        name: t.name,
        replicationFactor: t.replicationFactor,
        config: t.config,
        partitions: t.partitions.map((p) => partitionView(t.name, p.partitionId, p.leader, p.replicas, statuses)),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}

const CONFIG_KEYS: readonly (keyof TopicConfig)[] = ['retentionMs', 'retentionBytes', 'segmentBytes', 'maxMessageBytes'];

async function createTopic(admin: Admin, body: Record<string, unknown>): Promise<unknown> {
  const name = str(body, 'name', 249);
  const partitions = int(body.partitions ?? 1, 'partitions', 1, LIMITS.partitionsPerTopicMax);
  const replicationFactor = int(body.replicationFactor ?? 3, 'replicationFactor', 1, LIMITS.replicationFactorMax);
  const config = typeof body.config === 'object' && body.config !== null ? (body.config as Record<string, unknown>) : {};
  const configEntries = CONFIG_KEYS.flatMap((k) => (config[k] === undefined || config[k] === '' ? [] : [{ name: k, value: String(int(config[k], k, -1, Number.MAX_SAFE_INTEGER)) }]));
  const created = await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor, configEntries }] });
  if (!created) throw new ServerError(ErrorCode.TopicAlreadyExists, `topic '${name}' exists already`);
  return { created: name };
}

async function browse(cluster: Cluster, q: URLSearchParams): Promise<unknown> {
  const topic = q.get('topic') ?? '';
  if (topic === '') throw badRequest("give 'topic'");
  const partition = int(q.get('partition') ?? '0', 'partition', 0, LIMITS.partitionsPerTopicMax - 1);
  const limit = optInt(q.get('limit'), 'limit', 1, BROWSE_RECORDS_MAX) ?? BROWSE_RECORDS_DEFAULT;
  const { low, high } = await partitionRange(cluster, topic, partition);
  let from: number;
  const ts = q.get('timestamp');
  if (ts !== null && ts !== '') {
    const ms = /^\d+$/.test(ts) ? Number(ts) : Date.parse(ts);
    if (!Number.isSafeInteger(ms) || ms < 0) throw badRequest(`'timestamp' must be ms since the epoch or an ISO date and time, not '${ts}'`);
    const [found] = await listOffsets(cluster, [{ topic, partition, spec: { timestamp: ms } }]);
    from = found.offset < 0 ? high : found.offset;
  } else {
    const asked = optInt(q.get('offset'), 'offset', -1, Number.MAX_SAFE_INTEGER);
    // No offset: the last `limit` records.
    from = asked === undefined || asked === -1 ? Math.max(low, high - limit) : asked;
    if (from > high) throw new ServerError(ErrorCode.OffsetOutOfRange, `offset ${from} is past the end of ${topic}/${partition} (its high watermark is ${high})`);
    from = Math.max(from, low);
  }
  const messages: Record<string, unknown>[] = [];
  let at = from;
  while (at < high && messages.length < limit) {
    const p = await readOnce(cluster, topic, partition, at, BROWSE_BYTES_MAX);
    let last = at - 1;
    for (const r of recordsFrom(p, at)) {
      if (messages.length >= limit) break;
      messages.push(recordJson(r));
      last = r.offset;
    }
    if (last < at) break; // nothing more to read (a gap to the high watermark, or control batches only)
    at = last + 1;
  }
  return { topic, partition, from, logStartOffset: low, highWatermark: high, messages };
}

/** Searches running on this node (at most SEARCHES_AT_ONCE_MAX). */
interface SearchSlots {
  running: number;
}

async function search(cluster: Cluster, body: Record<string, unknown>, slots: SearchSlots): Promise<unknown> {
  const topic = str(body, 'topic', 249);
  const partition = int(body.partition ?? 0, 'partition', 0, LIMITS.partitionsPerTopicMax - 1);
  const key = optStr(body, 'key', SEARCH_TEXT_MAX);
  const value = optStr(body, 'value', SEARCH_TEXT_MAX);
  if (key === undefined && value === undefined) throw badRequest("give 'key' or 'value' (a substring to look for)");
  const maxBytes = optInt(body.maxBytes, 'maxBytes', 1, SEARCH_BYTES_MAX) ?? SEARCH_BYTES_MAX;
  if (slots.running >= SEARCHES_AT_ONCE_MAX) throw new ServerError(ErrorCode.RequestTimedOut, `${SEARCHES_AT_ONCE_MAX} searches run on this node already; try again when one ends`);
  slots.running++;
  try {
    const started = Date.now();
    const { low, high } = await partitionRange(cluster, topic, partition);
    const from = Math.min(high, Math.max(low, optInt(body.offset, 'offset', 0, Number.MAX_SAFE_INTEGER) ?? low));
    const k = key === undefined ? null : Buffer.from(key, 'utf8');
    const v = value === undefined ? null : Buffer.from(value, 'utf8');
    const has = (b: Uint8Array | null, s: Buffer | null): boolean => s === null || (b !== null && Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes(s));
    const matches: Record<string, unknown>[] = [];
    let at = from;
    let bytes = 0;
    let scanned = 0;
    let stoppedBy: 'end' | 'bytes' | 'time' | 'matches' = 'end';
    while (at < high) {
      if (bytes >= maxBytes) {
        stoppedBy = 'bytes';
        break;
      }
      if (Date.now() - started >= SEARCH_MS_MAX) {
        stoppedBy = 'time';
        break;
      }
      if (matches.length >= SEARCH_MATCHES_MAX) {
        stoppedBy = 'matches';
        break;
      }
      const p = await readOnce(cluster, topic, partition, at, Math.min(SEARCH_READ_BYTES, maxBytes - bytes));
      for (const b of p.batches) bytes += b.byteLength;
      let last = at - 1;
      for (const r of recordsFrom(p, at)) {
        last = r.offset;
        if (r.offset >= high) break;
        scanned++;
        if (has(r.key, k) && has(r.value, v) && matches.length < SEARCH_MATCHES_MAX) matches.push(recordJson(r));
      }
      if (last < at) break;
      at = last + 1;
    }
    return {
      topic,
      partition,
      from,
      to: Math.min(at, high),
      highWatermark: high,
      scannedRecords: scanned,
      scannedBytes: bytes,
      ms: Date.now() - started,
      stoppedBy,
      limits: { bytes: maxBytes, ms: SEARCH_MS_MAX, matches: SEARCH_MATCHES_MAX },
      matches,
    };
  } finally {
    slots.running--;
  }
}

async function produce(cluster: Cluster, body: Record<string, unknown>): Promise<unknown> {
  const topic = str(body, 'topic', 249);
  const partition = optInt(body.partition, 'partition', 0, LIMITS.partitionsPerTopicMax - 1);
  const key = optStr(body, 'key', API_BODY_BYTES_MAX);
  const value = body.value === null ? null : typeof body.value === 'string' ? body.value : (() => { throw badRequest("'value' must be a string or null"); })();
  const headers: Record<string, string> = {};
  if (body.headers !== undefined && body.headers !== null) {
    if (typeof body.headers !== 'object' || Array.isArray(body.headers)) throw badRequest("'headers' must be an object of strings");
    for (const [hk, hv] of Object.entries(body.headers as Record<string, unknown>)) {
      if (typeof hv !== 'string') throw badRequest(`header '${hk}' must be a string`);
      headers[hk] = hv;
    }
  }
  // Not idempotent: one record, sent once, needs no producer id of its own.
  const producer = new Producer(cluster, { idempotent: false, lingerMs: 0 });
  try {
    const [m] = await producer.send({ topic, messages: [{ key: key ?? null, value, headers, ...(partition !== undefined ? { partition } : {}) }] });
    return { topic, partition: m.partition, offset: Number(m.offset) };
  } finally {
    await producer.disconnect();
  }
}

async function groupsList(admin: Admin): Promise<unknown> {
  const { groups } = await admin.listGroups();
  return { groups: [...groups].sort((a, b) => a.groupId.localeCompare(b.groupId)) };
}

async function groupView(admin: Admin, cluster: Cluster, groupId: string): Promise<unknown> {
  const [d] = (await admin.describeGroups([groupId])).groups;
  if (d.error !== null) throw new ServerError(ErrorCode.UnknownGroup, `group '${groupId}' does not exist`);
  const committed = await admin.fetchOffsets({ groupId });
  const owner = new Map<string, string>();
  for (const m of d.members) for (const l of m.assignment ?? []) for (const p of l.partitions) owner.set(`${l.topic}/${p}`, m.memberId);
  const topics = [...new Set([...committed.map((c) => c.topic), ...d.members.flatMap((m) => (m.assignment ?? []).map((l) => l.topic))])].sort();
  const rows: { topic: string; partition: number; committed: number | null; highWatermark: number | null; lag: number | null; lagSeconds: number | null; member: string | null }[] = [];
  const problems: string[] = [];
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic).catch((err: unknown) => {
      problems.push(`${topic}: high watermarks unavailable: ${err instanceof Error ? err.message : String(err)}`);
      return [];
    });
    const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
    const partitions = [...new Set([...offsets.map((o) => o.partition), ...done.map((c) => c.partition)])].sort((a, b) => a - b);
    for (const p of partitions) {
      const c = done.find((x) => x.partition === p)?.offset ?? '-1';
      const hw = offsets.find((o) => o.partition === p)?.high;
      const lag = c !== '-1' && hw !== undefined ? lagRecords(Number(c), Number(hw)) : null;
      rows.push({ topic, partition: p, committed: c === '-1' ? null : Number(c), highWatermark: hw === undefined ? null : Number(hw), lag, lagSeconds: lag === null ? null : lagSeconds(lag, null, 0), member: owner.get(`${topic}/${p}`) ?? null });
    }
  }
  // Lag in seconds (src/groups/lag.ts, as /metrics gives it): how old the first record not yet consumed is.
  const now = Date.now();
  await Promise.all(
    rows
      .filter((r) => r.lag !== null && r.lag > 0)
      .slice(0, LAG_SECONDS_PARTITIONS_MAX)
      .map(async (r) => {
        try {
          const p = await readOnce(cluster, r.topic, r.partition, r.committed!, 1);
          const first = recordsFrom(p, r.committed!).next();
          if (first.done !== true) r.lagSeconds = lagSeconds(r.lag!, first.value.timestamp, now);
        } catch {
          // lag in seconds is left unknown
        }
      }),
  );
  return {
    group: {
      groupId: d.groupId,
      state: d.state,
      generation: d.generation,
      protocol: d.protocol,
      leader: d.leader,
      members: d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, assignment: m.assignment })),
    },
    partitions: rows,
    totalLag: rows.reduce((s, r) => s + (r.lag ?? 0), 0),
    problems,
  };
}

function resetTarget(v: unknown): ResetTarget {
  if (v === 'earliest' || v === 'latest') return v;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (o.offset !== undefined) return { offset: String(int(o.offset, 'to.offset', 0, Number.MAX_SAFE_INTEGER)) };
    if (o.timestamp !== undefined) {
      const ms = typeof o.timestamp === 'string' && !/^\d+$/.test(o.timestamp) ? Date.parse(o.timestamp) : Number(o.timestamp);
      if (!Number.isSafeInteger(ms) || ms < 0) throw badRequest("'to.timestamp' must be ms since the epoch or an ISO date and time");
      return { timestamp: ms };
    }
  }
  throw badRequest("'to' must be 'earliest', 'latest', {offset: N} or {timestamp: ms}");
}

async function resetGroup(admin: Admin, groupId: string, body: Record<string, unknown>): Promise<unknown> {
  const topic = str(body, 'topic', 249);
  const to = resetTarget(body.to);
  const offsets = await admin.resetOffsets({ groupId, topic, to });
  return { groupId, topic, offsets };
}

// ------------------------------------------------------------------------------------------------

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badRequest(`'${s.slice(0, 100)}' is not a URL-encoded group id`);
  }
}

/** Answers every path under /api/. */
export function apiRoute(node: ConsoleNode, samples: MetricSamples): (req: http.IncomingMessage, res: http.ServerResponse, session: Session) => Promise<void> {
  const slots: SearchSlots = { running: 0 };
  // The views of the whole cluster need what the native status request needs (describe on the cluster).
  const mayDescribeCluster = (session: Session): boolean => !node.authorizer.enforcing || node.authorizer.check(session, 'describe', CLUSTER).allowed;
  return async (req, res, session) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path === '/api/samples') {
      try {
        admitWhole(node, { type: 'status' }, session);
      } catch (err) {
        failed(node, res, err);
        return;
      }
      reply(res, 200, { node: node.config.id, everyMs: SAMPLE_EVERY_MS, samples: samples.samples() });
      return;
    }
    const cluster = clusterFor(node, session);
    const admin = new Admin(cluster);
    try {
      const group = /^\/api\/groups\/([^/]+)(\/reset)?$/.exec(path);
      const groupId = group === null ? '' : decodeSegment(group[1]!);
      let answer: unknown;
      if (path === '/api/cluster' && method === 'GET') {
        admitWhole(node, { type: 'status' }, session);
        answer = await clusterView(admin);
      } else if (path === '/api/topics' && method === 'GET') answer = await topicsView(admin, mayDescribeCluster(session));
      else if (path === '/api/topics' && method === 'POST') answer = await createTopic(admin, await jsonBody(req));
      else if (path === '/api/messages' && method === 'GET') answer = await browse(cluster, url.searchParams);
      else if (path === '/api/search' && method === 'POST') answer = await search(cluster, await jsonBody(req), slots);
      else if (path === '/api/produce' && method === 'POST') answer = await produce(cluster, await jsonBody(req));
      else if (path === '/api/groups' && method === 'GET') answer = await groupsList(admin);
      else if (group !== null && group[2] === undefined && method === 'GET') answer = await groupView(admin, cluster, groupId);
      else if (group !== null && group[2] !== undefined && method === 'POST') answer = await resetGroup(admin, groupId, await jsonBody(req));
      else {
        reply(res, 404, { error: { code: 'NOT_FOUND', message: `no ${method} ${path} here (see src/console/api.ts)` } });
        return;
      }
      reply(res, 200, answer);
    } catch (err) {
      failed(node, res, err);
    } finally {
      cluster.close();
    }
  };
}
