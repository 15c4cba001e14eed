/**
 * Network partitions inside a chaos node (chaos/net.ts is the harness's side): a decorator of the
 * node's peer transport that drops every peer frame to the peers in `dropTo` and every frame from
 * the peers in `dropFrom`, and the route on the node's listener that sets them,
 * `POST /chaos/network {"dropTo": [...], "dropFrom": [...]}` (answered, as a GET is, with the
 * setting now). Installed only by the chaos entry point (node-main.ts) given --chaos-endpoints.
 *
 * Connections stay up: a cut peer still counts as connected, as it would behind a network that
 * loses its packets, until Raft's own timeouts notice. Client connections are not affected.
 */
import type WebSocket from 'ws';
import type { Message, NodeId } from '../raft/types.js';
import type { Logger } from '../src/log.js';
import type { HttpRoute } from '../src/server/http.js';
import type { PeerFrame } from '../src/transport/peer-frames.js';
import { PeerTransport, type InboundLimit, type PeerNetwork, type PeerNetworkFactory, type PeerStatus } from '../src/transport/peer-transport.js';
import type { Drops } from './net.js';

export const NETWORK_PATH = '/chaos/network';

/** Which peers a node is cut off from, each way. */
export class NetworkCuts {
  private dropTo = new Set<NodeId>();
  private dropFrom = new Set<NodeId>();

  /** Drops every frame to `to` and from `from` from now on (a partition, possibly one-way); empty lists heal. */
  set(drops: Drops): void {
    this.dropTo = new Set(drops.dropTo);
    this.dropFrom = new Set(drops.dropFrom);
  }

  get(): Drops {
    return { dropTo: [...this.dropTo], dropFrom: [...this.dropFrom] };
  }

  dropsTo(peer: NodeId): boolean {
    return this.dropTo.has(peer);
  }

  dropsFrom(peer: NodeId): boolean {
    return this.dropFrom.has(peer);
  }

  /** Some frames to some peer are dropped. */
  cutsOutgoing(): boolean {
    return this.dropTo.size > 0;
  }
}

/** The transport `make` builds (a PeerTransport unless told), with the frames `cuts` names dropped on the way out and on the way in. */
export function cutTransport(cuts: NetworkCuts, make: PeerNetworkFactory = (o) => new PeerTransport(o)): PeerNetworkFactory {
  return (o) => {
    const inner = make({
      ...o,
      onFrame: (from, frame) => {
        if (!cuts.dropsFrom(from)) o.onFrame(from, frame);
      },
    });
    return new CutTransport(inner, cuts);
  };
}

class CutTransport implements PeerNetwork {
  constructor(
    private readonly inner: PeerNetwork,
    private readonly cuts: NetworkCuts,
  ) {}

  start(): void {
    this.inner.start();
  }

  close(): void {
    this.inner.close();
  }

  accept(ws: WebSocket, limit: InboundLimit): void {
    this.inner.accept(ws, limit);
  }

  sendRaft(group: string, m: Message): void {
    if (!this.cuts.dropsTo(m.to)) this.inner.sendRaft(group, m);
  }

  send(to: NodeId, frame: PeerFrame): void {
    if (!this.cuts.dropsTo(to)) this.inner.send(to, frame);
  }

  broadcast(frame: PeerFrame): void {
    if (!this.cuts.cutsOutgoing()) {
      this.inner.broadcast(frame);
      return;
    }
    for (const p of this.inner.peerStatus()) if (!this.cuts.dropsTo(p.id)) this.inner.send(p.id, frame);
  }

  isConnected(id: NodeId): boolean {
    return this.inner.isConnected(id);
  }

  peerStatus(): PeerStatus[] {
    return this.inner.peerStatus();
  }

  setPeers(nodes: ReadonlyMap<NodeId, string>, retired?: ReadonlyMap<NodeId, string>): void {
    this.inner.setPeers(nodes, retired);
  }
}

/** The route that shows (GET) and sets (POST) the cuts; `logger` is the node's, told of every change. */
export function networkRoute(cuts: NetworkCuts, logger: () => Logger): HttpRoute {
  return async (req, res) => {
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      let v: { dropTo?: unknown; dropFrom?: unknown };
      try {
        v = JSON.parse(body) as { dropTo?: unknown; dropFrom?: unknown };
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('send JSON: {"dropTo": ["n2"], "dropFrom": ["n3"]}\n');
        return;
      }
      const list = (x: unknown): string[] => (Array.isArray(x) ? x.filter((i): i is string => typeof i === 'string') : []);
      cuts.set({ dropTo: list(v.dropTo), dropFrom: list(v.dropFrom) });
      logger().warn(cuts.get(), 'chaos: network drops changed');
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(cuts.get()));
  };
}
