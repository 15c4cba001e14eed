/**
 * The request grammar of every Kafka API and version the listener serves, restated from the
 * header comments of src/kafka/apis/ (independently of their decoders), with fast-check
 * arbitraries of well-formed requests and a writer that notes where each length and count went,
 * so that a mutation can make one of them lie.
 */
import fc from 'fast-check';
import { KafkaWriter } from '../../src/kafka/codec/writer.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';

export type KType =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'string'
  | 'nstring'
  | 'bytes'
  | 'nbytes'
  /** nullable bytes holding record batches: a real batch, several, junk or null. */
  | 'records'
  | 'cstring'
  /** compact bytes (flexible versions). */
  | 'cbytes'
  | 'tags'
  | { readonly array: KType }
  | { readonly narray: KType }
  | { readonly struct: readonly Field[] };
export type Field = readonly [name: string, type: KType];

const s = (...fields: (Field | false)[]): { struct: readonly Field[] } => ({ struct: fields.filter((f): f is Field => f !== false) });
const array = (t: KType): KType => ({ array: t });
const narray = (t: KType): KType => ({ narray: t });

export interface ApiGrammar {
  readonly name: string;
  readonly versions: readonly [number, number];
  /** The first version with tagged fields (request header v2). */
  readonly flexibleFrom?: number;
  /** The request body at version `v` (after the request header). */
  readonly body: (v: number) => { struct: readonly Field[] };
}

