/**
 * Client request validation (src/wire/validate.ts) through the frame codec (src/wire/codec.ts),
 * as a client's bytes reach it: what is well formed comes back unchanged, and what breaks a field
 * is a RequestError with the code a client acts on, never a crash or a request a handler would
 * have to check again. SCHEMA below restates protocol.ts's rules independently of validate.ts, and
 * the mutation properties break one field of a well-formed request at a time against it.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecodeError, decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { ErrorCode, LIMITS, PRODUCER_EPOCH_MAX, REQUEST_TYPES, TOPIC_NAME, type Request, type RequestType } from '../../src/wire/protocol.js';
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_SALT_BYTES_MAX, SCRAM_SALT_BYTES_MIN } from '../../src/auth/scram.js';
import { RequestError, parseRequest } from '../../src/wire/validate.js';
import { flipBit, hex, plain, thrown, wireKey, wireValue } from '../helpers/wire-values.js';
import { anyRequest, ident, requestOf } from '../helpers/requests.js';
import { ACL_NAME_LENGTH_MAX, ACLS_PER_REQUEST_MAX, OPERATIONS, PATTERN_TYPES, PERMISSIONS, RESOURCE_TYPES } from '../../src/auth/acl.js';

const RUNS = 300;

const GROUP_PROTOCOLS_MAX = LIMITS.groupProtocolsMax;
const TRANSFER_TO_LENGTH_MAX = LIMITS.nodeIdLengthMax;
const NODE_ID_LENGTH_MAX = LIMITS.nodeIdLengthMax;
const REASSIGNMENTS_MAX = LIMITS.reassignmentsPerRequestMax;
const REPLICATION_FACTOR_MAX = LIMITS.replicationFactorMax;
const SEGMENT_BYTES_MIN = LIMITS.topicSegmentBytesMin;
const SEGMENT_BYTES_MAX = LIMITS.topicSegmentBytesMax;
const MAX_MESSAGE_BYTES_MIN = LIMITS.topicMessageBytesMin;

type Obj = Record<string, unknown>;

function roundTrip(frame: unknown): { id: number; request: Request } {
  return parseRequest(decodeFrame(encodeFrame(frame)));
}

/** `v` with each binary value replaced by its length and digest, for comparing large requests quickly. */
function summary(v: unknown): unknown {
  if (v instanceof Uint8Array) return `${v.byteLength} bytes, sha256 ${createHash('sha256').update(v).digest('hex')}`;
  if (Array.isArray(v)) return v.map(summary);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summary(x)]));
  return v;
}

function requestError(frame: unknown): RequestError {
  const err = thrown(() => roundTrip(frame));
  if (!(err instanceof RequestError)) throw new Error(`expected a RequestError, got ${String(err)}`, { cause: err });
  return err;
}

// Well-formed requests, of every type: test/helpers/requests.ts (shared with the fuzz suite, test/fuzz/).

// -------------------------------------------------------------------------------------------------
// What breaks a field

/**
 * One field's rule. `optional`: 'missing' when leaving it out takes a default, 'nullish' when nil
 * does too, the name of a partner field without which it may be left out, or of the other of a
 * pair one of which must be there (`either`: it may be left out while that one is there).
 */
type Field = { readonly optional?: 'missing' | 'nullish' | { readonly partner: string } | { readonly either: string } } & (
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'topic' }
  | { readonly kind: 'ident'; readonly empty?: boolean }
  | { readonly kind: 'str'; readonly max: number }
  | { readonly kind: 'bin'; readonly max: number; readonly min?: number }
  /** A user name (protocol.ts USER_NAME, not ANONYMOUS). */
  | { readonly kind: 'user' }
  /** Exactly this value. */
  | { readonly kind: 'const'; readonly value: string }
  | { readonly kind: 'acks' }
  | { readonly kind: 'spec' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly choices: readonly string[] }
  /** An ACL principal: `<type>:<name>`, at most ACL_NAME_LENGTH_MAX characters. */
  | { readonly kind: 'principal' }
  /** A quota entity: 'User:<name>' (a name of 1 to quotaUserLengthMax printable characters) or '<default>'. */
  | { readonly kind: 'entity' }
  /** `distinct`: the list's items must differ; it makes the i-th of many different copies of an item. */
  | { readonly kind: 'list'; readonly max: number; readonly min?: number; readonly item: Field; readonly distinct?: (item: unknown, i: number) => unknown }
  | { readonly kind: 'map'; readonly fields: Fields; readonly closed?: boolean }
);
type Fields = Readonly<Record<string, Field>>;

