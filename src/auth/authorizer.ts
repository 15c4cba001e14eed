/**
 * The authorizer: whether a principal, connected from a host, may do an operation on a resource,
 * by the ACL bindings the cluster holds (acl.ts) and its super users. Pure: the node builds one
 * from its metadata each time the bindings change (node-authorizer.ts) and asks it for every
 * request (src/server/access.ts).
 *
 * The rules, Kafka's (its AclAuthorizer):
 * - A super user may do everything.
 * - A binding applies to a request when its principal is the request's or `User:*`, its host the
 *   request's or `*`, and its resource pattern covers the resource (a literal of its name or `*`,
 *   or a prefix of its name).
 * - A deny that applies for the operation (or for `all`) denies, whatever allows.
 * - Otherwise an allow that applies for the operation (or `all`, or one that implies it: read,
 *   write, delete and alter imply describe, alterConfigs implies describeConfigs) allows.
 * - Otherwise the request is denied: no binding, no access.
 *
 * Bindings are indexed by principal, then resource type, then literal name (prefixed ones in a
 * list), so a check reads only the bindings of its principal and of `User:*` for its resource
 * type, and of those only the literal ones of the resource's own name and `*`.
 */
import { ANY_USER, WILDCARD, type AclBinding, type AclOperation, type Resource, type ResourceType } from './acl.js';

/** Who asks: a principal (`User:alice`) and the host its connection comes from. */
export interface Who {
  readonly principal: string;
  readonly host: string;
}

export type Decision =
  | { readonly allowed: true; /** The allow that applied; absent for a super user. */ readonly by?: AclBinding }
  | { readonly allowed: false; /** A deny applied (else: no allow did). */ readonly by?: AclBinding };

/** The allows that grant `op` as well as themselves (Kafka's implied operations). */
const IMPLIES: Readonly<Partial<Record<AclOperation, readonly AclOperation[]>>> = {
  describe: ['read', 'write', 'delete', 'alter'],
  describeConfigs: ['alterConfigs'],
};

/** Whether binding `b`, by its permission, speaks to `op`. */
function operationApplies(b: AclBinding, op: AclOperation): boolean {
  if (b.operation === op || b.operation === 'all') return true;
  return b.permission === 'allow' && (IMPLIES[op]?.includes(b.operation) ?? false);
}

/** One principal's bindings on one resource type. */
interface TypeBindings {
  /** Literal patterns by name (`*` among them). */
  readonly literal: Map<string, AclBinding[]>;
  readonly prefixed: AclBinding[];
}

export class Authorizer {
  private readonly index = new Map<string, Map<ResourceType, TypeBindings>>();
  private readonly superUsers: ReadonlySet<string>;
  /** Bindings held. */
  readonly size: number;

  constructor(bindings: readonly AclBinding[], superUsers: readonly string[] = []) {
    this.superUsers = new Set(superUsers);
    for (const b of bindings) {
      let types = this.index.get(b.principal);
      if (types === undefined) this.index.set(b.principal, (types = new Map()));
      let t = types.get(b.resource.type);
      if (t === undefined) types.set(b.resource.type, (t = { literal: new Map(), prefixed: [] }));
      if (b.resource.pattern === 'prefixed') t.prefixed.push(b);
      else {
        const list = t.literal.get(b.resource.name);
        if (list === undefined) t.literal.set(b.resource.name, [b]);
        else list.push(b);
      }
    }
    this.size = bindings.length;
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /** Whether `who` may do `op` on `resource`. */
  authorize(who: Who, op: AclOperation, resource: Resource): Decision {
    if (this.superUsers.has(who.principal)) return { allowed: true };
    let allow: AclBinding | undefined;
    for (const b of this.applying(who, resource)) {
      if (!operationApplies(b, op)) continue;
      if (b.permission === 'deny') return { allowed: false, by: b };
      allow ??= b;
    }
    return allow !== undefined ? { allowed: true, by: allow } : { allowed: false };
  }

  /**
   * Whether `who` may do `op` on at least one resource of `type` (Kafka's authorizeByResourceType):
   * an allow that applies to some name that no deny takes back. A deny of `*` takes back every
   * allow; a deny of a literal name the allow of that literal; a deny of a prefix every allow of
   * a name or prefix that starts with it.
   */
  authorizeAny(who: Who, op: AclOperation, type: ResourceType): Decision {
    if (this.superUsers.has(who.principal)) return { allowed: true };
    const allows: AclBinding[] = [];
    const denies: AclBinding[] = [];
    for (const t of this.bindingsOf(who.principal, type)) {
      for (const list of t.literal.values()) for (const b of list) if (hostApplies(b, who) && operationApplies(b, op)) (b.permission === 'deny' ? denies : allows).push(b);
      for (const b of t.prefixed) if (hostApplies(b, who) && operationApplies(b, op)) (b.permission === 'deny' ? denies : allows).push(b);
    }
    const all = denies.find((d) => d.resource.pattern === 'literal' && d.resource.name === WILDCARD);
    if (all !== undefined) return { allowed: false, by: all };
    for (const a of allows) {
      const r = a.resource;
      const takenBack = denies.some((d) =>
        d.resource.pattern === 'prefixed' ? r.name.startsWith(d.resource.name) : r.pattern === 'literal' && d.resource.name === r.name,
      );
      if (!takenBack) return { allowed: true, by: a };
    }
    return { allowed: false };
  }

  /** The bindings of `who` (and of `User:*`) whose host and pattern apply to `resource`. */
  private *applying(who: Who, resource: Resource): Generator<AclBinding> {
    for (const t of this.bindingsOf(who.principal, resource.type)) {
      for (const b of t.literal.get(resource.name) ?? []) if (hostApplies(b, who)) yield b;
      if (resource.name !== WILDCARD) for (const b of t.literal.get(WILDCARD) ?? []) if (hostApplies(b, who)) yield b;
      for (const b of t.prefixed) if (resource.name.startsWith(b.resource.name) && hostApplies(b, who)) yield b;
    }
  }

  private *bindingsOf(principal: string, type: ResourceType): Generator<TypeBindings> {
    const mine = this.index.get(principal)?.get(type);
    if (mine !== undefined) yield mine;
    if (principal !== ANY_USER) {
      const everyone = this.index.get(ANY_USER)?.get(type);
      if (everyone !== undefined) yield everyone;
    }
  }
}

function hostApplies(b: AclBinding, who: Who): boolean {
  return b.host === WILDCARD || b.host === who.host;
}
