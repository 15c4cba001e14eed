/**
 * Joining a running cluster (`node cluster.js --id n4 --listen ... --join host:port,...`,
 * DESIGN.md §9: `--peers` only seeds a brand-new cluster; afterwards the metadata knows the nodes).
 *
 * The joining node, with a new data folder, dials any node it is given on the peer endpoint, takes
 * its challenge and answers with a `join` frame that proves it knows the cluster secret
 * (src/transport/peer-frames.ts). A node that is not the controller refuses, naming the
 * controller's address; the joiner asks there. The controller records the node in the metadata
 * (`registerNode`: its id, folder incarnation and address) and, once that is committed, answers
 * with the cluster's id, the metadata voters it was created with, and every node's address; the
 * joiner writes the cluster into its folder's identity and opens its metadata replica as a
 * learner of a group whose voters it does not know yet (the leader's log tells it). Every node
 * dials the joiner once it applies the record (its peers come from the metadata), and the
 * controller makes it a metadata learner, then a voter while the group has fewer than
 * META_VOTERS_MAX (src/node/controller.ts). It is a placement target from the moment it is
 * recorded and connected.
 *
 * An id the cluster knew before on another folder (a node that lost its disk, or one replaced by
 * a new machine under its old name) is told `rejoin`: its replicas must not vote until they have
 * caught up (raft/rejoin.ts), as a folder found empty under --peers does (identity.ts). The
 * controller refuses an id that is connected now on another folder: two processes cannot be one
 * node.
 *
 * A node restarted with --join whose metadata replica already holds entries starts from them and
 * never asks again; one that crashed before its first metadata entry asks again, and the
 * controller answers the same incarnation the same way.
 */
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { NodeStartError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DialTls } from '../server/tls.js';
import { AUTH_FAILED, tlsHint } from '../transport/peer-transport.js';
import { decodePeerFrame, joinAnswerText, mac, macEquals, type JoinAnswer, type PeerFrame } from '../transport/peer-frames.js';
import { encodeFrame } from '../wire/codec.js';
import { REFUSED_HEADER, receivedBytes, zeroMask } from '../wire/ws-options.js';

/** How long one ask may take, dial to answer (the controller commits a metadata entry meanwhile). */
export const JOIN_ASK_MS = 10_000;
/** Between rounds over every address, doubling from the first up to the last. */
const JOIN_RETRY_MS_MIN = 200;
const JOIN_RETRY_MS_MAX = 5_000;
/** How often a node still waiting to join says so. */
const JOIN_NOTE_MS = 5_000;
/** Controller redirects followed in a row before starting over from the --join addresses. */
const REDIRECTS_MAX = 3;
/**
 * The largest frame a joining node takes from the address it asks: the challenge and the answer,
 * which names every node of the cluster (1 MiB holds thousands of ids and addresses). Whatever
 * answers has proven nothing until its answer's MAC is checked, so it may not make the joiner
 * buffer a full-size peer frame (src/transport/peer-frames.ts PEER_FRAME_BYTES_MAX).
 */
export const JOIN_FRAME_BYTES_MAX = 1024 * 1024;

export interface JoinOptions {
  readonly self: string;
  /** The address this node listens on: what the cluster records and its peers dial. */
  readonly address: string;
  /** This folder's incarnation (storage/identity.ts). */
  readonly inc: string;
  readonly secret: string;
  /** --join's addresses. */
  readonly seeds: readonly string[];
  readonly logger: Logger;
  /** Dial over mutual TLS (the node's peer listener uses it, so the cluster's do): its certificate, and the CA to verify theirs. */
  readonly tls?: DialTls;
  /** True once the node is stopping: the loop gives up. */
  readonly stopped: () => boolean;
}

export type AskResult =
  | { readonly kind: 'joined'; readonly answer: JoinAnswer }
  | { readonly kind: 'refused'; readonly reason: string; readonly retriable: boolean; readonly controller: string }
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * Asks the cluster until it answers: through each --join address in turn, following the
 * controller's address when a node names it. Resolves with the answer, or null if the node
 * stopped first; throws NodeStartError for a refusal that retrying cannot change.
 */
