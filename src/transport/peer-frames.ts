/**
 * Frames between nodes, on `/raft` (msgpack, one per WebSocket binary message):
 *
 *   { t: 'challenge', id, nonce }            server → dialer, first frame on a new connection
 *   { t: 'auth', id, nonce, cluster, inc, member, mac, macs? }  dialer → server: mac = HMAC-SHA256(secret, "<server nonce>:<dialer id>:<server id>:<cluster>:<inc>:<member 0|1>")
 *   { t: 'welcome', cluster, inc, member, mac, frameMac? }   server → dialer: mac = HMAC-SHA256(secret, "<dialer nonce>:<server id>:<cluster>:<inc>:<member 0|1>")
 *
 * `macs` names the frame MACs the dialer can use, preferred first, and `frameMac` the one the
 * acceptor chose from them (FrameMacAlgorithm, below); earlier versions leave both out, and a
 * connection without them uses HMAC_SHA256_128.
 *
 * `cluster` is the id of the cluster the sender's data folder belongs to ('' until it knows),
 * `inc` its folder's incarnation (storage/identity.ts), and `member` whether its metadata replica
 * holds entries (a cluster exists, named or not yet): nodes of different clusters refuse each
 * other, and a node with a new folder learns from its peers whether it is rejoining a cluster.
 *   { t: 'raft', m: [[group, message], ...] } Raft messages of any groups, in order per group
 *   { t: 'leaders', groups: [[group, term], ...], moving?: [group, ...], meta?: index, kafka?, client?, clientTls? }
 *                                            the groups the sender leads, and in which term; of
 *                                            those, the ones not at their target replicas yet, as
 *                                            of the metadata index it has applied (both left out
 *                                            by earlier versions: none moving); kafka: the host:port of
 *                                            its Kafka listener, when it runs one; client: the host:port of its
 *                                            client listener (what clients are told to dial for it; earlier
 *                                            versions leave it out: their peer address), clientTls: true when
 *                                            that listener takes TLS only
 *   { t: 'transfer', group, to }             the controller asks the leader of `group` to hand over to `to`
 *   { t: 'nodes', nodes: [[id, address], ...] }  on connecting: the nodes the sender knows (a peer whose metadata is new or behind learns of nodes that joined)
 *   { t: 'recovery', m }                     a message of a catch-up transfer (src/host/log-recovery.ts:
 *                                            begin, chunk, end, ack, done, abort); a chunk carries at most
 *                                            CHUNK_BYTES of frames, or one frame
 *   { t: 'stray', group }                    a replica the metadata moved off its node asks the group's leader whether it is still a member
 *   { t: 'removed', group, term }            the leader's answer (in `term`) when its committed configuration does not name the sender (src/partition/moves.ts)
 *   { t: 'retired' }                         the cluster decommissioned the receiver: the sender's last frame on the connection (peer-transport.ts)
 *
 * A node that joins a running cluster (--join, src/node/join.ts) dials any node, takes its
 * challenge, and sends instead of `auth`:
 *   { t: 'join', id, nonce, address, inc, mac }   mac = HMAC-SHA256(secret, "join:<server nonce>:<id>:<server id>:<address>:<inc>")
 * and the node answers with one of these, then closes the connection:
 *   { t: 'joined', cluster, founders, nodes: [[id, address], ...], rejoin, mac }
 *       mac = HMAC-SHA256(secret, "joined:<joiner nonce>:<server id>:" + JSON of [cluster, founders, nodes, rejoin])
 *   { t: 'joinRefused', reason, retriable, controller }   controller: the address to ask instead ('' for none)
 *
 * Peers are trusted once authenticated, but a frame's shape is still checked so that a bug or a
 * version mismatch closes the connection instead of crashing a node.
 *
 * Frame MACs. Every frame after the handshake (from the first one after `welcome`, each way:
 * `raft`, `leaders`, ..., `retired`) is sent as one WebSocket message of
 *
 *   frame bytes (msgpack, as above) || seq (8 bytes, big-endian) || tag (FRAME_TAG_BYTES)
 *
 * and the tag is, by the connection's frame MAC:
 *
 *   'chacha20-poly1305'  the Poly1305 tag of ChaCha20-Poly1305 (RFC 8439) under the key, with
 *                        nonce = 4 zero bytes || seq, the frame bytes as the additional data and
 *                        nothing to encrypt (a MAC, as GMAC is AES-GCM's); what nodes of this
 *                        version choose: sealing and opening cost 2.6x less than HMAC-SHA256's at
 *                        30 KB, 4.3x less at 256 KB, about the same at 4 KB and 1.6 µs more at
 *                        200 B (scripts/bench/frame-mac.ts)
 *   'hmac-sha256-128'    HMAC-SHA256(key, seq || frame bytes), its first FRAME_TAG_BYTES bytes
 *                        (earlier versions' only one)
 *
 * `seq` counts the frames of one direction of one connection: 0 for the first after the
 * handshake, one more for each next (so a ChaCha20 nonce is never used twice with a key). Each
 * direction has its own key, derived from the handshake of that connection (frameKeys):
 *
 *   key = HMAC-SHA256(secret, JSON of ["raftlog frame key", direction, challenge nonce, auth nonce, dialer id, acceptor id])
 *         for 'hmac-sha256-128'; the same JSON with the MAC's name appended for any other, so
 *         that two ends that took different MACs (a `frameMac` altered on the way) fail at the
 *         first frame
 *   direction = "dialer to acceptor" | "acceptor to dialer"
 *
 * so that without the cluster secret nobody who reaches the TCP stream can write a frame a peer
 * takes: one altered or written in fails its tag, and one played again (from this connection,
 * the other direction, or another connection) or taken out of order has another sequence number
 * or key. A frame that fails (FrameOpener.open) closes the connection, and the nodes connect
 * again. The tag covers the bytes as they are sent: nothing is encoded twice. A connection whose
 * transport runs without MACs (PeerTransportOptions.frameMac false: mutual TLS protects it)
 * carries the bare frame bytes; both ends must agree.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { EntryKind, type Message } from '../../raft/types.js';
import type { RecoveryMessage } from '../host/log-recovery.js';
import { decodeFrame } from '../wire/codec.js';

export type PeerFrame =
  | { readonly t: 'challenge'; readonly id: string; readonly nonce: string }
  | { readonly t: 'auth'; readonly id: string; readonly nonce: string; readonly cluster: string; readonly inc: string; readonly member: boolean; readonly mac: string; readonly macs?: readonly string[] }
  | { readonly t: 'welcome'; readonly cluster: string; readonly inc: string; readonly member: boolean; readonly mac: string; readonly frameMac?: string }
  | { readonly t: 'raft'; readonly m: readonly (readonly [string, Message])[] }
  | { readonly t: 'leaders'; readonly groups: readonly (readonly [string, number])[]; readonly moving?: readonly string[]; readonly meta?: number; readonly kafka?: string; readonly client?: string; readonly clientTls?: boolean }
  | { readonly t: 'transfer'; readonly group: string; readonly to: string }
  | { readonly t: 'nodes'; readonly nodes: readonly (readonly [string, string])[] }
  | { readonly t: 'stray'; readonly group: string }
  | { readonly t: 'removed'; readonly group: string; readonly term: number }
  | { readonly t: 'retired' }
  | { readonly t: 'join'; readonly id: string; readonly nonce: string; readonly address: string; readonly inc: string; readonly mac: string }
  | ({ readonly t: 'joined'; readonly mac: string } & JoinAnswer)
  | { readonly t: 'joinRefused'; readonly reason: string; readonly retriable: boolean; readonly controller: string }
  | { readonly t: 'recovery'; readonly m: RecoveryMessage };

/** What a joining node is told once the cluster has recorded it (src/node/join.ts). */
export interface JoinAnswer {
  readonly cluster: string;
  /** The metadata voters the cluster was created with (storage/identity.ts metaVoters). */
  readonly founders: readonly string[];
  /** Every node the metadata knows, the joiner included: [id, host:port]. */
  readonly nodes: readonly (readonly [string, string])[];
  /** The id was the cluster's before, on another data folder: its replicas rejoin (raft/rejoin.ts). */
  readonly rejoin: boolean;
}

