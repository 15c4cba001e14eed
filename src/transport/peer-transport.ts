/**
 * Node-to-node transport: one WebSocket per pair of nodes, carrying the messages of every Raft
 * group. The node with the lower id dials (`ws://<peer>/raft`); the other accepts. Both then send
 * over the same connection.
 *
 * - TLS: with `tls`, the node dials `wss://<peer>/raft`, presenting its certificate and verifying
 *   the peer's against the CA; the acceptor's listener requires the dialler's certificate
 *   (mutual TLS, src/server/tls.ts). The secret handshake below runs inside it all the same.
 * - Authentication: the accepting side sends a challenge; the dialer proves it knows the cluster
 *   secret (HMAC), and the acceptor proves it back. A peer without the secret is refused with close
 *   code 4001 and a log line saying so. Both say which cluster their data folder belongs to and
 *   its incarnation (peer-frames.ts): a peer of another cluster is refused too, and the node hears
 *   each peer's (onPeerIdentity). Until the other end has proven itself, each end takes frames of
 *   PEER_HANDSHAKE_FRAME_BYTES_MAX at most (the acceptor's HTTP server and the dialer's own
 *   FrameGuard refuse a larger one as its header arrives).
 * - After it, every frame carries a MAC and a sequence number under keys of this connection
 *   (peer-frames.ts, frame MACs), unless `frameMac` is off: a frame altered, written in, played
 *   again or out of order closes the connection (FRAME_REFUSED), and the nodes connect again.
 * - Batching: messages queued during one event-loop turn go out in one frame per peer (split at
 *   `frameBytesMax`).
 * - Decommissioned nodes (setPeers' `retired`) are not peers, but they are still dialled (or
 *   accepted) now and then, only to tell them: a node that was down while the cluster
 *   decommissioned it, and comes back on its old folder, would otherwise never hear it, and run on
 *   stale metadata. Once authenticated, it is sent a `retired` frame and the connection closed.
 * - Reconnect with exponential backoff and jitter, capped well under an election timeout
 *   (REDIAL_MS_MAX). Messages to a peer that is not connected are dropped (Raft retransmits), and
 *   the host hears `onPeerDown` so leaders stop streaming to it and `onPeerUp` when it is back.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { assert } from '../../raft/errors.js';
import type { Message, NodeId } from '../../raft/types.js';
import { encodeFrame } from '../wire/codec.js';
import { REFUSED_HEADER, receivedBytes, zeroMask } from '../wire/ws-options.js';
import { CLOSE_LINGER_MS, FRAME_COMPLETE_MS, FrameGuard, PING_INTERVAL_MS, SILENT_MS_MAX, keepAlive, refuse } from '../wire/ws-guard.js';
import type { Logger } from '../log.js';
import type { DialTls } from '../server/tls.js';
import {
  FRAME_MACS,
  FrameAuthError,
  FrameOpener,
  FrameSealer,
  PEER_HANDSHAKE_FRAME_BYTES_MAX,
  PeerFrameError,
  chooseFrameMac,
  chosenFrameMac,
  decodePeerFrame,
  frameKeys,
  joinAnswerText,
  mac,
  macEquals,
  type FrameKeyInputs,
  type FrameMacAlgorithm,
  type JoinAnswer,
  type PeerFrame,
} from './peer-frames.js';

export interface PeerTransportOptions {
  readonly self: NodeId;
  /** Every node of the cluster (self included): id → host:port. */
  readonly nodes: ReadonlyMap<NodeId, string>;
  readonly secret: string;
  readonly logger: Logger;
  /** Bytes of one frame, in and out. */
  readonly frameBytesMax: number;
  /** Queued bytes to one peer before messages to it are dropped. */
  readonly sendBufferBytesMax: number;
  readonly onFrame: (from: NodeId, frame: PeerFrame) => void;
  /** This node's cluster id ('' while it does not know it) and folder incarnation, as of now. */
  readonly identity: () => PeerIdentity;
  /** A peer authenticated, saying which cluster its folder belongs to and its incarnation. */
  readonly onPeerIdentity?: (peer: NodeId, identity: PeerIdentity) => void;
  readonly onPeerUp?: (peer: NodeId) => void;
  readonly onPeerDown?: (peer: NodeId) => void;
  /**
   * A node that proved it knows the secret asks to join the cluster (src/node/join.ts): resolves
   * with what to tell it, or rejects with a JoinRefusal. Absent: every join is refused.
   */
  readonly onJoin?: (request: JoinRequest) => Promise<JoinAnswer>;
  /** Dial peers over mutual TLS (wss), presenting this certificate and verifying theirs against this CA; plain ws when absent. */
  readonly tls?: DialTls;
  /** Each defaults to its named constant: HANDSHAKE_MS, and ws-guard.ts's PING_INTERVAL_MS, SILENT_MS_MAX and FRAME_COMPLETE_MS for the connections this node dials. */
  readonly handshakeMs?: number;
  readonly pingIntervalMs?: number;
  readonly silentMsMax?: number;
  readonly frameCompleteMs?: number;
  /**
   * Frames after the handshake carry a MAC and a sequence number (peer-frames.ts); true unless
   * given. Off only where the connection itself authenticates every byte (mutual TLS between the
   * peers), and then on every node of the cluster: the two ends of a connection must agree.
   */
  readonly frameMac?: boolean;
  /**
   * The frame MACs this node offers when it dials and chooses from when it accepts, preferred
   * first (peer-frames.ts FRAME_MACS unless given; HMAC_SHA256_128 alone is what earlier versions
   * spoke).
   */
  readonly frameMacs?: readonly FrameMacAlgorithm[];
}

