/**
 * A node's data folder and the cluster it belongs to (storage/identity.ts, DESIGN.md §9).
 *
 * At start the folder's identity is read, or written when the folder is new. A folder that is
 * new under a node id the cluster already knows (the old one was lost, wiped, or replaced) must
 * not vote as that node did: the node cannot tell a brand-new cluster from one it is coming back
 * to, so it asks its peers (each says which cluster its folder belongs to when they connect):
 *
 * - a peer names a cluster, or its metadata replica holds entries (a cluster exists, perhaps not
 *   named yet): this node rejoins it: its metadata replica, and each partition replica it opens
 *   while that one rejoins, start as learners (raft/rejoin.ts);
 * - a majority of the metadata voters (this node included) say they know of none and hold no
 *   metadata: the cluster is being created, and this node is one of its first voters.
 *
 * A metadata entry exists only once a leader was elected by a majority, and a committed one is on
 * a majority, so any majority heard from includes a node that holds it. One window is left: a
 * folder wiped during the cluster's very first election, before its winner's first entry reached
 * a majority, comes back as a first voter.
 *
 * The first controller names the cluster (a random id, with the metadata voters it was created
 * with) in the metadata log; every node writes it into its folder's identity when it applies it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { quorumSize } from '../../raft/quorum.js';
import type { NodeId } from '../../raft/types.js';
import { HARD_STATE_FILE } from '../../storage/hard-state.js';
import { readIdentity, writeIdentity, type FolderIdentity } from '../../storage/identity.js';
import type { PeerIdentity } from '../transport/peer-transport.js';
import { NodeStartError } from '../errors.js';

export type FreshStart = 'voter' | 'rejoin';

export class NodeIdentity {
  private current: FolderIdentity;

  private constructor(
    private readonly dataDir: string,
    identity: FolderIdentity,
    /** The folder was created by this start: whether the cluster exists is for the peers to say. */
    readonly fresh: boolean,
  ) {
    this.current = identity;
  }

  /**
   * Reads (or creates) the identity of `dataDir` for node `node`, whose `--peers` make
   * `metaVoters` the metadata group's voters (null for a node started with --join: the cluster
   * tells it, joined()). Throws NodeStartError, saying what to do, for a folder of another node,
   * a damaged identity, or voters that differ from the cluster's.
   */
  static open(dataDir: string, node: NodeId, metaVoters: readonly NodeId[] | null): NodeIdentity {
    const r = readIdentity(dataDir);
    if (r.kind === 'damaged') {
      throw new NodeStartError(
        `the identity of the data folder ${dataDir} is damaged (${r.reason}). It says which node and cluster the folder belongs to; without it the node cannot tell whether its data is its own. If this folder is node ${node}'s, move it away and start the node with an empty one: it rejoins the cluster as a new replica and copies its data from the others`,
      );
    }
    if (r.kind === 'ok') {
      const id = r.identity;
      if (id.node !== node) throw new NodeStartError(`the data folder ${dataDir} belongs to node ${id.node}, not ${node}: check --id and --data`);
      if (id.decommissioned !== undefined) throw new NodeStartError(decommissionedText(id, dataDir));
      if (metaVoters !== null && !sameVoters(id.metaVoters, metaVoters)) {
        throw new NodeStartError(
          `--peers makes ${metaVoters.join(', ')} the metadata group's voters, but this cluster was created with ${id.metaVoters.join(', ')}. Changing them by editing --peers would change who decides without the cluster agreeing (two controllers could commit at once): start every node with the --peers list the cluster was created with`,
        );
      }
      return new NodeIdentity(dataDir, id, false);
    }
    // No identity: a new folder, or one from before identities (its metadata group has a hard state).
    const upgraded = fs.existsSync(path.join(dataDir, 'meta', HARD_STATE_FILE));
    const id: FolderIdentity = { node, incarnation: randomBytes(8).toString('hex'), cluster: null, metaVoters: [...(metaVoters ?? [])], created: new Date().toISOString() };
    writeIdentity(dataDir, id);
    return new NodeIdentity(dataDir, id, !upgraded);
  }

  get identity(): FolderIdentity {
    return this.current;
  }

  /**
   * The cluster this folder joined (src/node/join.ts): its id and the metadata voters it was
   * created with, written into the folder. Null when it agrees, else why it does not.
   */
  joined(cluster: string, founders: readonly NodeId[]): string | null {
    if (this.current.cluster !== null && this.current.cluster !== cluster) return `this node's data folder belongs to cluster ${this.current.cluster}, not ${cluster}`;
    if (this.current.cluster === cluster && sameVoters(this.current.metaVoters, founders)) return null;
    this.current = { ...this.current, cluster, metaVoters: [...founders] };
    writeIdentity(this.dataDir, this.current);
    return null;
  }

  /**
   * A peer said the cluster decommissioned this node: marked in the folder (synced), so that a
   * node started on it again refuses at once. Returns what to tell the operator.
   */
  markDecommissioned(by: NodeId): string {
    if (this.current.decommissioned === undefined) {
      this.current = { ...this.current, decommissioned: { by, at: new Date().toISOString() } };
      writeIdentity(this.dataDir, this.current);
    }
    return decommissionedText(this.current, this.dataDir);
  }

  /** What this node tells its peers when they connect; `member`: its metadata replica holds entries. */
  peerIdentity(member: boolean): PeerIdentity {
    return { cluster: this.current.cluster ?? '', inc: this.current.incarnation, member };
  }

  /**
   * The cluster's id, from a peer or from the metadata log: written into the folder the first
   * time; null when it agrees, else why it does not.
   */
  learnCluster(cluster: string): string | null {
    if (this.current.cluster === cluster) return null;
    if (this.current.cluster !== null) return `this node's data folder belongs to cluster ${this.current.cluster}, not ${cluster}`;
    this.current = { ...this.current, cluster };
    writeIdentity(this.dataDir, this.current);
    return null;
  }
}

/**
 * For a fresh folder: whether what the peers said so far decides it. `heard` maps each peer
 * heard from to what it said of itself.
 */
export function freshStart(self: NodeId, metaVoters: readonly NodeId[], heard: ReadonlyMap<NodeId, Pick<PeerIdentity, 'cluster' | 'member'>>): { start: FreshStart; cluster: string | null } | null {
  for (const p of heard.values()) if (p.cluster !== '') return { start: 'rejoin', cluster: p.cluster };
  for (const p of heard.values()) if (p.member) return { start: 'rejoin', cluster: null };
  const knowNone = metaVoters.filter((v) => v === self || heard.has(v)).length;
  return knowNone >= quorumSize(metaVoters.length) ? { start: 'voter', cluster: null } : null;
}

/** What a node whose folder was decommissioned tells the operator. */
function decommissionedText(id: FolderIdentity, dataDir: string): string {
  const d = id.decommissioned;
  const when = d !== undefined ? ` (${d.by} said so at ${d.at})` : '';
  return `node ${id.node} was decommissioned from cluster ${id.cluster ?? '(unnamed)'}${when}: it holds no replica and is not a member any more, so it does not run. To use this machine in the cluster again, move ${dataDir} away and start with an empty --data folder, --join and an id the cluster has not used`;
}

/** The same voters, in any order. */
export function sameVoters(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}
