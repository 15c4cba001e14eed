/**
 * TLS on the node's listeners, from PEM files (`--tls-cert`, `--tls-key`, `--tls-ca`; which
 * listeners use it: `--tls`, all of them once a certificate is given; `--tls-client-auth`).
 *
 * - The peer listener (`/raft`) is mutual TLS: the acceptor requires a client certificate signed
 *   by the CA of `--tls-ca`, and the dialler verifies the acceptor against that CA (and its host
 *   name against the certificate's subjectAltName, as any TLS client does) and presents its own
 *   certificate. Every node of a cluster therefore has a certificate from one CA, usable as server
 *   and as client (an extendedKeyUsage, if there is one, names both serverAuth and clientAuth).
 *   Peer TLS is all or nothing in a cluster: a node dials its peers with TLS when its own peer
 *   listener uses it.
 * - The client listener (`/client`, wss), HTTP (`/status`, `/metrics`, https) and the Kafka
 *   listener (Kafka's SSL security protocol) present the same certificate; with
 *   `--tls-client-auth required`, the client and Kafka listeners also require a client
 *   certificate signed by the CA.
 *
 * Everything is checked at start (readPemFiles, checkTls): a file missing or unreadable, a PEM
 * block that does not parse, a key that is not the certificate's, an expired certificate, or a
 * certificate the CA did not sign while peers would verify it against that CA is a NodeStartError
 * naming the flag and the file.
 *
 * A TLS listener answers a client that speaks plaintext to it (a `ws://` client, `curl http://`, a
 * Kafka client without SSL) with a clear refusal instead of a TLS alert it cannot read
 * (tlsOrPlaintext): an HTTP listener answers 400 with the reason in the `x-raftlog-refused`
 * header (src/wire/ws-options.ts REFUSED_HEADER), which the client library reports; the Kafka listener logs it and closes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import { NodeStartError } from '../errors.js';
import { REFUSED_HEADER } from '../wire/ws-options.js';

/** The node's listeners that may use TLS. */
export type TlsListener = 'peer' | 'client' | 'http' | 'kafka';
export const TLS_LISTENERS: readonly TlsListener[] = ['peer', 'client', 'http', 'kafka'];

/** The PEM texts of a node's certificate (and any chain after it), its private key, and the CA bundle. */
export interface TlsPem {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string;
}

/** TLS as a node runs it (NodeConfig.tls). */
export interface NodeTls {
  /** The listeners that take TLS only. */
  readonly listeners: ReadonlySet<TlsListener>;
  readonly pem: TlsPem;
  /** The client and Kafka listeners require a client certificate signed by the CA (`--tls-client-auth required`). */
  readonly clientAuth: boolean;
}

/** What a TLS connection this side dials presents and trusts: the CA (verifies the other end; the system's CAs without it), and a certificate to present. */
export interface DialTls {
  readonly ca?: string | Buffer;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
}

/**
 * How long a connection to a TLS listener has to send its first byte and finish its TLS
 * handshake; past it, it is closed. A handshake is a few round trips: anyone who reaches the port
 * can open connections, and a held-open half handshake holds a socket and its buffers.
 */
export const TLS_HANDSHAKE_MS = 10_000;


/** OIDs of the extended key usages a node certificate needs for mutual TLS between peers. */
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** Certificates a chain from a node's certificate to its CA may pass through, at most. */
const CHAIN_DEPTH_MAX = 8;
/** A TLS record of type handshake (a ClientHello) begins with this byte; plaintext HTTP and Kafka do not. */
const TLS_HANDSHAKE_RECORD = 0x16;

/** The files of `--tls-cert`, `--tls-key` and `--tls-ca`, read; a NodeStartError naming the flag and file for one that cannot be. */
export function readPemFiles(files: { readonly cert: string; readonly key: string; readonly ca?: string }): TlsPem {
  const read = (flag: string, file: string): string => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new NodeStartError(`cannot read ${flag} ${file}: ${(err as Error).message}`);
    }
  };
  return { cert: read('--tls-cert', files.cert), key: read('--tls-key', files.key), ...(files.ca !== undefined ? { ca: read('--tls-ca', files.ca) } : {}) };
}

