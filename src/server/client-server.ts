/**
 * Client connections on `/client`: one msgpack request per binary WebSocket frame, answered by
 * id (see src/wire/protocol.ts). Requests on one connection run concurrently; past
 * IN_FLIGHT_PER_CONNECTION_MAX the connection stops being read until some finish. What its replies
 * hold of the node's memory is bounded by a ReplyBudget (reply-budget.ts): a request waits for room
 * for the most its reply may hold (reply-bounds.ts: a fetch's `maxBytes`, a metadata reply's
 * topics...), the connection is not read while its replies fill the budget, and a client
 * that leaves them unread for CONNECTION_REPLY_STALL_MS is disconnected (no close frame: it would
 * wait behind the replies the client does not read).
 *
 * While a connection authenticates, its requests wait for its SASL requests (sasl.ts AuthOrder);
 * after SASL_FAILURES_PER_CONNECTION_MAX failed authentications it is closed (1008).
 *
 * Bad input never reaches a handler: a frame that is not binary, not msgpack, or not a valid
 * request gets an error reply (INVALID_REQUEST / UNSUPPORTED_REQUEST, with the request id when it
 * can be read, else -1); a frame over the size limit closes the connection (1009).
 *
 * A reply that puts its principal over a quota (quotas.ts) mutes the connection: it is not read
 * until the throttle time the reply carries has passed (`session.mute`).
 */
import type { Counter, Gauge, Histogram } from 'prom-client';
import type WebSocket from 'ws';
import { FrameDecodeError, decodeFrame, encodeFrame, type FrameBudget } from '../wire/codec.js';
import { receivedBytes } from '../wire/ws-options.js';
import { CLOSE_POLICY, IdleTimer } from '../wire/ws-guard.js';
import { ErrorCode, LIMITS, type ApiError, type Request } from '../wire/protocol.js';
import { RequestError, parseRequest, requestId } from '../wire/validate.js';
import { apiError, handle, type HandlerNode } from './handlers.js';
import { newSession, type Session } from './session.js';
import { AuthOrder, gatesOthers } from './sasl.js';
import { replyBytesBound } from './reply-bounds.js';
import { DEFAULT_REPLY_LIMITS, ReplyBudget, SMALL_RESERVATION_BYTES, type BudgetEvents, type ReplyLimits, type Reservation } from './reply-budget.js';

/** Requests read on one connection and not answered yet, past which it is not read. */
const IN_FLIGHT_PER_CONNECTION_MAX = 1024;
/**
 * A client connection with no request in flight for this long is closed, as Kafka's
 * connections.max.idle.ms (10 minutes); the client library dials again on its next request.
 */
export const CLIENT_IDLE_MS = 10 * 60 * 1000;

export interface ClientServerOptions {
  /** CLIENT_IDLE_MS unless given. */
  readonly idleMs?: number;
}

/** What client connections need of the node: its handlers, and the request and connection metrics they count. */
export interface ClientNode extends HandlerNode {
  readonly metrics: HandlerNode['metrics'] & {
    readonly requests: Pick<Counter<'type' | 'outcome'>, 'inc'>;
    readonly requestSeconds: Pick<Histogram<'type'>, 'observe'>;
    /** Reply bytes client connections hold (reply-budget.ts), by listener ('client' or 'kafka'). */
    readonly replyBytes: Pick<Gauge<'listener'>, 'inc' | 'dec'>;
    /** Client connections closed for not reading their replies, by listener. */
    readonly slowClientsClosed: Pick<Counter<'listener'>, 'inc'>;
  };
}

/** The budget events of a connection of `listener`, counted in the node's metrics. */
export function budgetEvents(node: ClientNode, listener: 'client' | 'kafka', limits: ReplyLimits, conn: { pressure(over: boolean): void; close(): void }): BudgetEvents {
  return {
    pressure: (over) => conn.pressure(over),
    stalled: () => {
      node.metrics.slowClientsClosed.inc({ listener });
      node.logger.warn({ listener }, `closing a ${listener === 'kafka' ? 'Kafka ' : ''}client connection that has left ${limits.bytesMax} bytes of replies unread for ${limits.stallMs} ms`);
      conn.close();
    },
    bytes: (delta) => {
      if (delta > 0) node.metrics.replyBytes.inc({ listener }, delta);
      else if (delta < 0) node.metrics.replyBytes.dec({ listener }, -delta);
    },
  };
}

