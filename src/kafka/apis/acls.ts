/**
 * DescribeAcls (key 29), CreateAcls (key 30), DeleteAcls (key 31), v0-1: the cluster's ACL
 * bindings (src/auth/acl.ts) for Kafka's tools (kafkajs's admin, kafka-acls), as the native
 * describeAcls, createAcls and deleteAcls. Listing is answered from this node's metadata;
 * changes go to the controller (another node answers NOT_CONTROLLER; kafkajs sends them there).
 *
 *   filter v0      resource_type int8, resource_name nullable_string, principal nullable_string,
 *                  host nullable_string, operation int8, permission_type int8
 *   filter v1      resource_type int8, resource_name nullable_string, pattern_type int8, then v0's rest
 *   DescribeAcls   request: filter
 *                  response v0: throttle_time_ms int32, error_code int16, error_message nullable_string,
 *                    resources [resource_type int8, resource_name string, (v1: pattern_type int8),
 *                    acls [principal string, host string, operation int8, permission_type int8]]
 *   CreateAcls     request v0: creations [resource_type int8, resource_name string,
 *                    (v1: pattern_type int8), principal string, host string, operation int8, permission_type int8]
 *                  response: throttle_time_ms int32, results [error_code int16, error_message nullable_string]
 *   DeleteAcls     request: filters [filter]
 *                  response: throttle_time_ms int32, filter_results [error_code int16,
 *                    error_message nullable_string, matching_acls [error_code int16, error_message
 *                    nullable_string, resource_type int8, resource_name string, (v1: pattern_type int8),
 *                    principal string, host string, operation int8, permission_type int8]]
 *
 * Kafka's enums: resource type 1 ANY, 2 TOPIC, 3 GROUP, 4 CLUSTER; operation 1 ANY, 2 ALL, 3 READ,
 * 4 WRITE, 5 CREATE, 6 DELETE, 7 ALTER, 8 DESCRIBE, 9 CLUSTER_ACTION, 10 DESCRIBE_CONFIGS,
 * 11 ALTER_CONFIGS, 12 IDEMPOTENT_WRITE; permission 1 ANY, 2 DENY, 3 ALLOW; pattern 1 ANY,
 * 2 MATCH, 3 LITERAL, 4 PREFIXED (v0 has none: LITERAL). ANY in a filter matches every value.
 * A resource type this node has no ACLs for (transactional ids, delegation tokens, users) is
 * refused INVALID_REQUEST.
 */
import type { AclBinding, AclFilter, AclOperation, AclPermission, PatternType, ResourceType } from '../../auth/acl.js';
import type { Session } from '../../server/session.js';
import { native, requestProblem, type KafkaApi, type KafkaNode } from '../api.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import { ACL_BINDINGS_BYTES_ESTIMATE, REPLY_ENTRY_BYTES } from '../../server/reply-bounds.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';

const ANY = 1;
const RESOURCE_TYPE: Readonly<Record<number, ResourceType>> = { 2: 'topic', 3: 'group', 4: 'cluster' };
const OPERATION: Readonly<Record<number, AclOperation>> = {
  2: 'all',
  3: 'read',
  4: 'write',
  5: 'create',
  6: 'delete',
  7: 'alter',
  8: 'describe',
  9: 'clusterAction',
  10: 'describeConfigs',
  11: 'alterConfigs',
  12: 'idempotentWrite',
};
const PERMISSION: Readonly<Record<number, AclPermission>> = { 2: 'deny', 3: 'allow' };
const MATCH = 2;
const PATTERN: Readonly<Record<number, PatternType>> = { 3: 'literal', 4: 'prefixed' };
const LITERAL = 3;

/** Kafka's code of one of the node's values. */
const codeOf = <T extends string>(table: Readonly<Record<number, T>>, v: T): number => Number(Object.entries(table).find(([, x]) => x === v)![0]);

/** How long a change waits to be committed. */
const ACL_TIMEOUT_MS = 30_000;

/** A filter as Kafka sends it: raw enum codes and nullable strings. */
interface KafkaFilter {
  readonly resourceType: number;
  readonly name: string | null;
  readonly pattern: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permission: number;
}

interface KafkaCreation {
  readonly resourceType: number;
  readonly name: string;
  readonly pattern: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permission: number;
}

function readFilter(r: KafkaReader, version: number): KafkaFilter {
  const resourceType = r.int8('resource_type_filter');
  const name = r.nullableString('resource_name_filter');
  const pattern = version >= 1 ? r.int8('pattern_type_filter') : LITERAL;
  return { resourceType, name, pattern, principal: r.nullableString('principal_filter'), host: r.nullableString('host_filter'), operation: r.int8('operation'), permission: r.int8('permission_type') };
}

