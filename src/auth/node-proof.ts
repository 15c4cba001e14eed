/**
 * RAFTLOG-NODE: the SASL mechanism of a node's own client connection to another node (a
 * createTopics forwarded to the controller, src/kafka/auto-create.ts). The node proves it knows
 * the cluster secret, as peers do (src/transport/peer-frames.ts), over the nonce of the node it
 * connects to, and names the principal of the request it forwards: the connection then runs as
 * that principal. Whoever knows the secret is a peer, trusted with every Raft message already.
 * Offered on the native listener only, and never listed to clients.
 *
 *   client → server   n=<client node id>
 *   server → client   r=<server nonce>,s=<server node id>
 *   client → server   p=<principal>,m=<hex HMAC-SHA256(secret, "client-auth:<server nonce>:<client node id>:<server node id>:<principal>")>
 *   server → client   ok
 */
import { mac, macEquals } from '../transport/peer-frames.js';

export const NODE_MECHANISM = 'RAFTLOG-NODE';
/** Characters of a node id or principal in a RAFTLOG-NODE message, at most. */
const FIELD_LENGTH_MAX = 256;

function proof(secret: string, nonce: string, client: string, server: string, principal: string): string {
  return mac(secret, `client-auth:${nonce}:${client}:${server}:${principal}`);
}

/** One `k=value,...` message, or null when it is not one with exactly these keys. */
function fields(msg: string, keys: readonly string[]): Map<string, string> | null {
  const parts = msg.split(',');
  if (parts.length !== keys.length) return null;
  const out = new Map<string, string>();
  for (const [i, part] of parts.entries()) {
    const k = keys[i]!;
    if (!part.startsWith(`${k}=`)) return null;
    const v = part.slice(k.length + 1);
    if (v.length === 0 || v.length > FIELD_LENGTH_MAX) return null;
    out.set(k, v);
  }
  return out;
}

/** The client's side. */
export class NodeProofClient {
  constructor(
    private readonly self: string,
    private readonly secret: string,
    private readonly principal: string,
  ) {}

  first(): string {
    return `n=${this.self}`;
  }

  /** The proof answering the server's challenge; throws when it is not one. */
  final(challenge: string): string {
    const f = fields(challenge, ['r', 's']);
    if (f === null) throw new Error(`'${challenge.slice(0, 80)}' is not a RAFTLOG-NODE challenge`);
    return `p=${this.principal},m=${proof(this.secret, f.get('r')!, this.self, f.get('s')!, this.principal)}`;
  }
}

/** The server's side of one exchange: first, then final, which names the principal proven. */
export class NodeProofServer {
  private client: string | null = null;

  /** `nonce`: this exchange's, random in production. */
  constructor(
    private readonly self: string,
    private readonly secret: string,
    private readonly nonce: string,
  ) {}

  /** The node the client says it is (known once `first` has read it). */
  get node(): string | null {
    return this.client;
  }

  /** The challenge answering the client's first message; throws when it is not one. */
  first(msg: string): string {
    const f = fields(msg, ['n']);
    if (f === null || this.client !== null) throw new Error('not a RAFTLOG-NODE first message');
    this.client = f.get('n')!;
    return `r=${this.nonce},s=${this.self}`;
  }

  /** The principal the client proved it may act for; throws when the proof does not hold. */
  final(msg: string): string {
    const f = fields(msg, ['p', 'm']);
    if (f === null || this.client === null) throw new Error('not a RAFTLOG-NODE proof');
    const principal = f.get('p')!;
    if (!macEquals(f.get('m')!, proof(this.secret, this.nonce, this.client, this.self, principal))) throw new Error(`node '${this.client}' did not prove it knows the cluster secret`);
    return principal;
  }
}