export async function joinCluster(o: JoinOptions): Promise<JoinAnswer | null> {
  let wait = JOIN_RETRY_MS_MIN;
  let nextNote = Date.now() + JOIN_NOTE_MS;
  let last = '';
  while (!o.stopped()) {
    for (const seed of o.seeds) {
      let at = seed;
      for (let hop = 0; hop <= REDIRECTS_MAX && !o.stopped(); hop++) {
        const r = await askToJoin(at, o);
        if (r.kind === 'joined') return r.answer;
        if (r.kind === 'refused' && !r.retriable) throw new NodeStartError(`the cluster refused to let node ${o.self} join (asked at ${at}): ${r.reason}`);
        last = `${at}: ${r.reason}`;
        o.logger.debug({ at, reason: r.reason }, `asking ${at} to join: ${r.reason}`);
        if (r.kind !== 'refused' || r.controller === '' || r.controller === at) break;
        at = r.controller;
      }
    }
    if (Date.now() >= nextNote) {
      nextNote = Date.now() + JOIN_NOTE_MS;
      o.logger.warn({ seeds: o.seeds, last }, `waiting to join the cluster through ${o.seeds.join(', ')}: ${last}. Check that those nodes run, and that this node has the cluster's secret`);
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(JOIN_RETRY_MS_MAX, wait * 2);
  }
  return null;
}

/** One ask: dial `address`, prove the secret, wait for the answer (at most JOIN_ASK_MS). */
export function askToJoin(address: string, o: Pick<JoinOptions, 'self' | 'address' | 'inc' | 'secret' | 'tls'>): Promise<AskResult> {
  return new Promise((resolve) => {
    const nonce = randomBytes(16).toString('hex');
    let serverId = '';
    let settled = false;
    const done = (r: AskResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
      ws.close();
    };
    const ws = new WebSocket(`${o.tls !== undefined ? 'wss' : 'ws'}://${address}/raft`, { maxPayload: JOIN_FRAME_BYTES_MAX, handshakeTimeout: JOIN_ASK_MS, generateMask: zeroMask, ...o.tls });
    const timer = setTimeout(() => done({ kind: 'failed', reason: `no answer within ${JOIN_ASK_MS} ms` }), JOIN_ASK_MS);
    ws.on('unexpected-response', (_req, res) => {
      const why = res.headers[REFUSED_HEADER];
      done({ kind: 'failed', reason: `it refused the connection (HTTP ${res.statusCode}${typeof why === 'string' ? `: ${why}` : ''})` });
      ws.terminate();
    });
    ws.on('error', (err) => done({ kind: 'failed', reason: `cannot reach it (${err.message}${tlsHint(err, o.tls !== undefined)})` }));
    ws.on('close', (code, reason) => {
      const why = reason.toString();
      if (code === AUTH_FAILED) done({ kind: 'refused', reason: why !== '' ? why : 'it refused the cluster secret', retriable: false, controller: '' });
      else done({ kind: 'failed', reason: `it closed the connection (${code}${why !== '' ? `: ${why}` : ''})` });
    });
    ws.on('message', (data, isBinary) => {
      let f: PeerFrame;
      try {
        if (!isBinary) throw new Error('a text message');
        f = decodePeerFrame(receivedBytes(data));
      } catch (err) {
        return done({ kind: 'failed', reason: `it sent a malformed frame (${(err as Error).message})` });
      }
      if (f.t === 'challenge') {
        serverId = f.id;
        const proof = mac(o.secret, `join:${f.nonce}:${o.self}:${f.id}:${o.address}:${o.inc}`);
        ws.send(encodeFrame({ t: 'join', id: o.self, nonce, address: o.address, inc: o.inc, mac: proof } satisfies PeerFrame));
      } else if (f.t === 'joined') {
        const answer: JoinAnswer = { cluster: f.cluster, founders: f.founders, nodes: f.nodes, rejoin: f.rejoin };
        if (!macEquals(f.mac, mac(o.secret, `joined:${nonce}:${serverId}:${joinAnswerText(answer)}`))) {
          return done({ kind: 'failed', reason: 'its answer does not prove it knows the cluster secret' });
        }
        done({ kind: 'joined', answer });
      } else if (f.t === 'joinRefused') {
        done({ kind: 'refused', reason: f.reason, retriable: f.retriable, controller: f.controller });
      }
    });
  });
}