const int = (min: number, max: number, optional?: 'missing'): Field => ({ kind: 'int', min, max, ...(optional !== undefined ? { optional } : {}) });
const TOPIC: Field = { kind: 'topic' };
const IDENT: Field = { kind: 'ident' };
const IDENT_OR_EMPTY: Field = { kind: 'ident', empty: true };
const PARTITION = int(0, LIMITS.partitionsPerTopicMax - 1);
const OFFSET = int(0, Number.MAX_SAFE_INTEGER);
const TIMEOUT = int(1, LIMITS.requestTimeoutMsMax, 'missing');
const GENERATION = int(0, Number.MAX_SAFE_INTEGER);
const map = (fields: Fields, closed = false): Field => ({ kind: 'map', fields, closed });
const list = (max: number, item: Field, more: Partial<{ min: number; optional: 'nullish'; distinct: (item: unknown, i: number) => unknown }> = {}): Field => ({ kind: 'list', max, item, ...more });
const MAX_MOVES: Field = { kind: 'int', min: 1, max: LIMITS.movesAtOnceMax, optional: 'nullish' };
const ACL_STR: Field = { kind: 'str', max: ACL_NAME_LENGTH_MAX };
const PRINCIPAL: Field = { kind: 'principal' };
const ACL_BINDING = map({
  principal: PRINCIPAL,
  host: { ...ACL_STR, optional: 'nullish' },
  resource: map({ type: { kind: 'enum', choices: RESOURCE_TYPES }, name: ACL_STR, pattern: { kind: 'enum', choices: PATTERN_TYPES, optional: 'nullish' } }),
  operation: { kind: 'enum', choices: OPERATIONS },
  permission: { kind: 'enum', choices: PERMISSIONS },
});
const nullish = (f: Field): Field => ({ ...f, optional: 'nullish' });
const ACL_FILTER = map({
  principal: nullish(PRINCIPAL),
  host: nullish(ACL_STR),
  resourceType: nullish({ kind: 'enum', choices: RESOURCE_TYPES }),
  name: nullish(ACL_STR),
  pattern: nullish({ kind: 'enum', choices: [...PATTERN_TYPES, 'match'] }),
  operation: nullish({ kind: 'enum', choices: OPERATIONS }),
  permission: nullish({ kind: 'enum', choices: PERMISSIONS }),
});
const BYTE_RATE: Field = { kind: 'int', min: 1, max: LIMITS.quotaByteRateMax, optional: 'nullish' };
const OFFSETS = list(LIMITS.fetchPartitionsMax, map({ topic: TOPIC, partition: PARTITION, offset: OFFSET, metadata: { kind: 'str', max: LIMITS.offsetMetadataLengthMax, optional: 'nullish' } }));

/** A SCRAM credential of `mechanism`, naming it: keys as long as its hash's output (32 bytes for SHA-256, 64 for SHA-512). */
function scramCredential(mechanism: string): Field {
  const keyBytes = mechanism === 'SCRAM-SHA-512' ? 64 : 32;
  return map({
    mechanism: { kind: 'const', value: mechanism },
    iterations: int(SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX),
    salt: { kind: 'bin', min: SCRAM_SALT_BYTES_MIN, max: SCRAM_SALT_BYTES_MAX },
    storedKey: { kind: 'bin', min: keyBytes, max: keyBytes },
    serverKey: { kind: 'bin', min: keyBytes, max: keyBytes },
  });
}

