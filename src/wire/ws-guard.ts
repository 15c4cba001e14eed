/**
 * The limits every WebSocket connection lives under besides what `ws` enforces itself: how large
 * a message may be while the connection is in a given state, how long one may take to arrive,
 * and how long the other end may stay silent.
 *
 * FrameGuard reads the frame headers (RFC 6455 §5.2) of an accepted connection off its socket,
 * as the socket delivers them, and ends the connection when a message declares more bytes than it
 * may have now, or when one begun is not whole in time. Why on the socket: `ws` copies its
 * server's maxPayload into each connection's receiver when it accepts it, and offers no way to
 * change it afterwards (the receiver's `_maxPayload` is private), while a peer connection must
 * take frames of a few KB until the peer has authenticated and then frames of PEER_FRAME_BYTES_MAX;
 * moving the handshake out of the WebSocket (into the upgrade request's headers) would not carry
 * a challenge both ways. The socket, by contrast, is handed over publicly (node's http 'upgrade'
 * event), its 'data' events carry exactly the bytes `ws` reads (the bytes read with the upgrade
 * request are put back into it by `ws` and delivered again), and a frame's length is in its
 * first 2 to 10 bytes: a frame too large is refused when its header arrives, with at most the one
 * socket read that carried it buffered by `ws`. The servers offer no permessage-deflate, so the
 * declared lengths are the bytes `ws` would keep. A node dialling a peer guards its side the same
 * way (src/transport/peer-transport.ts): `ws` takes a client's maxPayload once too, and whatever
 * answers has proven nothing until its welcome.
 *
 * keepAlive pings a connection and ends it when nothing (no pong, no message, no byte) has come
 * from the other end for too long: a peer or client whose machine vanished leaves a connection
 * that TCP alone may hold open for hours.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * A message begun must arrive whole within this long. A client gives up on a request after 30 s
 * by default (src/client/client.ts requestTimeoutMs, as Kafka's request.timeout.ms), so a request
 * still arriving after that would be answered to no one; a 64 MiB frame in 30 s needs 2.2 MB/s.
 * Without it, a client that declared a 60 MB frame and sent 1 KB of it was held (with its buffer)
 * until it left. Time the node itself stops reading the connection (backpressure) does not count.
 */
export const FRAME_COMPLETE_MS = 30_000;
/** How often a connection is pinged. */
export const PING_INTERVAL_MS = 10_000;
/**
 * A connection from which nothing has come for this long is ended. Several pings long, so that
 * one pong stuck behind a large frame in flight (at most FRAME_COMPLETE_MS) or one long pause of
 * the other end's process does not end a connection that is alive.
 */
export const SILENT_MS_MAX = 30_000;
/** Close codes (RFC 6455 §7.4.1): a frame over the limit, and a frame or a connection that broke a time limit. */
export const CLOSE_TOO_LARGE = 1009;
export const CLOSE_POLICY = 1008;

export interface FrameGuardOptions {
  /** Bytes of one message (all its fragments), to begin with; FrameGuard.messageBytesMax changes it. */
  readonly messageBytesMax: number;
  /** A message begun must be whole within this long (FRAME_COMPLETE_MS). */
  readonly completeMs: number;
  /** The connection broke a limit: end it (the guard has stopped watching). */
  readonly onViolation: (code: number, why: string) => void;
}

/** Reads the frame headers of a connection's incoming bytes (masked frames, client to server, or unmasked ones from a server) and enforces FrameGuardOptions. */
export class FrameGuard {
  /** Bytes one message may have from now on (already checked headers are not checked again). */
  messageBytesMax: number;
  /** performance.now() when a byte last came. */
  heardAt = performance.now();
  private readonly header = Buffer.alloc(14);
  private headerHave = 0;
  private headerNeed = 2;
  private payloadLeft = 0;
  /** A data frame without FIN came: its message goes on in continuation frames. */
  private inMessage = false;
  private messageBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private done = false;

  constructor(
    private readonly socket: Socket,
    private readonly o: FrameGuardOptions,
  ) {
    this.messageBytesMax = o.messageBytesMax;
    const onData = (chunk: Buffer): void => this.feed(chunk);
    socket.on('data', onData);
    socket.once('close', () => {
      socket.off('data', onData);
      this.stop();
    });
  }

  /** Stops watching (the connection is closing). */
  stop(): void {
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private feed(chunk: Buffer): void {
    if (this.done) return;
    this.heardAt = performance.now();
    let completed = false;
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const k = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= k;
        i += k;
        if (this.payloadLeft === 0 && !this.inMessage) completed = true;
        continue;
      }
      this.header[this.headerHave++] = chunk[i++]!;
      if (this.headerHave === 2) {
        const len7 = this.header[1]! & 0x7f;
        this.headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((this.header[1]! & 0x80) !== 0 ? 4 : 0);
      }
      if (this.headerHave < this.headerNeed) continue;
      if (!this.frameHeader()) return;
      if (this.payloadLeft === 0 && !this.inMessage) completed = true;
    }
    // Each message has its own time: one completed stops the wait, and the next one begun starts it again.
    if (completed && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const busy = this.headerHave > 0 || this.payloadLeft > 0 || this.inMessage;
    if (!busy && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    } else if (busy && this.timer === null) {
      this.arm();
    }
  }