/** The native filter of a Kafka one, or why there is none. */
function toFilter(f: KafkaFilter): AclFilter | string {
  if (f.resourceType !== ANY && RESOURCE_TYPE[f.resourceType] === undefined) return `resource type ${f.resourceType} has no ACLs on this node (topics 2, groups 3 and the cluster 4 do)`;
  if (f.operation !== ANY && OPERATION[f.operation] === undefined) return `operation ${f.operation} is not one this node knows`;
  if (f.permission !== ANY && PERMISSION[f.permission] === undefined) return `permission type ${f.permission} is not ANY, DENY or ALLOW`;
  if (f.pattern !== ANY && f.pattern !== MATCH && PATTERN[f.pattern] === undefined) return `pattern type ${f.pattern} is not ANY, MATCH, LITERAL or PREFIXED`;
  const pattern = f.pattern === ANY ? undefined : f.pattern === MATCH ? 'match' : PATTERN[f.pattern];
  return {
    ...(f.resourceType !== ANY ? { resourceType: RESOURCE_TYPE[f.resourceType] } : {}),
    ...(f.name !== null ? { name: f.name } : {}),
    ...(pattern !== undefined ? { pattern } : {}),
    ...(f.principal !== null ? { principal: f.principal } : {}),
    ...(f.host !== null ? { host: f.host } : {}),
    ...(f.operation !== ANY ? { operation: OPERATION[f.operation] } : {}),
    ...(f.permission !== ANY ? { permission: PERMISSION[f.permission] } : {}),
  };
}

function toBinding(c: KafkaCreation): AclBinding | string {
  const type = RESOURCE_TYPE[c.resourceType];
  const operation = OPERATION[c.operation];
  const permission = PERMISSION[c.permission];
  const pattern = PATTERN[c.pattern];
  if (type === undefined) return `resource type ${c.resourceType} has no ACLs on this node (topics 2, groups 3 and the cluster 4 do)`;
  if (operation === undefined) return `operation ${c.operation} is not one an ACL can name`;
  if (permission === undefined) return `permission type ${c.permission} is not DENY or ALLOW`;
  if (pattern === undefined) return `pattern type ${c.pattern} is not LITERAL or PREFIXED`;
  return { principal: c.principal, host: c.host, resource: { type, name: c.name, pattern }, operation, permission };
}

function writeResource(w: KafkaWriter, version: number, b: AclBinding): void {
  w.int8(codeOf(RESOURCE_TYPE, b.resource.type)).string(b.resource.name);
  if (version >= 1) w.int8(codeOf(PATTERN, b.resource.pattern));
}

function writeEntry(w: KafkaWriter, b: AclBinding): void {
  w.string(b.principal).string(b.host).int8(codeOf(OPERATION, b.operation)).int8(codeOf(PERMISSION, b.permission));
}

interface DescribeResponse {
  readonly error: KafkaError;
  readonly bindings: readonly AclBinding[];
}

export const describeAcls: KafkaApi<KafkaFilter, DescribeResponse> = {
  key: 29,
  name: 'DescribeAcls',
  replyBytes: () => KAFKA_RESPONSE_BYTES + ACL_BINDINGS_BYTES_ESTIMATE,
  minVersion: 0,
  maxVersion: 1,
  decode: (r, version) => readFilter(r, version),
  async serve(node: KafkaNode, req: KafkaFilter, _version: number, session: Session): Promise<DescribeResponse> {
    const filter = toFilter(req);
    if (typeof filter === 'string') return { error: { code: KafkaErrorCode.InvalidRequest, message: filter }, bindings: [] };
    try {
      return { error: NO_ERROR, bindings: (await native(node, session, { type: 'describeAcls', filter }))!.bindings };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err), bindings: [] };
    }
  },
  encode(w: KafkaWriter, version: number, res: DescribeResponse): void {
    w.int32(0).int16(res.error.code).nullableString(res.error.code === KafkaErrorCode.None ? null : res.error.message);
    // One entry per resource pattern, with its bindings.
    const byResource = new Map<string, AclBinding[]>();
    for (const b of res.bindings) {
      const key = JSON.stringify([b.resource.type, b.resource.name, b.resource.pattern]);
      const list = byResource.get(key) ?? [];
      list.push(b);
      byResource.set(key, list);
    }
    w.array([...byResource.values()], (x, list) => {
      writeResource(x, version, list[0]!);
      x.array(list, writeEntry);
    });
  },
};

