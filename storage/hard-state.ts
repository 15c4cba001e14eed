/**
 * `hardstate`: a Raft member's term, vote and commit index, and whether it is rejoining after
 * losing data (raft/rejoin.ts), written atomically (temporary file, fsync, rename, fsync of the
 * folder; see atomic-file.ts). The body is JSON, small and readable:
 * {"term":3,"vote":"n2","commit":120,"rejoin":null}.
 *
 * Term and vote must be durable before a vote or a higher-term message leaves the node; the
 * commit index may lag (a restarted member learns it again from its leader).
 *
 * Reading tells a missing file apart from a damaged one: a member that forgot its vote could vote
 * twice in one term, so a damaged file is never taken for a fresh start (the group decides what
 * to do, see src/host/replica-trust.ts).
 */
import path from 'node:path';
import type { HardState } from '../raft/types.js';
import { fsyncDir, fsyncPath, readJsonFile, writeFileAtomic, writeFileAtomicAsync } from './atomic-file.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';

const MAGIC = 0x524c4831; // "RLH1"
export const HARD_STATE_FILE = 'hardstate';

export type HardStateRead =
  | { readonly kind: 'ok'; readonly hardState: HardState }
  | { readonly kind: 'missing' }
  | { readonly kind: 'damaged'; readonly reason: string };

export function readHardState(dir: string, fs: FileSystem = nodeFileSystem): HardStateRead {
  const r = readJsonFile(path.join(dir, HARD_STATE_FILE), MAGIC, (v): HardState | string => {
    const nat = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
    const str = (x: unknown): x is string | null => x === null || typeof x === 'string';
    const { term, vote, commit, rejoin } = v;
    if (!nat(term) || !nat(commit) || !str(vote) || !(rejoin === undefined || str(rejoin))) return 'not a hard state';
    return { term, vote, commit, rejoin: rejoin ?? null };
  }, fs);
  return r.kind === 'ok' ? { kind: 'ok', hardState: r.value } : r;
}

/**
 * Makes the hard state, as it reads now, durable: the file and its name in the folder. Called when
 * a replica opens: a process killed while writing one (the new file renamed over the old, the
 * folder not yet fsynced) leaves it in the page cache only, and a replica that voted and appended
 * under that term would lose it to a later power loss (its vote forgotten, free to be cast again).
 */
export function syncHardState(dir: string, fs: FileSystem = nodeFileSystem): void {
  fsyncPath(path.join(dir, HARD_STATE_FILE), fs);
  fsyncDir(dir, fs);
}

export function saveHardState(dir: string, hs: HardState, fs: FileSystem = nodeFileSystem): void {
  writeFileAtomic(path.join(dir, HARD_STATE_FILE), MAGIC, encodeHardState(hs), fs);
}

/**
 * saveHardState off the event loop, through a temporary file of its own (`hardstate.async-tmp`):
 * a saveHardState of the same replica meanwhile (its group closed to be reopened) renames a whole
 * file of its own, and whichever lands last holds a hard state at least as new as any message
 * sent depended on.
 */
export async function saveHardStateAsync(dir: string, hs: HardState, fs: FileSystem = nodeFileSystem): Promise<void> {
  await writeFileAtomicAsync(path.join(dir, HARD_STATE_FILE), MAGIC, encodeHardState(hs), fs, '.async-tmp');
}

function encodeHardState(hs: HardState): Buffer {
  return Buffer.from(JSON.stringify({ term: hs.term, vote: hs.vote, commit: hs.commit, rejoin: hs.rejoin ?? null }), 'utf8');
}
