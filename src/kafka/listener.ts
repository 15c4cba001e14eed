/**
 * The Kafka listener (`--kafka host:port`): a TCP server speaking Kafka's protocol to Kafka's own
 * clients (kafkajs, librdkafka and kcat), beside the node's native listener and over the same
 * partitions, groups and metadata (kafka/apis/ has one file per API or API family).
 *
 * Per connection, requests are read as they come and served concurrently, and their responses
 * are written in request order, as Kafka's protocol requires (a long-polling fetch holds back the
 * responses behind it, as on a Kafka broker). A produce with acks=0 has no response. Past
 * KAFKA_IN_FLIGHT_PER_CONNECTION_MAX requests waiting for an answer, or while the client is not
 * reading its responses, the connection is not read. What its responses hold of the node's memory
 * (written or waiting their turn) is bounded by a ReplyBudget (src/server/reply-budget.ts): a
 * Fetch waits for room for its max_bytes, and a client that leaves its responses unread for
 * CONNECTION_REPLY_STALL_MS is disconnected. Bad input ends only its connection: a frame
 * size out of bounds (frames.ts), an unknown api key or version, a request that does not parse
 * (dispatch.ts), a request that holds too much to read (codec/reader.ts KAFKA_REQUEST_ITEMS_MAX), a
 * frame begun and not whole within KAFKA_FRAME_COMPLETE_MS; the node goes on.
 *
 * With TLS (`--tls` naming kafka, src/server/tls.ts), the listener speaks Kafka's SSL security
 * protocol: TLS from the first byte, presenting the node's certificate (and with
 * `--tls-client-auth required`, requiring a client certificate signed by the CA). A client that
 * speaks plaintext to it is logged and closed (Kafka's protocol has no way to tell it why).
 *
 * A Produce or Fetch that puts its principal over a quota (src/server/quotas.ts) is answered whole
 * with its throttle_time_ms, and the connection is then not read for that long, as a Kafka broker
 * mutes the channel (KIP-219). For every version served: clients at versions before KIP-219
 * (Produce v6, Fetch v8) do not wait by themselves, but their next request is not read.
 *
 * No smaller frame limit applies before a connection's first request, as a peer connection has
 * before it authenticates (src/wire/ws-guard.ts): a first request proves nothing, so one
 * ApiVersions would lift any such limit for whoever sends it.
 *
 * Authentication (src/server/sasl.ts, apis/sasl.ts): SASL requests, and under `--auth sasl`
 * every request before the connection has authenticated, are served one after the other, and the
 * requests behind them wait (AuthOrder): a request pipelined after SaslAuthenticate runs as the
 * user it proved.
 */
import net from 'node:net';
import tls from 'node:tls';
import { NodeStartError } from '../errors.js';
import { clientCertProblem, serverOptions, tlsOrPlaintext, type TlsPem } from '../server/tls.js';
import { Mute, budgetEvents } from '../server/client-server.js';
import { DEFAULT_REPLY_LIMITS, ReplyBudget, type ReplyLimits, type Reservation } from '../server/reply-budget.js';
import { newSession, type Session } from '../server/session.js';
import { AuthOrder, PRE_AUTH_FRAME_BYTES_MAX, frameBytesMaxFor, gatesOthers } from '../server/sasl.js';
import { KAFKA_APIS } from './apis/index.js';
import { SASL_AUTHENTICATE_KEY, SASL_HANDSHAKE_KEY } from './apis/sasl.js';
import type { KafkaNode } from './api.js';
import { hostPort } from './brokers.js';
import { answer, type Answer } from './dispatch.js';
import { FrameSizeError, FrameSplitter, KAFKA_REQUEST_BYTES_MAX } from './frames.js';

/** Requests read on one connection and not answered yet, past which it is not read. */
export const KAFKA_IN_FLIGHT_PER_CONNECTION_MAX = 1024;
/** Open connections, past which new ones are refused. */
export const KAFKA_CONNECTIONS_MAX = 10_000;
/** A connection with no traffic for this long is closed (Kafka's connections.max.idle.ms). */
export const KAFKA_IDLE_MS = 10 * 60 * 1000;
/**
 * A request frame begun (its size or any of its bytes in) must be whole within this long, as on
 * the node's own listener (src/wire/ws-guard.ts FRAME_COMPLETE_MS): Kafka's clients give up on a
 * request after request.timeout.ms, 30 s by default. A client that declared 60 MB and sent 1 KB
 * was held, with its buffer, for KAFKA_IDLE_MS. Time the listener itself stops reading the
 * connection does not count.
 */
export const KAFKA_FRAME_COMPLETE_MS = 30_000;

export interface KafkaListenerOptions {
  /** KAFKA_FRAME_COMPLETE_MS and KAFKA_IDLE_MS unless given. */
  readonly frameCompleteMs?: number;
  readonly idleMs?: number;
  /** Kafka's SSL: TLS only, presenting `pem`; `clientAuth`: a CA-signed client certificate is required. */
  readonly tls?: { readonly pem: TlsPem; readonly clientAuth: boolean };
}

