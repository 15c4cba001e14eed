/**
 * Checks a decoded client frame field by field against protocol.ts and its LIMITS, so that
 * handlers only ever see well-formed requests. A bad field is an INVALID_REQUEST naming the field;
 * an unknown type is UNSUPPORTED_REQUEST.
 */
import {
  ErrorCode,
  LIMITS,
  REQUEST_TYPES,
  topicNameProblem,
  type CreateTopicSpec,
  type FetchPartition,
  type OffsetSpec,
  type ProduceBatch,
  type Request,
  type RequestType,
  type TopicConfig,
} from './protocol.js';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(readonly id: number, readonly code: ErrorCode, message: string) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
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

  topic(o: Obj, k = 'topic'): string {
    const problem = topicNameProblem(o[k]);
    if (problem !== null) throw new RequestError(this.id, ErrorCode.InvalidTopic, `${this.where}: ${problem}`);
    return o[k] as string;
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
      const maxBytes = f.int(o, 'maxBytes', 1, LIMITS.fetchBytesMax, 16 * 1024 * 1024);
      const partitions = f.list(o, 'partitions', LIMITS.fetchPartitionsMax).map((p): FetchPartition => {
        const po = f.obj(p, 'a fetch partition');
        return {
          topic: f.topic(po),
          partition: f.int(po, 'partition', 0, LIMITS.partitionsPerTopicMax - 1),
          offset: f.int(po, 'offset', 0, Number.MAX_SAFE_INTEGER),
          maxBytes: f.int(po, 'maxBytes', 1, LIMITS.fetchBytesMax, 1024 * 1024),
        };
      });
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
          replicationFactor: f.int(to, 'replicationFactor', -1, 1000, -1),
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
    case 'initProducerId':
      return { type, timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 30_000) };
    case 'status':
      return { type };
    case 'transferLeadership':
      return {
        type,
        topic: f.topic(o),
        partition: f.int(o, 'partition', 0, LIMITS.partitionsPerTopicMax - 1),
        to: f.str(o, 'to', 64),
        timeoutMs: f.int(o, 'timeoutMs', 1, LIMITS.requestTimeoutMsMax, 10_000),
      };
    default: {
      const never: never = type;
      throw new Error(`unhandled request type ${String(never)}`);
    }
  }
}

const CONFIG_KEYS: readonly (keyof TopicConfig)[] = ['retentionBytes', 'retentionMs', 'segmentBytes', 'maxMessageBytes'];

function parseConfig(c: Obj, f: Fields): Partial<TopicConfig> {
  const out: { -readonly [K in keyof TopicConfig]?: number } = {};
  for (const k of Object.keys(c)) {
    if (!CONFIG_KEYS.includes(k as keyof TopicConfig)) f.fail(`unknown topic config '${k}'; known: ${CONFIG_KEYS.join(', ')}`);
  }
  if (c['retentionBytes'] !== undefined) out.retentionBytes = f.int(c, 'retentionBytes', -1, Number.MAX_SAFE_INTEGER);
  if (c['retentionMs'] !== undefined) out.retentionMs = f.int(c, 'retentionMs', -1, Number.MAX_SAFE_INTEGER);
  if (c['segmentBytes'] !== undefined) out.segmentBytes = f.int(c, 'segmentBytes', 64 * 1024, 1024 ** 3);
  if (c['maxMessageBytes'] !== undefined) out.maxMessageBytes = f.int(c, 'maxMessageBytes', 1024, LIMITS.batchBytesMax * 8);
  return out;
}