/** The certificates of a PEM text, in order; a NodeStartError when it holds none, or one that does not parse. */
export function pemCertificates(pem: string, what: string): crypto.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new NodeStartError(`${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return blocks.map((b, i) => {
    try {
      return new crypto.X509Certificate(b);
    } catch (err) {
      throw new NodeStartError(`certificate ${i + 1} of ${what} does not parse: ${(err as Error).message}`);
    }
  });
}

/**
 * Checks a node's TLS at start: the certificate parses, is valid now, and is the key's; the CA
 * parses; with peer TLS, the certificate chains up to the CA and may serve as client and server.
 * `files` name the flags' files in messages. Throws a NodeStartError.
 */
export function checkTls(t: NodeTls, files: { readonly cert: string; readonly key: string; readonly ca?: string }, now = new Date()): void {
  const certWhat = `--tls-cert ${files.cert}`;
  const chain = pemCertificates(t.pem.cert, certWhat);
  const leaf = chain[0]!;
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(t.pem.key);
  } catch (err) {
    throw new NodeStartError(`--tls-key ${files.key} is not a PEM private key (an encrypted key is not supported: decrypt it with openssl pkey): ${(err as Error).message}`);
  }
  if (!leaf.checkPrivateKey(key)) throw new NodeStartError(`the key in --tls-key ${files.key} is not the key of the certificate in ${certWhat} (${leaf.subject.replace(/\n/g, ', ')})`);
  if (new Date(leaf.validTo) < now) throw new NodeStartError(`the certificate in ${certWhat} expired on ${leaf.validTo}`);
  if (new Date(leaf.validFrom) > now) throw new NodeStartError(`the certificate in ${certWhat} is not valid before ${leaf.validFrom}`);
  const cas = t.pem.ca !== undefined ? pemCertificates(t.pem.ca, `--tls-ca ${files.ca ?? ''}`) : [];
  if (t.listeners.has('peer')) {
    if (cas.length === 0) throw new NodeStartError('TLS on the peer listener is mutual: give the CA that signed every node\'s certificate with --tls-ca');
    if (!chainsTo(leaf, [...chain.slice(1), ...cas], cas)) {
      throw new NodeStartError(`the certificate in ${certWhat} is not signed by the CA in --tls-ca ${files.ca ?? ''}: the other nodes verify peers against that CA and would refuse this one`);
    }
    const usage = leaf.keyUsage ?? [];
    if (usage.length > 0 && !(usage.includes(SERVER_AUTH) && usage.includes(CLIENT_AUTH))) {
      throw new NodeStartError(`the certificate in ${certWhat} limits its use (extendedKeyUsage) without allowing both serverAuth and clientAuth: a node presents it to the peers it dials as well as to those that dial it`);
    }
  }
  if (t.clientAuth && cas.length === 0) throw new NodeStartError('--tls-client-auth required needs --tls-ca: the CA that signs the clients\' certificates');
}

/** Whether `cert` is, or is signed through `pool`, by one of `roots`. */
function chainsTo(cert: crypto.X509Certificate, pool: readonly crypto.X509Certificate[], roots: readonly crypto.X509Certificate[]): boolean {
  let at = cert;
  for (let depth = 0; depth < CHAIN_DEPTH_MAX; depth++) {
    if (roots.some((r) => r.fingerprint256 === at.fingerprint256)) return true;
    const issuer = pool.find((c) => at.checkIssued(c) && at.verify(c.publicKey));
    if (issuer === undefined) return false;
    if (issuer.fingerprint256 === at.fingerprint256) return roots.some((r) => r.fingerprint256 === at.fingerprint256);
    at = issuer;
  }
  return false;
}

/**
 * The options of a TLS server: it presents the node's certificate, and asks for a client
 * certificate when `requestCert` (the peer listener, and the client and Kafka listeners with
 * `--tls-client-auth required`). It never refuses one in the handshake itself: node's TLS server
 * then closes without saying why, to the client or to the log; the listener checks each
 * connection's certificate itself once the handshake is done (clientCertProblem), and refuses it
 * saying why.
 */
export function serverOptions(pem: TlsPem, requestCert: boolean): tls.TlsOptions {
  return {
    cert: pem.cert,
    key: pem.key,
    ...(pem.ca !== undefined ? { ca: pem.ca } : {}),
    requestCert,
    rejectUnauthorized: false,
    handshakeTimeout: TLS_HANDSHAKE_MS,
  };
}

/** Why the client certificate of a TLS connection is not one the CA signed (no certificate, or one of another CA), or null when it is. */
export function clientCertProblem(socket: tls.TLSSocket): string | null {
  if (socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return 'it presented no client certificate';
  const subject = typeof cert.subject === 'object' && cert.subject !== null && typeof cert.subject.CN === 'string' ? ` (CN=${cert.subject.CN})` : '';
  return `its client certificate${subject} is not signed by the cluster's CA (--tls-ca): ${String(socket.authorizationError)}`;
}

/** What the node presents and trusts when it dials another node's TLS listener: its certificate, verified against its CA. */
export function nodeDialTls(pem: TlsPem): DialTls {
  return { cert: pem.cert, key: pem.key, ...(pem.ca !== undefined ? { ca: pem.ca } : {}) };
}

/**
 * A TCP server in front of a TLS one: a connection whose first byte opens a TLS handshake goes to
 * `secure` (the TLS server's 'connection'), any other to `plaintext` with what it sent, to refuse
 * it in words the client can read. A connection that sends nothing within TLS_HANDSHAKE_MS is
 * closed.
 */
export function tlsOrPlaintext(secure: (socket: net.Socket) => void, plaintext: (socket: net.Socket, first: Buffer) => void): net.Server {
  return net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.setTimeout(TLS_HANDSHAKE_MS, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      if (first[0] !== TLS_HANDSHAKE_RECORD) return plaintext(socket, first);
      // The TLS socket reads what is buffered here before the rest from the wire.
      socket.unshift(first);
      secure(socket);
    });
  });
}

/** What a plaintext HTTP request to a TLS listener is answered, then the connection closed. */
export function plaintextRefusal(reason: string): string {
  const body = `${reason}\n`;
  return `HTTP/1.1 400 Bad Request\r\n${REFUSED_HEADER}: ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
