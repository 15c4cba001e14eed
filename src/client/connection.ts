/**
 * One WebSocket to one node (`ws://HOST:PORT/client`, or `wss://` with TLS), opened on demand. Requests carry ids and
 * wait in a map until their response arrives (in any order), their timeout passes (a local
 * REQUEST_TIMED_OUT: the outcome is unknown) or the connection closes (CONNECTION_ERROR, also
 * unknown). A closed connection reopens on the next request. Its timeouts run on the system's
 * timers, not the client's clock: they bound how long a real socket takes.
 *
 * With `sasl`, a socket authenticates (sasl.ts) before any request is sent on it: it is handed to
 * requests only once the node has answered the exchange's last message. A failed authentication
 * fails the requests waiting for the socket with SASL_AUTHENTICATION_FAILED (not retriable); a
 * node that cannot check passwords yet (it has just joined, and is receiving the metadata) fails
 * them with its LEADER_NOT_AVAILABLE, retriable, which the cluster's callers retry on another
 * node or later (cluster.ts requestAny, retry.ts).
 * A reply with `throttleMs` (the node's quota throttle, src/server/quotas.ts) holds back every
 * request to that node until that time has passed on the client's clock, as Kafka's clients do
 * since KIP-219: the node would not read them sooner. A request's timeout starts once it is sent.
 */
import WebSocket, { type RawData } from 'ws';
import { ErrorCode, LIMITS, type Request, type RequestType, type ResponseMap } from '../wire/protocol.js';
import { decodeFrame, encodeFrame } from '../wire/codec.js';
import { ClientErrorCode, RaftlogError, asApiError, fromApiError } from './errors.js';
import { REFUSED_HEADER, receivedBytes, zeroMask } from '../wire/ws-options.js';
import type { SaslMechanism } from './sasl.js';
import { sleep, systemClock, type Clock } from '../wire/clock.js';

export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;

/** TLS to the nodes' client listeners (wss): whom to trust, and a certificate to present where the node asks for one (`--tls-client-auth required`). PEM texts, not file names. */
export interface TlsOptions {
  /** The CA certificate(s) that signed the nodes' certificates; the system's CAs when absent. */
  readonly ca?: string | Buffer;
  /** A client certificate, with its key. */
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

export interface ConnectionOptions {
  /** host:port */
  readonly address: string;
  readonly connectTimeoutMs: number;
  /** Authenticate every socket with this before using it (none: the node must not require it). */
  readonly sasl?: SaslMechanism;
  /** Connect with TLS (wss); plain ws when absent. */
  readonly tls?: TlsOptions;
  /** What a throttle is waited out on (the client's clock; the system's when absent). */
  readonly clock?: Clock;
}

/** How long the node may take to answer one message of an authentication. */
const SASL_STEP_TIMEOUT_MS = 10_000;
/** Messages of one authentication, at most (SCRAM takes 3 with the handshake): a node that asks for more is not following its mechanism. */
const SASL_STEPS_MAX = 8;

interface Pending {
  readonly type: RequestType;
  readonly resolve: (frame: Record<string, unknown>) => void;
  readonly reject: (err: RaftlogError) => void;
  readonly timer: NodeJS.Timeout;
}

/** What a failed connect says about TLS set differently here and on the node, or null when it says nothing of it. */
export function tlsProblem(err: unknown, tls: boolean): string | null {
  if (!(err instanceof Error)) return null;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  // A TLS alert from the node: it refused what this client presented (no certificate, or one its CA did not sign).
  if (tls && /_ALERT_/.test(code)) return `the node refused this client's certificate (${err.message}): it requires a client certificate signed by its CA (the client's tls.cert and tls.key, raftlog --tls-cert and --tls-key)`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) return `the node's TLS certificate is not trusted (${err.message}): give the CA that signed it (the client's tls.ca, raftlog --tls-ca), and connect to a host name its certificate names`;
  if (tls && (code === 'EPROTO' || /wrong version number|packet length too long/.test(err.message))) return `the node does not speak TLS there (${err.message}): connect without TLS, or to its TLS listener`;
  return null;
}

/** Request ids wrap before they leave the safe-integer range (they never get near it). */
const REQUEST_ID_MAX = 0x7fffffff;

export class Connection {
  readonly address: string;
  private readonly connectTimeoutMs: number;
  private readonly sasl: SaslMechanism | undefined;
  private readonly tls: TlsOptions | undefined;
  private socket: WebSocket | null = null;
  /** A socket open and still authenticating: not handed to requests yet. */
  private authenticating: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private readonly clock: Clock;
  /** Until when (the clock's time) the node throttles this connection: nothing is sent before. */
  private throttledUntil = Number.NEGATIVE_INFINITY;

