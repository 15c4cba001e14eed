/**
 * Options of `node cluster.js`: flags, each of which may also come from an environment variable
 * (RAFTLOG_<NAME>) or a JSON config file (--config), in that order of precedence. The chaos entry
 * point (chaos/node-main.ts) parses the same command(), with two testing options of its own.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Command, Option } from 'commander';
import { LOG_LEVELS, type LogLevel } from '../log.js';
import type { NodeConfig } from './node.js';
import { NODE_DEFAULTS } from './defaults.js';
import { NodeStartError } from '../errors.js';
import { RING_BYTES_MIN } from '../../storage/tail-cache.js';
import { AUTHORIZER_MODES, type AuthorizerMode } from '../auth/node-authorizer.js';
import { userNameProblem } from '../wire/protocol.js';
import { userPrincipal } from '../server/session.js';
import { HTTP_AUTH_METRICS, type HttpAuthMetrics } from '../server/http-auth.js';
import { defaultAuthMode } from './auth-mode.js';
import { parseBootstrapUser, type BootstrapUser } from './bootstrap-user.js';
import { parseListeners, type ListenerOptions } from './listeners.js';

export const EMBEDDED_NODES = 'n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003';
/** The embedded cluster's Kafka listeners, one per node in EMBEDDED_NODES' order: Kafka's well-known port and the two after it. */
export const EMBEDDED_KAFKA: readonly string[] = ['127.0.0.1:9092', '127.0.0.1:9093', '127.0.0.1:9094'];

export interface CliOptions extends ListenerOptions {
  id?: string;
  listen?: string;
  peers?: string;
  join?: string;
  data?: string;
  secret?: string;
  secretFile?: string;
  logLevel: string;
  logFile?: string;
  tickMs: string;
  electionTicks: string;
  heartbeatTicks: string;
  sync: string;
  syncIntervalMs: string;
  config?: string;
  retentionCheckMs: string;
  metaSnapshotEvery: string;
  metaSegmentBytes: string;
  producerIdExpirationMs: string;
  nodeDeadAfterMs: string;
  recoveryBytesPerSec: string;
  kafka?: string;
  autoCreateTopics?: string;
  cacheBytes: string;
  // ACLs (issue 22)
  authorizer?: string;
  // Client authentication (issue 22 §3)
  auth?: string;
  superUsers?: string;
  bootstrapUser?: string;
  bootstrapUserFile?: string;
  // HTTP authentication (issue 23; src/server/http-auth.ts)
  httpAuthMetrics?: string;
}

