/**
 * How the console's requests reach the cluster. The console runs the client library (src/client/)
 * inside the node, so that it routes, retries and follows leaders exactly as every client does,
 * but over channels of its own:
 *
 * - to this node: the node's own handlers, in-process (`handle(node, req, session)`), run as the
 *   HTTP request's session (its user, src/server/http-auth.ts, or ANONYMOUS under `--auth none`);
 * - to another node (a partition or group it leads): a connection to its client listener, as the
 *   library opens one. For a request of a user, the connection authenticates with the cluster
 *   secret and acts for that user (RAFTLOG-NODE, src/auth/node-proof.ts, as a forwarded topic
 *   creation does), so the other node checks the user's ACLs; the host those see is this node's.
 *
 * Either way the answer is what a connection would have returned, and a node's error becomes the
 * same RaftlogError (fromApiError), so leader hints are followed by the library.
 */
import type { Request, RequestType, ResponseMap } from '../wire/protocol.js';
import { systemClock } from '../wire/clock.js';
import { fromApiError } from '../client/errors.js';
import type { Channel } from '../client/cluster.js';
import { Connection, type RequestOf } from '../client/connection.js';
import { nodeSasl } from '../client/sasl.js';
import type { DialTls } from '../server/tls.js';
import { apiError, handle, type HandlerNode } from '../server/handlers.js';
import type { Session } from '../server/session.js';

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

/**
 * A connection to another node's client listener, as any client opens one: the address the
 * metadata gives, with TLS when that listener takes it (`clientDial`). For an authenticated
 * session, it logs in as node `self` with the cluster secret and acts for the session's principal.
 */
export function remoteChannel(
  dial: { readonly address: string; readonly tls?: DialTls },
  connectTimeoutMs: number,
  session: Session,
  self: { readonly id: string; readonly secret: string },
): Channel {
  return new Connection({
    address: dial.address,
    connectTimeoutMs,
    clock: systemClock,
    ...(dial.tls !== undefined ? { tls: dial.tls } : {}),
    ...(session.authenticated ? { sasl: nodeSasl(self.id, self.secret, session.principal) } : {}),
  });
}