/** What an inbound connection's frame guard lets the transport change (src/wire/ws-guard.ts FrameGuard). */
export interface InboundLimit {
  /** Bytes one message may have from now on: PEER_HANDSHAKE_FRAME_BYTES_MAX until the peer has authenticated. */
  messageBytesMax: number;
}

/** What a joining node says of itself. */
export interface JoinRequest {
  readonly id: NodeId;
  readonly address: string;
  readonly inc: string;
}

/** Why a join is refused, and where to ask instead: the `joinRefused` frame. */
export class JoinRefusal extends Error {
  override readonly name = 'JoinRefusal';
  constructor(
    message: string,
    readonly retriable: boolean,
    /** The controller's address, to ask there ('' when none is known). */
    readonly controller = '',
  ) {
    super(message);
  }
}

export interface PeerIdentity {
  /** '' while the node does not know its cluster's id yet. */
  readonly cluster: string;
  readonly inc: string;
  /** The node's metadata replica holds entries: a cluster exists, named or not yet. */
  readonly member: boolean;
}

/** A connection must have authenticated within this long of opening (both ends), or it is closed. */
export const HANDSHAKE_MS = 5000;
/**
 * Bytes of Raft messages one frame carries before the rest go in the next (one message larger
 * than this still goes alone: an append carries at most appendBytesMax, 1 MiB by default, a
 * catch-up chunk CHUNK_BYTES or one segment frame). The receiver decodes a frame in one go: one of
 * 26 MB holding 200,000 small entries took 264 ms to decode, a stall long enough to cost an
 * election, and one of 0.9 MB 3 ms; between frames the receiver's event loop runs its ticks.
 */
export const PEER_FRAME_SPLIT_BYTES = 1024 * 1024;
/** The first redial waits half to one and a half times this (redialDelayMs). */
export const REDIAL_MS_MIN = 50;
/**
 * No redial waits longer than one and a half times this (redialDelayMs). Kept well under the
 * shortest election timeout (8 ticks of 50 ms by default): only the node with the lower id dials,
 * so when a node restarts, its lower-id peers' next dial is the earliest they can talk to it again.
 * A leader that dies before then is replaced only once its survivors are connected: with a 2 s
 * cap, a leader killed a second after another node restarted took 0.9-1.4 s to replace, against
 * 0.05-0.3 s otherwise. A dial to a node that is down costs one refused connection.
 */
export const REDIAL_MS_MAX = 200;
export const AUTH_FAILED = 4001;
/** A frame after the handshake failed its MAC or came out of order (peer-frames.ts): the connection is closed, and the nodes connect again. */
export const FRAME_REFUSED = 4003;
/**
 * The acceptor does not know the dialer as a peer (yet): a node that just joined, whose answer
 * naming its peers is still on the way while they already apply its record and dial it. The
 * dialer retries as after any closed connection.
 */
export const NOT_A_PEER_YET = 4002;
/**
 * How often a decommissioned node is dialled to tell it so. Rare: most are gone for good, and a
 * dial to one costs a refused connection; one that comes back on its old folder hears it within
 * this long of starting (sooner if it dials, that is if its id is the lower).
 */
export const RETIRED_DIAL_MS = 10_000;

export interface PeerStatus {
  readonly id: NodeId;
  readonly address: string;
  readonly connected: boolean;
  /** Raft messages dropped because the peer was not connected or its send buffer was full. */
  readonly dropped: number;
  /** The MAC the frames of the connection carry ('off': none, mutual TLS protects them); null while not connected. */
  readonly frameMac: FrameMacAlgorithm | 'off' | null;
}