export function command(): Command {
  return new Command()
    .name('node cluster.js')
    .description(
      'Start a raftlog node. With no options, start the embedded default: a 3-node cluster on 127.0.0.1:7001-7003 with data under ./data/\n' +
        '(it takes only --base-port P for 127.0.0.1:P..P+2, --kafka-base-port K for its Kafka listeners, default 9092 or P+2091, and --data DIR).\n' +
        'Every option can also be set with an environment variable RAFTLOG_<OPTION> (e.g. RAFTLOG_SECRET) or in a JSON file given with --config.',
    )
    .addOption(new Option('--id <id>', "this node's id (default: the id that --peers gives to the --listen address)").env('RAFTLOG_ID'))
    .addOption(new Option('--listen <host:port>', 'address for peers, and for clients and HTTP unless --client-listen and --http-listen give them their own (default: this node\'s address in --peers)').env('RAFTLOG_LISTEN'))
    .addOption(new Option('--peers <list>', 'the nodes that create a new cluster, this one included: id=host:port,... (afterwards the cluster\'s metadata knows its nodes; add more with --join)').env('RAFTLOG_PEERS'))
    .addOption(new Option('--join <list>', 'join a running cluster through any of its nodes: host:port,... (needs --id, --listen and the cluster secret; not with --peers)').env('RAFTLOG_JOIN'))
    .addOption(new Option('--data <dir>', 'data folder (default: ./data/<id>)').env('RAFTLOG_DATA'))
    .addOption(
      new Option('--secret <secret>', `shared cluster secret that peers must present, at least ${SECRET_BYTES_MIN} bytes (make one with \`openssl rand -hex 32\`); prefer --secret-file or RAFTLOG_SECRET, as \`ps\` shows a command line to every user (default: read from or created in <data>/../cluster-secret)`).env(
        'RAFTLOG_SECRET',
      ),
    )
    .addOption(new Option('--secret-file <file>', 'read the cluster secret from this file (its first line; not with --secret)').env('RAFTLOG_SECRET_FILE'))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(NODE_DEFAULTS.logLevel).env('RAFTLOG_LOG_LEVEL'))
    .addOption(new Option('--log-file <file>', 'write logs to this file instead of stderr').env('RAFTLOG_LOG_FILE'))
    .addOption(new Option('--tick-ms <ms>', 'Raft tick length').default(String(NODE_DEFAULTS.tickMs)).env('RAFTLOG_TICK_MS'))
    .addOption(new Option('--election-ticks <n>', 'ticks without a leader before an election (randomized up to twice this)').default(String(NODE_DEFAULTS.electionTicks)).env('RAFTLOG_ELECTION_TICKS'))
    .addOption(new Option('--heartbeat-ticks <n>', 'ticks between leader heartbeats').default(String(NODE_DEFAULTS.heartbeatTicks)).env('RAFTLOG_HEARTBEAT_TICKS'))
    .addOption(
      new Option('--sync <mode>', "'fsync': acknowledge only what a majority has fsynced; 'interval': RELAXED, fsync every --sync-interval-ms (acknowledged writes can be lost if a majority loses power)")
        .choices(['fsync', 'interval'])
        .default(NODE_DEFAULTS.syncMode)
        .env('RAFTLOG_SYNC'),
    )
    .addOption(new Option('--sync-interval-ms <ms>', "fsync period with --sync interval").default(String(NODE_DEFAULTS.syncIntervalMs)).env('RAFTLOG_SYNC_INTERVAL_MS'))
    .addOption(new Option('--config <file>', 'JSON file with any of these options (e.g. {"peers": "...", "secret": "..."})').env('RAFTLOG_CONFIG'))
    .addOption(new Option('--recovery-bytes-per-sec <n>', 'bytes per second this node spends sending partition logs to replicas that catch up by files, all partitions together (0: unlimited)').default(String(NODE_DEFAULTS.recoveryBytesPerSec)).env('RAFTLOG_RECOVERY_BYTES_PER_SEC'))
    .addOption(new Option('--retention-check-ms <ms>', 'how often retention runs over every partition').default(String(NODE_DEFAULTS.retentionCheckMs)).env('RAFTLOG_RETENTION_CHECK_MS'))
    .addOption(new Option('--meta-snapshot-every <n>', 'metadata entries applied between metadata snapshots (the metadata log is compacted after each)').default(String(NODE_DEFAULTS.metaSnapshotEvery)).env('RAFTLOG_META_SNAPSHOT_EVERY'))
    .addOption(new Option('--meta-segment-bytes <n>', 'segment size of the metadata log').default(String(NODE_DEFAULTS.metaSegmentBytes)).env('RAFTLOG_META_SEGMENT_BYTES'))
    .addOption(
      new Option('--producer-id-expiration-ms <ms>', "a producer id with no write for this long is forgotten by each partition (a batch it retries later is taken as new), as Kafka's producer.id.expiration.ms")
        .default(String(NODE_DEFAULTS.producerIdExpirationMs))
        .env('RAFTLOG_PRODUCER_ID_EXPIRATION_MS'),
    )
    .addOption(
      new Option(
        '--node-dead-after-ms <ms>',
        "on the controller: a node it has not had connected for this long is taken for dead and its replicas are moved to other nodes, as CockroachDB's time_until_store_dead (0: never; a node only restarting should not trigger it, so give minutes)",
      )
        .default(String(NODE_DEFAULTS.nodeDeadAfterMs))
        .env('RAFTLOG_NODE_DEAD_AFTER_MS'),
    )
    .addOption(
      new Option('--cache-bytes <n>', 'memory for the tail caches of all partitions on this node together: recent entries kept for followers, consumers at the tail and applying (older reads go to the page cache)')
        .default(String(NODE_DEFAULTS.cacheBytes))
        .env('RAFTLOG_CACHE_BYTES'),
    )
    .addOption(
      new Option('--kafka <host:port>', "serve Kafka's protocol here too (kcat, kafkajs, librdkafka), over the same topics and groups; Kafka clients are told this address (default: off, but on at 9092-9094 in the embedded cluster)").env(
        'RAFTLOG_KAFKA',
      ),
    )
    .addOption(
      new Option(
        '--auto-create-topics [on|off]',
        "a Kafka client's Metadata request naming a topic that does not exist creates it, with the default partitions (1) and replication factor (up to 3), as Kafka's auto.create.topics.enable (default: off, but on in the embedded cluster)",
      )
        .preset('on')
        .env('RAFTLOG_AUTO_CREATE_TOPICS'),
    )
    // ACLs (issue 22): whether requests are checked against the cluster's ACL bindings.
    .addOption(
      new Option('--authorizer <mode>', "'acl': every request is checked against the cluster's ACLs (raftlog acls) and refused unless one allows it (super users bypass them); 'none': no check, everyone may do everything (default: none)")
        .choices(AUTHORIZER_MODES)
        .env('RAFTLOG_AUTHORIZER'),
    )
    // Client authentication (issue 22 §3; src/server/sasl.ts, src/node/auth-mode.ts, src/node/bootstrap-user.ts)
    .addOption(
      new Option('--auth <mode>', "how clients authenticate: 'sasl' (users with SCRAM-SHA-256 or PLAIN; see raftlog users) or 'none' (every client may do everything) (default: none when every client listener is on loopback, as in the embedded cluster; sasl otherwise)")
        .choices(['none', 'sasl'])
        .env('RAFTLOG_AUTH'),
    )
    .addOption(new Option('--super-users <names>', 'users who may do everything whatever the ACLs say, comma-separated (alice,bob or User:alice,User:bob); the bootstrap user is one').env('RAFTLOG_SUPER_USERS'))
    .addOption(
      new Option('--bootstrap-user-file <file>', 'create this user, a super user, while the cluster has no user: a file whose first line is name:password (or set RAFTLOG_BOOTSTRAP_USER=name:password); give every node the same').env(
        'RAFTLOG_BOOTSTRAP_USER_FILE',
      ),
    )
    // Only from the environment or the config file: a password on a command line is shown by `ps`.
    .addOption(new Option('--bootstrap-user <name:password>').env('RAFTLOG_BOOTSTRAP_USER').hideHelp())
    .addOption(
      new Option(
        '--http-auth-metrics <mode>',
        "with --auth sasl, whether GET /metrics needs a user (HTTP Basic, with describe on the cluster): 'required', or 'none' (open, as Redpanda's and a Kafka JMX exporter's; the default). /status and the console always need one under --auth sasl",
      )
        .choices(HTTP_AUTH_METRICS)
        .env('RAFTLOG_HTTP_AUTH_METRICS'),
    )
    // Listeners and TLS (issue 22 §3; src/node/listeners.ts, src/server/tls.ts).
    .addOption(new Option('--client-listen <host:port>', "address for clients (the native protocol's /client), told to clients in metadata and redirects (default: --listen)").env('RAFTLOG_CLIENT_LISTEN'))
    .addOption(new Option('--http-listen <host:port>', 'address for HTTP: /status and /metrics (default: --listen)').env('RAFTLOG_HTTP_LISTEN'))
    .addOption(new Option('--tls-cert <file>', "PEM file of this node's certificate (and any intermediates after it), presented on every TLS listener and to the peers it dials").env('RAFTLOG_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', "PEM file of the certificate's private key (unencrypted; keep it readable by the node's user only)").env('RAFTLOG_TLS_KEY'))
    .addOption(new Option('--tls-ca <file>', "PEM file of the CA that signed every node's certificate: peers verify each other against it (mutual TLS), and client certificates with --tls-client-auth required").env('RAFTLOG_TLS_CA'))
    .addOption(new Option('--tls <listeners>', 'which listeners take TLS only: all, none, or a list of peer, client, http, kafka (default: all once --tls-cert is given)').env('RAFTLOG_TLS'))
    .addOption(new Option('--tls-client-auth <mode>', 'none, or required: the client and Kafka listeners require a client certificate signed by --tls-ca').choices(['none', 'required']).env('RAFTLOG_TLS_CLIENT_AUTH'))
    .showHelpAfterError();
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new NodeStartError(`--${name} must be an integer of at least ${min}, not '${v}'`);
  return n;
}

