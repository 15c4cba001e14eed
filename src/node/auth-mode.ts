/**
 * Which authentication mode a node runs in when `--auth` does not say, and what it warns about
 * (issue 22 §3). Unauthenticated access is a named mode, `none`, that a node takes by itself only
 * when nobody but this machine can reach its client listeners: the embedded `node cluster.js`
 * and test clusters, on 127.0.0.1. A node with a client listener on any other address requires
 * authentication (`sasl`) unless told otherwise, and says so loudly when told.
 */
import type { AuthMode } from '../server/sasl.js';

/** Whether `host` (of host:port; IPv6 in brackets or not) is a loopback address: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(':'));
}

/** The mode when none is given: `none` if every client listener (host:port) is on loopback, `sasl` otherwise. */
export function defaultAuthMode(clientListeners: readonly string[]): AuthMode {
  return clientListeners.every((a) => isLoopbackHost(hostOf(a))) ? 'none' : 'sasl';
}

/** What a node says at start about its mode: a warning for `none` on a listener others can reach, else null. */
export function authWarning(mode: AuthMode, clientListeners: readonly string[]): string | null {
  if (mode !== 'none') return null;
  const open = clientListeners.filter((a) => !isLoopbackHost(hostOf(a)));
  if (open.length === 0) return null;
  return `--auth none on ${open.join(' and ')}, which is not loopback: anyone who reaches ${open.length === 1 ? 'this port' : 'these ports'} may do everything (read, write and delete every topic, create users). Start with --auth sasl and RAFTLOG_BOOTSTRAP_USER, or listen on 127.0.0.1 only`;
}

/**
 * What a node says at start (and /status, `http.warning`) when its HTTP listener asks for passwords
 * (`--auth sasl`: HTTP Basic, the console's login, src/server/http-auth.ts) in plaintext on an
 * address others reach; null when it does not.
 */
export function httpPlaintextWarning(mode: AuthMode, httpListener: string, tls: boolean): string | null {
  if (mode !== 'sasl' || tls || isLoopbackHost(hostOf(httpListener))) return null;
  return `the HTTP listener ${httpListener} is not loopback and takes no TLS, but asks for passwords (HTTP Basic, the console's login): anyone who sees its traffic can read them. Give it TLS (--tls-cert and --tls-key, with --tls all or http), or listen on loopback only (--http-listen 127.0.0.1:PORT)`;
}