export class ClientServer {
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly node: ClientNode,
    private readonly limits: ReplyLimits = DEFAULT_REPLY_LIMITS,
    private readonly o: ClientServerOptions = {},
  ) {}

  /** A client connection from `remote` (host:port), for logs; returns the session its requests run as. */
  accept(ws: WebSocket, remote: string): Session {
    this.sockets.add(ws);
    const session = newSession('client', remote);
    const order = new AuthOrder();
    let inFlight = 0;
    let tooMany = false;
    let tooMuch = false;
    let paused = false;
    const readOrNot = (): void => {
      const pause = tooMany || tooMuch || muted.on;
      if (pause === paused) return;
      paused = pause;
      if (pause) ws.pause();
      else ws.resume();
    };
    const budget = new ReplyBudget(
      this.limits,
      budgetEvents(this.node, 'client', this.limits, {
        pressure: (over) => {
          tooMuch = over;
          readOrNot();
        },
        close: () => ws.terminate(),
      }),
      // Replies go out by id as they are ready: a small one need not wait behind a fetch waiting for room.
      SMALL_RESERVATION_BYTES,
    );
    const muted = new Mute(readOrNot);
    session.mute = (ms) => muted.for(ms);
    const idleMs = this.o.idleMs ?? CLIENT_IDLE_MS;
    const idle = new IdleTimer(idleMs, () => ws.close(1000, `no request for ${idleMs} ms`));
    ws.on('close', () => {
      this.sockets.delete(ws);
      budget.close();
      idle.busy();
      muted.close();
    });
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.reply(ws, budget, { id: -1, error: { code: ErrorCode.InvalidRequest, message: 'send binary frames of msgpack, not text' } });
        return;
      }
      const buf = receivedBytes(data);
      inFlight++;
      idle.busy();
      if (inFlight >= IN_FLIGHT_PER_CONNECTION_MAX) {
        tooMany = true;
        readOrNot();
      }
      void this.serve(ws, session, order, budget, buf).finally(() => {
        inFlight--;
        if (inFlight === 0) idle.quiet();
        if (tooMany && inFlight < IN_FLIGHT_PER_CONNECTION_MAX / 2) {
          tooMany = false;
          readOrNot();
        }
      });
    });
    return session;
  }

  /** Client connections open now. */
  get connections(): number {
    return this.sockets.size;
  }

  closeAll(): void {
    for (const ws of this.sockets) ws.close(1001, 'node shutting down');
  }

  /**
   * Decodes and checks one frame, then answers it once the requests it must wait for are answered
   * (sasl.ts AuthOrder: none, unless the connection is authenticating).
   */
  private serve(ws: WebSocket, session: Session, order: AuthOrder, budget: ReplyBudget, buf: Buffer): Promise<void> {
    let raw: unknown;
    try {
      raw = decodeFrame(buf, CLIENT_FRAME_BUDGET);
    } catch (err) {
      const message = err instanceof FrameDecodeError ? err.message : 'the frame could not be read';
      this.reply(ws, budget, { id: -1, error: { code: ErrorCode.InvalidRequest, message } });
      return Promise.resolve();
    }
    let parsed: { id: number; request: Request } | null = null;
    let refused: unknown = null;
    try {
      parsed = parseRequest(raw);
    } catch (err) {
      refused = err;
    }
    const type = parsed?.request.type;
    const gating = parsed !== null && gatesOthers(this.node.sasl, session, type === 'saslHandshake' || type === 'saslAuthenticate');
    return order.run(gating, () => this.answer(ws, session, budget, raw, parsed, refused));
  }

  private async answer(ws: WebSocket, session: Session, budget: ReplyBudget, raw: unknown, parsed: { id: number; request: Request } | null, refused: unknown): Promise<void> {
    const t0 = performance.now();
    let type = 'invalid';
    let room: Reservation | null = null;
    try {
      if (parsed === null) throw refused;
      const { id, request } = parsed;
      type = request.type;
      room = await budget.reserve(replyBytesBound(this.node, request));
      // The connection closed while the request waited for room: nobody is left to answer.
      if (room === null) return;
      const res = await handle(this.node, request, session);
      this.node.metrics.requests.inc({ type, outcome: 'ok' });
      if (res !== null) this.reply(ws, room, { id, ...res });
    } catch (err) {
      const id = err instanceof RequestError ? err.id : requestId(raw);
      const error: ApiError = err instanceof RequestError ? { code: err.code, message: err.message } : apiError(this.node, err);
      this.node.metrics.requests.inc({ type, outcome: error.code });
      this.reply(ws, room ?? budget, { id, error });
    } finally {
      room?.release();
      this.node.metrics.requestSeconds.observe({ type }, (performance.now() - t0) / 1000);
    }
    const close = this.node.sasl.closeReason(session);
    if (close !== null && ws.readyState === ws.OPEN) {
      this.node.logger.warn({ remote: session.remote }, `closing the client connection from ${session.remote}: ${close}`);
      // After the reply that says why: ws sends the close frame behind what it has queued.
      ws.close(CLOSE_POLICY, close);
    }
  }

  /** Sends a reply, counted in the connection's budget (in place of the room reserved for it, if any). */
  private reply(ws: WebSocket, to: Pick<Reservation, 'handed'>, value: object): void {
    if (ws.readyState !== ws.OPEN) return;
    const frame = encodeFrame(value);
    const written = to.handed(frame.byteLength);
    ws.send(frame, () => written());
  }
}

/**
 * A connection's quota throttle (quotas.ts): on from `for(ms)` until that time has passed (a longer
 * throttle given meanwhile extends it), calling `changed` each time it turns on or off.
 */
export class Mute {
  on = false;
  private until = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly changed: () => void) {}

  for(ms: number): void {
    const until = performance.now() + ms;
    if (ms <= 0 || (this.on && until <= this.until)) return;
    this.until = until;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.on = false;
      this.changed();
    }, ms);
    this.timer.unref();
    if (!this.on) {
      this.on = true;
      this.changed();
    }
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

export const CLIENT_FRAME_BYTES_MAX = LIMITS.requestBytesMax;
/** What decoding one client frame may cost (codec.ts budgetProblem): past it, an INVALID_REQUEST reply and nothing decoded. */
export const CLIENT_FRAME_BUDGET: FrameBudget = { valuesMax: LIMITS.frameValuesMax, stringBytesMax: LIMITS.frameStringBytesMax };