/**
 * Bytes of a cluster secret, at least. Whoever knows the secret is a peer: it receives every Raft
 * message and may join the cluster. An empty one (an unset $SECRET in a command line) or a short
 * one is refused at start.
 */
export const SECRET_BYTES_MIN = 16;

/** The words a boolean environment variable may be (case aside); anything else is a start error, not true. */
const TRUE_WORDS = ['true', '1', 'yes'];
const FALSE_WORDS = ['false', '0', 'no'];

/** A boolean given as text (an environment variable): true/1/yes or false/0/no, else a NodeStartError naming `name`. */
export function parseBoolean(name: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(t)) return true;
  if (FALSE_WORDS.includes(t)) return false;
  throw new NodeStartError(`${name} must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}, not '${text}'`);
}

/**
 * Commander takes a boolean option's environment variable as true whatever it says
 * (RAFTLOG_CHAOS_ENDPOINTS=false turned the option on): after parsing, each boolean option set
 * from the environment is read again strictly (parseBoolean). Throws a NodeStartError.
 */
export function strictBooleanEnv(cmd: Command, env: Readonly<Record<string, string | undefined>> = process.env): void {
  for (const option of cmd.options) {
    if (!option.isBoolean() || option.envVar === undefined || option.negate) continue;
    const key = option.attributeName();
    if (cmd.getOptionValueSource(key) !== 'env') continue;
    const text = env[option.envVar] ?? '';
    cmd.setOptionValueWithSource(key, parseBoolean(option.envVar, text), 'env');
  }
}

