/**
 * WebSocket frame masking exists to protect browsers' intermediary proxies from cache poisoning
 * (RFC 6455 §10.3). Between Node.js processes there is no such proxy, so clients and dialing peers
 * send an all-zero mask, which `ws` recognises and skips on both ends: masking every byte in
 * JavaScript was the single largest CPU cost of the produce path.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
