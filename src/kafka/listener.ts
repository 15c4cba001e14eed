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
 * (dispatch.ts); the node goes on.
 */
import net from 'node:net';
import { NodeStartError } from '../errors.js';
import { budgetEvents } from '../server/client-server.js';
import { DEFAULT_REPLY_LIMITS, ReplyBudget, type ReplyLimits, type Reservation } from '../server/reply-budget.js';
import type { KafkaNode } from './api.js';
import { hostPort } from './brokers.js';
import { answer, type Answer } from './dispatch.js';
import { FrameSizeError, FrameSplitter } from './frames.js';

/** Requests read on one connection and not answered yet, past which it is not read. */
export const KAFKA_IN_FLIGHT_PER_CONNECTION_MAX = 1024;
/** Open connections, past which new ones are refused. */
export const KAFKA_CONNECTIONS_MAX = 10_000;
/** A connection with no traffic for this long is closed (Kafka's connections.max.idle.ms). */
export const KAFKA_IDLE_MS = 10 * 60 * 1000;

export class KafkaListener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly node: KafkaNode,
    private readonly limits: ReplyLimits = DEFAULT_REPLY_LIMITS,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = KAFKA_CONNECTIONS_MAX;
  }

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

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.setTimeout(KAFKA_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    new Connection(this.node, socket, this.limits);
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

  constructor(
    private readonly node: KafkaNode,
    private readonly socket: net.Socket,
    limits: ReplyLimits,
  ) {
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
    socket.on('drain', () => {
      this.pausedForDrain = false;
      this.maybeResume();
    });
    socket.on('close', () => this.budget.close());
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
    answer(this.node, frame, room).then(
      (a) => {
        if (a.kind !== 'close') {
          this.node.metrics.requests.inc({ type: `kafka.${a.api}`, outcome: 'ok' });
          this.node.metrics.requestSeconds.observe({ type: `kafka.${a.api}` }, (performance.now() - t0) / 1000);
        }
        slot.answer = a;
        this.flush();
      },
      (err: unknown) => {
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
    if (!this.pausedForInFlight && !this.pausedForDrain && !this.pausedForReplies) this.socket.resume();
  }

  private close(reason: string): void {
    if (this.socket.destroyed) return;
    this.node.logger.debug({ remote: `${this.socket.remoteAddress}:${this.socket.remotePort}`, reason }, `closing a Kafka connection: ${reason}`);
    this.queue.length = 0;
    this.socket.destroy();
  }
}