/** A node id: what --peers, --id and a joining node may name. */
export const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** host:port, as --listen, --join and a joining node's address are given. */
export const HOST_PORT = /^[^\s:=,]+:\d{1,5}$/;

function isHostPort(s: string): boolean {
  const port = Number(s.split(':').at(-1));
  return HOST_PORT.test(s) && port >= 1 && port <= 65535;
}

/** --join's addresses: host:port, comma-separated. */
export function parseJoin(list: string): string[] {
  const seeds = list.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const s of seeds) if (!HOST_PORT.test(s) || Number(s.split(':').at(-1)) < 1 || Number(s.split(':').at(-1)) > 65535) throw new NodeStartError(`--join: '${s}' is not host:port`);
  if (seeds.length === 0) throw new NodeStartError('--join names no node: give the address (host:port) of at least one node of the running cluster');
  return seeds;
}

export function parsePeers(list: string): Map<string, string> {
  const nodes = new Map<string, string>();
  for (const part of list.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const m = /^([A-Za-z0-9_.-]{1,64})=([^\s=,]+):(\d{1,5})$/.exec(part);
    if (m === null) throw new NodeStartError(`--peers: '${part}' is not id=host:port (ids are letters, digits, '.', '_', '-')`);
    const port = Number(m[3]);
    if (port < 1 || port > 65535) throw new NodeStartError(`--peers: port ${port} of '${m[1]}' is outside 1..65535`);
    if (nodes.has(m[1]!)) throw new NodeStartError(`--peers lists '${m[1]}' twice`);
    nodes.set(m[1]!, `${m[2]}:${port}`);
  }
  if (nodes.size === 0) throw new NodeStartError('--peers lists no nodes');
  return nodes;
}

/**
 * Where an option's value came from, as commander tells it: 'cli', 'env', 'default', or undefined
 * when it has none.
 */
export type OptionSource = (key: string) => string | undefined;