const SCHEMA: { readonly [K in RequestType]: Fields } = {
  metadata: { topics: list(LIMITS.topicsPerRequestMax, TOPIC, { optional: 'nullish' }) },
  produce: {
    acks: { kind: 'acks', optional: 'nullish' },
    timeoutMs: TIMEOUT,
    batches: list(LIMITS.produceBatchesMax, map({ topic: TOPIC, partition: PARTITION, records: { kind: 'bin', max: Infinity } })),
  },
  fetch: {
    maxWaitMs: int(0, LIMITS.fetchWaitMsMax, 'missing'),
    minBytes: int(0, LIMITS.fetchBytesMax, 'missing'),
    maxBytes: int(1, LIMITS.fetchBytesMax, 'missing'),
    partitions: list(LIMITS.fetchPartitionsMax, map({ topic: TOPIC, partition: PARTITION, offset: OFFSET, maxBytes: int(1, LIMITS.fetchBytesMax, 'missing') }), {
      distinct: (item, i) => ({ ...(item as Obj), partition: i % LIMITS.partitionsPerTopicMax }),
    }),
  },
  listOffsets: { partitions: list(LIMITS.fetchPartitionsMax, map({ topic: TOPIC, partition: PARTITION, spec: { kind: 'spec' } })) },
  createTopics: {
    timeoutMs: TIMEOUT,
    topics: list(
      LIMITS.topicsPerRequestMax,
      map({
        name: TOPIC,
        partitions: int(-1, LIMITS.partitionsPerTopicMax, 'missing'),
        replicationFactor: int(-1, REPLICATION_FACTOR_MAX, 'missing'),
        config: {
          kind: 'map',
          optional: 'nullish',
          closed: true,
          fields: {
            retentionBytes: int(-1, Number.MAX_SAFE_INTEGER, 'missing'),
            retentionMs: int(-1, Number.MAX_SAFE_INTEGER, 'missing'),
            segmentBytes: int(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX, 'missing'),
            maxMessageBytes: int(MAX_MESSAGE_BYTES_MIN, LIMITS.topicMessageBytesMax, 'missing'),
          },
        },
      }),
    ),
  },
  deleteTopics: { timeoutMs: TIMEOUT, topics: list(LIMITS.topicsPerRequestMax, TOPIC) },
  initProducerId: {
    timeoutMs: TIMEOUT,
    transactionalId: { kind: 'ident', optional: 'missing' },
    producerId: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, optional: { partner: 'producerEpoch' } },
    producerEpoch: { kind: 'int', min: 0, max: PRODUCER_EPOCH_MAX, optional: { partner: 'producerId' } },
  },
  status: {},
  transferLeadership: { topic: TOPIC, partition: PARTITION, to: { kind: 'str', max: TRANSFER_TO_LENGTH_MAX }, timeoutMs: TIMEOUT },
  reassignPartitions: {
    timeoutMs: TIMEOUT,
    partitions: list(REASSIGNMENTS_MAX, map({ topic: TOPIC, partition: PARTITION, replicas: list(REPLICATION_FACTOR_MAX, { kind: 'str', max: NODE_ID_LENGTH_MAX }) })),
  },
  decommissionNode: { node: { kind: 'str', max: NODE_ID_LENGTH_MAX }, maxMoves: MAX_MOVES, timeoutMs: TIMEOUT },
  recommissionNode: { node: { kind: 'str', max: NODE_ID_LENGTH_MAX }, timeoutMs: TIMEOUT },
  alterReplicationFactor: { topic: TOPIC, replicationFactor: int(1, REPLICATION_FACTOR_MAX), maxMoves: MAX_MOVES, timeoutMs: TIMEOUT },
  rebalancePartitions: { maxMoves: MAX_MOVES, dryRun: { kind: 'bool', optional: 'nullish' }, timeoutMs: TIMEOUT },
  findCoordinator: { group: IDENT },
  joinGroup: {
    group: IDENT,
    memberId: IDENT_OR_EMPTY,
    clientId: IDENT_OR_EMPTY,
    protocolType: IDENT,
    protocols: list(GROUP_PROTOCOLS_MAX, map({ name: IDENT, metadata: { kind: 'bin', max: LIMITS.groupMetadataBytesMax } }), { min: 1 }),
    sessionTimeoutMs: int(LIMITS.sessionTimeoutMsMin, LIMITS.sessionTimeoutMsMax, 'missing'),
    rebalanceTimeoutMs: TIMEOUT,
  },
  syncGroup: {
    group: IDENT,
    generation: GENERATION,
    memberId: IDENT,
    assignments: list(LIMITS.groupMembersMax, map({ memberId: IDENT, assignment: { kind: 'bin', max: LIMITS.groupMetadataBytesMax } })),
  },
  heartbeat: { group: IDENT, generation: GENERATION, memberId: IDENT },
  leaveGroup: { group: IDENT, memberId: IDENT },
  commitOffsets: { group: IDENT, generation: int(-1, Number.MAX_SAFE_INTEGER, 'missing'), memberId: IDENT_OR_EMPTY, offsets: OFFSETS, timeoutMs: TIMEOUT },
  fetchOffsets: { group: IDENT, partitions: list(LIMITS.fetchPartitionsMax, map({ topic: TOPIC, partition: PARTITION }), { optional: 'nullish' }) },
  listGroups: {},
  describeGroups: { groups: list(LIMITS.topicsPerRequestMax, IDENT) },
  resetOffsets: { group: IDENT, offsets: OFFSETS, timeoutMs: TIMEOUT },
  deleteGroups: { groups: list(LIMITS.topicsPerRequestMax, IDENT), timeoutMs: TIMEOUT },
  createAcls: { bindings: list(ACLS_PER_REQUEST_MAX, ACL_BINDING), timeoutMs: TIMEOUT },
  describeAcls: { filter: { ...ACL_FILTER, optional: 'nullish' } },
  deleteAcls: { filters: list(ACLS_PER_REQUEST_MAX, ACL_FILTER), timeoutMs: TIMEOUT },
  saslHandshake: { mechanism: { kind: 'str', max: LIMITS.saslMechanismLengthMax } },
  saslAuthenticate: { bytes: { kind: 'bin', max: LIMITS.saslMessageBytesMax } },
  upsertUser: {
    name: { kind: 'user' },
    // A credential per mechanism, each under its name, at least one; no other key.
    credentials: map(
      {
        'SCRAM-SHA-256': { ...scramCredential('SCRAM-SHA-256'), optional: { either: 'SCRAM-SHA-512' } },
        'SCRAM-SHA-512': { ...scramCredential('SCRAM-SHA-512'), optional: { either: 'SCRAM-SHA-256' } },
      },
      true,
    ),
    timeoutMs: TIMEOUT,
  },
  deleteUser: { name: { kind: 'user' }, timeoutMs: TIMEOUT },
  listUsers: {},
  alterQuotas: { timeoutMs: TIMEOUT, entries: list(LIMITS.quotaEntriesPerRequestMax, map({ entity: { kind: 'entity' }, producerByteRate: BYTE_RATE, consumerByteRate: BYTE_RATE })) },
  describeQuotas: {},
  alterTopicConfig: {
    topic: TOPIC,
    config: {
      kind: 'map',
      closed: true,
      fields: {
        retentionBytes: int(-1, Number.MAX_SAFE_INTEGER, 'missing'),
        retentionMs: int(-1, Number.MAX_SAFE_INTEGER, 'missing'),
        segmentBytes: int(SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX, 'missing'),
        maxMessageBytes: int(MAX_MESSAGE_BYTES_MIN, LIMITS.topicMessageBytesMax, 'missing'),
      },
    },
    dryRun: { kind: 'bool', optional: 'nullish' },
    timeoutMs: TIMEOUT,
  },
  createPartitions: { topic: TOPIC, partitions: int(1, LIMITS.partitionsPerTopicMax), dryRun: { kind: 'bool', optional: 'nullish' }, timeoutMs: TIMEOUT },
  describeConfigs: { topics: list(LIMITS.topicsPerRequestMax, TOPIC), node: { kind: 'bool', optional: 'nullish' } },
};

type Path = readonly (string | number)[];
/** A place in a request where a field lives: a key of a map (which may be left out) or an item of a list. */
interface Site {
  readonly path: Path;
  readonly field: Field;
  readonly current: unknown;
  /** Whether leaving the field out breaks the request; null for a list item. */
  readonly missingBreaks: boolean | null;
}