  /** A whole frame header is in: checks the message's size; false once the connection is refused. */
  private frameHeader(): boolean {
    const h = this.header;
    const fin = (h[0]! & 0x80) !== 0;
    const opcode = h[0]! & 0x0f;
    const len7 = h[1]! & 0x7f;
    const len = len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6) : len7;
    this.headerHave = 0;
    this.headerNeed = 2;
    this.payloadLeft = len;
    // Control frames (close, ping, pong) carry at most 125 bytes and may come between a message's fragments.
    if (opcode >= 0x08) return true;
    this.messageBytes += len;
    if (this.messageBytes > this.messageBytesMax) {
      this.violate(CLOSE_TOO_LARGE, `a message of ${this.messageBytes} bytes or more, over the limit of ${this.messageBytesMax} for this connection now`);
      return false;
    }
    this.inMessage = !fin;
    if (fin) this.messageBytes = 0;
    return true;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.done) return;
      // Paused by the node (too much in flight, replies not read, or ws's own buffer full): the
      // frame cannot arrive while nobody reads it, so the wait starts again once reading has.
      if (this.socket.isPaused()) return this.arm();
      this.violate(CLOSE_POLICY, `a frame begun ${this.o.completeMs} ms ago is not complete`);
    }, this.o.completeMs);
    this.timer.unref();
  }

  private violate(code: number, why: string): void {
    this.stop();
    this.o.onViolation(code, why);
  }
}

export interface KeepAliveOptions {
  readonly intervalMs: number;
  readonly silentMsMax: number;
  /** performance.now() when a byte last came, if the caller watches the socket (FrameGuard.heardAt). */
  readonly heardAt?: () => number;
  /** Nothing came for silentMsMax: called before the connection is terminated. */
  readonly onSilent?: (silentMs: number) => void;
}

/**
 * Pings `ws` every intervalMs and terminates it once nothing has come from the other end for
 * silentMsMax. While the node does not read the connection (ws.isPaused), or cannot (its own
 * process stopped or stalled), silence does not count.
 */
export function keepAlive(ws: WebSocket, o: KeepAliveOptions): void {
  let heard = performance.now();
  const hear = (): void => {
    heard = performance.now();
  };
  ws.on('pong', hear);
  ws.on('message', hear);
  let ticked = performance.now();
  const timer = setInterval(() => {
    if (ws.readyState !== ws.OPEN) return;
    const now = performance.now();
    // Not read by choice, or this process itself was stopped or stalled (the tick is late): what
    // the other end sent meanwhile is still unread, so the time does not count as its silence.
    if (ws.isPaused || now - ticked > 2 * o.intervalMs) heard = now;
    ticked = now;
    const last = Math.max(heard, o.heardAt?.() ?? 0);
    if (now - last > o.silentMsMax) {
      o.onSilent?.(now - last);
      ws.terminate();
      return;
    }
    ws.ping();
  }, o.intervalMs);
  timer.unref();
  ws.once('close', () => clearInterval(timer));
}

/** Runs `onIdle` once the connection has been quiet (nothing in flight) for `ms`: quiet() starts the wait, busy() stops it. */
export class IdleTimer {
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    this.quiet();
  }

  quiet(): void {
    this.busy();
    this.timer = setTimeout(this.onIdle, this.ms);
    this.timer.unref();
  }

  busy(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * How long a connection refused for breaking a limit is drained after its close frame is sent,
 * before it is destroyed: closing a socket with unread bytes makes TCP reset it, and a reset
 * connection may lose the close frame on its way, so the other end would not learn why.
 */
export const CLOSE_LINGER_MS = 2000;

/**
 * Ends `ws` for breaking a limit, as `ws` ends a connection that breaks its own (maxPayload): the
 * socket's bytes are no longer handed to `ws` (nothing more is buffered or decoded) but drained,
 * a close frame says why, and the socket is destroyed when the other end closes its side or
 * after CLOSE_LINGER_MS. A connection `ws` is already closing is left to it.
 */
export function refuse(ws: WebSocket, socket: Socket, code: number, why: string): void {
  if (ws.readyState !== ws.OPEN) return;
  socket.removeAllListeners('data');
  socket.resume();
  ws.close(code, why.slice(0, 120));
  const timer = setTimeout(() => ws.terminate(), CLOSE_LINGER_MS);
  timer.unref();
  socket.once('end', () => ws.terminate());
  socket.once('close', () => clearTimeout(timer));
}
