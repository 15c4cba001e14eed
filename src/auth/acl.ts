/**
 * ACL bindings, as Kafka models them, so that a Kafka user reads them as they would Kafka's:
 *
 *   principal    who: `User:alice`, or `User:*` for every principal (authenticated or not)
 *   host         from where: an IP address as the node sees the connection's peer, or `*` (any)
 *   resource     what: a topic, a consumer group, or the cluster (named `kafka-cluster`, as Kafka
 *                names it), by a pattern: `literal` names one resource (`*` literal: every
 *                resource of the type), `prefixed` every resource whose name starts with it
 *   operation    what may be done (OPERATIONS_OF says which operations each type has)
 *   permission   allow or deny
 *
 * How they decide (authorizer.ts): a deny that matches wins over any allow; an allow must match,
 * or the request is denied (Kafka's allow.everyone.if.no.acl.found=false); super users bypass.
 * An allow of read, write, delete or alter also allows describe, and alterConfigs allows
 * describeConfigs (Kafka's implied operations); `all` is every operation, for allow and deny.
 *
 * This file is the model and its rules of form: names, checks of a binding or filter as a request
 * carries it, which bindings a filter matches (Kafka's AclBindingFilter), and the metadata key of
 * a binding. It does no I/O.
 */

export const RESOURCE_TYPES = ['topic', 'group', 'cluster'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const PATTERN_TYPES = ['literal', 'prefixed'] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];

export const PERMISSIONS = ['allow', 'deny'] as const;
export type AclPermission = (typeof PERMISSIONS)[number];