/** What a `joined` frame's MAC covers besides the nonce and the answering node's id. */
export function joinAnswerText(a: JoinAnswer): string {
  return JSON.stringify([a.cluster, a.founders, a.nodes, a.rejoin]);
}

export function mac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

export function macEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Bytes of a frame MAC's tag: HMAC-SHA256 truncated to 128 bits (as RFC 4868's HMAC-SHA-256-128). */
export const FRAME_TAG_BYTES = 16;
/** Bytes of a frame's sequence number. */
export const FRAME_SEQ_BYTES = 8;
/** What a frame MAC adds to each frame after the handshake. */
export const FRAME_TRAILER_BYTES = FRAME_SEQ_BYTES + FRAME_TAG_BYTES;

/** The MACs a connection's frames can carry (see the format above). */
export type FrameMacAlgorithm = 'chacha20-poly1305' | 'hmac-sha256-128';
/** What a connection uses when the handshake names none (an earlier version at either end). */
export const HMAC_SHA256_128: FrameMacAlgorithm = 'hmac-sha256-128';
/** The frame MACs this version can use, preferred first: what a dialer offers and an acceptor chooses from. */
export const FRAME_MACS: readonly FrameMacAlgorithm[] = Object.freeze(['chacha20-poly1305', HMAC_SHA256_128]);
/** Names an `auth` frame may offer; more close the connection as a malformed frame. */
export const FRAME_MACS_OFFERED_MAX = 16;