/** Each API's request grammar, by key. */
export const GRAMMAR: ReadonlyMap<number, ApiGrammar> = new Map<number, ApiGrammar>([
  [0, { name: 'Produce', versions: [3, 7], body: () => s(['transactional_id', 'nstring'], ['acks', 'int16'], ['timeout_ms', 'int32'], ['topic_data', array(s(['name', 'string'], ['partition_data', array(s(['index', 'int32'], ['records', 'records']))]))]) }],
  [
    1,
    {
      name: 'Fetch',
      versions: [4, 11],
      body: (v) =>
        s(
          ['replica_id', 'int32'],
          ['max_wait_ms', 'int32'],
          ['min_bytes', 'int32'],
          ['max_bytes', 'int32'],
          ['isolation_level', 'int8'],
          v >= 7 && ['session_id', 'int32'],
          v >= 7 && ['session_epoch', 'int32'],
          ['topics', array(s(['topic', 'string'], ['partitions', array(s(['partition', 'int32'], v >= 9 && ['current_leader_epoch', 'int32'], ['fetch_offset', 'int64'], v >= 5 && ['log_start_offset', 'int64'], ['partition_max_bytes', 'int32']))]))],
          v >= 7 && ['forgotten_topics_data', array(s(['topic', 'string'], ['partitions', array('int32')]))],
          v >= 11 && ['rack_id', 'string'],
        ),
    },
  ],
  [2, { name: 'ListOffsets', versions: [0, 2], body: (v) => s(['replica_id', 'int32'], v >= 2 && ['isolation_level', 'int8'], ['topics', array(s(['name', 'string'], ['partitions', array(s(['partition_index', 'int32'], ['timestamp', 'int64'], v === 0 && ['max_num_offsets', 'int32']))]))]) }],
  [3, { name: 'Metadata', versions: [0, 4], body: (v) => s(['topics', v === 0 ? array('string') : narray('string')], v >= 4 && ['allow_auto_topic_creation', 'bool']) }],
  [
    8,
    {
      name: 'OffsetCommit',
      versions: [0, 5],
      body: (v) =>
        s(
          ['group_id', 'string'],
          v >= 1 && ['generation_id', 'int32'],
          v >= 1 && ['member_id', 'string'],
          v >= 2 && v <= 4 && ['retention_time_ms', 'int64'],
          ['topics', array(s(['name', 'string'], ['partitions', array(s(['partition_index', 'int32'], ['committed_offset', 'int64'], v === 1 && ['commit_timestamp', 'int64'], ['committed_metadata', 'nstring']))]))],
        ),
    },
  ],
  [9, { name: 'OffsetFetch', versions: [0, 4], body: (v) => s(['group_id', 'string'], ['topics', (v >= 2 ? narray : array)(s(['name', 'string'], ['partition_indexes', array('int32')]))]) }],
  [10, { name: 'FindCoordinator', versions: [0, 2], body: (v) => s(['key', 'string'], v >= 1 && ['key_type', 'int8']) }],
  [
    11,
    {
      name: 'JoinGroup',
      versions: [0, 5],
      body: (v) =>
        s(['group_id', 'string'], ['session_timeout_ms', 'int32'], v >= 1 && ['rebalance_timeout_ms', 'int32'], ['member_id', 'string'], v >= 5 && ['group_instance_id', 'nstring'], ['protocol_type', 'string'], ['protocols', array(s(['name', 'string'], ['metadata', 'bytes']))]),
    },
  ],
  [12, { name: 'Heartbeat', versions: [0, 3], body: (v) => s(['group_id', 'string'], ['generation_id', 'int32'], ['member_id', 'string'], v >= 3 && ['group_instance_id', 'nstring']) }],
  [13, { name: 'LeaveGroup', versions: [0, 1], body: () => s(['group_id', 'string'], ['member_id', 'string']) }],
  [14, { name: 'SyncGroup', versions: [0, 3], body: (v) => s(['group_id', 'string'], ['generation_id', 'int32'], ['member_id', 'string'], v >= 3 && ['group_instance_id', 'nstring'], ['assignments', array(s(['member_id', 'string'], ['assignment', 'bytes']))]) }],
  [15, { name: 'DescribeGroups', versions: [0, 2], body: () => s(['groups', array('string')]) }],
  [16, { name: 'ListGroups', versions: [0, 2], body: () => s() }],
  [17, { name: 'SaslHandshake', versions: [0, 1], body: () => s(['mechanism', 'string']) }],
  [18, { name: 'ApiVersions', versions: [0, 3], flexibleFrom: 3, body: (v) => s(v >= 3 && ['client_software_name', 'cstring'], v >= 3 && ['client_software_version', 'cstring'], v >= 3 && ['tagged_fields', 'tags']) }],
  [
    19,
    {
      name: 'CreateTopics',
      versions: [0, 3],
      body: (v) =>
        s(
          ['topics', array(s(['name', 'string'], ['num_partitions', 'int32'], ['replication_factor', 'int16'], ['assignments', array(s(['partition_index', 'int32'], ['broker_ids', array('int32')]))], ['configs', array(s(['name', 'string'], ['value', 'nstring']))]))],
          ['timeout_ms', 'int32'],
          v >= 1 && ['validate_only', 'bool'],
        ),
    },
  ],
  [20, { name: 'DeleteTopics', versions: [0, 1], body: () => s(['topic_names', array('string')], ['timeout_ms', 'int32']) }],
  [22, { name: 'InitProducerId', versions: [0, 1], body: () => s(['transactional_id', 'nstring'], ['transaction_timeout_ms', 'int32']) }],
  [29, { name: 'DescribeAcls', versions: [0, 1], body: (v) => aclFilter(v) }],
  [
    30,
    {
      name: 'CreateAcls',
      versions: [0, 1],
      body: (v) => s(['creations', array(s(['resource_type', 'int8'], ['resource_name', 'string'], v >= 1 && ['pattern_type', 'int8'], ['principal', 'string'], ['host', 'string'], ['operation', 'int8'], ['permission_type', 'int8']))]),
    },
  ],
  [31, { name: 'DeleteAcls', versions: [0, 1], body: (v) => s(['filters', array(aclFilter(v))]) }],
  [32, { name: 'DescribeConfigs', versions: [0, 2], body: (v) => s(['resources', array(s(['resource_type', 'int8'], ['resource_name', 'string'], ['config_names', narray('string')]))], v >= 1 && ['include_synonyms', 'bool']) }],
  [33, { name: 'AlterConfigs', versions: [0, 1], body: () => s(['resources', array(s(['resource_type', 'int8'], ['resource_name', 'string'], ['configs', array(s(['name', 'string'], ['value', 'nstring']))]))], ['validate_only', 'bool']) }],
  [36, { name: 'SaslAuthenticate', versions: [0, 2], flexibleFrom: 2, body: (v) => (v >= 2 ? s(['auth_bytes', 'cbytes'], ['tagged_fields', 'tags']) : s(['auth_bytes', 'bytes'])) }],
  [
    37,
    {
      name: 'CreatePartitions',
      versions: [0, 1],
      body: () => s(['topics', array(s(['name', 'string'], ['count', 'int32'], ['assignments', narray(s(['broker_ids', narray('int32')]))]))], ['timeout_ms', 'int32'], ['validate_only', 'bool']),
    },
  ],
  [42, { name: 'DeleteGroups', versions: [0, 1], body: () => s(['groups_names', array('string')]) }],
  [
    44,
    {
      name: 'IncrementalAlterConfigs',
      versions: [0, 0],
      body: () => s(['resources', array(s(['resource_type', 'int8'], ['resource_name', 'string'], ['configs', array(s(['name', 'string'], ['config_operation', 'int8'], ['value', 'nstring']))]))], ['validate_only', 'bool']),
    },
  ],
]);