function isMap(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function sites(fields: Fields, o: Obj, path: Path): Site[] {
  const out: Site[] = [];
  for (const [k, field] of Object.entries(fields)) {
    const opt = field.optional;
    const missingBreaks = opt === undefined ? true : typeof opt === 'object' ? ('partner' in opt ? o[opt.partner] !== undefined : o[opt.either] === undefined) : false;
    out.push(...within({ path: [...path, k], field, current: o[k], missingBreaks }));
  }
  return out;
}

function within(site: Site): Site[] {
  const { field, current, path } = site;
  const out = [site];
  if (field.kind === 'list' && Array.isArray(current)) {
    current.forEach((item, i) => out.push(...within({ path: [...path, i], field: field.item, current: item, missingBreaks: null })));
  }
  if (field.kind === 'map' && isMap(current)) out.push(...sites(field.fields, current, path));
  return out;
}

const MISSING = Symbol('missing');

/** Values msgpack can carry that, as the codec decodes them (a 64-bit integer is a number), are none of `ok`. */
const garbage = (ok: (v: unknown) => boolean): fc.Arbitrary<unknown> => wireValue.filter((v) => !ok(decodeFrame(encodeFrame(v))));
const isSafeInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
const isString = (v: unknown): boolean => typeof v === 'string';

/** Values that break the field at `site`, and the error code they must give. */
function breakers(site: Site): { values: fc.Arbitrary<unknown>; code: ErrorCode } {
  const { field, current } = site;
  const nilOk = field.optional === 'nullish';
  const not = (ok: (v: unknown) => boolean): fc.Arbitrary<unknown> => garbage((v) => ok(v) || (nilOk && v === null));
  const options: fc.Arbitrary<unknown>[] = [];
  let code: ErrorCode = ErrorCode.InvalidRequest;
  switch (field.kind) {
    case 'int':
      options.push(not(isSafeInt), fc.constantFrom(2 ** 53, -(2 ** 53), field.min + 0.5, NaN, Infinity, String(field.min)));
      if (field.min > Number.MIN_SAFE_INTEGER) options.push(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: field.min - 1 }), fc.constant(field.min - 1));
      if (field.max < Number.MAX_SAFE_INTEGER) options.push(fc.integer({ min: field.max + 1, max: Number.MAX_SAFE_INTEGER }), fc.constant(field.max + 1));
      break;
    case 'topic':
      code = ErrorCode.InvalidTopic;
      options.push(not(isString), fc.constantFrom('', '.', '..', 't'.repeat(250)), fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !TOPIC_NAME.test(s)));
      break;
    case 'ident':
      options.push(not(isString), fc.constant('m'.repeat(LIMITS.groupIdLengthMax + 1)));
      options.push(fc.tuple(ident, fc.constantFrom(0, 9, 10, 0x1f, 0x7f), fc.nat()).map(([s, c, at]) => s.slice(0, at % (s.length + 1)) + String.fromCharCode(c) + s.slice(at % (s.length + 1))));
      if (field.empty !== true) options.push(fc.constant(''));
      break;
    case 'str':
      options.push(not(isString), fc.constant('s'.repeat(field.max + 1)));
      break;
    case 'bin':
      options.push(not((v) => v instanceof Uint8Array), fc.constant([1, 2, 3]));
      if (Number.isFinite(field.max)) options.push(fc.constant(Buffer.alloc(field.max + 1)));
      if (field.min !== undefined && field.min > 0) options.push(fc.constant(Buffer.alloc(field.min - 1)));
      break;
    case 'user':
      options.push(not(isString), fc.constantFrom('', 'ANONYMOUS', 'u'.repeat(129), 'a,b', 'a b', 'a:b', 'ü'));
      break;
    case 'const':
      options.push(not((v) => v === field.value), fc.constant(field.value.toLowerCase()));
      break;
    case 'acks':
      options.push(not((v) => v === 'all' || v === 'leader' || v === 'none'), fc.constantFrom('ALL', 'one', '1', -1));
      break;
    case 'bool':
      options.push(not((v) => typeof v === 'boolean'), fc.constantFrom('true', 1, 0));
      break;
    case 'principal':
      options.push(not(isString), fc.constantFrom('alice', ':alice', 'User:', '', `User:${'p'.repeat(ACL_NAME_LENGTH_MAX)}`));
      break;
    case 'enum': {
      const choices = field.choices;
      options.push(not((v) => typeof v === 'string' && choices.includes(v)), fc.constantFrom(...choices.map((c) => c.toUpperCase())));
      break;
    }
    case 'entity':
      options.push(not(isString), fc.constantFrom('alice', 'User:', 'user:alice', 'default', '<DEFAULT>', 'User:a\u0000b', `User:${'u'.repeat(LIMITS.quotaUserLengthMax + 1)}`));
      break;
    case 'spec':
      options.push(
        not((v) => v === 'earliest' || v === 'latest' || (isMap(v) && isSafeInt(v['timestamp']))),
        garbage(isSafeInt).map((timestamp) => ({ timestamp })),
        fc.constantFrom('EARLIEST', 'now', {}),
      );
      break;
    case 'list':
      // Copies of a valid item, so that only the length is wrong.
      options.push(not(Array.isArray), fc.constant(new Array<unknown>(field.max + 1).fill(Array.isArray(current) && current.length > 0 ? current[0] : 0)));
      if (field.min !== undefined && field.min > 0) options.push(fc.constant([]));
      break;
    case 'map': {
      options.push(not(isMap), fc.constantFrom(new Date(0), Buffer.from('{}'), [{}]));
      const known = field.fields;
      if (field.closed === true && isMap(current)) options.push(wireKey.filter((k) => !(k in known)).map((k) => ({ ...current, [k]: 1 })));
      break;
    }
    default: {
      const never: never = field;
      throw new Error(`unhandled field ${JSON.stringify(never)}`);
    }
  }
  if (site.missingBreaks === true) options.push(fc.constant(MISSING));
  return { values: fc.oneof(...options), code };
}