/** Merges the config file under the flags and the environment: the file sets only what neither gave, even where a flag repeats its default. */
function withConfigFile(o: CliOptions, sourceOf: OptionSource): CliOptions {
  if (o.config === undefined) return o;
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(fs.readFileSync(o.config, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new NodeStartError(`cannot read the config file ${o.config}: ${(err as Error).message}`);
  }
  const merged: Record<string, unknown> = { ...o };
  for (const [k, v] of Object.entries(file)) {
    const source = sourceOf(k);
    if (source === undefined || source === 'default') merged[k] = String(v);
  }
  return merged as unknown as CliOptions;
}

/** Turns parsed flags into a node's configuration, or a NodeStartError saying what is wrong. */
export function toNodeConfig(raw: CliOptions, sourceOf: OptionSource): NodeConfig {
  const o = withConfigFile(raw, sourceOf);
  const join = o.join !== undefined ? parseJoin(o.join) : undefined;
  if (join !== undefined && o.peers !== undefined) {
    throw new NodeStartError('give --peers or --join, not both: --peers lists the nodes that create a new cluster, --join adds this node to a running one through any of its nodes');
  }
  if (join !== undefined && (o.id === undefined || o.listen === undefined)) throw new NodeStartError('--join needs --id (a name for this node, new to the cluster or one it has lost) and --listen (the address the others reach it at)');
  const nodes = join !== undefined ? new Map([[o.id!, o.listen!]]) : parsePeers(o.peers ?? EMBEDDED_NODES);
  let id = o.id;
  if (id === undefined && o.listen !== undefined) id = [...nodes].find(([, a]) => a === o.listen)?.[0];
  if (id === undefined) throw new NodeStartError('say which node this is with --id (one of the ids in --peers)');
  if (!NODE_ID.test(id)) throw new NodeStartError(`--id '${id}' is not a node id: 1 to 64 letters, digits, '.', '_' or '-'`);
  const mine = nodes.get(id);
  if (mine === undefined) throw new NodeStartError(`--id '${id}' is not among --peers (${[...nodes.keys()].join(', ')})`);
  const listen = o.listen ?? mine;
  if (!HOST_PORT.test(listen)) throw new NodeStartError(`--listen '${listen}' is not host:port`);
  const dataDir = path.resolve(o.data ?? path.join('data', id));
  const level = o.logLevel as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new NodeStartError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const tickMs = int('tick-ms', o.tickMs, 1);
  const electionTicks = int('election-ticks', o.electionTicks, 2);
  const heartbeatTicks = int('heartbeat-ticks', o.heartbeatTicks, 1);
  if (heartbeatTicks >= electionTicks) throw new NodeStartError(`--heartbeat-ticks ${heartbeatTicks} must be below --election-ticks ${electionTicks}`);
  if (o.kafka !== undefined && !isHostPort(o.kafka)) throw new NodeStartError(`--kafka '${o.kafka}' is not host:port (a port in 1..65535)`);
  if (o.kafka !== undefined && o.kafka === listen) throw new NodeStartError(`--kafka ${o.kafka} is the --listen address: give the Kafka listener a port of its own`);
  for (const [flag, v] of [['--client-listen', o.clientListen], ['--http-listen', o.httpListen]] as const) if (v !== undefined && !isHostPort(v)) throw new NodeStartError(`${flag} '${v}' is not host:port (a port in 1..65535)`);
  const listeners = parseListeners(o, listen, o.kafka);
  const autoCreateTopics = onOff('auto-create-topics', o.autoCreateTopics);
  if (o.sync !== 'fsync' && o.sync !== 'interval') throw new NodeStartError(`--sync must be 'fsync' or 'interval', not '${o.sync}'`);
  // The listeners clients reach: the native one (--client-listen, or --listen) and Kafka's. Peers prove the cluster secret.
  const auth = authOf(o, sourceOf, [o.clientListen ?? listen, ...(o.kafka !== undefined ? [o.kafka] : [])]);
  return {
    id,
    listen,
    nodes,
    ...(join !== undefined ? { join } : {}),
    dataDir,
    secret: clusterSecretOf(o, sourceOf, dataDir),
    logLevel: level,
    ...(o.logFile !== undefined ? { logFile: o.logFile } : {}),
    tickMs,
    electionTicks,
    heartbeatTicks,
    syncMode: o.sync,
    syncIntervalMs: int('sync-interval-ms', o.syncIntervalMs, 1),
    retentionCheckMs: int('retention-check-ms', o.retentionCheckMs, 100),
    recoveryBytesPerSec: int('recovery-bytes-per-sec', o.recoveryBytesPerSec, 0),
    metaSnapshotEvery: int('meta-snapshot-every', o.metaSnapshotEvery, 10),
    metaSegmentBytes: int('meta-segment-bytes', o.metaSegmentBytes, 4096),
    producerIdExpirationMs: int('producer-id-expiration-ms', o.producerIdExpirationMs, 1000),
    nodeDeadAfterMs: int('node-dead-after-ms', o.nodeDeadAfterMs, 0),
    cacheBytes: int('cache-bytes', o.cacheBytes, RING_BYTES_MIN),
    ...(o.kafka !== undefined ? { kafka: o.kafka } : {}),
    ...(autoCreateTopics ? { autoCreateTopics } : {}),
    authorizer: authorizerOf(o.authorizer, auth.auth),
    ...listeners,
    ...auth,
  };
}

/**
 * The authorizer a node runs when --authorizer is not given, by its authentication mode: a node
 * that knows who asks (`--auth sasl`) checks what they may do (`acl`, as Redpanda does once SASL
 * is on); one whose clients are all ANONYMOUS (`--auth none`) lets them do everything.
 */
export function defaultAuthorizer(auth: 'none' | 'sasl'): AuthorizerMode {
  return auth === 'sasl' ? 'acl' : 'none';
}

/** --authorizer (or its environment variable or config file entry), checked; its default follows --auth. */
function authorizerOf(v: string | undefined, auth: 'none' | 'sasl'): AuthorizerMode {
  if (v === undefined) return defaultAuthorizer(auth);
  if (!(AUTHORIZER_MODES as readonly string[]).includes(v)) throw new NodeStartError(`--authorizer is ${AUTHORIZER_MODES.join(' or ')}, not '${v}'`);
  return v as AuthorizerMode;
}

/** `--auth` (or its default for these client listeners), the super users and the bootstrap user, checked. */
function authOf(o: CliOptions, sourceOf: OptionSource, clientListeners: readonly string[]): Pick<NodeConfig, 'auth' | 'superUsers' | 'bootstrapUser' | 'httpAuthMetrics'> {
  if (o.auth !== undefined && o.auth !== 'none' && o.auth !== 'sasl') throw new NodeStartError(`--auth must be 'none' or 'sasl', not '${o.auth}'`);
  const auth = o.auth ?? defaultAuthMode(clientListeners);
  if (o.bootstrapUser !== undefined && sourceOf('bootstrapUser') === 'cli') {
    throw new NodeStartError('give the bootstrap user in RAFTLOG_BOOTSTRAP_USER or a file (--bootstrap-user-file), not on the command line, where `ps` shows its password to every user of this machine');
  }
  if (o.bootstrapUser !== undefined && o.bootstrapUserFile !== undefined) throw new NodeStartError('give the bootstrap user once: RAFTLOG_BOOTSTRAP_USER or --bootstrap-user-file, not both');
  let bootstrapUser: BootstrapUser | undefined;
  if (o.bootstrapUserFile !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(o.bootstrapUserFile, 'utf8').split(/\r?\n/)[0]!;
    } catch (err) {
      throw new NodeStartError(`cannot read the bootstrap user from ${o.bootstrapUserFile} (--bootstrap-user-file): ${(err as Error).message}`);
    }
    bootstrapUser = parseBootstrapUser(text, `the file ${o.bootstrapUserFile}`);
  } else if (o.bootstrapUser !== undefined) {
    bootstrapUser = parseBootstrapUser(o.bootstrapUser, sourceOf('bootstrapUser') === 'env' ? 'RAFTLOG_BOOTSTRAP_USER' : 'the config file');
  }
  const names = (o.superUsers ?? '').split(',').map((n) => n.trim().replace(/^User:/, '')).filter((n) => n !== '');
  for (const n of names) {
    const problem = userNameProblem(n);
    if (problem !== null) throw new NodeStartError(`--super-users: ${problem}`);
  }
  if (bootstrapUser !== undefined) names.push(bootstrapUser.name);
  const superUsers = [...new Set(names)].map(userPrincipal);
  return { auth, superUsers, ...(bootstrapUser !== undefined ? { bootstrapUser } : {}), ...httpAuthMetricsOf(o.httpAuthMetrics) };
}

