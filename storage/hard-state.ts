/**
 * `hardstate`: a Raft member's term, vote and commit index, written atomically (temporary file,
 * fsync, rename, fsync of the folder; see atomic-file.ts). The body is JSON, small and readable:
 * {"term":3,"vote":"n2","commit":120}.
 *
 * Term and vote must be durable before a vote or a higher-term message leaves the node; the
 * commit index may lag (a restarted member learns it again from its leader).
 */
import path from 'node:path';
import type { HardState } from '../raft/types.js';
import { readFileChecked, writeFileAtomic } from './atomic-file.js';

const MAGIC = 0x524c4831; // "RLH1"
const FILE = 'hardstate';

export function loadHardState(dir: string): HardState | null {
  const body = readFileChecked(path.join(dir, FILE), MAGIC);
  if (body === null) return null;
  const v = JSON.parse(Buffer.from(body).toString('utf8')) as { term?: unknown; vote?: unknown; commit?: unknown };
  if (typeof v.term !== 'number' || typeof v.commit !== 'number' || (v.vote !== null && typeof v.vote !== 'string')) return null;
  return { term: v.term, vote: v.vote, commit: v.commit };
}

export function saveHardState(dir: string, hs: HardState): void {
  const body = Buffer.from(JSON.stringify({ term: hs.term, vote: hs.vote, commit: hs.commit }), 'utf8');
  writeFileAtomic(path.join(dir, FILE), MAGIC, body);
}
