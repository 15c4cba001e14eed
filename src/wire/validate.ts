/**
 * Checks a decoded client frame field by field against protocol.ts and its LIMITS, so that
 * handlers only ever see well-formed requests. A bad field is an INVALID_REQUEST naming the field;
 * an unknown type is UNSUPPORTED_REQUEST.
 */
import {
  ErrorCode,
  LIMITS,
  PRODUCER_EPOCH_MAX,
  REQUEST_TYPES,
  quotaEntityProblem,
  topicNameProblem,
  userNameProblem,
  type CreateTopicSpec,
  type FetchPartition,
  type OffsetSpec,
  type PartitionReassignment,
  type ProduceBatch,
  type QuotaAlteration,
  type Request,
  type RequestType,
  type ScramCredentialSpec,
  type ScramCredentials,
  type TopicConfig,
} from './protocol.js';
import {
  ACL_NAME_LENGTH_MAX,
  ACLS_PER_REQUEST_MAX,
  CLUSTER_NAME,
  OPERATIONS,
  PATTERN_TYPES,
  PERMISSIONS,
  RESOURCE_TYPES,
  WILDCARD,
  aclBindingProblem,
  principalProblem,
  type AclBinding,
  type AclFilter,
} from '../auth/acl.js';
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_MECHANISMS, SCRAM_SALT_BYTES_MAX, SCRAM_SALT_BYTES_MIN, SCRAM_SHA_256, isScramMechanism, scramKeyBytes, type ScramMechanism } from '../auth/scram.js';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(readonly id: number, readonly code: ErrorCode, message: string) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

