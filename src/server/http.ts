/**
 * The node's WebSocket and HTTP listeners: upgrades on `/raft` (peers) and `/client` (clients),
 * and plain HTTP for `GET /status` (JSON: the node's groups, roles, terms, commit indexes, replica
 * progress, listeners; the same view as `raftlog status`) and `GET /metrics` (Prometheus). Whoever
 * builds the node may add routes of its own (node.ts NodeParts; the chaos entry point's network
 * control), served with the HTTP ones.
 *
 * A node has three uses for these, each at an address of its own or sharing one (`--listen` for
 * peers, `--client-listen`, `--http-listen`; by default all three at `--listen`, one server): one
 * HttpServer per address, answering only the paths of the uses it has. Anything else is refused
 * with the reason in the `x-raftlog-refused` header (src/wire/ws-options.ts REFUSED_HEADER): a `/raft` upgrade on
 * a client listener, a `/client` upgrade on the peer listener, `/status` where HTTP is not served.
 *
 * Authentication (http-auth.ts, when the node gives one): under `--auth sasl` every HTTP path but
 * /health, the console's static files, its login and (unless `--http-auth-metrics required`)
 * /metrics needs a user, by HTTP Basic or the console's session cookie; /status and a required
 * /metrics need what the native `status` request needs (describe on the cluster, access.ts), and
 * an added route runs as the request's session. `GET /health` answers `{node, ready}` to anyone:
 * ready once the node's metadata is open and has a leader (what `node cluster.js` waits for).
 *
 * With TLS (tls.ts), the server is https/wss. A `/raft` upgrade must come over a connection whose
 * client certificate the CA signed (mutual TLS between peers); a listener of peers only refuses
 * any other once its handshake is done, a shared one checks per path, as it does for `/client`
 * with `--tls-client-auth required`.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket, Server as NetServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Registry } from 'prom-client';
import { WebSocketServer, type WebSocket } from 'ws';
import { assert } from '../../raft/errors.js';
import { META_GROUP } from '../meta/commands.js';
import { CLIENT_FRAME_BYTES_MAX, ClientServer, type ClientNode } from './client-server.js';
import { NodeStartError } from '../errors.js';
import { PEER_FRAME_BYTES_MAX, PEER_HANDSHAKE_FRAME_BYTES_MAX } from '../transport/peer-frames.js';
import type { PeerNetwork } from '../transport/peer-transport.js';
import { FRAME_COMPLETE_MS, FrameGuard, PING_INTERVAL_MS, SILENT_MS_MAX, keepAlive, refuse } from '../wire/ws-guard.js';
import { REFUSED_HEADER } from '../wire/ws-options.js';
import { ServerError } from '../errors.js';
import { ErrorCode } from '../wire/protocol.js';
import { admitWhole } from './handlers.js';
import type { HttpAuth } from './http-auth.js';
import { newSession, type Session } from './session.js';
import { frameBytesMaxFor } from './sasl.js';
import { clientCertProblem, plaintextRefusal, serverOptions, tlsOrPlaintext, type TlsPem } from './tls.js';

/** The paths the server itself answers (upgrades and GETs); an added route may not take one. */
const OWN_PATHS: readonly string[] = ['/raft', '/client', '/status', '/metrics', '/health', '/auth/login', '/auth/logout', '/auth/session'];

/** What one listener of the node serves: peers (`/raft`), clients (`/client`), HTTP (`/status`, `/metrics`, added routes). */
export type HttpUse = 'peer' | 'client' | 'http';
export const HTTP_USES: ReadonlySet<HttpUse> = new Set(['peer', 'client', 'http']);

/** The flag that gives each use its address, for refusals that say where to go instead. */
const USE_FLAG: Readonly<Record<HttpUse, string>> = { peer: '--listen', client: '--client-listen', http: '--http-listen' };

export interface HttpListenerOptions {
  /** What this listener serves (default all of HTTP_USES: the node's one listener). */
  readonly uses?: ReadonlySet<HttpUse>;
  /** TLS only (https, wss), presenting `pem`; `clientAuth`: `/client` requires a CA-signed client certificate too. */
  readonly tls?: { readonly pem: TlsPem; readonly clientAuth: boolean };
  /** Who HTTP requests are (http-auth.ts); absent, every one runs as ANONYMOUS and nothing is asked. */
  readonly auth?: Pick<HttpAuth, 'enforcing' | 'metricsRequired' | 'identify' | 'serve'>;
}

/**
 * A route added to the server: answers every request for its path, whatever the method, run as
 * `session` (the request's user, or ANONYMOUS: http-auth.ts). A path that ends in '/' (`/api/`)
 * also answers every path under it; the longest such path wins.
 */