/**
 * The values just past a field's limits, and exactly at them; null where these cannot be told
 * from `current`: a list's are made of copies of its first item, so that only its length is wrong.
 */
function limitValues(field: Field, current: unknown): { past: unknown[]; at: unknown[] } | null {
  switch (field.kind) {
    case 'int':
      return {
        past: [...(field.min > Number.MIN_SAFE_INTEGER ? [field.min - 1] : []), ...(field.max < Number.MAX_SAFE_INTEGER ? [field.max + 1] : [])],
        at: [field.min, field.max],
      };
    case 'topic':
      return { past: ['t'.repeat(250)], at: ['t'.repeat(249)] };
    case 'entity':
      return { past: [`User:${'u'.repeat(LIMITS.quotaUserLengthMax + 1)}`], at: [`User:${'u'.repeat(LIMITS.quotaUserLengthMax)}`] };
    case 'ident':
      return { past: ['m'.repeat(LIMITS.groupIdLengthMax + 1)], at: ['m'.repeat(LIMITS.groupIdLengthMax)] };
    case 'str':
      return { past: ['s'.repeat(field.max + 1)], at: ['s'.repeat(field.max)] };
    case 'bin': {
      const min = field.min ?? 0;
      if (!Number.isFinite(field.max)) return { past: [], at: [] };
      return { past: [Buffer.alloc(field.max + 1), ...(min > 0 ? [Buffer.alloc(min - 1)] : [])], at: [Buffer.alloc(field.max), Buffer.alloc(min)] };
    }
    case 'user':
      return { past: ['u'.repeat(129)], at: ['u'.repeat(128)] };
    case 'const':
      return { past: [], at: [] };
    case 'list': {
      if (!Array.isArray(current) || current.length === 0) return null;
      const item: unknown = current[0];
      const min = field.min ?? 0;
      const copies = (n: number): unknown[] => (field.distinct !== undefined ? Array.from({ length: n }, (_, i) => field.distinct!(item, i)) : new Array<unknown>(n).fill(item));
      return {
        past: [copies(field.max + 1), ...(min > 0 ? [copies(min - 1)] : [])],
        at: [copies(field.max), copies(min)],
      };
    }
    case 'principal':
      return { past: [`User:${'p'.repeat(ACL_NAME_LENGTH_MAX - 4)}`], at: [`User:${'p'.repeat(ACL_NAME_LENGTH_MAX - 5)}`] };
    case 'acks':
    case 'spec':
    case 'bool':
    case 'enum':
    case 'map':
      return { past: [], at: [] };
    default: {
      const never: never = field;
      throw new Error(`unhandled field ${JSON.stringify(never)}`);
    }
  }
}

/** A site's path with list indexes as `*`. */
function schemaPath(path: Path): string {
  return path.map((k) => (typeof k === 'number' ? '*' : k)).join('.');
}

/** Every path of a schema, in schemaPath's form. */
function allPaths(fields: Fields, prefix = ''): string[] {
  return Object.entries(fields).flatMap(([k, field]) => {
    const here = prefix + k;
    const inner = (f: Field, at: string): string[] => (f.kind === 'map' ? allPaths(f.fields, `${at}.`) : []);
    if (field.kind === 'list') return [here, `${here}.*`, ...inner(field.item, `${here}.*`)];
    return [here, ...inner(field, here)];
  });
}

function getAt(v: unknown, path: Path): unknown {
  return path.reduce<unknown>((x, k) => (x as Record<string | number, unknown>)[k], v);
}

/** `v` with the value at `path` replaced by `to` (or removed, for MISSING). */
function setAt(v: unknown, path: Path, to: unknown): unknown {
  const [k, ...rest] = path;
  if (k === undefined) return to;
  if (Array.isArray(v)) return v.map((x: unknown, i) => (i === k ? setAt(x, rest, to) : x));
  const o: Obj = { ...(v as Obj) };
  if (rest.length === 0 && to === MISSING) delete o[k];
  else Object.defineProperty(o, k, { value: setAt(o[k], rest, to), enumerable: true, writable: true, configurable: true });
  return o;
}

interface Broken {
  readonly id: number;
  readonly request: Request;
  readonly path: Path;
  readonly value: unknown;
  readonly code: ErrorCode;
}

const broken: fc.Arbitrary<Broken> = fc
  .tuple(fc.maxSafeNat(), fc.oneof(...REQUEST_TYPES.filter((t) => Object.keys(SCHEMA[t]).length > 0).map(requestOf)))
  .chain(([id, request]) =>
    fc.constantFrom(...sites(SCHEMA[request.type], request as unknown as Obj, [])).chain((site) => {
      const { values, code } = breakers(site);
      return values.map((value): Broken => ({ id, request, path: site.path, value, code }));
    }),
  );

// -------------------------------------------------------------------------------------------------

describe('a well-formed request', () => {
  it('of every type parses back to the value the client sent, through the codec', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), anyRequest, (id, request) => {
        expect(plain(roundTrip({ id, ...request }))).toEqual(plain({ id, request }));
      }),
      { seed: 1901, numRuns: RUNS * 2 },
    );
  });

  it('takes the documented defaults for the fields it leaves out', () => {
    expect(roundTrip({ id: 1, type: 'produce', batches: [] }).request).toEqual({ type: 'produce', acks: 'all', timeoutMs: 30_000, batches: [] });
    expect(roundTrip({ id: 2, type: 'fetch', partitions: [{ topic: 't', partition: 0, offset: 5 }] }).request).toEqual({
      type: 'fetch',
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      partitions: [{ topic: 't', partition: 0, offset: 5, maxBytes: 1024 * 1024 }],
    });
    expect(roundTrip({ id: 3, type: 'commitOffsets', group: 'g', memberId: '', offsets: [{ topic: 't', partition: 1, offset: 2 }] }).request).toEqual({
      type: 'commitOffsets',
      group: 'g',
      generation: -1,
      memberId: '',
      offsets: [{ topic: 't', partition: 1, offset: 2, metadata: '' }],
      timeoutMs: 30_000,
    });
    expect(roundTrip({ id: 4, type: 'metadata', topics: null }).request).toEqual({ type: 'metadata' });
    expect(roundTrip({ id: 5, type: 'reassignPartitions', partitions: [{ topic: 't', partition: 0, replicas: ['n1', 'n4'] }] }).request).toEqual({
      type: 'reassignPartitions',
      partitions: [{ topic: 't', partition: 0, replicas: ['n1', 'n4'] }],
      timeoutMs: 30_000,
    });
  });
});

