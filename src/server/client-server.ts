/**
 * Client connections on `/client`: one msgpack request per binary WebSocket frame, answered by
 * id (see src/wire/protocol.ts). Requests on one connection run concurrently; past
 * `inFlightPerConnectionMax` the connection stops being read until some finish.
 *
 * Bad input never reaches a handler: a frame that is not binary, not msgpack, or not a valid
 * request gets an error reply (INVALID_REQUEST / UNSUPPORTED_REQUEST, with the request id when it
 * can be read, else -1); a frame over the size limit closes the connection (1009).
 */
import type { Counter, Histogram } from 'prom-client';
import type WebSocket from 'ws';
import { FrameDecodeError, decodeFrame, encodeFrame } from '../wire/codec.js';
import { receivedBytes } from '../wire/ws-options.js';
import { ErrorCode, LIMITS, type ApiError } from '../wire/protocol.js';
import { RequestError, parseRequest, requestId } from '../wire/validate.js';
import { apiError, handle, type HandlerNode } from './handlers.js';

const IN_FLIGHT_PER_CONNECTION_MAX = 1024;

/** What client connections need of the node: its handlers, and the request metrics they count. */
export interface ClientNode extends HandlerNode {
  readonly metrics: HandlerNode['metrics'] & {
    readonly requests: Pick<Counter<'type' | 'outcome'>, 'inc'>;
    readonly requestSeconds: Pick<Histogram<'type'>, 'observe'>;
  };
}

export class ClientServer {
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly node: ClientNode) {}

  accept(ws: WebSocket): void {
    this.sockets.add(ws);
    let inFlight = 0;
    let paused = false;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.reply(ws, { id: -1, error: { code: ErrorCode.InvalidRequest, message: 'send binary frames of msgpack, not text' } });
        return;
      }
      const buf = receivedBytes(data);
      inFlight++;
      if (inFlight >= IN_FLIGHT_PER_CONNECTION_MAX && !paused) {
        paused = true;
        ws.pause();
      }
      void this.serve(ws, buf).finally(() => {
        inFlight--;
        if (paused && inFlight < IN_FLIGHT_PER_CONNECTION_MAX / 2) {
          paused = false;
          ws.resume();
        }
      });
    });
  }

  closeAll(): void {
    for (const ws of this.sockets) ws.close(1001, 'node shutting down');
  }

  private async serve(ws: WebSocket, buf: Buffer): Promise<void> {
    let raw: unknown;
    try {
      raw = decodeFrame(buf);
    } catch (err) {
      const message = err instanceof FrameDecodeError ? err.message : 'the frame could not be read';
      this.reply(ws, { id: -1, error: { code: ErrorCode.InvalidRequest, message } });
      return;
    }
    const t0 = performance.now();
    let type = 'invalid';
    try {
      const { id, request } = parseRequest(raw);
      type = request.type;
      const res = await handle(this.node, request);
      this.node.metrics.requests.inc({ type, outcome: 'ok' });
      if (res !== null) this.reply(ws, { id, ...res });
    } catch (err) {
      const id = err instanceof RequestError ? err.id : requestId(raw);
      const error: ApiError = err instanceof RequestError ? { code: err.code, message: err.message } : apiError(this.node, err);
      this.node.metrics.requests.inc({ type, outcome: error.code });
      this.reply(ws, { id, error });
    } finally {
      this.node.metrics.requestSeconds.observe({ type }, (performance.now() - t0) / 1000);
    }
  }

  private reply(ws: WebSocket, value: object): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(encodeFrame(value));
  }
}

export const CLIENT_FRAME_BYTES_MAX = LIMITS.frameBytesMax;