/** An ACL filter (DescribeAcls, DeleteAcls). */
function aclFilter(v: number): { struct: readonly Field[] } {
  return s(['resource_type', 'int8'], ['resource_name', 'nstring'], v >= 1 && ['pattern_type', 'int8'], ['principal', 'nstring'], ['host', 'nstring'], ['operation', 'int8'], ['permission_type', 'int8']);
}

// -------------------------------------------------------------------------------------------------
// Values

/** Topic and group names a fake node knows some of ('orders' is its one topic), and others. */
const name = fc.oneof(fc.constantFrom('orders', 'missing', 'g', ''), fc.string({ maxLength: 20 }));
const batch = fc.array(fc.record({ key: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }), value: fc.uint8Array({ maxLength: 24 }) }), { minLength: 1, maxLength: 3 }).map((records) =>
  Buffer.from(encodeBatch(records.map((r) => ({ ...(r.key !== undefined ? { key: Buffer.from(r.key) } : {}), value: Buffer.from(r.value) })))),
);

/** A well-formed value of type `t`. */
export function value(t: KType): fc.Arbitrary<unknown> {
  if (typeof t === 'object') {
    if ('struct' in t) return fc.tuple(...t.struct.map(([, ft]) => value(ft)));
    if ('array' in t) return fc.array(value(t.array), { maxLength: 3 });
    return fc.option(fc.array(value(t.narray), { maxLength: 3 }), { nil: null });
  }
  switch (t) {
    case 'int8':
      return fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: -128, max: 127 }));
    case 'int16':
      return fc.oneof(fc.constantFrom(-1, 0, 1), fc.integer({ min: -32768, max: 32767 }));
    case 'int32':
      return fc.oneof(fc.constantFrom(-1, 0, 1, 100, 1024 * 1024), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    case 'int64':
      return fc.oneof(fc.constantFrom(-2, -1, 0, 1, 5), fc.maxSafeInteger());
    case 'bool':
      return fc.boolean();
    case 'string':
    case 'cstring':
      return name;
    case 'nstring':
      return fc.option(name, { nil: null });
    case 'bytes':
    case 'cbytes':
      return fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
    case 'nbytes':
      return fc.option(fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)), { nil: null });
    case 'records':
      return fc.oneof(batch, fc.array(batch, { minLength: 2, maxLength: 3 }).map((bs) => Buffer.concat(bs)), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.constant(null));
    case 'tags':
      return fc.array(fc.tuple(fc.nat(100), fc.uint8Array({ maxLength: 8 })), { maxLength: 2 });
  }
}