/**
 * What the node uses of its transport to peers: a PeerTransport, or a decorator of one that the
 * builder of the node installs (a chaos run's, which cuts links: chaos/network-cuts.ts).
 */
export interface PeerNetwork {
  start(): void;
  close(): void;
  /** An inbound connection on /raft, and its frame limit (raised once the peer has authenticated). */
  accept(ws: WebSocket, limit: InboundLimit): void;
  sendRaft(group: string, m: Message): void;
  send(to: NodeId, frame: PeerFrame): void;
  broadcast(frame: PeerFrame): void;
  isConnected(id: NodeId): boolean;
  peerStatus(): PeerStatus[];
  /**
   * The nodes of the cluster now (self included), as the metadata knows them: new ones are
   * dialled (if this node dials them), one at a new address is redialled there, and one no longer
   * named is disconnected and forgotten.
   */
  setPeers(nodes: ReadonlyMap<NodeId, string>, retired?: ReadonlyMap<NodeId, string>): void;
}

/** How the node builds its peer network from its options; production's is `(o) => new PeerTransport(o)`. */
export type PeerNetworkFactory = (o: PeerTransportOptions) => PeerNetwork;

interface Peer {
  readonly id: NodeId;
  readonly address: string;
  /** Decommissioned: connected to only to be told so (never ready, never sent Raft messages). */
  readonly retired: boolean;
  ws: WebSocket | null;
  ready: boolean;
  attempts: number;
  timer: NodeJS.Timeout | null;
  queue: [string, Message][];
  dropped: number;
  /** The MAC of the current connection's frames (PeerStatus.frameMac). */
  frameMac: FrameMacAlgorithm | 'off' | null;
}

export class PeerTransport implements PeerNetwork {
  private readonly peers = new Map<NodeId, Peer>();
  private flushScheduled = false;
  private closed = false;
  private started = false;
  /** What seals the frames this node sends on each connection that has authenticated (none when frame MACs are off). */
  private readonly sealers = new WeakMap<WebSocket, FrameSealer>();
  private readonly frameMac: boolean;
  private readonly frameMacs: readonly FrameMacAlgorithm[];
  constructor(private readonly o: PeerTransportOptions) {
    this.frameMac = o.frameMac ?? true;
    this.frameMacs = o.frameMacs ?? FRAME_MACS;
    assert(this.frameMacs.length > 0, () => 'a peer transport needs at least one frame MAC');
    for (const [id, address] of o.nodes) {
      if (id !== o.self) this.peers.set(id, newPeer(id, address));
    }
  }

  start(): void {
    this.started = true;
    for (const p of this.peers.values()) if (this.dials(p.id)) this.dial(p);
  }

  setPeers(nodes: ReadonlyMap<NodeId, string>, retired: ReadonlyMap<NodeId, string> = new Map()): void {
    const wanted = (id: NodeId): { address: string; retired: boolean } | undefined => {
      const address = nodes.get(id);
      if (address !== undefined) return { address, retired: false };
      const old = retired.get(id);
      return old !== undefined ? { address: old, retired: true } : undefined;
    };
    for (const [id, p] of this.peers) {
      const w = wanted(id);
      if (w?.address === p.address && w.retired === p.retired) continue;
      this.forget(p);
      this.peers.delete(id);
      if (w !== undefined && !w.retired && w.address !== p.address) this.o.logger.info({ peer: id, address: w.address, was: p.address }, `node '${id}' is now at ${w.address} (was ${p.address})`);
    }
    for (const id of new Set([...nodes.keys(), ...retired.keys()])) {
      const w = wanted(id);
      if (w === undefined || id === this.o.self || this.peers.has(id)) continue;
      const p = newPeer(id, w.address, w.retired);
      this.peers.set(id, p);
      if (w.retired) this.o.logger.info({ peer: id, address: w.address }, `node '${id}' was decommissioned: no longer a peer (it is told so if it comes back)`);
      else this.o.logger.info({ peer: id, address: w.address }, `node '${id}' at ${w.address} is a peer`);
      if (this.started && !this.closed && this.dials(id)) this.dial(p);
    }
  }

  isConnected(id: NodeId): boolean {
    return this.peers.get(id)?.ready === true;
  }

  peerStatus(): PeerStatus[] {
    return [...this.peers.values()].filter((p) => !p.retired).map((p) => ({ id: p.id, address: p.address, connected: p.ready, dropped: p.dropped, frameMac: p.ready ? p.frameMac : null }));
  }