export type HttpRoute = (req: http.IncomingMessage, res: http.ServerResponse, session: Session) => Promise<void>;

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
  /** With TLS, the TCP server that listens, handing TLS connections to `server` and refusing plaintext ones (tls.ts tlsOrPlaintext). */
  private readonly front: NetServer | null = null;
  private readonly uses: ReadonlySet<HttpUse>;
  private readonly tls: HttpListenerOptions['tls'];
  private readonly auth: HttpListenerOptions['auth'];
  // The largest frames either endpoint ever takes; what a connection takes now is its FrameGuard's
  // (a peer's few KB until it has authenticated). No permessage-deflate (the guard counts wire bytes).
  private readonly peers = new WebSocketServer({ noServer: true, maxPayload: PEER_FRAME_BYTES_MAX, perMessageDeflate: false });
  private readonly clientWss = new WebSocketServer({ noServer: true, maxPayload: CLIENT_FRAME_BYTES_MAX, perMessageDeflate: false });
  readonly clients: ClientServer;

  constructor(
    private readonly node: HttpNode,
    private readonly routes: ReadonlyMap<string, HttpRoute> = new Map(),
    private readonly times: ConnectionTimes = {},
    listener: HttpListenerOptions = {},
  ) {
    for (const p of routes.keys()) assert(!OWN_PATHS.includes(p), () => `an added HTTP route takes ${p}, which the server answers itself`);
    this.uses = listener.uses ?? HTTP_USES;
    this.tls = listener.tls;
    this.auth = listener.auth;
    this.clients = new ClientServer(node, undefined, times.clientIdleMs !== undefined ? { idleMs: times.clientIdleMs } : {});
    // A route that throws (a client gone mid-body, a metrics collector failing) answers 500; left
    // unhandled, the rejection would end the node.
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => void this.route(req, res).catch((err: unknown) => this.routeFailed(req, res, err));
    const t = this.tls;
    if (t === undefined) this.server = http.createServer(onRequest);
    else {
      const request = this.uses.has('peer') || (this.uses.has('client') && t.clientAuth);
      // A listener of peers only refuses a connection without a CA-signed certificate as soon as its
      // handshake is done; any other checks per path (the upgrade below), and answers why.
      const require = this.uses.size === 1 && this.uses.has('peer');
      const server = https.createServer(serverOptions(t.pem, request), onRequest);
      server.on('tlsClientError', (err, socket) => {
        const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
        node.logger.debug({ remote, err: err.message }, `a TLS handshake from ${remote} on the ${this.describe()} failed: ${err.message}`);
      });
      if (require) {
        server.prependListener('secureConnection', (socket: TLSSocket) => {
          const why = clientCertProblem(socket);
          if (why === null) return;
          const remote = `${socket.remoteAddress}:${socket.remotePort}`;
          node.logger.warn({ remote, why }, `refused a TLS connection from ${remote} on the ${this.describe()}: ${why}`);
          socket.destroy();
        });
      }
      this.server = server;
      this.front = tlsOrPlaintext(
        (socket) => server.emit('connection', socket),
        (socket) => {
          node.logger.info({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, `refused a plaintext connection from ${socket.remoteAddress}:${socket.remotePort} to the ${this.describe()}, which takes TLS only`);
          socket.end(plaintextRefusal(`the ${this.describe()} takes TLS only: connect with https:// or wss:// (the client's tls options, raftlog --tls-ca)`));
        },
      );
      this.front.on('connection', (socket: Socket) => {
        this.frontSockets.add(socket);
        socket.once('close', () => this.frontSockets.delete(socket));
      });
    }
    this.server.on('request', (req: http.IncomingMessage) => this.countHttp(req.socket));
    this.server.on('upgrade', (req, socket, head) => {
      const url = (req.url ?? '').split('?')[0];
      const s = socket as Socket;
      const remote = `${s.remoteAddress}:${s.remotePort}`;
      if (url === '/raft' && this.uses.has('peer')) {
        const why = t !== undefined ? clientCertProblem(s as TLSSocket) : null;
        if (why !== null) {
          node.logger.warn({ remote, why }, `refused a peer connection from ${remote}: ${why}`);
          return this.refuseUpgrade(s, 403, 'Forbidden', `peers connect with mutual TLS, and ${why}`);
        }
        this.peers.handleUpgrade(req, socket, head, (ws) => node.transport.accept(ws, this.guard(ws, s, 'peer', PEER_HANDSHAKE_FRAME_BYTES_MAX)));
      } else if (url === '/client' && this.uses.has('client')) {
        const why = t?.clientAuth === true ? clientCertProblem(s as TLSSocket) : null;
        if (why !== null) return this.refuseUpgrade(s, 403, 'Forbidden', `this listener requires a client certificate signed by the cluster's CA (--tls-client-auth required), and ${why}`);
        this.clientWss.handleUpgrade(req, socket, head, (ws) => {
          // Under --auth sasl, frames stay small until the connection has authenticated (src/server/sasl.ts).
          const guard = this.guard(ws, s, 'client', CLIENT_FRAME_BYTES_MAX);
          const session = this.clients.accept(ws, remote);
          guard.messageBytesMax = frameBytesMaxFor(node.sasl, session, CLIENT_FRAME_BYTES_MAX);
          session.onAuthenticated = () => (guard.messageBytesMax = CLIENT_FRAME_BYTES_MAX);
        });
      } else if (url === '/raft' || url === '/client') {
        const use: HttpUse = url === '/raft' ? 'peer' : 'client';
        node.logger.info({ remote, path: url }, `refused a ${url} connection from ${remote} on the ${this.describe()}`);
        this.refuseUpgrade(s, 404, 'Not Found', `this is the ${this.describe()}: ${use === 'peer' ? 'peers' : 'clients'} connect to the node's ${use} listener (${USE_FLAG[use]})`);
      } else this.refuseUpgrade(s, 404, 'Not Found', `no WebSocket endpoint at ${url}`);
    });
  }

  /** What this listener is, for logs and refusals: 'client listener', 'peer and client listener'... */
  private describe(): string {
    const names = [...HTTP_USES].filter((u) => this.uses.has(u)).map((u) => (u === 'http' ? 'HTTP' : u));
    return `${names.length === HTTP_USES.size ? "node's" : names.join(' and ')} listener`;
  }

  private refuseUpgrade(socket: Socket, status: number, text: string, reason: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\n${REFUSED_HEADER}: ${reason}\r\nConnection: close\r\n\r\n`);
  }

  listen(address: string): Promise<void> {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i);
    const port = Number(address.slice(i + 1));
    const flag = [...HTTP_USES].filter((u) => this.uses.has(u)).map((u) => USE_FLAG[u]).join(' / ');
    const server: NetServer = this.front ?? this.server;
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new NodeStartError(`${address} is already in use (another node or program listens there); choose another ${flag} address or stop that process`));
        else if (err.code === 'EADDRNOTAVAIL') reject(new NodeStartError(`${host} is not an address of this machine; check ${flag}`));
        else reject(new NodeStartError(`cannot listen on ${address}: ${err.message}`));
      });
      server.listen(port, host, () => resolve());
    });
  }

  async close(): Promise<void> {
    this.clients.closeAll();
    for (const ws of this.peers.clients) ws.terminate();
    if (this.front === null) {
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      return;
    }
    // The front's connections are every TLS connection's socket: it closes once they have.
    const closed = new Promise<void>((resolve) => this.front!.close(() => resolve()));
    for (const socket of this.frontSockets) socket.destroy();
    await closed;
  }

  /** Connections that have sent an HTTP request (not an upgrade to /raft or /client), open now (metrics.ts raftlog_connections). */
  get httpConnections(): number {
    return this.httpSockets.size;
  }

  private readonly httpSockets = new Set<Socket>();

  private countHttp(socket: Socket): void {
    if (this.httpSockets.has(socket)) return;
    this.httpSockets.add(socket);
    socket.once('close', () => this.httpSockets.delete(socket));
  }

  /** With TLS, the TCP connections of the front server (handshake done or not). */
  private readonly frontSockets = new Set<Socket>();

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
    if (!this.uses.has('http')) {
      const reason = `this is the ${this.describe()}, which serves no HTTP: /status and /metrics are on the node's HTTP listener (--http-listen)`;
      res.writeHead(404, { 'content-type': 'text/plain', [REFUSED_HEADER]: reason }).end(`${reason}\n`);
      return;
    }
    const session = this.auth === undefined ? newSession('http', `${req.socket.remoteAddress}:${req.socket.remotePort}`) : await this.auth.identify(req, res, url);
    if (session === null) return;
    if (this.auth !== undefined && (await this.auth.serve(req, res, url))) return;
    const added = this.routes.get(url) ?? this.prefixRoute(url);
    if (added !== undefined) {
      await added(req, res, session);
      return;
    }
    if (req.method !== 'GET') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('only GET is served here\n');
      return;
    }
    if (url === '/health') {
      const ready = this.node.metadataProblem() === null && this.node.leaderOf(META_GROUP).leader !== null;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ node: this.node.config.id, ready }));
      return;
    }
    if (url === '/status') {
      if (this.auth?.enforcing === true && !this.admitted(res, session)) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.node.status(), null, 2));
      return;
    }
    if (url === '/metrics') {
      if (this.auth?.metricsRequired === true && !this.admitted(res, session)) return;
      const { registry } = this.node.metrics;
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /status, /metrics, /health or /ui/ (the console)\n');
  }

  /**
   * Whether `session` may see the node's status (and a required /metrics): what the native
   * `status` request needs, by the access table (describe on the cluster). Answers the refusal
   * (403, or 401 for a session that has not authenticated) when not.
   */
  private admitted(res: http.ServerResponse, session: Session): boolean {
    try {
      admitWhole(this.node, { type: 'status' }, session);
      return true;
    } catch (err) {
      if (!(err instanceof ServerError)) throw err;
      const status = err.code === ErrorCode.AuthenticationRequired ? 401 : 403;
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ error: { code: err.code, message: err.message } }));
      return false;
    }
  }
}
