/**
 * Changes to a running topic, as the metadata group applies them: its config (setTopicConfig) and
 * its partition count (addPartitions). Pure: the topic record before, the command, and the record
 * after or why nothing changed. The controller checks each change before proposing it
 * (src/node/controller.ts); what reaches the log anyway is checked again here, identically on
 * every replica, so a stale or doubled command changes nothing.
 */
import { ErrorCode, LIMITS, type TopicConfig } from '../wire/protocol.js';
import type { MetaCommand, TopicRecord } from './commands.js';

type TopicChange = Extract<MetaCommand, { type: 'setTopicConfig' | 'addPartitions' }>;

export type TopicChangeResult = { readonly ok: true; readonly value: TopicRecord } | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

const refused = (code: ErrorCode, message: string): TopicChangeResult => ({ ok: false, code, message });

export function changeTopic(t: TopicRecord | undefined, cmd: TopicChange): TopicChangeResult {
  const what = cmd.type === 'setTopicConfig' ? 'config change' : 'new partitions';
  if (t === undefined || t.id !== cmd.topicId) {
    return refused(ErrorCode.UnknownTopicOrPartition, `topic '${cmd.topic}' was ${t === undefined ? 'deleted' : 'deleted and created again'} before its ${what} were committed; nothing changed`);
  }
  if (cmd.type === 'setTopicConfig') return { ok: true, value: { ...t, config: { ...cmd.config } satisfies TopicConfig } };
  if (t.partitions !== cmd.from) {
    return refused(ErrorCode.InvalidPartitions, `topic '${cmd.topic}' has ${t.partitions} partitions, not the ${cmd.from} the addition was planned for; nothing changed (ask again)`);
  }
  const total = t.partitions + cmd.assignments.length;
  if (cmd.assignments.length === 0 || total > LIMITS.partitionsPerTopicMax) {
    return refused(ErrorCode.InvalidPartitions, `topic '${cmd.topic}' cannot grow from ${t.partitions} to ${total} partitions (1 more at least, ${LIMITS.partitionsPerTopicMax} in all at most); nothing changed`);
  }
  if (cmd.assignments.some((a) => a.length === 0 || new Set(a).size !== a.length)) {
    return refused(ErrorCode.InvalidReplicaAssignment, `the new partitions of '${cmd.topic}' have a replica list that is empty or names a node twice; nothing changed`);
  }
  const assignments = [...t.assignments, ...cmd.assignments.map((a) => [...a])];
  // A new partition's group is founded by its replicas, as a new topic's are: it was never moved.
  const moved = t.moved === undefined ? undefined : [...t.moved, ...cmd.assignments.map(() => false)];
  return { ok: true, value: { ...t, partitions: total, assignments, ...(moved !== undefined ? { moved } : {}) } };
}