/**
 * The acceptor's choice: the first MAC of the dialer's offer (`macs` of its auth) that is among
 * `accepted` (this node's); HMAC_SHA256_128 for a dialer that offered none of them, or nothing.
 */
export function chooseFrameMac(offered: readonly string[] | undefined, accepted: readonly FrameMacAlgorithm[] = FRAME_MACS): FrameMacAlgorithm {
  return offered?.find((m): m is FrameMacAlgorithm => (accepted as readonly string[]).includes(m)) ?? HMAC_SHA256_128;
}

/**
 * The dialer's reading of the acceptor's choice (`frameMac` of its welcome): HMAC_SHA256_128 if it
 * names none, null if it names one the dialer did not offer (the connection is then refused).
 */
export function chosenFrameMac(chosen: string | undefined, offered: readonly FrameMacAlgorithm[]): FrameMacAlgorithm | null {
  if (chosen === undefined) return HMAC_SHA256_128;
  return offered.find((a) => a === chosen) ?? null;
}

/** What the frame keys of one connection are derived from: its handshake. */
export interface FrameKeyInputs {
  /** The acceptor's nonce, in its `challenge`. */
  readonly challengeNonce: string;
  /** The dialer's nonce, in its `auth`. */
  readonly authNonce: string;
  readonly dialer: string;
  readonly acceptor: string;
  /** The MAC the acceptor chose (its welcome's `frameMac`). */
  readonly algorithm: FrameMacAlgorithm;
}

/** The keys of a connection's two directions, as seen from one end of it, and the MAC they are for. */
export interface FrameKeys {
  readonly send: Buffer;
  readonly receive: Buffer;
  readonly algorithm: FrameMacAlgorithm;
}

/** The frame keys (see the format above) of the connection of handshake `h`, for its end `end`. */
export function frameKeys(secret: string, h: FrameKeyInputs, end: 'dialer' | 'acceptor'): FrameKeys {
  const key = (direction: string): Buffer => {
    const inputs = ['raftlog frame key', direction, h.challengeNonce, h.authNonce, h.dialer, h.acceptor];
    if (h.algorithm !== HMAC_SHA256_128) inputs.push(h.algorithm);
    return createHmac('sha256', secret).update(JSON.stringify(inputs)).digest();
  };
  const up = key('dialer to acceptor');
  const down = key('acceptor to dialer');
  return end === 'dialer' ? { send: up, receive: down, algorithm: h.algorithm } : { send: down, receive: up, algorithm: h.algorithm };
}

function seqBytes(seq: number): Buffer {
  const b = Buffer.alloc(FRAME_SEQ_BYTES);
  b.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}

/** Bytes of a ChaCha20-Poly1305 nonce: 4 zero bytes, then the frame's seq. */
const NONCE_BYTES = 12;

function nonceOf(seq: Uint8Array): Buffer {
  const n = Buffer.alloc(NONCE_BYTES);
  n.set(seq, NONCE_BYTES - FRAME_SEQ_BYTES);
  return n;
}

