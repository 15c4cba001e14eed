/** The Raft core's public surface. */
export { Raft } from './raft.js';
export { DEFAULT_LIMITS, RaftConfigError, validateConfig, type CommitBroadcast, type RaftConfig, type RaftLimits, type UnsafeMutations } from './config.js';
export { LogCompactedError, RaftError, RaftErrorCode, RaftInvariantError, assert, notLeader } from './errors.js';
export { MemoryStorage } from './memory-storage.js';
export { ENTRY_OVERHEAD_BYTES, entryBytes, limitBytes, type LogStorage } from './storage.js';
export { ProgressState } from './progress.js';
export { seededRandom } from './random.js';
export * from './types.js';
