/**
 * The node's one listener: WebSocket upgrades on `/raft` (peers) and `/client` (clients), and
 * plain HTTP for `GET /status` (JSON: the node's groups, roles, terms, commit indexes, replica
 * progress; the same view as `raftlog status`) and `GET /metrics` (Prometheus). Whoever builds the
 * node may add routes of its own (node.ts NodeParts; the chaos entry point's network control).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { assert } from '../../raft/errors.js';
import { CLIENT_FRAME_BYTES_MAX, ClientServer, type ClientNode } from './client-server.js';
import { NodeStartError } from '../errors.js';
import { PEER_FRAME_BYTES_MAX, PEER_HANDSHAKE_FRAME_BYTES_MAX } from '../transport/peer-frames.js';
import type { PeerNetwork } from '../transport/peer-transport.js';
import { FRAME_COMPLETE_MS, FrameGuard, PING_INTERVAL_MS, SILENT_MS_MAX, keepAlive, refuse } from '../wire/ws-guard.js';

/** The paths the server itself answers (upgrades and GETs); an added route may not take one. */
const OWN_PATHS: readonly string[] = ['/raft', '/client', '/status', '/metrics'];

/**
 * A route added to the server: answers every request for its path, whatever the method. A path
 * that ends in '/' (`/api/`) also answers every path under it; the longest such path wins.
 */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** What the listener needs of the node it serves: its client handlers, its peer transport, its metrics. */
export interface HttpNode extends ClientNode {
  /** Takes the WebSocket upgrades on `/raft`. */
  readonly transport: Pick<PeerNetwork, 'accept'>;
  /** GET /metrics answers with this registry's exposition. */
  readonly metrics: ClientNode['metrics'] & { readonly registry: Pick<Registry, 'contentType' | 'metrics'> };
}

/** The time limits of the WebSocket connections (src/wire/ws-guard.ts), each defaulting to its named constant. */
export interface ConnectionTimes {
  /** A message begun must be whole within this long (FRAME_COMPLETE_MS). */
  readonly frameCompleteMs?: number;
  /** Pings every this long (PING_INTERVAL_MS)... */
  readonly pingIntervalMs?: number;
  /** ...and the connection ends when nothing has come for this long (SILENT_MS_MAX). */
  readonly silentMsMax?: number;
  /** A client connection with no request for this long is closed (client-server.ts CLIENT_IDLE_MS). */
  readonly clientIdleMs?: number;
}

export class HttpServer {
  private readonly server: http.Server;
  // The largest frames either endpoint ever takes; what a connection takes now is its FrameGuard's
  // (a peer's few KB until it has authenticated). No permessage-deflate (the guard counts wire bytes).
  private readonly peers = new WebSocketServer({ noServer: true, maxPayload: PEER_FRAME_BYTES_MAX, perMessageDeflate: false });
  private readonly clientWss = new WebSocketServer({ noServer: true, maxPayload: CLIENT_FRAME_BYTES_MAX, perMessageDeflate: false });
  readonly clients: ClientServer;

  constructor(
    private readonly node: HttpNode,
    private readonly routes: ReadonlyMap<string, HttpRoute> = new Map(),
    private readonly times: ConnectionTimes = {},
  ) {
    for (const p of routes.keys()) assert(!OWN_PATHS.includes(p), () => `an added HTTP route takes ${p}, which the server answers itself`);
    this.clients = new ClientServer(node, undefined, times.clientIdleMs !== undefined ? { idleMs: times.clientIdleMs } : {});
    // A route that throws (a client gone mid-body, a metrics collector failing) answers 500; left
    // unhandled, the rejection would end the node.
    this.server = http.createServer((req, res) => void this.route(req, res).catch((err: unknown) => this.routeFailed(req, res, err)));
    this.server.on('upgrade', (req, socket, head) => {
      const url = (req.url ?? '').split('?')[0];
      if (url === '/raft') this.peers.handleUpgrade(req, socket, head, (ws) => node.transport.accept(ws, this.guard(ws, socket as Socket, 'peer', PEER_HANDSHAKE_FRAME_BYTES_MAX)));
      else if (url === '/client') {
        this.clientWss.handleUpgrade(req, socket, head, (ws) => {
          this.guard(ws, socket as Socket, 'client', CLIENT_FRAME_BYTES_MAX);
          this.clients.accept(ws, `${(socket as Socket).remoteAddress}:${(socket as Socket).remotePort}`);
        });
      }
      else {
        socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        socket.destroy();
      }
    });
  }

  listen(address: string): Promise<void> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i);
    const port = Number(address.slice(i + 1));
    return new Promise((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new NodeStartError(`${address} is already in use (another node or program listens there); choose another --listen address or stop that process`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new NodeStartError(`${host} is not an address of this machine; check --listen`));
        else reject(new NodeStartError(`cannot listen on ${address}: ${err.message}`));
      });
      this.server.listen(port, host, () => resolve());
    });
  }

  async close(): Promise<void> {
    this.clients.closeAll();
    for (const ws of this.peers.clients) ws.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
  }

  /** Watches an accepted connection's frames and keeps it alive (src/wire/ws-guard.ts); the guard is the peer transport's to raise its limit once the peer has authenticated. */
  private guard(ws: WebSocket, socket: Socket, kind: 'peer' | 'client', messageBytesMax: number): FrameGuard {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const guard = new FrameGuard(socket, {
      messageBytesMax,
      completeMs: this.times.frameCompleteMs ?? FRAME_COMPLETE_MS,
      onViolation: (code, why) => {
        this.node.logger.info({ remote, why }, `closing a ${kind} connection from ${remote}: ${why}`);
        refuse(ws, socket, code, why);
      },
    });
    keepAlive(ws, {
      intervalMs: this.times.pingIntervalMs ?? PING_INTERVAL_MS,
      silentMsMax: this.times.silentMsMax ?? SILENT_MS_MAX,
      heardAt: () => guard.heardAt,
      onSilent: (ms) => this.node.logger.info({ remote, silentMs: Math.round(ms) }, `closing a ${kind} connection from ${remote}: nothing came from it for ${Math.round(ms)} ms`),
    });
    return guard;
  }

  private routeFailed(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
    this.node.logger.warn({ url: req.url, err: err instanceof Error ? err.message : String(err) }, 'an HTTP request failed');
    if (res.headersSent) res.destroy();
    else res.writeHead(500, { 'content-type': 'text/plain' }).end('the request failed (see the node log)\n');
  }

  /** The route of the longest added path ending in '/' that `url` starts with. */
  private prefixRoute(url: string): HttpRoute | undefined {
    let best: string | undefined;
    for (const p of this.routes.keys()) if (p.endsWith('/') && url.startsWith(p) && (best === undefined || p.length > best.length)) best = p;
    return best === undefined ? undefined : this.routes.get(best);
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '').split('?')[0];
    const added = this.routes.get(url) ?? this.prefixRoute(url);
    if (added !== undefined) {
      await added(req, res);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('only GET is served here\n');
      return;
    }
    if (url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.node.status(), null, 2));
      return;
    }
    if (url === '/metrics') {
      const { registry } = this.node.metrics;
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /status, /metrics or /ui/ (the console)\n');
  }
}