export class KafkaListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly node: KafkaNode,
    private readonly limits: ReplyLimits = DEFAULT_REPLY_LIMITS,
    private readonly o: KafkaListenerOptions = {},
  ) {
    const t = o.tls;
    if (t === undefined) this.server = net.createServer((socket) => this.accept(socket));
    else {
      const secure = tls.createServer(serverOptions(t.pem, t.clientAuth), (socket) => {
        const why = t.clientAuth ? clientCertProblem(socket) : null;
        if (why === null) return this.accept(socket);
        node.logger.info({ remote: `${socket.remoteAddress}:${socket.remotePort}`, why }, `refused a connection to the Kafka listener from ${socket.remoteAddress}:${socket.remotePort}: ${why} (--tls-client-auth required)`);
        socket.destroy();
      });
      secure.on('tlsClientError', (err, socket) => node.logger.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, `refused a TLS connection to the Kafka listener: ${err.message}`));
      this.server = tlsOrPlaintext(
        (socket) => secure.emit('connection', socket),
        (socket) => {
          node.logger.info({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, `refused a plaintext connection from ${socket.remoteAddress}:${socket.remotePort} to the Kafka listener, which takes SSL only (a Kafka client needs security.protocol=SSL)`);
          socket.destroy();
        },
      );
      this.server.on('connection', (socket: net.Socket) => {
        this.pending.add(socket);
        socket.once('close', () => this.pending.delete(socket));
      });
    }
    this.server.maxConnections = KAFKA_CONNECTIONS_MAX;
  }

  /** With TLS, the TCP connections under the TLS ones (closed with the listener, handshake done or not). */
  private readonly pending = new Set<net.Socket>();

  listen(address: string): Promise<void> {
    const { host, port } = hostPort(address);
    return new Promise((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new NodeStartError(`${address} is already in use (another node or a Kafka broker listens there); choose another --kafka address or stop that process`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new NodeStartError(`${host} is not an address of this machine; check --kafka`));
        else reject(new NodeStartError(`cannot listen for Kafka clients on ${address}: ${err.message}`));
      });
      this.server.listen(port, host, () => {
        this.server.on('error', (err) => this.node.logger.error({ err: err.message }, `the Kafka listener failed: ${err.message}`));
        resolve();
      });
    });
  }

  /** The port it listens on (the one asked for, or the one the system chose for port 0). */
  port(): number {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : -1;
  }

  /** Kafka connections open now (TLS ones once their handshake is done). */
  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const s of this.pending) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(this.o.idleMs ?? KAFKA_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    new Connection(this.node, socket, this.limits, this.o.frameCompleteMs ?? KAFKA_FRAME_COMPLETE_MS);
  }
}

/** A request's place in the connection's order: its answer once ready, and the room reserved for it. */
interface Slot {
  answer: Answer | null;
  room: Reservation | null;
}

/** One client connection: its frames in, its responses out in request order. */
class Connection {
  private readonly frames = new FrameSplitter();
  /** Answers not written yet, oldest first. */
  private readonly queue: Slot[] = [];
  private readonly budget: ReplyBudget;
  private pausedForInFlight = false;
  private pausedForDrain = false;
  private pausedForReplies = false;
  /** On while a quota throttles the connection's principal (src/server/quotas.ts): it is not read. */
  private readonly muted = new Mute(() => {
    if (this.muted.on) this.socket.pause();
    else this.maybeResume();
  });
  /** Runs while a frame is incomplete (frameCompleteMs). */
  private frameTimer: NodeJS.Timeout | null = null;
  /** Who this connection's requests run as (src/server/session.ts). */
  private readonly session: Session;
  private readonly order = new AuthOrder();