  /** Queues a Raft message; all queued for a peer go out together at the end of this turn. */
  sendRaft(group: string, m: Message): void {
    const p = this.peers.get(m.to);
    if (p === undefined || p.retired) return;
    if (!p.ready || p.ws === null) {
      p.dropped++;
      return;
    }
    p.queue.push([group, m]);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends a control frame (leaders, transfer) to one peer now, if connected. */
  send(to: NodeId, frame: PeerFrame): void {
    const p = this.peers.get(to);
    if (p?.ready === true && !p.retired && p.ws !== null) this.sendOn(p.ws, encodeFrame(frame));
  }

  broadcast(frame: PeerFrame): void {
    const bytes = encodeFrame(frame);
    for (const p of this.peers.values()) if (p.ready && !p.retired && p.ws !== null) this.sendOn(p.ws, bytes);
  }

  /** An inbound connection on /raft (the HTTP server did the upgrade). */
  accept(ws: WebSocket, limit: InboundLimit): void {
    const nonce = randomBytes(16).toString('hex');
    let peer: Peer | null = null;
    /** Checks the dialer's frames once it has authenticated (null before, and when frame MACs are off). */
    let opener: FrameOpener | null = null;
    const timer = setTimeout(() => closeSoon(ws, AUTH_FAILED, 'authentication timed out'), this.o.handshakeMs ?? HANDSHAKE_MS);
    ws.on('message', (data, isBinary) => {
      // Closing: what still comes is not heard (a frame after one refused, or after the peer was forgotten).
      if (ws.readyState !== WebSocket.OPEN) return;
      const frame = this.parse(ws, data, isBinary, opener, peer?.id);
      if (frame === null) return;
      if (peer !== null) {
        // Only the peer's current connection is heard: frames still arriving on one it replaced
        // come from before (a restarted process's last words), and Raft must see them first or not at all.
        if (peer.ws === ws) this.o.onFrame(peer.id, frame);
        return;
      }
      if (frame.t === 'join') {
        clearTimeout(timer);
        return this.answerJoin(ws, nonce, frame);
      }
      if (frame.t !== 'auth') return this.refuse(ws, timer, `expected an auth frame, got '${frame.t}'`);
      const p = this.peers.get(frame.id);
      if (p === undefined || this.dials(frame.id)) return this.refuse(ws, timer, `node '${frame.id}' is not a peer that dials this node`, NOT_A_PEER_YET);
      if (!macEquals(frame.mac, mac(this.o.secret, `${nonce}:${frame.id}:${this.o.self}:${identityText(frame)}`))) {
        return this.refuse(ws, timer, `node '${frame.id}' does not know the cluster secret (check --secret or RAFTLOG_SECRET on both nodes)`);
      }
      const me = this.o.identity();
      const foreign = otherCluster(me, frame);
      if (foreign !== null) return this.refuse(ws, timer, `node '${frame.id}' ${foreign}`);
      clearTimeout(timer);
      limit.messageBytesMax = this.o.frameBytesMax;
      // The frame MAC: the first of the dialer's offer this node takes (an earlier version offers none: HMAC).
      const algorithm = chooseFrameMac(frame.macs, this.frameMacs);
      const welcome: PeerFrame = { t: 'welcome', ...me, mac: mac(this.o.secret, `${frame.nonce}:${this.o.self}:${identityText(me)}`), ...(frame.macs !== undefined ? { frameMac: algorithm } : {}) };
      ws.send(encodeFrame(welcome));
      // Every frame after the welcome, both ways, is sealed.
      opener = this.seal(p, ws, { challengeNonce: nonce, authNonce: frame.nonce, dialer: frame.id, acceptor: this.o.self, algorithm }, 'acceptor');
      if (p.retired) return this.tellRetired(p, ws);
      peer = p;
      this.o.onPeerIdentity?.(p.id, { cluster: frame.cluster, inc: frame.inc, member: frame.member });
      this.attach(p, ws);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => clearTimeout(timer));
    ws.send(encodeFrame({ t: 'challenge', id: this.o.self, nonce } satisfies PeerFrame));
  }

  close(): void {
    this.closed = true;
    for (const p of this.peers.values()) this.forget(p);
  }

  // -----------------------------------------------------------------------------------------------

  /** Stops dialling `p` and closes its connection (shutting down, or it left the cluster or moved). */
  private forget(p: Peer): void {
    if (p.timer !== null) clearTimeout(p.timer);
    p.timer = null;
    const ws = p.ws;
    this.detach(p, ws);
    p.ws = null;
    ws?.close(1001, this.closed ? 'node shutting down' : 'no longer a peer at this address');
  }

  /**
   * A `join` frame on an inbound connection: checks the joiner's proof of the secret, asks the
   * node (onJoin), answers, and closes. The connection never becomes a peer connection: once the
   * cluster has recorded the joiner, the nodes dial each other as peers do.
   */
  private answerJoin(ws: WebSocket, nonce: string, f: Extract<PeerFrame, { t: 'join' }>): void {
    const refuse = (r: JoinRefusal): void => {
      ws.send(encodeFrame({ t: 'joinRefused', reason: r.message, retriable: r.retriable, controller: r.controller } satisfies PeerFrame));
      ws.close(1000, 'join refused');
    };
    if (!macEquals(f.mac, mac(this.o.secret, `join:${nonce}:${f.id}:${this.o.self}:${f.address}:${f.inc}`))) {
      this.o.logger.warn({ node: f.id, address: f.address }, `refused node '${f.id}' (at ${f.address}) asking to join: it does not know the cluster secret`);
      closeSoon(ws, AUTH_FAILED, 'wrong cluster secret: start the joining node with the secret of the cluster it joins');
      return;
    }
    if (this.o.onJoin === undefined) return refuse(new JoinRefusal('this node does not take joins', false));
    this.o.onJoin({ id: f.id, address: f.address, inc: f.inc }).then(
      (a) => {
        ws.send(encodeFrame({ t: 'joined', ...a, mac: mac(this.o.secret, `joined:${f.nonce}:${this.o.self}:${joinAnswerText(a)}`) } satisfies PeerFrame));
        ws.close(1000, 'joined');
      },
      (err: unknown) => refuse(err instanceof JoinRefusal ? err : new JoinRefusal(`the join failed: ${(err as Error).message}; retry`, true)),
    );
  }

  /** The node with the lower id dials. */
  private dials(peer: NodeId): boolean {
    return this.o.self < peer;
  }

  private dial(p: Peer): void {
    if (this.closed || this.peers.get(p.id) !== p) return;
    const handshakeMs = this.o.handshakeMs ?? HANDSHAKE_MS;
    const ws = new WebSocket(`${this.o.tls !== undefined ? 'wss' : 'ws'}://${p.address}/raft`, { maxPayload: this.o.frameBytesMax, handshakeTimeout: handshakeMs, generateMask: zeroMask, perMessageDeflate: false, ...this.o.tls });
    p.ws = ws;
    const nonce = randomBytes(16).toString('hex');
    let authed = false;
    /** The acceptor's nonce, once its challenge has come. */
    let challenge: string | null = null;
    /** Checks the acceptor's frames once it has proven itself (null before, and when frame MACs are off). */
    let opener: FrameOpener | null = null;
    // Whatever answers at the address may be anyone until its welcome proves it knows the secret:
    // until then its frames are held to the handshake's size, as the acceptor holds the dialer's
    // (src/server/http.ts). `ws` takes a client's maxPayload once, when it connects; the guard
    // reads the frame headers off the socket instead, and its limit is raised after the welcome.
    let guard: FrameGuard | null = null;
    let socket: Socket | null = null;
    ws.once('upgrade', (res: IncomingMessage) => (socket = res.socket as Socket));
    // On 'open', not 'upgrade': `ws` puts back into the socket the bytes read with the upgrade
    // response, and a 'data' listener added before that would take them alone.
    ws.once('open', () => {
      const s = socket;
      assert(s !== null, () => 'a peer connection opened without its upgrade response');
      guard = new FrameGuard(s, {
        messageBytesMax: PEER_HANDSHAKE_FRAME_BYTES_MAX,
        completeMs: this.o.frameCompleteMs ?? FRAME_COMPLETE_MS,
        onViolation: (code, why) => {
          this.o.logger.warn({ peer: p.id, why }, `closing the connection to node '${p.id}' at ${p.address}: ${why}`);
          refuse(ws, s, code, why);
        },
      });
    });
    // The upgrade has its own timeout (handshakeTimeout); this one covers the challenge and the welcome after it.
    const authTimer = setTimeout(() => {
      this.o.logger.warn({ peer: p.id }, `node '${p.id}' at ${p.address} did not complete the handshake within ${handshakeMs} ms; dialling again`);
      ws.terminate();
    }, handshakeMs);
    keepAlive(ws, {
      intervalMs: this.o.pingIntervalMs ?? PING_INTERVAL_MS,
      silentMsMax: this.o.silentMsMax ?? SILENT_MS_MAX,
      heardAt: () => guard?.heardAt ?? 0,
      onSilent: (ms) => this.o.logger.warn({ peer: p.id, silentMs: Math.round(ms) }, `node '${p.id}' sent nothing for ${Math.round(ms)} ms; closing the connection and dialling again`),
    });
    ws.on('message', (data, isBinary) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const frame = this.parse(ws, data, isBinary, opener, p.id);
      if (frame === null) return;
      if (authed) {
        if (p.ws === ws) this.o.onFrame(p.id, frame);
        return;
      }
      if (frame.t === 'challenge') {
        if (frame.id !== p.id) {
          this.o.logger.error({ peer: p.id, answered: frame.id }, `the node at ${p.address} says it is '${frame.id}', not '${p.id}': check --peers on every node`);
          ws.close(AUTH_FAILED, 'wrong node');
          return;
        }
        if (challenge !== null) {
          this.o.logger.error({ peer: p.id }, `node '${p.id}' at ${p.address} sent a second challenge; closing the connection`);
          ws.close(AUTH_FAILED, 'a second challenge');
          return;
        }
        challenge = frame.nonce;
        const me = this.o.identity();
        ws.send(encodeFrame({ t: 'auth', id: this.o.self, nonce, ...me, mac: mac(this.o.secret, `${frame.nonce}:${this.o.self}:${p.id}:${identityText(me)}`), macs: this.frameMacs } satisfies PeerFrame));
      } else if (frame.t === 'welcome') {
        if (!macEquals(frame.mac, mac(this.o.secret, `${nonce}:${p.id}:${identityText(frame)}`))) {
          this.o.logger.error({ peer: p.id }, `node '${p.id}' does not prove it knows the cluster secret; refusing it`);
          ws.close(AUTH_FAILED, 'authentication failed');
          return;
        }
        const foreign = otherCluster(this.o.identity(), frame);
        if (foreign !== null) {
          this.o.logger.error({ peer: p.id, cluster: frame.cluster }, `refusing node '${p.id}': it ${foreign}`);
          ws.close(AUTH_FAILED, 'another cluster');
          return;
        }
        if (challenge === null) {
          this.o.logger.error({ peer: p.id }, `node '${p.id}' at ${p.address} sent its welcome before any challenge; closing the connection`);
          ws.close(AUTH_FAILED, 'a welcome before the challenge');
          return;
        }
        const algorithm = chosenFrameMac(frame.frameMac, this.frameMacs);
        if (algorithm === null) {
          this.o.logger.error({ peer: p.id, frameMac: frame.frameMac }, `node '${p.id}' chose the frame MAC '${String(frame.frameMac).slice(0, 40)}', which this node did not offer; closing the connection`);
          ws.close(AUTH_FAILED, 'a frame MAC not offered');
          return;
        }
        authed = true;
        clearTimeout(authTimer);
        if (guard !== null) guard.messageBytesMax = this.o.frameBytesMax;
        opener = this.seal(p, ws, { challengeNonce: challenge, authNonce: nonce, dialer: this.o.self, acceptor: p.id, algorithm }, 'dialer');
        if (p.retired) return this.tellRetired(p, ws);
        this.o.onPeerIdentity?.(p.id, { cluster: frame.cluster, inc: frame.inc, member: frame.member });
        this.attach(p, ws);
      }
    });
    ws.on('close', (code, reason) => {
      clearTimeout(authTimer);
      if (code === AUTH_FAILED) this.o.logger.error({ peer: p.id, reason: reason.toString() }, `node '${p.id}' refused this node: ${reason.toString()}`);
      else if (code === NOT_A_PEER_YET) this.o.logger.info({ peer: p.id, reason: reason.toString() }, `node '${p.id}' does not know this node yet (${reason.toString()}); retrying`);
      else if (code === FRAME_REFUSED) this.o.logger.warn({ peer: p.id, reason: reason.toString() }, `node '${p.id}' refused a frame on the connection from this node (${reason.toString()}); dialling again`);
      this.detach(p, ws);
      this.redial(p);
    });
    let refused = false;
    ws.on('unexpected-response', (_req, res) => {
      refused = true;
      const why = res.headers[REFUSED_HEADER];
      if (p.attempts === 3 && !p.retired) this.o.logger.warn({ peer: p.id, address: p.address, status: res.statusCode, why }, `node '${p.id}' at ${p.address} refused the peer connection (HTTP ${res.statusCode}${typeof why === 'string' ? `: ${why}` : ''}); retrying`);
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (p.attempts === 3 && !p.retired && !refused) this.o.logger.warn({ peer: p.id, address: p.address, err: err.message }, `cannot reach node '${p.id}' yet (${err.message}${tlsHint(err, this.o.tls !== undefined)}); retrying`);
    });
  }

  private redial(p: Peer): void {
    if (this.closed || p.timer !== null || this.peers.get(p.id) !== p) return;
    const backoff = p.retired ? RETIRED_DIAL_MS * (0.5 + Math.random()) : redialDelayMs(p.attempts, Math.random());
    p.attempts++;
    p.timer = setTimeout(() => {
      p.timer = null;
      this.dial(p);
    }, backoff);
  }

  /** Tells a decommissioned node, authenticated on `ws`, that it is (its last frame from here), and closes. */
  private tellRetired(p: Peer, ws: WebSocket): void {
    this.o.logger.warn({ peer: p.id }, `node '${p.id}' is running although it was decommissioned: telling it to stop`);
    this.sendOn(ws, encodeFrame({ t: 'retired' } satisfies PeerFrame));
    ws.close(1000, 'decommissioned');
  }

  private attach(p: Peer, ws: WebSocket): void {
    if (p.ws !== null && p.ws !== ws) p.ws.close(1000, 'replaced by a newer connection');
    p.ws = ws;
    p.ready = true;
    p.attempts = 0;
    this.o.logger.info({ peer: p.id }, `connected to node '${p.id}'`);
    if (!this.dials(p.id)) ws.on('close', () => this.detach(p, ws));
    this.o.onPeerUp?.(p.id);
  }

  private detach(p: Peer, ws: WebSocket | null): void {
    if (p.ws !== ws) return;
    const was = p.ready;
    p.ws = null;
    p.ready = false;
    p.queue = [];
    if (was) {
      this.o.logger.warn({ peer: p.id }, `lost the connection to node '${p.id}'`);
      this.o.onPeerDown?.(p.id);
    }
  }

  private refuse(ws: WebSocket, timer: NodeJS.Timeout, why: string, code = AUTH_FAILED): void {
    clearTimeout(timer);
    if (code === AUTH_FAILED) this.o.logger.warn({ why }, `refused a peer connection: ${why}`);
    else this.o.logger.info({ why }, `refused a peer connection for now: ${why}`);
    closeSoon(ws, code, why.slice(0, 120));
  }

  /**
   * The connection `ws` has authenticated, with handshake `h`: from now on this end seals the
   * frames it sends on it, and the opener returned checks the frames that come (null, and
   * nothing sealed, when frame MACs are off).
   */
  private seal(p: Peer, ws: WebSocket, h: FrameKeyInputs, end: 'dialer' | 'acceptor'): FrameOpener | null {
    p.frameMac = this.frameMac ? h.algorithm : 'off';
    if (!this.frameMac) return null;
    const keys = frameKeys(this.o.secret, h, end);
    this.sealers.set(ws, new FrameSealer(keys.send, keys.algorithm));
    return new FrameOpener(keys.receive, keys.algorithm);
  }

  /** Sends a frame's bytes on a connection that has authenticated, sealed unless frame MACs are off. */
  private sendOn(ws: WebSocket, bytes: Buffer): void {
    if (!this.frameMac) return ws.send(bytes);
    const sealer = this.sealers.get(ws);
    assert(sealer !== undefined, () => 'a frame sent on a peer connection that has not authenticated');
    ws.send(sealer.seal(bytes));
  }

  /** The frame in a message that came on `ws` (checked by `opener` once the other end has authenticated), or null once the connection is closed for it. */
  private parse(ws: WebSocket, data: WebSocket.RawData, isBinary: boolean, opener: FrameOpener | null, peer: NodeId | undefined): PeerFrame | null {
    try {
      if (!isBinary) throw new PeerFrameError('a text message where a binary frame belongs');
      const bytes = receivedBytes(data);
      return decodePeerFrame(opener !== null ? opener.open(bytes) : bytes, this.o.frameBytesMax);
    } catch (err) {
      if (err instanceof FrameAuthError) {
        const who = peer !== undefined ? `node '${peer}'` : 'a peer';
        this.o.logger.warn({ peer, why: err.message }, `closing the connection with ${who}: ${err.message} (someone on the network wrote into the connection, or the two nodes disagree on frame MACs); the nodes connect again`);
        ws.close(FRAME_REFUSED, 'frame authentication failed');
        return null;
      }
      // PeerFrameError is the expected case; anything else is a bug in the decoder, and still only this connection's.
      const why = err instanceof Error ? err.message : String(err);
      this.o.logger.warn({ why }, `closing a peer connection that sent a malformed frame: ${why}`);
      closeSoon(ws, 1008, 'malformed frame');
      return null;
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const p of this.peers.values()) {
      if (p.queue.length === 0) continue;
      const ws = p.ws;
      const queue = p.queue;
      p.queue = [];
      if (ws === null || !p.ready) continue;
      if (ws.bufferedAmount > this.o.sendBufferBytesMax) {
        p.dropped += queue.length;
        continue;
      }
      for (const part of raftFrames(queue, Math.min(PEER_FRAME_SPLIT_BYTES, this.o.frameBytesMax / 2))) this.sendOn(ws, encodeFrame({ t: 'raft', m: part } satisfies PeerFrame));
    }
  }
}

/**
 * The queued messages to one peer cut into the frames they go in, in order: each carries about
 * `splitBytes` of messages at most (messageBytes), or one message larger than that alone.
 */
export function raftFrames(queue: readonly [string, Message][], splitBytes: number): [string, Message][][] {
  const frames: [string, Message][][] = [];
  let part: [string, Message][] = [];
  let bytes = 0;
  for (const item of queue) {
    const size = messageBytes(item[1]);
    if (part.length > 0 && bytes + size > splitBytes) {
      frames.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) frames.push(part);
  return frames;
}

/**
 * Closes `ws` with a close frame saying why, and lets it go CLOSE_LINGER_MS later if the other end
 * has not answered the close by then: `ws` itself would wait 30 s for the answer, so that a
 * stranger that never answers (an idle flood on /raft) held each connection for the handshake
 * time and 30 s more.
 */
function closeSoon(ws: WebSocket, code: number, why: string): void {
  ws.close(code, why);
  const timer = setTimeout(() => ws.terminate(), CLOSE_LINGER_MS);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

/** What to check when a dial failed in a way TLS explains: a certificate not trusted, or TLS on one side only. */
export function tlsHint(err: Error, tls: boolean): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (tls && /_ALERT_/.test(code)) return ': it refused the certificate this node presented: check that the CA of its --tls-ca signed this node\'s --tls-cert';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) return ': its certificate is not one this node trusts: check that the CA of --tls-ca signed it, and that it names the host it is dialled at (subjectAltName)';
  if (tls && (code === 'EPROTO' || /wrong version number|packet length too long/.test(err.message))) return ': it does not speak TLS: give every node of the cluster the same --tls';
  if (/socket hang up|ECONNRESET/.test(`${code} ${err.message}`)) {
    return tls ? ': it may have refused the certificate this node presented (its log says why): check that the CA of its --tls-ca signed this node\'s --tls-cert' : '; if its peer listener takes TLS, give this node the same --tls, --tls-cert and --tls-ca';
  }
  return '';
}

function newPeer(id: NodeId, address: string, retired = false): Peer {
  return { id, address, retired, ws: null, ready: false, attempts: 0, timer: null, queue: [], dropped: 0, frameMac: null };
}

/** What the handshake's MAC covers of a node's identity. */
function identityText(id: PeerIdentity): string {
  return `${id.cluster}:${id.inc}:${id.member ? 1 : 0}`;
}

/** Why a peer's folder cannot be of this node's cluster, or null if it can (either may not know its cluster yet). */
function otherCluster(me: PeerIdentity, peer: PeerIdentity): string | null {
  if (me.cluster === '' || peer.cluster === '' || me.cluster === peer.cluster) return null;
  return `belongs to cluster ${peer.cluster}, but this node's data folder to cluster ${me.cluster}: check --peers and --data (a folder of another cluster cannot join this one)`;
}

function messageBytes(m: Message): number {
  let n = 64;
  if (m.type === 'append') for (const e of m.entries) n += e.data.byteLength + 32;
  if (m.type === 'snapshot') n += m.snapshot.data.byteLength;
  return n;
}

/**
 * How long to wait before redialling a peer after `attempts` failed dials in a row: REDIAL_MS_MIN
 * doubled per attempt up to REDIAL_MS_MAX, times a jitter factor 0.5 + `random` (random in [0, 1)),
 * so that the nodes of a cluster that lost a peer do not dial it in step.
 */
export function redialDelayMs(attempts: number, random: number): number {
  // 2 ** attempts overflows to Infinity after ~1,000 failed dials; the cap still holds.
  return Math.min(REDIAL_MS_MAX, REDIAL_MS_MIN * 2 ** attempts) * (0.5 + random);
}
