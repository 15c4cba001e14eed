/**
 * The entry point, kafkajs style: `new Client({ brokers })`, then `producer()`, `consumer()` and
 * `admin()`. Each of them has its own connections and metadata cache, closed by its disconnect().
 */
import { systemClock, type Clock } from '../wire/clock.js';
import { Admin } from './admin.js';
import { Cluster, parseBrokers } from './cluster.js';
import { Consumer } from './consumer.js';
import type { ConsumerOptions } from './consumer-types.js';
import { GroupConsumer } from './group-consumer.js';
import type { GroupConsumerOptions } from './group-consumer-types.js';
import { consoleLogger, type Logger } from './logger.js';
import { Producer, type ProducerOptions } from './producer.js';
import { retryOptions, type RetryOptions } from './retry.js';
import { invalidArgument } from './errors.js';
import { userSasl, type SaslMechanism, type SaslOptions } from './sasl.js';
import type { TlsOptions } from './connection.js';

const METADATA_MAX_AGE_MS = 5 * 60 * 1000;

export interface ClientOptions {
  /** Bootstrap nodes, "host:port"; the rest of the cluster is learned from metadata. */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Time to open a WebSocket (default 1000 ms). */
  readonly connectionTimeoutMs?: number;
  /** Time for a request without its own server-side timeout (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** Default retry policy (5 retries, 300 ms initial wait, 30 s longest wait). */
  readonly retry?: Partial<RetryOptions>;
  /** Metadata older than this is refreshed before use, even if nothing said it changed (default 5 minutes, as Kafka's metadata.max.age.ms). */
  readonly metadataMaxAgeMs?: number;
  /** Where the client reports what it does on its own (default: warnings to stderr). */
  readonly logger?: Logger;
  /**
   * Time and timers of what the client schedules itself: linger, retry backoff, heartbeats,
   * auto-commits, metadata age (default the system's). Tests pass one they move by hand.
   */
  readonly clock?: Clock;
  /**
   * Credentials every connection authenticates with before anything else, as kafkajs's `sasl`:
   * `{ mechanism: 'scram-sha-512', username, password }` ('scram-sha-256', and 'plain' too; use
   * that over TLS only).
   * Needed by a cluster started with `--auth sasl`; a wrong password fails calls with
   * SASL_AUTHENTICATION_FAILED.
   */
  readonly sasl?: SaslOptions;
  /**
   * Connect with TLS (wss), to nodes whose client listeners take it (`--tls`): true to trust the
   * system's CAs, or the CA that signed the nodes' certificates (PEM text) and, for nodes that
   * require one (`--tls-client-auth required`), a client certificate and its key.
   */
  readonly tls?: boolean | TlsOptions;
}

export class Client {
  readonly clientId: string;
  private readonly brokers: readonly string[];
  private readonly connectionTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly retry: Required<RetryOptions>;
  private readonly metadataMaxAgeMs: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly sasl: SaslMechanism | undefined;
  private readonly tls: TlsOptions | undefined;

  constructor(opts: ClientOptions) {
    this.brokers = parseBrokers(opts.brokers);
    this.clientId = opts.clientId ?? 'raftlog';
    this.connectionTimeoutMs = opts.connectionTimeoutMs ?? 1000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.retry = retryOptions(opts.retry);
    this.metadataMaxAgeMs = opts.metadataMaxAgeMs ?? METADATA_MAX_AGE_MS;
    if (!Number.isFinite(this.metadataMaxAgeMs) || this.metadataMaxAgeMs <= 0) throw invalidArgument(`metadataMaxAgeMs must be a positive number of milliseconds, not ${String(opts.metadataMaxAgeMs)}`);
    this.logger = opts.logger ?? consoleLogger;
    this.clock = opts.clock ?? systemClock;
    this.sasl = opts.sasl === undefined ? undefined : userSasl(opts.sasl);
    this.tls = tlsOptions(opts.tls);
  }

  producer(opts: ProducerOptions = {}): Producer {
    return new Producer(this.cluster(), opts);
  }

  /** With a groupId, a group consumer (subscribe, run); without, a plain one (assign, run). */
  consumer(opts: GroupConsumerOptions): GroupConsumer;
  consumer(opts?: ConsumerOptions): Consumer;
  consumer(opts: ConsumerOptions | GroupConsumerOptions = {}): Consumer | GroupConsumer {
    if (opts.groupId !== undefined) return new GroupConsumer(this.cluster(), opts, this.clientId);
    return new Consumer(this.cluster(), opts);
  }

  admin(): Admin {
    return new Admin(this.cluster());
  }

  private cluster(): Cluster {
    return new Cluster({
      brokers: this.brokers,
      connectionTimeoutMs: this.connectionTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      retry: this.retry,
      metadataMaxAgeMs: this.metadataMaxAgeMs,
      logger: this.logger,
      clock: this.clock,
      ...(this.sasl !== undefined ? { sasl: this.sasl } : {}),
      ...(this.tls !== undefined ? { tls: this.tls } : {}),
    });
  }
}

/** ClientOptions.tls checked: undefined for none, {} for the system's CAs. */
function tlsOptions(tls: ClientOptions['tls']): TlsOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  if (typeof tls !== 'object' || tls === null) throw invalidArgument(`tls must be true, false or { ca, cert, key }, not ${String(tls)}`);
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw invalidArgument('tls: give a client certificate (cert) and its key (key) together');
  for (const k of ['ca', 'cert', 'key'] as const) {
    const v = tls[k];
    if (v !== undefined && typeof v !== 'string' && !Buffer.isBuffer(v)) throw invalidArgument(`tls.${k} must be PEM text (a string or a Buffer)`);
  }
  return { ...(tls.ca !== undefined ? { ca: tls.ca } : {}), ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key! } : {}) };
}