  constructor(
    private readonly node: KafkaNode,
    private readonly socket: net.Socket,
    limits: ReplyLimits,
    private readonly frameCompleteMs: number,
  ) {
    this.session = newSession('kafka', `${socket.remoteAddress}:${socket.remotePort}`);
    this.session.mute = (ms) => this.muted.for(ms);
    // Under --auth sasl, frames stay small until the connection has authenticated (src/server/sasl.ts).
    this.frames.bytesMax = frameBytesMaxFor(node.sasl, this.session, KAFKA_REQUEST_BYTES_MAX);
    if (this.frames.bytesMax < KAFKA_REQUEST_BYTES_MAX) this.frames.overWhy = ` before the connection has authenticated (--auth sasl; ${PRE_AUTH_FRAME_BYTES_MAX} bytes until then)`;
    this.session.onAuthenticated = () => {
      this.frames.bytesMax = KAFKA_REQUEST_BYTES_MAX;
      this.frames.overWhy = '';
    };
    this.budget = new ReplyBudget(
      limits,
      budgetEvents(node, 'kafka', limits, {
        pressure: (over) => {
          this.pausedForReplies = over;
          if (over) this.socket.pause();
          else this.maybeResume();
        },
        close: () => this.close('the client has not read its responses'),
      }),
    );
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.stopFrameTimer());
    socket.on('drain', () => {
      this.pausedForDrain = false;
      this.maybeResume();
    });
    socket.on('close', () => this.budget.close());
    socket.on('close', () => this.muted.close());
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameSizeError)) throw err;
      this.close(err.message);
      return;
    }
    for (const frame of frames) this.serve(frame);
    // Each frame has its own time: one completed stops the wait, and the next one begun starts it again.
    if (frames.length > 0 || this.frames.pending === 0) this.stopFrameTimer();
    if (this.frames.pending > 0 && this.frameTimer === null) this.startFrameTimer();
  }

  private startFrameTimer(): void {
    this.frameTimer = setTimeout(() => {
      this.frameTimer = null;
      // Not read by choice (too much in flight, responses not read): the frame cannot arrive meanwhile.
      if (this.socket.isPaused()) return this.startFrameTimer();
      this.close(`a request frame begun ${this.frameCompleteMs} ms ago is not complete`);
    }, this.frameCompleteMs);
    this.frameTimer.unref();
  }

  private stopFrameTimer(): void {
    if (this.frameTimer !== null) clearTimeout(this.frameTimer);
    this.frameTimer = null;
  }

  private serve(frame: Buffer): void {
    const slot: Slot = { answer: null, room: null };
    this.queue.push(slot);
    if (this.queue.length >= KAFKA_IN_FLIGHT_PER_CONNECTION_MAX && !this.pausedForInFlight) {
      this.pausedForInFlight = true;
      this.socket.pause();
    }
    const t0 = performance.now();
    // The room stays reserved until the response is written: one waiting its turn holds memory too.
    const room = async (bytes: number): Promise<boolean> => {
      slot.room = await this.budget.reserve(bytes);
      return slot.room !== null;
    };
    // The api key, first in the header (a frame too short for one gets its 'close' from answer()).
    const apiKey = frame.length >= 2 ? frame.readInt16BE(0) : -1;
    const gating = gatesOthers(this.node.sasl, this.session, apiKey === SASL_HANDSHAKE_KEY || apiKey === SASL_AUTHENTICATE_KEY);
    // Counted by api name as `kafka.<Api>` (kafka.invalid before the api is known): outcome ok
    // when answered (its errors, per topic or partition, are in the response), closed when the
    // request ended the connection (not served, or not parsed), error for a failure of the node.
    const count = (api: string | undefined, outcome: 'ok' | 'closed' | 'error'): void => {
      const type = `kafka.${api ?? 'invalid'}`;
      this.node.metrics.requests.inc({ type, outcome });
      this.node.metrics.requestSeconds.observe({ type }, (performance.now() - t0) / 1000);
    };
    this.order.run(gating, () => answer(this.node, this.session, frame, room)).then(
      (a) => {
        count(a.api, a.kind === 'close' ? 'closed' : 'ok');
        slot.answer = a;
        this.flush();
      },
      (err: unknown) => {
        count(KAFKA_APIS.get(apiKey)?.name, 'error');
        this.node.logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'a Kafka request failed unexpectedly; closing its connection');
        slot.answer = { kind: 'close', reason: 'the node failed to handle the request (see its log)' };
        this.flush();
      },
    );
  }

  private flush(): void {
    while (this.queue.length > 0 && this.queue[0]!.answer !== null) {
      const slot = this.queue.shift()!;
      const a = slot.answer!;
      if (a.kind === 'close') {
        slot.room?.release();
        this.close(a.reason);
        return;
      }
      if (a.kind === 'reply' && !this.socket.destroyed) {
        let n = 0;
        for (const c of a.chunks) n += c.byteLength;
        const written = (slot.room ?? this.budget).handed(n);
        this.socket.cork();
        let ok = true;
        a.chunks.forEach((c, i) => {
          ok = i === a.chunks.length - 1 ? this.socket.write(c, () => written()) : this.socket.write(c);
        });
        this.socket.uncork();
        if (a.closeAfter !== undefined) {
          slot.room?.release();
          this.node.logger.warn({ remote: this.session.remote }, `closing the Kafka connection from ${this.session.remote}: ${a.closeAfter}`);
          this.queue.length = 0;
          this.stopFrameTimer();
          // After the answer that says why.
          this.socket.end();
          return;
        }
        if (!ok && !this.pausedForDrain) {
          this.pausedForDrain = true;
          this.socket.pause();
        }
      }
      slot.room?.release();
    }
    if (this.pausedForInFlight && this.queue.length < KAFKA_IN_FLIGHT_PER_CONNECTION_MAX / 2) {
      this.pausedForInFlight = false;
      this.maybeResume();
    }
  }

  private maybeResume(): void {
    if (!this.pausedForInFlight && !this.pausedForDrain && !this.pausedForReplies && !this.muted.on) this.socket.resume();
  }

  private close(reason: string): void {
    if (this.socket.destroyed) return;
    this.node.logger.debug({ remote: `${this.socket.remoteAddress}:${this.socket.remotePort}`, reason }, `closing a Kafka connection: ${reason}`);
    this.queue.length = 0;
    this.stopFrameTimer();
    this.socket.destroy();
  }
}