/** A msgpack map as the codec decodes it: a plain object, not an array, binary or a timestamp's Date. */
function isObj(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

class Fields {
  constructor(private readonly id: number, private readonly where: string) {}

  fail(msg: string): never {
    throw new RequestError(this.id, ErrorCode.InvalidRequest, `${this.where}: ${msg}`);
  }

  int(o: Obj, k: string, min: number, max: number, dflt?: number): number {
    const v = o[k];
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return this.fail(`'${k}' must be an integer`);
    if (v < min || v > max) return this.fail(`'${k}' is ${v}, outside ${min}..${max}`);
    return v;
  }

  str(o: Obj, k: string, maxLen: number): string {
    const v = o[k];
    if (typeof v !== 'string') return this.fail(`'${k}' must be a string`);
    if (v.length > maxLen) return this.fail(`'${k}' is longer than ${maxLen} characters`);
    return v;
  }

  /** A group, member or client id: 1 to 255 printable characters (member ids may be empty when allowed). */
  ident(o: Obj, k: string, allowEmpty = false): string {
    const v = o[k];
    if (typeof v !== 'string') return this.fail(`'${k}' must be a string`);
    if (v.length === 0 && !allowEmpty) return this.fail(`'${k}' must not be empty`);
    if (v.length > LIMITS.groupIdLengthMax) return this.fail(`'${k}' is longer than ${LIMITS.groupIdLengthMax} characters`);
    if (/[\u0000-\u001f\u007f]/.test(v)) return this.fail(`'${k}' must not contain control characters`);
    return v;
  }

  bin(o: Obj, k: string, max: number): Uint8Array {
    const v = o[k];
    if (!(v instanceof Uint8Array)) return this.fail(`'${k}' must be binary`);
    if (v.byteLength > max) return this.fail(`'${k}' is ${v.byteLength} bytes; at most ${max}`);
    return v;
  }

  topic(o: Obj, k = 'topic'): string {
    const problem = topicNameProblem(o[k]);
    if (problem !== null) throw new RequestError(this.id, ErrorCode.InvalidTopic, `${this.where}: ${problem}`);
    return o[k] as string;
  }

  /** A user name (protocol.ts userNameProblem). */
  user(o: Obj, k = 'name'): string {
    const problem = userNameProblem(o[k]);
    if (problem !== null) this.fail(problem);
    return o[k] as string;
  }

  /** Binary of `min` to `max` bytes. */
  binBetween(o: Obj, k: string, min: number, max: number): Uint8Array {
    const v = this.bin(o, k, max);
    if (v.byteLength < min) return this.fail(`'${k}' is ${v.byteLength} bytes; at least ${min}`);
    return v;
  }

  bool(o: Obj, k: string): boolean {
    const v = o[k];
    if (typeof v !== 'boolean') return this.fail(`'${k}' must be true or false`);
    return v;
  }

  list(o: Obj, k: string, max: number): unknown[] {
    const v = o[k];
    if (!Array.isArray(v)) return this.fail(`'${k}' must be a list`);
    if (v.length > max) return this.fail(`'${k}' has ${v.length} items; at most ${max}`);
    return v;
  }

  obj(v: unknown, what: string): Obj {
    if (!isObj(v)) return this.fail(`${what} must be a map`);
    return v;
  }

  /** One of `choices`, or `dflt` when absent. */
  oneOf<T extends string>(o: Obj, k: string, choices: readonly T[], dflt?: T): T {
    const v = o[k];
    if ((v === undefined || v === null) && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || !choices.includes(v as T)) return this.fail(`'${k}' must be one of ${choices.join(', ')}`);
    return v as T;
  }
}

/** The request id of a frame, or -1 if it has none (the error reply then carries -1). */
export function requestId(v: unknown): number {
  if (isObj(v) && typeof v['id'] === 'number' && Number.isSafeInteger(v['id']) && v['id'] >= 0) return v['id'];
  return -1;
}

export function parseRequest(v: unknown): { id: number; request: Request } {
  const id = requestId(v);
  if (!isObj(v) || id < 0) throw new RequestError(id, ErrorCode.InvalidRequest, "a request must be a map with a non-negative integer 'id' and a 'type'");
  const type = v['type'];
  if (typeof type !== 'string' || !REQUEST_TYPES.includes(type as RequestType)) {
    throw new RequestError(id, ErrorCode.UnsupportedRequest, `unknown request type '${String(type).slice(0, 64)}'; this node serves ${REQUEST_TYPES.join(', ')}`);
  }
  const f = new Fields(id, type);
  return { id, request: parseBody(type as RequestType, v, f) };
}

function parseBody(type: RequestType, o: Obj, f: Fields): Request {
  switch (type) {
    case 'metadata': {
      if (o['topics'] === undefined || o['topics'] === null) return { type };
      const topics = f.list(o, 'topics', LIMITS.topicsPerRequestMax).map((t) => f.topic({ t }, 't'));
      return { type, topics };
    }
    case 'produce': {
      const acks = o['acks'] ?? 'all';
      if (acks !== 'all' && acks !== 'leader' && acks !== 'none') return f.fail("'acks' must be 'all', 'leader' or 'none'");
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      const batches = f.list(o, 'batches', LIMITS.produceBatchesMax).map((b): ProduceBatch => {
        const bo = f.obj(b, 'a batch');
        const records = bo['records'];
        if (!(records instanceof Uint8Array)) return f.fail("a batch's 'records' must be binary (a RecordBatch)");
        return { topic: f.topic(bo), partition: f.int(bo, 'partition', 0, LIMITS.partitionsPerTopicMax - 1), records };
      });
      return { type, acks, timeoutMs, batches };
    }
    case 'fetch': {
      const maxWaitMs = f.int(o, 'maxWaitMs', 0, LIMITS.fetchWaitMsMax, 500);
      const minBytes = f.int(o, 'minBytes', 0, LIMITS.fetchBytesMax, 1);
      const maxBytes = f.int(o, 'maxBytes', 1, LIMITS.fetchBytesMax, LIMITS.fetchBytesDefault);
      const partitions = f.list(o, 'partitions', LIMITS.fetchPartitionsMax).map((p): FetchPartition => {
        const po = f.obj(p, 'a fetch partition');
        return {
          topic: f.topic(po),
          partition: f.int(po, 'partition', 0, LIMITS.partitionsPerTopicMax - 1),
          offset: f.int(po, 'offset', 0, Number.MAX_SAFE_INTEGER),
          maxBytes: f.int(po, 'maxBytes', 1, LIMITS.fetchBytesMax, LIMITS.fetchPartitionBytesDefault),
        };
      });
      // Each entry may bring back a batch: the same partition twice would only multiply a response.
      const named = new Set<string>();
      for (const p of partitions) {
        const key = `${p.topic}/${p.partition}`;
        if (named.has(key)) return f.fail(`'partitions' names ${key} more than once; name each partition once`);
        named.add(key);
      }
      return { type, maxWaitMs, minBytes, maxBytes, partitions };
    }
    case 'listOffsets': {
      const partitions = f.list(o, 'partitions', LIMITS.fetchPartitionsMax).map((p) => {
        const po = f.obj(p, 'a list-offsets partition');
        const spec = po['spec'];
        let s: OffsetSpec;
        if (spec === 'earliest' || spec === 'latest') s = spec;
        else if (isObj(spec) && typeof spec['timestamp'] === 'number' && Number.isSafeInteger(spec['timestamp'])) s = { timestamp: spec['timestamp'] };
        else return f.fail("'spec' must be 'earliest', 'latest' or { timestamp }");
        return { topic: f.topic(po), partition: f.int(po, 'partition', 0, LIMITS.partitionsPerTopicMax - 1), spec: s };
      });
      return { type, partitions };
    }
    case 'createTopics': {
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      const topics = f.list(o, 'topics', LIMITS.topicsPerRequestMax).map((t): CreateTopicSpec => {
        const to = f.obj(t, 'a topic');
        const config = to['config'] === undefined || to['config'] === null ? undefined : parseConfig(f.obj(to['config'], "'config'"), f);
        return {
          name: f.topic(to, 'name'),
          partitions: f.int(to, 'partitions', -1, LIMITS.partitionsPerTopicMax, 1),
          replicationFactor: f.int(to, 'replicationFactor', -1, LIMITS.replicationFactorMax, -1),
          ...(config !== undefined ? { config } : {}),
        };
      });
      return { type, topics, timeoutMs };
    }
    case 'deleteTopics': {
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      const topics = f.list(o, 'topics', LIMITS.topicsPerRequestMax).map((t) => f.topic({ t }, 't'));
      return { type, topics, timeoutMs };
    }
    case 'initProducerId': {
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      const transactionalId = o['transactionalId'] === undefined ? undefined : f.ident(o, 'transactionalId');
      const reinit = o['producerId'] !== undefined || o['producerEpoch'] !== undefined;
      const producerId = reinit ? f.int(o, 'producerId', 0, Number.MAX_SAFE_INTEGER) : undefined;
      const producerEpoch = reinit ? f.int(o, 'producerEpoch', 0, PRODUCER_EPOCH_MAX) : undefined;
      return { type, timeoutMs, ...(transactionalId !== undefined ? { transactionalId } : {}), ...(producerId !== undefined ? { producerId, producerEpoch } : {}) };
    }
    case 'status':
      return { type };
    case 'findCoordinator':
      return { type, group: f.ident(o, 'group') };
    case 'joinGroup': {
      const protocols = f.list(o, 'protocols', LIMITS.groupProtocolsMax).map((p) => {
        const po = f.obj(p, 'a protocol');
        return { name: f.ident(po, 'name'), metadata: f.bin(po, 'metadata', LIMITS.groupMetadataBytesMax) };
      });
      if (protocols.length === 0) return f.fail("'protocols' must name at least one assignor");
      return {
        type,
        group: f.ident(o, 'group'),
        memberId: f.ident(o, 'memberId', true),
        clientId: f.ident(o, 'clientId', true),
        protocolType: f.ident(o, 'protocolType'),
        protocols,
        sessionTimeoutMs: f.int(o, 'sessionTimeoutMs', LIMITS.sessionTimeoutMsMin, LIMITS.sessionTimeoutMsMax, 30_000),
        rebalanceTimeoutMs: f.int(o, 'rebalanceTimeoutMs', 1, LIMITS.requestTimeoutMsMax, 60_000),
      };
    }
    case 'syncGroup': {
      const assignments = f.list(o, 'assignments', LIMITS.groupMembersMax).map((a) => {
        const ao = f.obj(a, 'an assignment');
        return { memberId: f.ident(ao, 'memberId'), assignment: f.bin(ao, 'assignment', LIMITS.groupMetadataBytesMax) };
      });
      return { type, group: f.ident(o, 'group'), generation: f.int(o, 'generation', 0, Number.MAX_SAFE_INTEGER), memberId: f.ident(o, 'memberId'), assignments };
    }
    case 'heartbeat':
      return { type, group: f.ident(o, 'group'), generation: f.int(o, 'generation', 0, Number.MAX_SAFE_INTEGER), memberId: f.ident(o, 'memberId') };
    case 'leaveGroup':
      return { type, group: f.ident(o, 'group'), memberId: f.ident(o, 'memberId') };
    case 'commitOffsets':
    case 'resetOffsets': {
      const offsets = f.list(o, 'offsets', LIMITS.fetchPartitionsMax).map((x) => {
        const xo = f.obj(x, 'an offset');
        const metadata = xo['metadata'] === undefined || xo['metadata'] === null ? '' : f.str(xo, 'metadata', LIMITS.offsetMetadataLengthMax);
        return { topic: f.topic(xo), partition: f.int(xo, 'partition', 0, LIMITS.partitionsPerTopicMax - 1), offset: f.int(xo, 'offset', 0, Number.MAX_SAFE_INTEGER), metadata };
      });
      const group = f.ident(o, 'group');
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      if (type === 'resetOffsets') return { type, group, offsets, timeoutMs };
      return { type, group, generation: f.int(o, 'generation', -1, Number.MAX_SAFE_INTEGER, -1), memberId: f.ident(o, 'memberId', true), offsets, timeoutMs };
    }
    case 'fetchOffsets': {
      const group = f.ident(o, 'group');
      if (o['partitions'] === undefined || o['partitions'] === null) return { type, group };
      const partitions = f.list(o, 'partitions', LIMITS.fetchPartitionsMax).map((x) => {
        const xo = f.obj(x, 'a partition');
        return { topic: f.topic(xo), partition: f.int(xo, 'partition', 0, LIMITS.partitionsPerTopicMax - 1) };
      });
      return { type, group, partitions };
    }
    case 'listGroups':
      return { type };
    case 'describeGroups':
      return { type, groups: f.list(o, 'groups', LIMITS.topicsPerRequestMax).map((g) => f.ident({ g }, 'g')) };
    case 'deleteGroups':
      return { type, groups: f.list(o, 'groups', LIMITS.topicsPerRequestMax).map((g) => f.ident({ g }, 'g')), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'reassignPartitions': {
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      const partitions = f.list(o, 'partitions', LIMITS.reassignmentsPerRequestMax).map((x): PartitionReassignment => {
        const xo = f.obj(x, 'a reassignment');
        // What the ids name (known nodes, each once, how many) is the controller's to check.
        const replicas = f.list(xo, 'replicas', LIMITS.replicationFactorMax).map((replica) => f.str({ replica }, 'replica', LIMITS.nodeIdLengthMax));
        return { topic: f.topic(xo), partition: f.int(xo, 'partition', 0, LIMITS.partitionsPerTopicMax - 1), replicas };
      });
      return { type, partitions, timeoutMs };
    }
    case 'decommissionNode':
      return { type, node: f.str(o, 'node', LIMITS.nodeIdLengthMax), ...maxMoves(o, f), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'recommissionNode':
      return { type, node: f.str(o, 'node', LIMITS.nodeIdLengthMax), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'alterReplicationFactor':
      return {
        type,
        topic: f.topic(o),
        replicationFactor: f.int(o, 'replicationFactor', 1, LIMITS.replicationFactorMax),
        ...maxMoves(o, f),
        timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000),
      };
    case 'rebalancePartitions':
      return { type, ...maxMoves(o, f), ...dryRun(o, f), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'transferLeadership':
      return {
        type,
        topic: f.topic(o),
        partition: f.int(o, 'partition', 0, LIMITS.partitionsPerTopicMax - 1),
        to: f.str(o, 'to', LIMITS.nodeIdLengthMax),
        timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 10_000),
      };
    case 'createAcls':
      return { type, bindings: f.list(o, 'bindings', ACLS_PER_REQUEST_MAX).map((b) => parseAclBinding(f.obj(b, 'a binding'), f)), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'describeAcls':
      return { type, filter: o['filter'] === undefined || o['filter'] === null ? {} : parseAclFilter(f.obj(o['filter'], "'filter'"), f) };
    case 'deleteAcls':
      return { type, filters: f.list(o, 'filters', ACLS_PER_REQUEST_MAX).map((x) => parseAclFilter(f.obj(x, 'a filter'), f)), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'saslHandshake':
      return { type, mechanism: f.str(o, 'mechanism', LIMITS.saslMechanismLengthMax) };
    case 'saslAuthenticate':
      return { type, bytes: f.bin(o, 'bytes', LIMITS.saslMessageBytesMax) };
    case 'upsertUser': {
      // The client library before SCRAM-SHA-512 sent one SCRAM-SHA-256 `credential`.
      const legacy = o['credentials'] === undefined && o['credential'] !== undefined;
      const given = f.obj(legacy ? { [SCRAM_SHA_256]: o['credential'] } : o['credentials'], "'credentials'");
      const unknown = Object.keys(given).find((k) => !isScramMechanism(k));
      if (unknown !== undefined) return f.fail(`'credentials' names '${unknown.slice(0, 40)}', not a SCRAM mechanism: ${SCRAM_MECHANISMS.join(', ')}`);
      const credentials: Partial<Record<ScramMechanism, ScramCredentialSpec>> = {};
      for (const m of SCRAM_MECHANISMS) {
        if (given[m] === undefined) continue;
        const c = f.obj(given[m], `'credentials.${m}'`);
        if (c['mechanism'] !== m) return f.fail(`'credentials.${m}.mechanism' must be '${m}'`);
        const keyBytes = scramKeyBytes(m);
        credentials[m] = {
          mechanism: m,
          iterations: f.int(c, 'iterations', SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX),
          salt: f.binBetween(c, 'salt', SCRAM_SALT_BYTES_MIN, SCRAM_SALT_BYTES_MAX),
          storedKey: f.binBetween(c, 'storedKey', keyBytes, keyBytes),
          serverKey: f.binBetween(c, 'serverKey', keyBytes, keyBytes),
        };
      }
      if (Object.keys(credentials).length === 0) return f.fail(`'credentials' must hold a credential of at least one of ${SCRAM_MECHANISMS.join(', ')}`);
      return { type, name: f.user(o), credentials: credentials as ScramCredentials, timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    }
    case 'deleteUser':
      return { type, name: f.user(o), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'listUsers':
      return { type };
    case 'alterQuotas': {
      const timeoutMs = f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000);
      const entries = f.list(o, 'entries', LIMITS.quotaEntriesPerRequestMax).map((e) => parseQuotaAlteration(f.obj(e, 'a quota'), f));
      return { type, entries, timeoutMs };
    }
    case 'describeQuotas':
      return { type };
    case 'alterTopicConfig':
      return { type, topic: f.topic(o), config: parseConfig(f.obj(o['config'], "'config'"), f), ...dryRun(o, f), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'createPartitions':
      return { type, topic: f.topic(o), partitions: f.int(o, 'partitions', 1, LIMITS.partitionsPerTopicMax), ...dryRun(o, f), timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'describeConfigs': {
      const topics = f.list(o, 'topics', LIMITS.topicsPerRequestMax).map((t) => f.topic({ t }, 't'));
      return { type, topics, ...(o['node'] === undefined || o['node'] === null ? {} : { node: f.bool(o, 'node') }) };
    }
    default: {
      const never: never = type;
      throw new Error(`unhandled request type ${String(never)}`);
    }
  }
}

/** An ACL binding (src/auth/acl.ts): its host `*` and its pattern literal when absent, the cluster's name implied. */
function parseAclBinding(b: Obj, f: Fields): AclBinding {
  const r = f.obj(b['resource'], "a binding's 'resource'");
  const resourceType = f.oneOf(r, 'type', RESOURCE_TYPES);
  const binding: AclBinding = {
    principal: f.str(b, 'principal', ACL_NAME_LENGTH_MAX),
    host: b['host'] === undefined || b['host'] === null ? WILDCARD : f.str(b, 'host', ACL_NAME_LENGTH_MAX),
    resource: {
      type: resourceType,
      name: resourceType === 'cluster' && (r['name'] === undefined || r['name'] === null) ? CLUSTER_NAME : f.str(r, 'name', ACL_NAME_LENGTH_MAX),
      pattern: f.oneOf(r, 'pattern', PATTERN_TYPES, 'literal'),
    },
    operation: f.oneOf(b, 'operation', OPERATIONS),
    permission: f.oneOf(b, 'permission', PERMISSIONS),
  };
  const problem = aclBindingProblem(binding);
  return problem === null ? binding : f.fail(problem);
}

/** An ACL filter: each field absent matches any value. */
function parseAclFilter(x: Obj, f: Fields): AclFilter {
  const given = (k: string): boolean => x[k] !== undefined && x[k] !== null;
  const principal = given('principal') ? f.str(x, 'principal', ACL_NAME_LENGTH_MAX) : undefined;
  if (principal !== undefined && principalProblem(principal) !== null) f.fail(principalProblem(principal)!);
  return {
    ...(principal !== undefined ? { principal } : {}),
    ...(given('host') ? { host: f.str(x, 'host', ACL_NAME_LENGTH_MAX) } : {}),
    ...(given('resourceType') ? { resourceType: f.oneOf(x, 'resourceType', RESOURCE_TYPES) } : {}),
    ...(given('name') ? { name: f.str(x, 'name', ACL_NAME_LENGTH_MAX) } : {}),
    ...(given('pattern') ? { pattern: f.oneOf(x, 'pattern', [...PATTERN_TYPES, 'match'] as const) } : {}),
    ...(given('operation') ? { operation: f.oneOf(x, 'operation', OPERATIONS) } : {}),
    ...(given('permission') ? { permission: f.oneOf(x, 'permission', PERMISSIONS) } : {}),
  };
}

/** The optional `dryRun` of the requests that can be checked without changing anything. */
function dryRun(o: Obj, f: Fields): { dryRun?: boolean } {
  return o['dryRun'] === undefined || o['dryRun'] === null ? {} : { dryRun: f.bool(o, 'dryRun') };
}

/** The optional `maxMoves` of the requests that start replica moves. */
function maxMoves(o: Obj, f: Fields): { maxMoves?: number } {
  return o['maxMoves'] === undefined || o['maxMoves'] === null ? {} : { maxMoves: f.int(o, 'maxMoves', 1, LIMITS.movesAtOnceMax) };
}

/** One entry of alterQuotas: its entity, and each rate it sets (a number) or removes (null); at least one. */
function parseQuotaAlteration(e: Obj, f: Fields): QuotaAlteration {
  const problem = quotaEntityProblem(e['entity']);
  if (problem !== null) return f.fail(problem);
  const rate = (k: 'producerByteRate' | 'consumerByteRate'): { [key: string]: number | null } => {
    const v = e[k];
    if (v === undefined) return {};
    if (v === null) return { [k]: null };
    return { [k]: f.int(e, k, 1, LIMITS.quotaByteRateMax) };
  };
  const rates = { ...rate('producerByteRate'), ...rate('consumerByteRate') };
  if (Object.keys(rates).length === 0) return f.fail(`the quota of '${e['entity'] as string}' sets or removes no rate: give producerByteRate or consumerByteRate (null removes it)`);
  return { entity: e['entity'] as string, ...rates };
}

const CONFIG_KEYS: readonly (keyof TopicConfig)[] = ['retentionBytes', 'retentionMs', 'segmentBytes', 'maxMessageBytes'];

/**
 * Why `config` cannot be a topic's (a field outside its range), or null: the checks of a
 * createTopics or alterTopicConfig request's config, for a front end (the Kafka listener) that
 * names each field its own way and refuses each with its own error.
 */
export function topicConfigProblem(config: Partial<TopicConfig>): string | null {
  try {
    parseConfig(config, new Fields(0, 'topic config'));
    return null;
  } catch (err) {
    if (err instanceof RequestError) return err.message;
    throw err;
  }
}

function parseConfig(c: Obj, f: Fields): Partial<TopicConfig> {
  const out: { -readonly [K in keyof TopicConfig]?: number } = {};
  for (const k of Object.keys(c)) {
    if (!CONFIG_KEYS.includes(k as keyof TopicConfig)) f.fail(`unknown topic config '${k}'; known: ${CONFIG_KEYS.join(', ')}`);
  }
  if (c['retentionBytes'] !== undefined) out.retentionBytes = f.int(c, 'retentionBytes', -1, Number.MAX_SAFE_INTEGER);
  if (c['retentionMs'] !== undefined) out.retentionMs = f.int(c, 'retentionMs', -1, Number.MAX_SAFE_INTEGER);
  if (c['segmentBytes'] !== undefined) out.segmentBytes = f.int(c, 'segmentBytes', LIMITS.topicSegmentBytesMin, LIMITS.topicSegmentBytesMax);
  if (c['maxMessageBytes'] !== undefined) out.maxMessageBytes = f.int(c, 'maxMessageBytes', LIMITS.topicMessageBytesMin, LIMITS.topicMessageBytesMax);
  return out;
}