describe('a fetch naming a partition twice', () => {
  it('is INVALID_REQUEST naming the partition: each entry may bring back a batch, so repeats would only multiply the response', () => {
    const p = { topic: 'orders', partition: 3, offset: 0 };
    const err = requestError({ id: 9, type: 'fetch', partitions: [p, { topic: 'orders', partition: 4, offset: 0 }, { ...p, offset: 7 }] });
    expect([err.id, err.code]).toEqual([9, ErrorCode.InvalidRequest]);
    expect(err.message).toContain('orders/3');
    // The same partition number of another topic is another partition.
    expect(roundTrip({ id: 10, type: 'fetch', partitions: [p, { ...p, topic: 'other' }] }).request).toMatchObject({ partitions: [p, { ...p, topic: 'other' }] });
  });
});

describe('a quota alteration that sets and removes no rate', () => {
  it('is INVALID_REQUEST naming the entity: it would change nothing', () => {
    const err = requestError({ id: 4, type: 'alterQuotas', entries: [{ entity: 'User:alice', producerByteRate: 5 }, { entity: 'User:bob' }] });
    expect([err.id, err.code]).toEqual([4, ErrorCode.InvalidRequest]);
    expect(err.message).toContain("'User:bob'");
    expect(roundTrip({ id: 5, type: 'alterQuotas', entries: [{ entity: '<default>', consumerByteRate: null }] }).request).toEqual({ type: 'alterQuotas', entries: [{ entity: '<default>', consumerByteRate: null }], timeoutMs: 30_000 });
  });
});

describe('an upsertUser', () => {
  const cred = (mechanism: string, keyBytes: number): Obj => ({ mechanism, iterations: 4096, salt: Buffer.alloc(16, 1), storedKey: Buffer.alloc(keyBytes, 2), serverKey: Buffer.alloc(keyBytes, 3) });

  it("of the client library before SCRAM-SHA-512 (one SCRAM-SHA-256 'credential') parses as credentials of that one mechanism", () => {
    expect(plain(roundTrip({ id: 1, type: 'upsertUser', name: 'olga', credential: cred('SCRAM-SHA-256', 32) }).request)).toEqual(
      plain({ type: 'upsertUser', name: 'olga', credentials: { 'SCRAM-SHA-256': cred('SCRAM-SHA-256', 32) }, timeoutMs: 30_000 }),
    );
    // That form was SCRAM-SHA-256 only: its keys are 32 bytes, and it names that mechanism.
    expect(requestError({ id: 2, type: 'upsertUser', name: 'olga', credential: cred('SCRAM-SHA-512', 64) }).message).toMatch(/'credentials.SCRAM-SHA-256.mechanism' must be 'SCRAM-SHA-256'/);
  });

  it('is INVALID_REQUEST with no credential, a mechanism not served, or a credential under the name of another mechanism', () => {
    expect(requestError({ id: 3, type: 'upsertUser', name: 'olga', credentials: {} }).message).toMatch(/at least one of SCRAM-SHA-256, SCRAM-SHA-512/);
    expect(requestError({ id: 4, type: 'upsertUser', name: 'olga', credentials: { 'SCRAM-SHA-1': cred('SCRAM-SHA-1', 20) } }).message).toMatch(/'SCRAM-SHA-1', not a SCRAM mechanism/);
    expect(requestError({ id: 5, type: 'upsertUser', name: 'olga', credentials: { 'SCRAM-SHA-512': cred('SCRAM-SHA-256', 64) } }).message).toMatch(/must be 'SCRAM-SHA-512'/);
    expect(requestError({ id: 6, type: 'upsertUser', name: 'olga', credentials: { 'SCRAM-SHA-512': cred('SCRAM-SHA-512', 32) } }).message).toMatch(/'storedKey' is 32 bytes; at least 64/);
  });
});