  constructor(opts: ConnectionOptions) {
    this.address = opts.address;
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.sasl = opts.sasl;
    this.tls = opts.tls;
    this.clock = opts.clock ?? systemClock;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends `req` and resolves with its response; rejects with a RaftlogError. */
  async request<T extends RequestType>(req: RequestOf<T>, timeoutMs: number): Promise<ResponseMap[T]> {
    await this.unthrottled();
    return this.requestOn(await this.open(), req, timeoutMs);
  }

  private async requestOn<T extends RequestType>(socket: WebSocket, req: RequestOf<T>, timeoutMs: number): Promise<ResponseMap[T]> {
    const id = this.takeId();
    const frame = encodeFrame({ ...req, id });
    const response = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(id)) return;
        reject(
          new RaftlogError(ErrorCode.RequestTimedOut, `no answer from ${this.address} to a ${req.type} request within ${timeoutMs} ms`, {
            retriable: true,
            outcomeUnknown: true,
            node: this.address,
          }),
        );
      }, timeoutMs);
      this.pending.set(id, { type: req.type, resolve, reject, timer });
    });
    socket.send(frame, (err) => {
      if (err) this.failOne(id, err);
    });
    // The frame was checked by the caller against the protocol; the node's answer is trusted to
    // have the shape of its type once it carries our id and no error.
    return (await response) as unknown as ResponseMap[T];
  }

  /** Sends a request that gets no response (produce with acks "none"); resolves once written. */
  async send(req: Request): Promise<void> {
    await this.unthrottled();
    const socket = await this.open();
    const frame = encodeFrame({ ...req, id: this.takeId() });
    await new Promise<void>((resolve, reject) => {
      socket.send(frame, (err) => (err ? reject(this.connectionError(`could not write to ${this.address}`, err, true)) : resolve()));
    });
  }

  /** Closes the socket; pending requests fail with DISCONNECTED. Later requests reopen it. */
  close(): void {
    this.closed = true;
    const socket = this.socket ?? this.authenticating;
    this.socket = null;
    this.authenticating = null;
    this.failAll(new RaftlogError(ClientErrorCode.Disconnected, `the connection to ${this.address} was closed by the client`, { outcomeUnknown: true, node: this.address }));
    if (socket) socket.terminate();
  }

  /** Resolves once the node's last throttle has passed (at once when there is none). */
  private async unthrottled(): Promise<void> {
    for (let wait = this.throttledUntil - this.clock.now(); wait > 0; wait = this.throttledUntil - this.clock.now()) await sleep(this.clock, wait);
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = id >= REQUEST_ID_MAX ? 1 : id + 1;
    return id;
  }

  private connectionError(message: string, cause: unknown, outcomeUnknown: boolean): RaftlogError {
    const why = cause instanceof Error ? `: ${cause.message}` : '';
    return new RaftlogError(ClientErrorCode.ConnectionError, `${message}${why}`, { retriable: true, outcomeUnknown, node: this.address, cause });
  }

  private open(): Promise<WebSocket> {
    this.closed = false;
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.opening ??= this.connect().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  private connect(): Promise<WebSocket> {
    return new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(`${this.tls !== undefined ? 'wss' : 'ws'}://${this.address}/client`, { maxPayload: LIMITS.frameBytesMax, handshakeTimeout: this.connectTimeoutMs, generateMask: zeroMask, ...this.tls });
      let settled = false;
      const timer = setTimeout(() => fail(new Error(`no connection within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      const fail = (err: unknown, retriable = true): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.terminate();
        const problem = retriable ? tlsProblem(err, this.tls !== undefined) : null;
        // A TLS setting that does not match the node's is no failure a retry mends: said at once.
        if (problem !== null || !retriable) reject(new RaftlogError(ClientErrorCode.ConnectionError, `cannot connect to ${this.address}: ${problem ?? (err as Error).message}`, { retriable: false, node: this.address, cause: err }));
        else reject(this.connectionError(`cannot connect to ${this.address}`, err, false));
      };
      // The node refused the upgrade, saying why (a plaintext client on a TLS listener, /client on a peer listener).
      socket.on('unexpected-response', (_req, res) => {
        const why = res.headers[REFUSED_HEADER];
        // Plaintext to a TLS listener (400), or no client certificate where one is required (403): the settings must change.
        const settings = (res.statusCode === 400 || res.statusCode === 403) && typeof why === 'string';
        fail(new Error(`it refused the connection (HTTP ${res.statusCode}${typeof why === 'string' ? `: ${why}` : ''})`), !settings);
      });
      socket.on('error', fail);
      socket.on('close', () => fail(new Error('closed during the handshake')));
      socket.on('open', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners();
        if (this.closed) {
          socket.terminate();
          reject(new RaftlogError(ClientErrorCode.Disconnected, `the connection to ${this.address} was closed by the client`, { node: this.address }));
          return;
        }
        this.listen(socket);
        if (this.sasl === undefined) {
          this.socket = socket;
          resolve(socket);
          return;
        }
        this.authenticating = socket;
        this.authenticate(socket, this.sasl).then(
          () => {
            if (this.authenticating !== socket) {
              reject(new RaftlogError(ClientErrorCode.Disconnected, `the connection to ${this.address} was closed while it authenticated`, { node: this.address }));
              return;
            }
            this.authenticating = null;
            this.socket = socket;
            resolve(socket);
          },
          (err: unknown) => {
            if (this.authenticating === socket) this.authenticating = null;
            socket.terminate();
            reject(err);
          },
        );
      });
    });
  }

  /** The SASL exchange on a socket just opened: handshake, then messages until the node says it is done. Throws a RaftlogError. */
  private async authenticate(socket: WebSocket, sasl: SaslMechanism): Promise<void> {
    await this.requestOn(socket, { type: 'saslHandshake', mechanism: sasl.mechanism }, SASL_STEP_TIMEOUT_MS);
    const exchange = sasl.start();
    let message: Uint8Array | null = await exchange.first();
    for (let step = 0; message !== null; step++) {
      if (step >= SASL_STEPS_MAX) throw new RaftlogError(ClientErrorCode.ProtocolError, `${this.address} asked for more than ${SASL_STEPS_MAX} ${sasl.mechanism} messages`, { node: this.address });
      const res = await this.requestOn(socket, { type: 'saslAuthenticate', bytes: message }, SASL_STEP_TIMEOUT_MS);
      message = await exchange.next(res.bytes);
      if (res.done !== (message === null)) throw new RaftlogError(ClientErrorCode.ProtocolError, `${this.address} ${res.done ? 'ended' : 'went on with'} the ${sasl.mechanism} exchange out of turn`, { node: this.address });
    }
  }

  /** Reads a socket's answers and notices its close. */
  private listen(socket: WebSocket): void {
    socket.on('message', (data: RawData) => this.onMessage(data));
    socket.on('error', () => {
      // 'close' follows and fails what is pending.
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (this.socket === socket) this.socket = null;
      if (this.authenticating === socket) this.authenticating = null;
      const why = reason.length > 0 ? `: ${reason.toString('utf8')}` : '';
      this.failAll(this.connectionError(`the connection to ${this.address} closed (code ${code}${why})`, undefined, true));
    });
  }

  private onMessage(data: RawData): void {
    const bytes = receivedBytes(data);
    let frame: unknown;
    try {
      frame = decodeFrame(bytes);
    } catch (err) {
      this.dropSocket(`${this.address} sent a frame that is not msgpack`, err);
      return;
    }
    if (typeof frame !== 'object' || frame === null || typeof (frame as Record<string, unknown>).id !== 'number') {
      this.dropSocket(`${this.address} sent a frame without a request id`, undefined);
      return;
    }
    const body = frame as Record<string, unknown>;
    const id = body.id as number;
    // A throttle counts even on a reply that came after its timeout: the node mutes all the same.
    const throttle = body.throttleMs;
    if (typeof throttle === 'number' && throttle > 0) this.throttledUntil = Math.max(this.throttledUntil, this.clock.now() + throttle);
    const pending = this.pending.get(id);
    if (!pending) return; // answered after its timeout
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (body.error !== undefined) {
      const apiError = asApiError(body.error);
      pending.reject(
        apiError
          ? fromApiError(apiError, { node: this.address })
          : new RaftlogError(ClientErrorCode.ProtocolError, `${this.address} answered a ${pending.type} request with a malformed error`, { node: this.address }),
      );
      return;
    }
    pending.resolve(body);
  }

  /** A node that breaks the protocol: drop the socket, failing everything on it. */
  private dropSocket(message: string, cause: unknown): void {
    const socket = this.socket ?? this.authenticating;
    this.socket = null;
    this.authenticating = null;
    this.failAll(new RaftlogError(ClientErrorCode.ProtocolError, message, { retriable: true, outcomeUnknown: true, node: this.address, cause }));
    socket?.terminate();
  }

  private failOne(id: number, cause: unknown): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    pending.reject(this.connectionError(`could not write a ${pending.type} request to ${this.address}`, cause, true));
  }

  private failAll(err: RaftlogError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }
}
