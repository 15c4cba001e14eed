/**
 * What a member has produced since its last Ready: messages to send, read points a quorum
 * confirmed, and reads dropped because it stopped leading. Shared by the core and its leader's
 * state (raft/leader.ts); `Raft.ready()` hands the contents out and starts them afresh.
 */
import type { Message, ReadState } from './types.js';

export class Outbox {
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  readsDropped: unknown[] = [];
}
