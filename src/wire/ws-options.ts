import type { RawData } from 'ws';

/**
 * WebSocket frame masking exists to protect browsers' intermediary proxies from cache poisoning
 * (RFC 6455 §10.3). Between Node.js processes there is no such proxy, so clients and dialing peers
 * send an all-zero mask, which `ws` recognises and skips on both ends: masking every byte in
 * JavaScript was the single largest CPU cost of the produce path.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/**
 * A received message's bytes as one Buffer, without copying what `ws` already hands over as one:
 * `ws` gives each message a buffer of its own (fresh from the socket or its reassembly), so it can
 * be kept, and the record batches and Raft entries decoded from it are views into it.
 */
export function receivedBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/**
 * The header in which a node's listener says why it refused an HTTP request or a WebSocket
 * upgrade (a plaintext request to a TLS listener, `/raft` on a client listener): both ends of the
 * native protocol read it, to log or report the reason instead of a bare status code.
 */
export const REFUSED_HEADER = 'x-raftlog-refused';
