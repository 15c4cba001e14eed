/**
 * How the console's requests reach the cluster. The console runs the client library (src/client/)
 * inside the node, so that it routes, retries and follows leaders exactly as every client does,
 * but over channels of its own instead of WebSockets:
 *
 * - to this node: the node's own handlers, in-process (`handle(node, req, session)`), run as the
 *   HTTP request's session;
 * - to another node: `POST /api/request` on that node's HTTP listener, one msgpack request in the
 *   body (the /client frame format, src/wire/protocol.ts) and one msgpack reply, the other node
 *   running it through its own handlers. The browser's `Authorization` header goes along, so the
 *   other node runs it as the same user once HTTP authentication comes.
 *
 * Either way the answer is what a WebSocket connection would have returned, and a node's error
 * becomes the same RaftlogError (fromApiError), so leader hints are followed by the library.
 */
import type http from 'node:http';
import { ErrorCode, LIMITS, type Request, type RequestType, type ResponseMap } from '../wire/protocol.js';
import { decodeFrame, encodeFrame } from '../wire/codec.js';
import { asApiError, ClientErrorCode, fromApiError, RaftlogError } from '../client/errors.js';
import type { Channel } from '../client/cluster.js';
import type { RequestOf } from '../client/connection.js';
import { apiError, handle, type HandlerNode } from '../server/handlers.js';
import { newSession, type Session } from '../server/session.js';

/** The path another node's console channel posts requests to. */
export const FORWARD_PATH = '/api/request';
/** The content type of a forwarded request and its reply: one msgpack value (src/wire/codec.ts). */
export const MSGPACK = 'application/msgpack';

/**
 * The session an HTTP request to the console runs as. The one place that decides it: HTTP
 * authentication, when it comes, sets the principal here, for the console's pages and for
 * requests forwarded from another node's console alike.
 */
export function httpSession(req: http.IncomingMessage): Session {
  return newSession('client', `${req.socket.remoteAddress}:${req.socket.remotePort}`);
}

/** Runs requests through this node's handlers as `session`. */
export function localChannel(node: HandlerNode, session: Session): Channel {
  return {
    async request<T extends RequestType>(req: RequestOf<T>): Promise<ResponseMap[T]> {
      try {
        return (await handle(node, req, session)) as ResponseMap[T];
      } catch (err) {
        throw fromApiError(apiError(node, err), { node: node.config.id });
      }
    },
    async send(req: Request): Promise<void> {
      await handle(node, req, session);
    },
    close(): void {},
  };
}

/** Sends requests to the node at `address` over its HTTP API, with the headers of `from` that carry who asks. */
export function remoteChannel(address: string, from: http.IncomingMessage): Channel {
  const headers: Record<string, string> = { 'content-type': MSGPACK };
  if (from.headers.authorization !== undefined) headers.authorization = from.headers.authorization;
  const post = async (req: Request, timeoutMs: number): Promise<Record<string, unknown>> => {
    let res: Response;
    let body: Uint8Array;
    try {
      res = await fetch(`http://${address}${FORWARD_PATH}`, { method: 'POST', headers, body: encodeFrame({ ...req, id: 0 }), signal: AbortSignal.timeout(timeoutMs) });
      body = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      throw new RaftlogError(timedOut ? ErrorCode.RequestTimedOut : ClientErrorCode.ConnectionError, `${timedOut ? 'no answer from' : 'cannot reach'} ${address} for a ${req.type} request${timedOut ? ` within ${timeoutMs} ms` : ''}`, {
        retriable: true,
        outcomeUnknown: true,
        node: address,
        cause: err,
      });
    }
    let frame: unknown;
    try {
      frame = decodeFrame(body);
    } catch (err) {
      throw new RaftlogError(ClientErrorCode.ProtocolError, `${address} answered a forwarded ${req.type} request with HTTP ${res.status} and no msgpack reply`, { retriable: true, node: address, cause: err });
    }
    if (typeof frame !== 'object' || frame === null) throw new RaftlogError(ClientErrorCode.ProtocolError, `${address} answered a forwarded ${req.type} request with a malformed reply`, { node: address });
    const reply = frame as Record<string, unknown>;
    if (reply.error !== undefined) {
      const e = asApiError(reply.error);
      throw e !== null ? fromApiError(e, { node: address }) : new RaftlogError(ClientErrorCode.ProtocolError, `${address} answered a ${req.type} request with a malformed error`, { node: address });
    }
    return reply;
  };
  return {
    async request<T extends RequestType>(req: RequestOf<T>, timeoutMs: number): Promise<ResponseMap[T]> {
      return (await post(req, timeoutMs)) as unknown as ResponseMap[T];
    },
    async send(req: Request): Promise<void> {
      await post(req, LIMITS.requestTimeoutMsMax);
    },
    close(): void {},
  };
}
