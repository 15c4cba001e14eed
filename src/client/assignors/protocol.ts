/**
 * The consumer protocol's bytes: what a member tells the group's leader when it joins (its
 * metadata), and what the leader hands each member through the coordinator (its assignment). The
 * coordinator keeps both as opaque bytes and returns them in describeGroups, where
 * `raftlog groups describe` decodes them. Each is one msgpack map (src/wire/codec.ts):
 *
 *   metadata   = { version: 1, topics: [str...], owned: [{ topic: str, partitions: [uint...] }...], generation: int }
 *   assignment = { version: 1, partitions: [{ topic: str, partitions: [uint...] }...] }
 *
 * `topics` is the member's subscription (sorted names); `owned` the partitions it held in
 * `generation` (-1 with nothing owned), which the sticky assignor keeps in place and uses to
 * settle two members claiming one partition. Decoders accept any version >= 1 and ignore fields
 * they do not know, so a later version may add fields; they refuse anything else with a typed
 * PROTOCOL_ERROR naming what is wrong.
 */
import { decodeFrame, encodeFrame } from '../../wire/codec.js';
import { ClientErrorCode, RaftlogError } from '../errors.js';
import type { TopicPartitionList } from './types.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';
export const PROTOCOL_VERSION = 1;

export interface MemberMetadata {
  readonly version: number;
  readonly topics: readonly string[];
  readonly owned: readonly TopicPartitionList[];
  readonly generation: number;
}

export interface MemberAssignment {
  readonly version: number;
  readonly partitions: readonly TopicPartitionList[];
}

export function encodeMetadata(m: Omit<MemberMetadata, 'version'>): Uint8Array {
  return encodeFrame({ version: PROTOCOL_VERSION, topics: [...m.topics].sort(), owned: m.owned.map(plainList), generation: m.generation });
}

export function encodeAssignment(partitions: readonly TopicPartitionList[]): Uint8Array {
  return encodeFrame({ version: PROTOCOL_VERSION, partitions: partitions.map(plainList) });
}

export function decodeMetadata(bytes: Uint8Array, what = 'member metadata'): MemberMetadata {
  const o = decodeMap(bytes, what);
  const version = versionOf(o, what);
  const topics = o.topics;
  if (!Array.isArray(topics) || !topics.every((t): t is string => typeof t === 'string')) throw bad(what, "'topics' is not a list of names");
  const generation = o.generation === undefined ? -1 : o.generation;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation)) throw bad(what, "'generation' is not an integer");
  return { version, topics, owned: decodeLists(o.owned ?? [], 'owned', what), generation };
}

export function decodeAssignment(bytes: Uint8Array, what = 'assignment'): MemberAssignment {
  // A member that got nothing may receive no bytes at all.
  if (bytes.length === 0) return { version: PROTOCOL_VERSION, partitions: [] };
  const o = decodeMap(bytes, what);
  return { version: versionOf(o, what), partitions: decodeLists(o.partitions, 'partitions', what) };
}

function plainList(l: TopicPartitionList): { topic: string; partitions: number[] } {
  return { topic: l.topic, partitions: [...l.partitions] };
}

function bad(what: string, why: string): RaftlogError {
  return new RaftlogError(ClientErrorCode.ProtocolError, `the ${what} cannot be decoded: ${why}`);
}

function decodeMap(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = decodeFrame(bytes);
  } catch (err) {
    throw bad(what, err instanceof Error ? err.message : String(err));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what, 'it is not a msgpack map');
  return v as Record<string, unknown>;
}

function versionOf(o: Record<string, unknown>, what: string): number {
  const v = o.version;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < PROTOCOL_VERSION) throw bad(what, `version ${String(v)} is not a version >= ${PROTOCOL_VERSION}`);
  return v;
}

function decodeLists(v: unknown, field: string, what: string): TopicPartitionList[] {
  if (!Array.isArray(v)) throw bad(what, `'${field}' is not a list`);
  return v.map((x: unknown) => {
    if (typeof x !== 'object' || x === null) throw bad(what, `an entry of '${field}' is not a map`);
    const r = x as Record<string, unknown>;
    const ps = r.partitions;
    if (typeof r.topic !== 'string') throw bad(what, `an entry of '${field}' has no topic name`);
    if (!Array.isArray(ps) || !ps.every((p): p is number => typeof p === 'number' && Number.isSafeInteger(p) && p >= 0)) {
      throw bad(what, `topic '${r.topic}' in '${field}' has partitions that are not non-negative integers`);
    }
    return { topic: r.topic, partitions: ps };
  });
}
