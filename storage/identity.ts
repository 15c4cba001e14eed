/**
 * `identity`: who a node's data folder belongs to, written once when the folder is created and
 * checked at every start (DESIGN.md §9). An atomic file (atomic-file.ts) whose body is JSON:
 *
 *     {"node":"n3","incarnation":"9f2c41d07ab3e615","cluster":"c7d1...","metaVoters":["n1","n2","n3"],"created":"2026-12-02T15:28:19.000Z"}
 *
 * - `incarnation`: a random id for this folder's life. A node id that comes back with another
 *   incarnation is a new replica under an old name: it lost whatever the old one acknowledged.
 * - `cluster`: the cluster's id, once this node has learned it (null until then): the first
 *   controller picks it, and a folder of another cluster is refused.
 * - `metaVoters`: the metadata group's voters, as the cluster was created with them. Editing
 *   `--peers` on a restart would change them without consensus, so a node whose `--peers` gives
 *   other voters refuses to start.
 * - `decommissioned` (absent until then): `{"by":"n1","at":"2026-12-06T21:00:00.000Z"}`, written
 *   when a peer told this node that the cluster decommissioned it. The folder is no longer part
 *   of the cluster, and a node started on it refuses to run.
 */
import path from 'node:path';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';

const MAGIC = 0x524c4944; // "RLID"
export const IDENTITY_FILE = 'identity';

export interface FolderIdentity {
  readonly node: string;
  readonly incarnation: string;
  readonly cluster: string | null;
  readonly metaVoters: readonly string[];
  readonly created: string;
  /** The cluster decommissioned this node: who said so, and when this folder heard it. */
  readonly decommissioned?: { readonly by: string; readonly at: string };
}

export type IdentityRead = { readonly kind: 'ok'; readonly identity: FolderIdentity } | { readonly kind: 'missing' } | { readonly kind: 'damaged'; readonly reason: string };

export function readIdentity(dir: string): IdentityRead {
  const r = readJsonFile(path.join(dir, IDENTITY_FILE), MAGIC, (v): FolderIdentity | string => {
    const strs = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
    const { node, incarnation, cluster, metaVoters, created, decommissioned } = v;
    if (typeof node !== 'string' || typeof incarnation !== 'string' || !(cluster === null || typeof cluster === 'string') || !strs(metaVoters) || typeof created !== 'string') return 'not a folder identity';
    if (decommissioned === undefined) return { node, incarnation, cluster, metaVoters, created };
    const d = decommissioned as Record<string, unknown> | null;
    if (d === null || typeof d !== 'object' || typeof d['by'] !== 'string' || typeof d['at'] !== 'string') return 'not a folder identity (a bad decommissioned mark)';
    return { node, incarnation, cluster, metaVoters, created, decommissioned: { by: d['by'], at: d['at'] } };
  });
  return r.kind === 'ok' ? { kind: 'ok', identity: r.value } : r;
}

export function writeIdentity(dir: string, id: FolderIdentity): void {
  writeFileAtomic(path.join(dir, IDENTITY_FILE), MAGIC, Buffer.from(JSON.stringify(id), 'utf8'));
}