describe('a request with one field broken', () => {
  it('is a RequestError with its id and the code for that field: INVALID_TOPIC for a topic name, INVALID_REQUEST for anything else', () => {
    fc.assert(
      fc.property(broken, ({ id, request, path, value, code }) => {
        const err = requestError(setAt({ id, ...request }, path, value));
        expect(err.code).toBe(code);
        expect(err.id).toBe(id);
        expect(err.message.startsWith(`${request.type}: `)).toBe(true);
      }),
      { seed: 1902, numRuns: RUNS * 3 },
    );
  });

  // The random breakages above reach a given limit only now and then; this walks every one of them, once.
  it('is refused one past every limit, and accepted exactly at it, in every field of every type', () => {
    const covered = new Set<string>();
    for (const type of REQUEST_TYPES) {
      for (const request of fc.sample(requestOf(type), { seed: 1910, numRuns: 12 })) {
        for (const site of sites(SCHEMA[type], request as unknown as Obj, [])) {
          const key = `${type}.${schemaPath(site.path)}`;
          const limits = limitValues(site.field, site.current);
          if (covered.has(key) || limits === null) continue;
          covered.add(key);
          const frame = { id: 3, ...request };
          for (const value of limits.past) {
            const err = requestError(setAt(frame, site.path, value));
            expect([site.path, err.code]).toEqual([site.path, site.field.kind === 'topic' ? ErrorCode.InvalidTopic : ErrorCode.InvalidRequest]);
          }
          const { optional } = site.field;
          if (typeof optional === 'object' && 'partner' in optional && (request as unknown as Obj)[optional.partner] === undefined) continue;
          for (const value of limits.at) {
            const parsed = roundTrip(setAt(frame, site.path, value));
            expect(summary(getAt(parsed.request, site.path))).toEqual(summary(value));
          }
        }
      }
    }
    expect([...covered].sort()).toEqual(REQUEST_TYPES.flatMap((t) => allPaths(SCHEMA[t]).map((p) => `${t}.${p}`)).sort());
  });

  it('is UNSUPPORTED_REQUEST when its type is not one this node serves', () => {
    const unknownType = fc.oneof(fc.constant(MISSING), wireValue.filter((t) => !REQUEST_TYPES.includes(t as RequestType)), fc.constantFrom('Metadata', 'constructor', '__proto__', 'toString'));
    fc.assert(
      fc.property(fc.maxSafeNat(), anyRequest, unknownType, (id, request, type) => {
        const err = requestError(setAt({ ...request, id }, ['type'], type));
        expect(err.code).toBe(ErrorCode.UnsupportedRequest);
        expect(err.id).toBe(id);
      }),
      { seed: 1903, numRuns: RUNS },
    );
  });

  it('is INVALID_REQUEST with id -1 when the frame has no usable id, or is not a map at all', () => {
    const badId = fc.oneof(fc.constant(MISSING), garbage((v) => isSafeInt(v) && (v as number) >= 0), fc.constantFrom(-1, 0.5, 2 ** 53, '7'));
    fc.assert(
      fc.property(anyRequest, badId, (request, id) => {
        const err = requestError(setAt({ ...request, id: 0 }, ['id'], id));
        expect(err.code).toBe(ErrorCode.InvalidRequest);
        expect(err.id).toBe(-1);
      }),
      { seed: 1904, numRuns: RUNS },
    );
    fc.assert(
      fc.property(
        garbage((v) => isMap(v)),
        (v) => {
          const err = requestError(v);
          expect([err.code, err.id]).toEqual([ErrorCode.InvalidRequest, -1]);
        },
      ),
      { seed: 1905, numRuns: RUNS },
    );
  });
});

describe('whatever a client sends', () => {
  /** A request of some type with any of its fields, and some others, replaced by any msgpack value. */
  const scrambled = fc.tuple(fc.maxSafeNat(), anyRequest).chain(([id, request]) =>
    fc
      .dictionary(fc.oneof(fc.constantFrom(...Object.keys(SCHEMA[request.type]), 'id', 'type'), wireKey), wireValue, { maxKeys: 4, noNullPrototype: true })
      .map((noise): Obj => ({ id, ...request, ...noise })),
  );

  /** What parseRequest accepts must need no second check: parsing it again gives it back, with no field its type does not have. */
  function checkOutcome(v: unknown): void {
    let parsed: { id: number; request: Request };
    try {
      parsed = parseRequest(v);
    } catch (err) {
      expect(err).toBeInstanceOf(RequestError);
      return;
    }
    const { id, request } = parsed;
    expect(plain(roundTrip({ id, ...request }))).toEqual(plain(parsed));
    for (const k of Object.keys(request)) expect(['type', ...Object.keys(SCHEMA[request.type])]).toContain(k);
  }

  it('with random fields is either a clean request or a RequestError', () => {
    fc.assert(
      fc.property(scrambled, (frame) => checkOutcome(decodeFrame(encodeFrame(frame)))),
      { seed: 1906, numRuns: RUNS * 2 },
    );
  });

  it('as random bytes is a FrameDecodeError, a clean request or a RequestError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let v: unknown;
        try {
          v = decodeFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(FrameDecodeError);
          return;
        }
        checkOutcome(v);
      }),
      { seed: 1907, numRuns: RUNS * 3 },
    );
  });

  it('cut short at any byte is a FrameDecodeError (msgpack is prefix-free)', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), anyRequest, (id, request) => {
        const bytes = encodeFrame({ id, ...request });
        for (let cut = 0; cut < bytes.length; cut++) expect(thrown(() => decodeFrame(bytes.subarray(0, cut)))).toBeInstanceOf(FrameDecodeError);
      }),
      { seed: 1908, numRuns: RUNS / 3 },
    );
  });

  it('with a bit flipped is a FrameDecodeError, a clean request or a RequestError', () => {
    const flipped = fc
      .tuple(fc.maxSafeNat(), anyRequest)
      .map(([id, request]) => encodeFrame({ id, ...request }))
      .chain((bytes) => fc.nat(bytes.length * 8 - 1).map((bit) => flipBit(bytes, bit)));
    fc.assert(
      fc.property(flipped, (bytes) => {
        let v: unknown;
        try {
          v = decodeFrame(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(FrameDecodeError);
          return;
        }
        checkOutcome(v);
      }),
      { seed: 1909, numRuns: RUNS * 3 },
    );
  });
});

// -------------------------------------------------------------------------------------------------
// Byte fixtures: the client protocol as any msgpack implementation writes it (the smallest forms,
// fixmap and fixstr), and as this node writes it (msgpackr's map16). A change here is a protocol
// change: every deployed client reads and writes these bytes.