function tag(algorithm: FrameMacAlgorithm, key: Buffer, seq: Uint8Array, frame: Uint8Array): Buffer {
  if (algorithm === HMAC_SHA256_128) return createHmac('sha256', key).update(seq).update(frame).digest().subarray(0, FRAME_TAG_BYTES);
  const c = createCipheriv('chacha20-poly1305', key, nonceOf(seq), { authTagLength: FRAME_TAG_BYTES });
  c.setAAD(frame, { plaintextLength: 0 });
  c.final();
  return c.getAuthTag();
}

/** Whether `theirs` is the tag of `frame` numbered `seq` under `key`. */
function tagValid(algorithm: FrameMacAlgorithm, key: Buffer, seq: Uint8Array, frame: Uint8Array, theirs: Uint8Array): boolean {
  if (algorithm === HMAC_SHA256_128) return timingSafeEqual(theirs, tag(algorithm, key, seq, frame));
  const d = createDecipheriv('chacha20-poly1305', key, nonceOf(seq), { authTagLength: FRAME_TAG_BYTES });
  d.setAAD(frame, { plaintextLength: 0 });
  d.setAuthTag(theirs);
  try {
    d.final();
    return true;
  } catch {
    return false;
  }
}

/** Seals the frames of one direction of a connection, in the order they are sent. */
export class FrameSealer {
  private seq = 0;
  constructor(private readonly key: Buffer, private readonly algorithm: FrameMacAlgorithm) {}

  /** The message that carries `frame` (its encoded bytes, sent as they are): frame || seq || tag. */
  seal(frame: Uint8Array): Buffer {
    const seq = seqBytes(this.seq++);
    return Buffer.concat([frame, seq, tag(this.algorithm, this.key, seq, frame)]);
  }
}

/** A frame after the handshake whose MAC fails: altered, written in, played again or out of order. The connection is closed. */
export class FrameAuthError extends Error {
  override readonly name = 'FrameAuthError';
}

/** Checks the frames of one direction of a connection, in the order they come. */
export class FrameOpener {
  private seq = 0;
  private failed = false;
  constructor(private readonly key: Buffer, private readonly algorithm: FrameMacAlgorithm) {}

  /** The frame bytes `message` carries, if it is the next frame sealed with this direction's key; a FrameAuthError otherwise (and for every message after). */
  open(message: Uint8Array): Uint8Array {
    if (this.failed) throw new FrameAuthError('a frame after one that failed its MAC');
    this.failed = true;
    if (message.byteLength < FRAME_TRAILER_BYTES) throw new FrameAuthError(`a frame of ${message.byteLength} bytes, too short to carry a MAC`);
    const end = message.byteLength - FRAME_TRAILER_BYTES;
    const frame = message.subarray(0, end);
    const seq = Buffer.from(message.buffer, message.byteOffset + end, FRAME_SEQ_BYTES);
    // The tag first: a frame that carries a valid one was sealed on this connection, and only then does its number say more.
    const theirs = Buffer.from(message.buffer, message.byteOffset + end + FRAME_SEQ_BYTES, FRAME_TAG_BYTES);
    if (!tagValid(this.algorithm, this.key, seq, frame, theirs)) throw new FrameAuthError(`frame ${this.seq} after the handshake does not carry a valid MAC: altered or written in on the way`);
    const got = seq.readUInt32BE(0) * 2 ** 32 + seq.readUInt32BE(4);
    if (got !== this.seq) throw new FrameAuthError(`a frame numbered ${got} where ${this.seq} was next: played again, or out of order`);
    this.seq++;
    this.failed = false;
    return frame;
  }
}

/** Nodes one `nodes` frame may name. */
export const NODES_FRAME_MAX = 1024;

/** Bytes of one frame between peers; larger frames close the connection. */
export const PEER_FRAME_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Bytes of one frame on an inbound peer connection until the dialer has authenticated (anyone
 * who reaches the port can open one): the `auth` and `join` frames it may send are a few hundred
 * bytes. A larger frame is refused as soon as its header arrives (src/wire/ws-guard.ts).
 */
export const PEER_HANDSHAKE_FRAME_BYTES_MAX = 4 * 1024;

/** A Kafka or client listener's address in a `leaders` frame: host:port (what clients will be told to dial). */
const KAFKA_ADDRESS = /^[^\s:=,]{1,255}:\d{1,5}$/;

