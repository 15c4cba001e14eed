/**
 * `parseHistoryFile(text)` reads a history in any of the formats the checker knows, choosing by
 * content: a first line that is an EDN map with `:process` is a key-value EDN history
 * (`kv-edn.ts`), a text with Jepsen `jepsen.util` event lines is a register log (`etcd-log.ts`),
 * and anything else must be JSON Lines per CHECKER.md (`jsonl.ts`).
 */
import type { HistoryEvent } from '../history.js';
import { looksLikeEtcdLog, parseEtcdLog, type RegisterHistory } from './etcd-log.js';
import { parseJsonl } from './jsonl.js';
import { looksLikeKvEdn, parseKvEdn, type KvHistory } from './kv-edn.js';

export type ParsedHistory =
  | { readonly format: 'jsonl'; readonly events: HistoryEvent[] }
  | { readonly format: 'etcd-log'; readonly history: RegisterHistory }
  | { readonly format: 'kv-edn'; readonly history: KvHistory };

export type HistoryFormat = ParsedHistory['format'];

export function parseHistoryFile(text: string): ParsedHistory {
  if (looksLikeKvEdn(text)) return { format: 'kv-edn', history: parseKvEdn(text) };
  const first = text.split('\n').find((l) => l.trim() !== '');
  if (first?.trim().startsWith('{') !== true && looksLikeEtcdLog(text)) {
    return { format: 'etcd-log', history: parseEtcdLog(text) };
  }
  return { format: 'jsonl', events: parseJsonl(text) };
}

export { parseJsonl } from './jsonl.js';
export { parseEtcdLog, type RegisterHistory } from './etcd-log.js';
export { parseKvEdn, type KvHistory, type KvOp } from './kv-edn.js';
