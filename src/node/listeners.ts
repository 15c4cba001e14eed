/**
 * A node's listeners and their TLS, from its options (issue 22 §3):
 *
 *   --listen host:port         peers (`/raft`): the address in --peers and in the metadata
 *   --client-listen host:port  clients (`/client`); default: --listen
 *   --http-listen host:port    HTTP (`/status`, `/metrics`); default: --listen
 *   --kafka host:port          Kafka clients (off unless given)
 *   --tls-cert, --tls-key, --tls-ca   PEM files (src/server/tls.ts)
 *   --tls <listeners>          which take TLS only: all, none, or a list of peer, client, http,
 *                              kafka (default: all the node runs once --tls-cert is given, else none)
 *   --tls-client-auth <mode>   none (default) or required: the client and Kafka listeners require
 *                              a client certificate signed by the CA
 *
 * Uses that share an address are one server, so they share its TLS: a node that wants TLS on
 * some and not others gives them addresses of their own.
 */
import type { NodeId } from '../../raft/types.js';
import { NodeStartError } from '../errors.js';
import { HTTP_USES, type HttpUse } from '../server/http.js';
import { TLS_LISTENERS, checkTls, readPemFiles, type NodeTls, type TlsListener } from '../server/tls.js';

/** The options of this file's flags, as commander gives them (strings, unchecked). */
export interface ListenerOptions {
  clientListen?: string;
  httpListen?: string;
  tls?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsClientAuth?: string;
}

/** What the flags give a NodeConfig. */
export interface ListenerConfig {
  readonly clientListen?: string;
  readonly httpListen?: string;
  readonly tls?: NodeTls;
}

/** Where a node listens, each use at its address. */
export interface NodeListeners {
  readonly peer: string;
  readonly client: string;
  readonly http: string;
  readonly kafka?: string;
}

/** What the node's listener addresses and TLS are, as /status shows them (StatusResponse.listeners). */
export function listenersOf(c: { readonly listen: string; readonly clientListen?: string; readonly httpListen?: string; readonly kafka?: string }): NodeListeners {
  return { peer: c.listen, client: c.clientListen ?? c.listen, http: c.httpListen ?? c.listen, ...(c.kafka !== undefined ? { kafka: c.kafka } : {}) };
}

/** The node's HTTP servers: one per address, with the uses it serves there. */
export function httpServers(l: NodeListeners): Map<string, Set<HttpUse>> {
  const out = new Map<string, Set<HttpUse>>();
  for (const use of HTTP_USES) {
    const at = l[use];
    let uses = out.get(at);
    if (uses === undefined) out.set(at, (uses = new Set()));
    uses.add(use);
  }
  return out;
}

/**
 * The listeners and TLS the flags give a node listening for peers at `listen` (and Kafka clients
 * at `kafka`), its addresses already checked to be host:port; a NodeStartError saying what is wrong.
 */
export function parseListeners(o: ListenerOptions, listen: string, kafka: string | undefined): ListenerConfig {
  const l = listenersOf({ listen, ...(o.clientListen !== undefined ? { clientListen: o.clientListen } : {}), ...(o.httpListen !== undefined ? { httpListen: o.httpListen } : {}), ...(kafka !== undefined ? { kafka } : {}) });
  if (kafka !== undefined) {
    for (const use of HTTP_USES) if (l[use] === kafka) throw new NodeStartError(`--kafka ${kafka} is the ${use} listener's address too: give the Kafka listener a port of its own`);
  }
  const tls = parseTls(o, l);
  if (tls !== undefined) {
    for (const [at, uses] of httpServers(l)) {
      const on = [...uses].filter((u) => tls.listeners.has(u));
      if (on.length > 0 && on.length < uses.size) {
        const off = [...uses].filter((u) => !tls.listeners.has(u));
        throw new NodeStartError(`--tls puts the ${on.join(' and ')} listener on TLS but not the ${off.join(' and ')} listener, and they share ${at}: one address is one server, TLS or not; give them addresses of their own (--client-listen, --http-listen) or the same --tls`);
      }
    }
  }
  return { ...(o.clientListen !== undefined ? { clientListen: o.clientListen } : {}), ...(o.httpListen !== undefined ? { httpListen: o.httpListen } : {}), ...(tls !== undefined ? { tls } : {}) };
}

function parseTls(o: ListenerOptions, l: NodeListeners): NodeTls | undefined {
  const running: TlsListener[] = TLS_LISTENERS.filter((k) => k !== 'kafka' || l.kafka !== undefined);
  let listeners: TlsListener[];
  const word = o.tls?.trim().toLowerCase();
  if (word === undefined || word === '') listeners = o.tlsCert !== undefined ? running : [];
  else if (word === 'all') listeners = running;
  else if (word === 'none') listeners = [];
  else {
    listeners = [];
    for (const part of word.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
      if (!(TLS_LISTENERS as readonly string[]).includes(part)) throw new NodeStartError(`--tls: '${part}' is not a listener: give all, none, or a list of ${TLS_LISTENERS.join(', ')}`);
      if (part === 'kafka' && l.kafka === undefined) throw new NodeStartError('--tls names kafka, but the node runs no Kafka listener (--kafka)');
      listeners.push(part as TlsListener);
    }
  }
  const clientAuth = onOrRequired(o.tlsClientAuth);
  if (listeners.length === 0) {
    if (clientAuth) throw new NodeStartError('--tls-client-auth required needs TLS on the client or Kafka listener (--tls-cert, --tls)');
    return undefined;
  }
  if (o.tlsCert === undefined || o.tlsKey === undefined) {
    throw new NodeStartError(`TLS on the ${listeners.join(', ')} listener${listeners.length > 1 ? 's' : ''} needs the node's certificate and its key: give --tls-cert and --tls-key (PEM files)`);
  }
  if (clientAuth && !listeners.includes('client') && !listeners.includes('kafka')) throw new NodeStartError('--tls-client-auth required applies to the client and Kafka listeners, and --tls puts neither on TLS');
  const files = { cert: o.tlsCert, key: o.tlsKey, ...(o.tlsCa !== undefined ? { ca: o.tlsCa } : {}) };
  const t: NodeTls = { listeners: new Set(listeners), pem: readPemFiles(files), clientAuth };
  checkTls(t, files);
  return t;
}

function onOrRequired(v: string | undefined): boolean {
  const s = v?.trim().toLowerCase();
  if (s === undefined || s === '' || s === 'none') return false;
  if (s === 'required') return true;
  throw new NodeStartError(`--tls-client-auth is none or required, not '${v}'`);
}

/** A peer's client listener as its gossip says (peer-frames.ts `leaders`): where clients are sent, and whether it takes TLS. */
export interface ClientListener {
  readonly address: string;
  readonly tls: boolean;
}

/** The client listener of each peer, as told; kept while the peer is down (clients are still sent where it was). */
export type PeerClientListeners = Map<NodeId, ClientListener>;