const MESSAGE_TYPES = new Set(['preVote', 'vote', 'preVoteResp', 'voteResp', 'append', 'appendResp', 'heartbeat', 'heartbeatResp', 'snapshot', 'timeoutNow']);

function strs(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNat(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const ENTRY_KINDS: ReadonlySet<unknown> = new Set(Object.values(EntryKind));

/** Of a kind in the closed list: a follower stores the kind in seven bits and takes any other for a corrupt log when it reads it back (storage/frame.ts). */
function isEntry(v: unknown): boolean {
  return isObj(v) && isNat(v['index']) && isNat(v['term']) && ENTRY_KINDS.has(v['kind']) && v['data'] instanceof Uint8Array;
}

/** A configuration (raft/membership.ts): its voters and learners, lists of node ids. */
function isMembership(v: unknown): boolean {
  const ids = (x: unknown): boolean => Array.isArray(x) && x.every((id) => typeof id === 'string');
  return isObj(v) && ids(v['voters']) && ids(v['learners']);
}

/** An answer's incarnation, present only while its sender rejoins: the leader keeps and compares it (raft/leader.ts). */
function isAnswer(v: Record<string, unknown>): boolean {
  return v['rejoin'] === undefined || typeof v['rejoin'] === 'string';
}

/** A Raft message as the core expects it, checked field by field. */
export function isRaftMessage(v: unknown): v is Message {
  if (!isObj(v) || typeof v['type'] !== 'string' || !MESSAGE_TYPES.has(v['type'])) return false;
  if (typeof v['from'] !== 'string' || typeof v['to'] !== 'string' || !isNat(v['term'])) return false;
  switch (v['type']) {
    case 'preVote':
    case 'vote':
      return isNat(v['lastIndex']) && isNat(v['lastTerm']) && typeof v['transfer'] === 'boolean';
    case 'preVoteResp':
    case 'voteResp':
      return typeof v['reject'] === 'boolean' && isAnswer(v);
    case 'append':
      return (
        isNat(v['prevIndex']) &&
        isNat(v['prevTerm']) &&
        isNat(v['commit']) &&
        Array.isArray(v['entries']) &&
        v['entries'].every(isEntry) &&
        (v['logStartMembership'] === undefined || isMembership(v['logStartMembership']))
      );
    case 'appendResp':
      return isNat(v['index']) && typeof v['reject'] === 'boolean' && isNat(v['conflictTerm']) && isNat(v['conflictIndex']) && isAnswer(v);
    case 'heartbeat':
      return isNat(v['commit']) && isNat(v['readRound']);
    case 'heartbeatResp':
      return isNat(v['readRound']) && isAnswer(v);
    case 'snapshot': {
      const s = v['snapshot'];
      return isObj(s) && isNat(s['index']) && isNat(s['term']) && s['data'] instanceof Uint8Array;
    }
    case 'timeoutNow':
      return true;
    default:
      return false;
  }
}

/** A catch-up transfer's message (src/host/log-recovery.ts), checked field by field. */
function isRecoveryMessage(v: unknown): v is RecoveryMessage {
  if (!isObj(v) || typeof v['group'] !== 'string' || typeof v['id'] !== 'string') return false;
  switch (v['k']) {
    case 'begin': {
      const m = v['snapshot'];
      return isRaftMessage(m) && m.type === 'snapshot';
    }
    case 'chunk':
      return isNat(v['seq']) && v['bytes'] instanceof Uint8Array;
    case 'end':
      return isNat(v['chunks']);
    case 'ack':
      return isNat(v['seq']);
    case 'done':
      return true;
    case 'abort':
      return typeof v['why'] === 'string';
    default:
      return false;
  }
}

function isIdentity(v: Record<string, unknown>): boolean {
  return typeof v['cluster'] === 'string' && typeof v['inc'] === 'string' && typeof v['member'] === 'boolean';
}

/** Bytes from a peer that are no frame: too many, not msgpack, or not the shape of any frame. The connection is closed. */
export class PeerFrameError extends Error {
  override readonly name = 'PeerFrameError';
}

/** The frame in one binary WebSocket message from a peer; a PeerFrameError if there is none. */
export function decodePeerFrame(bytes: Uint8Array, bytesMax = PEER_FRAME_BYTES_MAX): PeerFrame {
  if (bytes.byteLength > bytesMax) throw new PeerFrameError(`a frame of ${bytes.byteLength} bytes is over the limit of ${bytesMax}`);
  let v: unknown;
  try {
    v = decodeFrame(bytes);
  } catch (err) {
    throw new PeerFrameError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  const frame = parsePeerFrame(v);
  if (frame === null) {
    const kind = isObj(v) && typeof v['t'] === 'string' ? `'${v['t'].slice(0, 32)}'` : 'none';
    throw new PeerFrameError(`not a peer frame (kind ${kind}): a kind this node does not know, or a field missing or of the wrong type`);
  }
  return frame;
}

/** The frame if its shape is right, else null. */
export function parsePeerFrame(v: unknown): PeerFrame | null {
  if (!isObj(v)) return null;
  switch (v['t']) {
    case 'challenge':
      return typeof v['id'] === 'string' && typeof v['nonce'] === 'string' ? (v as unknown as PeerFrame) : null;
    case 'auth': {
      const macs = v['macs'];
      const offerOk = macs === undefined || (strs(macs) && macs.length <= FRAME_MACS_OFFERED_MAX);
      return typeof v['id'] === 'string' && typeof v['nonce'] === 'string' && isIdentity(v) && typeof v['mac'] === 'string' && offerOk ? (v as unknown as PeerFrame) : null;
    }
    case 'welcome':
      return isIdentity(v) && typeof v['mac'] === 'string' && (v['frameMac'] === undefined || typeof v['frameMac'] === 'string') ? (v as unknown as PeerFrame) : null;
    case 'raft': {
      const m = v['m'];
      if (!Array.isArray(m)) return null;
      for (const pair of m) {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || !isRaftMessage(pair[1])) return null;
      }
      return v as unknown as PeerFrame;
    }
    case 'leaders': {
      const g = v['groups'];
      if (!Array.isArray(g) || !g.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && isNat(p[1]))) return null;
      const moving = v['moving'];
      if (moving !== undefined && !(Array.isArray(moving) && moving.every((x) => typeof x === 'string'))) return null;
      if (v['meta'] !== undefined && !isNat(v['meta'])) return null;
      if (v['kafka'] !== undefined && !(typeof v['kafka'] === 'string' && KAFKA_ADDRESS.test(v['kafka']))) return null;
      if (v['client'] !== undefined && !(typeof v['client'] === 'string' && KAFKA_ADDRESS.test(v['client']))) return null;
      if (v['clientTls'] !== undefined && typeof v['clientTls'] !== 'boolean') return null;
      return v as unknown as PeerFrame;
    }
    case 'transfer':
      return typeof v['group'] === 'string' && typeof v['to'] === 'string' ? (v as unknown as PeerFrame) : null;
    case 'nodes': {
      const nodes = v['nodes'];
      return Array.isArray(nodes) && nodes.length <= NODES_FRAME_MAX && nodes.every((n) => Array.isArray(n) && n.length === 2 && typeof n[0] === 'string' && typeof n[1] === 'string') ? (v as unknown as PeerFrame) : null;
    }
    case 'recovery':
      return isRecoveryMessage(v['m']) ? (v as unknown as PeerFrame) : null;
    case 'stray':
      return typeof v['group'] === 'string' ? (v as unknown as PeerFrame) : null;
    case 'removed':
      return typeof v['group'] === 'string' && isNat(v['term']) ? (v as unknown as PeerFrame) : null;
    case 'retired':
      return v as unknown as PeerFrame;
    case 'join':
      return ['id', 'nonce', 'address', 'inc', 'mac'].every((k) => typeof v[k] === 'string') ? (v as unknown as PeerFrame) : null;
    case 'joined': {
      const nodes = v['nodes'];
      const nodesOk = Array.isArray(nodes) && nodes.every((n) => Array.isArray(n) && n.length === 2 && strs(n));
      return typeof v['cluster'] === 'string' && strs(v['founders']) && nodesOk && typeof v['rejoin'] === 'boolean' && typeof v['mac'] === 'string' ? (v as unknown as PeerFrame) : null;
    }
    case 'joinRefused':
      return typeof v['reason'] === 'string' && typeof v['retriable'] === 'boolean' && typeof v['controller'] === 'string' ? (v as unknown as PeerFrame) : null;
    default:
      return null;
  }
}