export const createAcls: KafkaApi<readonly KafkaCreation[], readonly KafkaError[]> = {
  key: 30,
  name: 'CreateAcls',
  // One error code and message per creation.
  replyBytes: (req) => KAFKA_RESPONSE_BYTES + req.length * REPLY_ENTRY_BYTES,
  minVersion: 0,
  maxVersion: 1,
  decode(r: KafkaReader, version: number): KafkaCreation[] {
    return r.array((x) => {
      const resourceType = x.int8('resource_type');
      const name = x.string('resource_name');
      const pattern = version >= 1 ? x.int8('resource_pattern_type') : LITERAL;
      return { resourceType, name, pattern, principal: x.string('principal'), host: x.string('host'), operation: x.int8('operation'), permission: x.int8('permission_type') };
    }, 'creations');
  },
  async serve(node: KafkaNode, req: readonly KafkaCreation[], _version: number, session: Session): Promise<readonly KafkaError[]> {
    const errors: KafkaError[] = req.map(() => NO_ERROR);
    const valid: { at: number; binding: AclBinding }[] = [];
    req.forEach((c, at) => {
      const binding = toBinding(c);
      const problem = typeof binding === 'string' ? binding : (requestProblem({ type: 'createAcls', bindings: [binding], timeoutMs: ACL_TIMEOUT_MS })?.message ?? null);
      if (typeof binding === 'string' || problem !== null) errors[at] = { code: KafkaErrorCode.InvalidRequest, message: problem ?? '' };
      else valid.push({ at, binding });
    });
    if (valid.length === 0) return errors;
    try {
      const res = (await native(node, session, { type: 'createAcls', bindings: valid.map((v) => v.binding), timeoutMs: ACL_TIMEOUT_MS }))!;
      res.results.forEach((r, i) => (errors[valid[i]!.at] = kafkaErrorOfApi(r.error)));
    } catch (err) {
      const e = kafkaErrorOf(node.logger, err, KafkaErrorCode.NotController);
      for (const v of valid) errors[v.at] = e;
    }
    return errors;
  },
  encode(w: KafkaWriter, _version: number, res: readonly KafkaError[]): void {
    w.int32(0).array(res, (x, e) => x.int16(e.code).nullableString(e.code === KafkaErrorCode.None ? null : e.message));
  },
};

interface FilterResult {
  readonly error: KafkaError;
  readonly removed: readonly AclBinding[];
}

export const deleteAcls: KafkaApi<readonly KafkaFilter[], readonly FilterResult[]> = {
  key: 31,
  name: 'DeleteAcls',
  replyBytes: () => KAFKA_RESPONSE_BYTES + ACL_BINDINGS_BYTES_ESTIMATE,
  minVersion: 0,
  maxVersion: 1,
  decode: (r, version) => r.array((x) => readFilter(x, version), 'filters'),
  async serve(node: KafkaNode, req: readonly KafkaFilter[], _version: number, session: Session): Promise<readonly FilterResult[]> {
    const results: FilterResult[] = req.map(() => ({ error: NO_ERROR, removed: [] }));
    const valid: { at: number; filter: AclFilter }[] = [];
    req.forEach((f, at) => {
      const filter = toFilter(f);
      if (typeof filter === 'string') results[at] = { error: { code: KafkaErrorCode.InvalidRequest, message: filter }, removed: [] };
      else valid.push({ at, filter });
    });
    if (valid.length === 0) return results;
    try {
      const res = (await native(node, session, { type: 'deleteAcls', filters: valid.map((v) => v.filter), timeoutMs: ACL_TIMEOUT_MS }))!;
      res.results.forEach((r, i) => (results[valid[i]!.at] = { error: kafkaErrorOfApi(r.error), removed: r.removed }));
    } catch (err) {
      const e = kafkaErrorOf(node.logger, err, KafkaErrorCode.NotController);
      for (const v of valid) results[v.at] = { error: e, removed: [] };
    }
    return results;
  },
  encode(w: KafkaWriter, version: number, res: readonly FilterResult[]): void {
    w.int32(0).array(res, (x, r) => {
      x.int16(r.error.code).nullableString(r.error.code === KafkaErrorCode.None ? null : r.error.message);
      x.array(r.removed, (y, b) => {
        y.int16(KafkaErrorCode.None).nullableString(null);
        writeResource(y, version, b);
        writeEntry(y, b);
      });
    });
  },
};
