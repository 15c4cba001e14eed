/** A raw client connection that speaks frames directly, to send what a real client never would. */
import WebSocket from 'ws';
import { decodeFrame, encodeFrame } from '../../src/wire/codec.js';

export type Reply = { id: number; error?: { code: string; message: string }; [k: string]: unknown };

export class Raw {
  private readonly ws: WebSocket;
  private readonly replies: Reply[] = [];
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;
  readonly open: Promise<void>;

  constructor(address: string, path = '/client') {
    this.ws = new WebSocket(`ws://${address}${path}`, { maxPayload: 256 * 1024 * 1024 });
    this.open = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (d) => {
      this.replies.push(decodeFrame(d as Buffer) as Reply);
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(data: Buffer | string): void {
    this.ws.send(data);
  }

  async next(ms = 5000): Promise<Reply> {
    const deadline = Date.now() + ms;
    while (this.replies.length === 0) {
      if (this.closed !== null) throw new Error(`closed: ${this.closed.code} ${this.closed.reason}`);
      if (Date.now() > deadline) throw new Error('no reply');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.replies.shift()!;
  }

  async closedWith(ms = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (this.closed === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.closed === null) throw new Error('the connection stayed open');
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }
}


/** Sends one request on a fresh connection and returns its reply. */
export async function rawRequest(address: string, body: Record<string, unknown>): Promise<Reply> {
  const raw = new Raw(address);
  await raw.open;
  raw.send(encodeFrame({ id: 1, ...body }));
  try {
    return await raw.next(20_000);
  } finally {
    raw.close();
  }
}