/** --http-auth-metrics (or its environment variable or config file entry), checked; absent: none. */
function httpAuthMetricsOf(v: string | undefined): Pick<NodeConfig, 'httpAuthMetrics'> {
  if (v === undefined) return {};
  if (!(HTTP_AUTH_METRICS as readonly string[]).includes(v)) throw new NodeStartError(`--http-auth-metrics is ${HTTP_AUTH_METRICS.join(' or ')}, not '${v}'`);
  return { httpAuthMetrics: v as HttpAuthMetrics };
}

/** A switch given as on/off (or any word parseBoolean takes: an environment variable, a config file's true/false); off when not given. */
function onOff(name: string, v: string | undefined): boolean {
  if (v === undefined) return false;
  const s = v.trim().toLowerCase();
  if (s === 'on' || TRUE_WORDS.includes(s)) return true;
  if (s === 'off' || FALSE_WORDS.includes(s)) return false;
  throw new NodeStartError(`--${name} is on or off, not '${v}' (${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')} are taken too)`);
}

/** The cluster secret the options give (--secret, RAFTLOG_SECRET, the config file, --secret-file, or the folder's), checked: a NodeStartError if it is missing, empty or short. */
function clusterSecretOf(o: CliOptions, sourceOf: OptionSource, dataDir: string): string {
  if (o.secret !== undefined && o.secretFile !== undefined) {
    throw new NodeStartError('give the cluster secret once: --secret (or RAFTLOG_SECRET) or --secret-file (or RAFTLOG_SECRET_FILE), not both');
  }
  let secret: string;
  let from: string;
  if (o.secretFile !== undefined) {
    try {
      secret = fs.readFileSync(o.secretFile, 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (err) {
      throw new NodeStartError(`cannot read the cluster secret from ${o.secretFile} (--secret-file): ${(err as Error).message}`);
    }
    from = `the file ${o.secretFile} (--secret-file)`;
  } else if (o.secret !== undefined) {
    secret = o.secret;
    const source = sourceOf('secret');
    from = source === 'env' ? 'RAFTLOG_SECRET' : source === 'cli' ? '--secret' : 'the config file (--config)';
  } else {
    const parent = path.dirname(dataDir);
    secret = clusterSecret(parent);
    from = `the file ${path.join(parent, 'cluster-secret')}`;
  }
  const bytes = Buffer.byteLength(secret, 'utf8');
  const make = `make one with \`openssl rand -hex 32\` and give it to every node in a file (--secret-file) or in RAFTLOG_SECRET`;
  if (bytes === 0) throw new NodeStartError(`the cluster secret from ${from} is empty (an unset variable?): whoever knows it can act as a peer; ${make}`);
  if (bytes < SECRET_BYTES_MIN) throw new NodeStartError(`the cluster secret from ${from} is ${bytes} bytes, shorter than the ${SECRET_BYTES_MIN} a secret needs; ${make}`);
  return secret;
}

/**
 * The secret shared by nodes started from one folder (the embedded cluster, or nodes given data
 * folders side by side): read from `<parent>/cluster-secret`, created on first use.
 */
export function clusterSecret(parent: string): string {
  const file = path.join(parent, 'cluster-secret');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    try {
      fs.mkdirSync(parent, { recursive: true });
    } catch (err) {
      throw new NodeStartError(`cannot use the folder ${parent} for data: ${(err as Error).message}. Choose another with --data, or give --secret.`);
    }
    const secret = randomBytes(24).toString('hex');
    try {
      fs.writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
      return secret;
    } catch {
      return fs.readFileSync(file, 'utf8').trim();
    }
  }
}
