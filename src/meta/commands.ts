/**
 * Commands of the metadata group's log. Each Normal entry is one command, msgpack-encoded. The
 * controller (the group's leader) makes every decision before proposing (placement included), so
 * applying a command is deterministic on every node.
 */
import { decodeFrame, encodeFrame } from '../api/codec.js';
import type { TopicConfig } from '../api/protocol.js';

export type MetaCommand =
  | {
      readonly type: 'createTopic';
      readonly name: string;
      readonly partitions: number;
      readonly replicationFactor: number;
      readonly config: TopicConfig;
      /** Replica node ids per partition; the first of each is its preferred leader. */
      readonly assignments: readonly (readonly string[])[];
    }
  | { readonly type: 'deleteTopic'; readonly name: string }
  | { readonly type: 'allocateProducerId' };

export function encodeCommand(c: MetaCommand): Uint8Array {
  return encodeFrame(c);
}

export function decodeCommand(data: Uint8Array): MetaCommand {
  const v = decodeFrame(data) as MetaCommand;
  if (typeof v !== 'object' || v === null || typeof (v as { type?: unknown }).type !== 'string') {
    throw new Error('a metadata log entry is not a command');
  }
  return v;
}

/** A topic as the metadata group holds it (key `topic/<name>`). */
export interface TopicRecord {
  readonly name: string;
  /** Unique for the life of the cluster (`t<index of its createTopic entry>`), so a topic deleted and created again never shares data or groups with its namesake. */
  readonly id: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: TopicConfig;
  readonly assignments: readonly (readonly string[])[];
}

/** The Raft group of one partition. */
export function partitionGroupId(topicId: string, partition: number): string {
  return `p:${topicId}:${partition}`;
}

export const META_GROUP = 'meta';