/** Where a length or count prefix went: its offset in the body and its width in bytes (0: an unsigned varint). */
export interface Prefix {
  readonly at: number;
  readonly width: 0 | 2 | 4;
}

/** Writes `v` of type `t`, noting every length and count prefix it writes. */
export function write(w: KafkaWriter, t: KType, v: unknown, prefixes: Prefix[]): void {
  const note = (width: 0 | 2 | 4): void => void prefixes.push({ at: w.size, width });
  if (typeof t === 'object') {
    if ('struct' in t) {
      t.struct.forEach(([, ft], i) => write(w, ft, (v as unknown[])[i], prefixes));
      return;
    }
    const items = v as unknown[] | null;
    note(4);
    if (items === null) {
      w.int32(-1);
      return;
    }
    w.int32(items.length);
    for (const x of items) write(w, 'array' in t ? t.array : t.narray, x, prefixes);
    return;
  }
  switch (t) {
    case 'int8':
      w.int8(v as number);
      return;
    case 'int16':
      w.int16(v as number);
      return;
    case 'int32':
      w.int32(v as number);
      return;
    case 'int64':
      w.int64(v as number);
      return;
    case 'bool':
      w.bool(v as boolean);
      return;
    case 'string':
    case 'nstring':
      note(2);
      w.nullableString(v as string | null);
      return;
    case 'bytes':
    case 'nbytes':
    case 'records':
      note(4);
      w.nullableBytes(v as Buffer | null);
      return;
    case 'cstring':
      note(0);
      w.compactString(v as string);
      return;
    case 'cbytes':
      note(0);
      w.compactBytes(v as Buffer);
      return;
    case 'tags': {
      const tags = v as [number, Uint8Array][];
      note(0);
      w.uvarint(tags.length);
      for (const [tag, bytes] of tags) {
        w.uvarint(tag);
        note(0);
        w.uvarint(bytes.byteLength).raw(bytes);
      }
      return;
    }
  }
}

/** A request frame without its size: header v1 (v2, with tagged fields, at flexible versions), then the body. */
export function requestFrame(key: number, version: number, correlationId: number, body: Buffer, flexible: boolean): Buffer {
  const w = new KafkaWriter().int16(key).int16(version).int32(correlationId).nullableString('fuzz');
  if (flexible) w.taggedFields();
  return Buffer.concat([w.toBuffer(), body]);
}

/** A well-formed request of some API and version: its frame (without its size), and where its body's prefixes are. */
export interface KafkaRequest {
  readonly key: number;
  readonly version: number;
  readonly correlationId: number;
  readonly header: Buffer;
  readonly body: Buffer;
  readonly prefixes: readonly Prefix[];
}

/** A well-formed request of `key` at `version`. */
export function kafkaRequest(key: number, version: number): fc.Arbitrary<KafkaRequest> {
  const g = GRAMMAR.get(key)!;
  const body = g.body(version);
  return fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), value(body)).map(([correlationId, v]) => {
    const w = new KafkaWriter();
    const prefixes: Prefix[] = [];
    write(w, body, v, prefixes);
    const flexible = g.flexibleFrom !== undefined && version >= g.flexibleFrom;
    const header = requestFrame(key, version, correlationId, Buffer.alloc(0), flexible);
    return { key, version, correlationId, header, body: w.toBuffer(), prefixes };
  });
}

/** Every API and version the grammar knows, as [key, version]. */
export const SERVED: readonly (readonly [number, number])[] = [...GRAMMAR].flatMap(([key, g]) => Array.from({ length: g.versions[1] - g.versions[0] + 1 }, (_, i) => [key, g.versions[0] + i] as const));

/** A well-formed request of any API and version, as often one as another. */
export const anyKafkaRequest: fc.Arbitrary<KafkaRequest> = fc.constantFrom(...SERVED).chain(([key, version]) => kafkaRequest(key, version));
