/**
 * The size limits that a record batch meets on its way from a client to a follower's disk, each
 * defined once where its layer is, checked against each other when a node starts: a batch a topic
 * accepts must fit in a Raft entry, an entry in a segment frame, and an append carrying that entry
 * in a peer frame. A limit raised in one layer and forgotten in the next would refuse, or worse
 * cut, a write that the first layer had accepted.
 */
import { DEFAULT_LIMITS as DEFAULT_RAFT_LIMITS } from '../../raft/config.js';
import { FRAME_HEADER_BYTES } from '../../storage/frame.js';
import { DEFAULT_SEGMENT_LOG_LIMITS } from '../../storage/segment-log.js';
import { LIMITS } from '../wire/protocol.js';
import { PEER_FRAME_BYTES_MAX } from '../transport/peer-frames.js';
import { CHUNK_BYTES } from '../host/log-recovery.js';

/** Room for an append message around the one entry it must be able to carry (its fields, msgpack's framing, the frame's own header). */
export const APPEND_ENVELOPE_BYTES_MAX = 64 * 1024;

export interface LimitChain {
  /** The most a topic's maxMessageBytes may be set to (src/wire/protocol.ts LIMITS). */
  readonly topicMessageBytesMax: number;
  /** The client frame a produce request arrives in (LIMITS.requestBytesMax). */
  readonly clientFrameBytesMax: number;
  /** One Raft entry's data (raft/config.ts). */
  readonly raftEntryBytesMax: number;
  /** One frame of a segment file, header included (storage/segment-log.ts). */
  readonly segmentFrameBytesMax: number;
  /** One frame between peers (src/transport/peer-frames.ts). */
  readonly peerFrameBytesMax: number;
  /** The frames one catch-up chunk carries (src/host/log-recovery.ts; one segment frame when that is larger). */
  readonly recoveryChunkBytes: number;
}

/** The limits a node runs with. */
export const NODE_LIMITS: LimitChain = {
  topicMessageBytesMax: LIMITS.topicMessageBytesMax,
  clientFrameBytesMax: LIMITS.requestBytesMax,
  raftEntryBytesMax: DEFAULT_RAFT_LIMITS.entryBytesMax,
  segmentFrameBytesMax: DEFAULT_SEGMENT_LOG_LIMITS.frameBytesMax,
  peerFrameBytesMax: PEER_FRAME_BYTES_MAX,
  recoveryChunkBytes: CHUNK_BYTES,
};

/** Each link of the chain that does not hold, said so that the fix is plain; empty when all hold. */
export function limitProblems(c: LimitChain): string[] {
  const out: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) out.push(what);
  };
  need(c.topicMessageBytesMax <= c.clientFrameBytesMax, `a topic may accept batches of ${c.topicMessageBytesMax} bytes, but a client frame holds at most ${c.clientFrameBytesMax}`);
  need(c.topicMessageBytesMax <= c.raftEntryBytesMax, `a topic may accept batches of ${c.topicMessageBytesMax} bytes, but a Raft entry holds at most ${c.raftEntryBytesMax}`);
  need(c.raftEntryBytesMax + FRAME_HEADER_BYTES <= c.segmentFrameBytesMax, `a Raft entry may hold ${c.raftEntryBytesMax} bytes, but a segment frame holds at most ${c.segmentFrameBytesMax - FRAME_HEADER_BYTES} after its ${FRAME_HEADER_BYTES}-byte header`);
  need(c.raftEntryBytesMax + APPEND_ENVELOPE_BYTES_MAX <= c.peerFrameBytesMax, `a Raft entry may hold ${c.raftEntryBytesMax} bytes, but a peer frame of ${c.peerFrameBytesMax} leaves less than that after an append's ${APPEND_ENVELOPE_BYTES_MAX}-byte envelope`);
  const chunk = Math.max(c.recoveryChunkBytes, c.segmentFrameBytesMax);
  need(chunk + APPEND_ENVELOPE_BYTES_MAX <= c.peerFrameBytesMax, `a catch-up chunk may carry ${chunk} bytes of frames, but a peer frame of ${c.peerFrameBytesMax} leaves less than that after its ${APPEND_ENVELOPE_BYTES_MAX}-byte envelope`);
  return out;
}

// -------------------------------------------------------------------------------------------------
// File descriptors: a node refuses, with a message that says what to raise, replicas it could not
// keep open (at topic creation, at start, and when a replica is placed on it), instead of running
// out of descriptors with its connections and its own files (issue 22: 300 partitions under
// `ulimit -n 256` left a node that could neither accept a connection nor restart).

/** File descriptors kept for sockets: peers, clients (native and Kafka) and the listeners. */
export const CONNECTION_FILES_RESERVED = 128;
/**
 * File descriptors of the node's own: stdio, libuv's (epoll, event and signal descriptors), the log
 * file, the metadata log and its LevelDB (storage/state-store.ts STATE_STORE_OPEN_FILES_MAX), the
 * sync ledger, and files open for a moment (atomic writes, a log streamed to a replica catching up).
 */
export const NODE_FILES_RESERVED = 48;
/** Sealed segment files open at once, every partition of the node together (storage/segment-files.ts). */
export const SEGMENT_FILES_MAX = 32;
/** File descriptors a partition replica keeps open: its active segment (sealed ones are opened within SEGMENT_FILES_MAX). */
export const FILES_PER_REPLICA = 1;
/** Descriptors a node keeps whatever its replicas. */
export const FILES_RESERVED = CONNECTION_FILES_RESERVED + NODE_FILES_RESERVED + SEGMENT_FILES_MAX;

/** The open-files limit a node runs under, and the partition replicas that leaves room for. */
export interface ReplicaLimit {
  /** The process's limit on open files (`ulimit -n`; Node.js raises the soft limit to the hard one at start). */
  readonly openFiles: number;
  /** Replicas the node may hold: what the limit leaves after FILES_RESERVED, FILES_PER_REPLICA each. */
  readonly replicas: number;
}

/** The replicas a limit of `openFiles` leaves room for; null for no known limit (then nothing is refused). */
export function replicaLimit(openFiles: number | null): ReplicaLimit | null {
  if (openFiles === null) return null;
  return { openFiles, replicas: Math.max(0, Math.floor((openFiles - FILES_RESERVED) / FILES_PER_REPLICA)) };
}

/** The open-files limit a node holding `replicas` needs. */
export function openFilesNeeded(replicas: number): number {
  return FILES_RESERVED + replicas * FILES_PER_REPLICA;
}

/** What holding `replicas` under `limit` needs, said so that the fix is plain: `ulimit -n` to raise, and to what. */
export function replicaLimitHint(limit: ReplicaLimit, replicas: number): string {
  return `each replica keeps ${FILES_PER_REPLICA} file open and a node keeps ${FILES_RESERVED} for connections and its own files, so ulimit -n ${limit.openFiles} leaves room for ${limit.replicas} replica(s): raise ulimit -n (now ${limit.openFiles}; needs about ${openFilesNeeded(replicas)})`;
}