describe('the client protocol on the wire', () => {
  const FETCH = hex(`
    86                                        | map of 6
    a2 6964 07                                | id: 7
    a4 74797065 a5 6665746368                 | type: 'fetch'
    a9 6d6178576169744d73 cd 01f4             | maxWaitMs: 500
    a8 6d696e4279746573 01                    | minBytes: 1
    a8 6d61784279746573 ce 00100000           | maxBytes: 1048576
    aa 706172746974696f6e73 91                | partitions: [
      84                                      |   map of 4
      a5 746f706963 a6 6f7264657273           |   topic: 'orders'
      a9 706172746974696f6e 03                |   partition: 3
      a6 6f6666736574 cf 0000000100000000     |   offset: 2^32 (as a uint64)
      a8 6d61784279746573 cd 4000             |   maxBytes: 16384 ]
  `);

  it('reads a fetch in the smallest msgpack forms', () => {
    expect(parseRequest(decodeFrame(FETCH))).toEqual({
      id: 7,
      request: { type: 'fetch', maxWaitMs: 500, minBytes: 1, maxBytes: 1048576, partitions: [{ topic: 'orders', partition: 3, offset: 2 ** 32, maxBytes: 16384 }] },
    });
  });

  const heartbeat = (generation: string): Buffer =>
    hex(`
      85                                      | map of 5
      a2 6964 01                              | id: 1
      a4 74797065 a9 686561727462656174       | type: 'heartbeat'
      a5 67726f7570 a1 67                     | group: 'g'
      aa 67656e65726174696f6e ${generation}   | generation
      a8 6d656d6265724964 a1 6d               | memberId: 'm'
    `);

  // Writers differ in the width they give an integer (some always write 64 bits): all are the same number.
  it.each([
    ['a positive fixint', '2a'],
    ['a uint8', 'cc 2a'],
    ['a uint16', 'cd 002a'],
    ['a uint32', 'ce 0000002a'],
    ['a uint64', 'cf 000000000000002a'],
    ['an int8', 'd0 2a'],
    ['an int16', 'd1 002a'],
    ['an int32', 'd2 0000002a'],
    ['an int64', 'd3 000000000000002a'],
    ['a float64 holding an integer', 'cb 4045000000000000'],
  ])('reads an integer written as %s', (_width, generation) => {
    expect(parseRequest(decodeFrame(heartbeat(generation)))).toEqual({ id: 1, request: { type: 'heartbeat', group: 'g', generation: 42, memberId: 'm' } });
  });

  it.each([
    ['a uint64 of 2^53', 'cf 0020000000000000'],
    ['a uint64 of 2^64 - 1', 'cf ffffffffffffffff'],
    ['an int64 of -1', 'd3 ffffffffffffffff'],
    ['an int64 of -2^63', 'd3 8000000000000000'],
    ['a float64 of 42.5', 'cb 4045400000000000'],
  ])('refuses %s where a safe non-negative integer belongs', (_what, generation) => {
    const err = thrown(() => parseRequest(decodeFrame(heartbeat(generation))));
    expect(err).toBeInstanceOf(RequestError);
    expect([(err as RequestError).code, (err as RequestError).id]).toEqual([ErrorCode.InvalidRequest, 1]);
  });

  it('reads a produce whose records are msgpack bin, and refuses them as an array of numbers', () => {
    const produce = (records: string): Buffer =>
      hex(`
        84                                    | map of 4
        a2 6964 01                            | id: 1
        a4 74797065 a7 70726f64756365         | type: 'produce'
        a4 61636b73 a6 6c6561646572           | acks: 'leader'
        a7 62617463686573 91                  | batches: [
          83                                  |   map of 3
          a5 746f706963 a1 74                 |   topic: 't'
          a9 706172746974696f6e 00            |   partition: 0
          a7 7265636f726473 ${records}        |   records ]
      `);
    expect(plain(parseRequest(decodeFrame(produce('c4 03 010203'))))).toEqual({
      id: 1,
      request: { type: 'produce', acks: 'leader', timeoutMs: 30_000, batches: [{ topic: 't', partition: 0, records: new Uint8Array([1, 2, 3]) }] },
    });
    const err = thrown(() => parseRequest(decodeFrame(produce('93 01 02 03'))));
    expect(err).toBeInstanceOf(RequestError);
    expect((err as RequestError).code).toBe(ErrorCode.InvalidRequest);
    expect((err as RequestError).id).toBe(1);
  });

  it('writes a request and an error reply as msgpackr does', () => {
    expect(encodeFrame({ id: 2, type: 'heartbeat', group: 'g', generation: 3, memberId: 'm-1' }).toString('hex')).toBe(
      hex(`
        de 0005                               | map16 of 5
        a2 6964 02                            | id: 2
        a4 74797065 a9 686561727462656174     | type: 'heartbeat'
        a5 67726f7570 a1 67                   | group: 'g'
        aa 67656e65726174696f6e 03            | generation: 3
        a8 6d656d6265724964 a3 6d2d31         | memberId: 'm-1'
      `).toString('hex'),
    );
    expect(encodeFrame({ id: 2, error: { code: ErrorCode.NotCoordinator, message: 'ask n2' } }).toString('hex')).toBe(
      hex(`
        de 0002                               | map16 of 2
        a2 6964 02                            | id: 2
        a5 6572726f72 de 0002                 | error: map16 of 2
          a4 636f6465 af 4e4f545f434f4f5244494e41544f52 | code: 'NOT_COORDINATOR'
          a7 6d657373616765 a6 61736b206e32             | message: 'ask n2'
      `).toString('hex'),
    );
  });
});
