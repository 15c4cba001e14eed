/**
 * Kafka names brokers by an int32 and clients connect to the host:port the Metadata response gives
 * for it. A raftlog node is named by a string (`n1`), so its broker id is a hash of that string
 * (FNV-1a, 31 bits): every node computes the same id for a node without asking anyone, it never
 * changes while the node keeps its name, and it needs no metadata entry. Two names of one cluster
 * hashing to one id (about 1 in 10^9 for a cluster of 3) would make one of them invisible to Kafka
 * clients: that is checked and logged where brokers are listed.
 *
 * A node's Kafka address is its own `--kafka` and, for each peer, what the peer says in its
 * gossip (src/transport/peer-frames.ts `leaders`).
 */
import type { NodeId } from '../../raft/types.js';
import type { Logger } from '../log.js';

export interface Broker {
  readonly id: number;
  readonly node: NodeId;
  readonly host: string;
  readonly port: number;
}

export function brokerId(node: NodeId): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(node, 'utf8')) h = Math.imul(h ^ byte, 0x01000193);
  return (h >>> 0) & 0x7fffffff;
}

export function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** The brokers a Kafka client can reach now: each node with a known Kafka address, by node id. */
export function kafkaBrokers(addresses: ReadonlyMap<NodeId, string>, logger: Logger): Map<NodeId, Broker> {
  const out = new Map<NodeId, Broker>();
  const byId = new Map<number, NodeId>();
  for (const [node, address] of addresses) {
    const id = brokerId(node);
    const other = byId.get(id);
    if (other !== undefined) {
      logger.error({ node, other, brokerId: id }, `nodes ${other} and ${node} have the same Kafka broker id ${id}; Kafka clients cannot see ${node}: rename one of them`);
      continue;
    }
    byId.set(id, node);
    out.set(node, { id, node, ...hostPort(address) });
  }
  return out;
}