/** Kafka's operations, by the names the native protocol and the CLI use (Kafka's, in camelCase). */
export const OPERATIONS = ['all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'clusterAction', 'describeConfigs', 'alterConfigs', 'idempotentWrite'] as const;
export type AclOperation = (typeof OPERATIONS)[number];

/** The operations each resource type has (Kafka's), `all` included. */
export const OPERATIONS_OF: Readonly<Record<ResourceType, readonly AclOperation[]>> = {
  topic: ['all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'describeConfigs', 'alterConfigs'],
  group: ['all', 'read', 'describe', 'delete'],
  cluster: ['all', 'create', 'alter', 'describe', 'clusterAction', 'describeConfigs', 'alterConfigs', 'idempotentWrite'],
};

/** The one cluster resource's name (Kafka's). */
export const CLUSTER_NAME = 'kafka-cluster';
/** A literal name, principal or host that matches every one. */
export const WILDCARD = '*';
/** The principal every principal matches. */
export const ANY_USER = 'User:*';

/** Characters of a principal, a host or a resource name in a binding, at most. */
export const ACL_NAME_LENGTH_MAX = 255;
/** Bindings in one createAcls request, and filters in one deleteAcls. */
export const ACLS_PER_REQUEST_MAX = 1000;
/**
 * Bindings the cluster holds, at most: every node keeps them all in memory and in each metadata
 * snapshot, and checks run over a principal's (authorizer.ts). Kafka's are unbounded; thousands
 * cover a large deployment, which uses prefixes rather than a binding per topic.
 */
export const ACL_BINDINGS_MAX = 100_000;

export interface ResourcePattern {
  readonly type: ResourceType;
  /** A topic or group name, a prefix of names, `*` (literal: all), or CLUSTER_NAME for the cluster. */
  readonly name: string;
  readonly pattern: PatternType;
}

export interface AclBinding {
  readonly principal: string;
  /** `*`: from any host. */
  readonly host: string;
  readonly resource: ResourcePattern;
  readonly operation: AclOperation;
  readonly permission: AclPermission;
}

/**
 * Which bindings to list or remove (Kafka's AclBindingFilter): each field left out matches any
 * value. `pattern: 'match'` with a `name` matches every binding that applies to that resource: a
 * literal of that name, the `*` literal, and every prefix of the name.
 */
export interface AclFilter {
  readonly principal?: string;
  readonly host?: string;
  readonly resourceType?: ResourceType;
  readonly name?: string;
  readonly pattern?: PatternType | 'match';
  readonly operation?: AclOperation;
  readonly permission?: AclPermission;
}

/** A resource a request acts on (a name, not a pattern). */
export interface Resource {
  readonly type: ResourceType;
  readonly name: string;
}

export const CLUSTER: Resource = { type: 'cluster', name: CLUSTER_NAME };

/** A principal as Kafka writes one: `<type>:<name>`, both non-empty. */
const PRINCIPAL = /^[A-Za-z][A-Za-z0-9_-]*:.+$/;

/** Why `v` is not a principal, or null. */
export function principalProblem(v: string): string | null {
  if (v.length > ACL_NAME_LENGTH_MAX) return `principal is longer than ${ACL_NAME_LENGTH_MAX} characters`;
  if (!PRINCIPAL.test(v)) return `principal '${v.slice(0, 80)}' is not <type>:<name>, e.g. User:alice (or User:* for everyone)`;
  return null;
}

/** Why `b` is not a binding the cluster can hold, or null: every name in form, the operation one its resource type has. */
export function aclBindingProblem(b: AclBinding): string | null {
  const principal = principalProblem(b.principal);
  if (principal !== null) return principal;
  if (b.host.length === 0 || b.host.length > ACL_NAME_LENGTH_MAX) return `host must be 1 to ${ACL_NAME_LENGTH_MAX} characters ('*' for any)`;
  const r = b.resource;
  if (r.name.length === 0 || r.name.length > ACL_NAME_LENGTH_MAX) return `a resource name must be 1 to ${ACL_NAME_LENGTH_MAX} characters`;
  if (r.type === 'cluster' && (r.name !== CLUSTER_NAME || r.pattern !== 'literal')) return `the cluster resource is the literal '${CLUSTER_NAME}'`;
  if (r.pattern === 'prefixed' && r.name === WILDCARD) return "a prefixed pattern of '*' means nothing: use the literal '*' for every resource";
  if (!OPERATIONS_OF[r.type].includes(b.operation)) return `a ${r.type} has no operation '${b.operation}' (it has ${OPERATIONS_OF[r.type].join(', ')})`;
  return null;
}

/** Whether `b` is one of the bindings `f` names. */
export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.principal !== undefined && f.principal !== b.principal) return false;
  if (f.host !== undefined && f.host !== b.host) return false;
  if (f.operation !== undefined && f.operation !== b.operation) return false;
  if (f.permission !== undefined && f.permission !== b.permission) return false;
  const r = b.resource;
  if (f.resourceType !== undefined && f.resourceType !== r.type) return false;
  if (f.pattern === 'match') {
    if (f.name === undefined) return true;
    return r.pattern === 'literal' ? r.name === f.name || r.name === WILDCARD : f.name.startsWith(r.name);
  }
  if (f.pattern !== undefined && f.pattern !== r.pattern) return false;
  if (f.name !== undefined && f.name !== r.name) return false;
  return true;
}

/** Whether pattern `p` covers resource `name` (of its type). */
export function patternCovers(p: ResourcePattern, name: string): boolean {
  return p.pattern === 'literal' ? p.name === name || p.name === WILDCARD : name.startsWith(p.name);
}

/** The metadata key of a binding (`acl/` and its fields, each URI-encoded): one key per distinct binding, so adding one twice keeps one. */
export function aclKey(b: AclBinding): string {
  const parts = [b.principal, b.resource.type, b.resource.pattern, b.resource.name, b.operation, b.permission, b.host];
  return ACL_PREFIX + parts.map(encodeURIComponent).join('/');
}

/** The metadata key prefix of ACL bindings (src/meta/acl-state.ts). */
export const ACL_PREFIX = 'acl/';

/** A binding for people: `allow User:alice read topic orders (literal) from *`. */
export function describeBinding(b: AclBinding): string {
  const r = b.resource;
  const what = r.type === 'cluster' ? 'the cluster' : `${r.type} ${r.pattern === 'prefixed' ? `${r.name}* (prefixed)` : r.name === WILDCARD ? '* (every one)' : r.name}`;
  return `${b.permission} ${b.principal} ${b.operation} on ${what}${b.host === WILDCARD ? '' : ` from ${b.host}`}`;
}

/** A resource for people: `topic 'orders'`, `the cluster`. */
export function describeResource(r: Resource): string {
  return r.type === 'cluster' ? 'the cluster' : `${r.type} '${r.name}'`;
}
