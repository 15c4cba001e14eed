/**
 * A node's authorizer (`--authorizer`): `acl` decides every request by the ACL bindings of the
 * node's metadata and its super users (authorizer.ts), `none` allows everything and checks
 * nothing. The handlers ask it through src/server/access.ts, which says when a request is refused;
 * each refusal is counted and logged here (at info, with the principal, the operation and the
 * resource; at most DENIAL_LOGS_PER_WINDOW lines per DENIAL_LOG_WINDOW_MS, the rest counted in
 * the next line).
 *
 * The index is rebuilt from the metadata when its ACL version moves (an ACL command applied, a
 * snapshot installed), on the first check after: building it reads every binding once.
 */
import type { Logger } from '../log.js';
import type { Session } from '../server/session.js';
import { describeBinding, describeResource, type AclBinding, type AclOperation, type Resource, type ResourceType } from './acl.js';
import { Authorizer, type Decision, type Who } from './authorizer.js';

export const AUTHORIZER_MODES = ['acl', 'none'] as const;
export type AuthorizerMode = (typeof AUTHORIZER_MODES)[number];

/** Refusals logged per window, at most; the others are counted in the next line logged. */
export const DENIAL_LOGS_PER_WINDOW = 20;
export const DENIAL_LOG_WINDOW_MS = 10_000;

/** What the handlers ask of an authorizer (src/server/access.ts). */
export interface RequestAuthorizer {
  /** False: every request is allowed and none is checked (`--authorizer none`). */
  readonly enforcing: boolean;
  /** Whether the session may do `op` on `resource`. Logs nothing: the caller reports a refusal (`refused`). */
  check(session: Session, op: AclOperation, resource: Resource): Decision;
  /** Whether the session may do `op` on at least one resource of `type` (Authorizer.authorizeAny). */
  checkAny(session: Session, op: AclOperation, type: ResourceType): Decision;
  /** A request, or part of one, was refused for `decision`: logged (rate-limited) and counted. */
  refused(session: Session, op: AclOperation, resource: Resource, decision: Decision): void;
}

/** The `none` authorizer: allows everything. */
export const ALLOW_EVERYTHING: RequestAuthorizer = {
  enforcing: false,
  check: () => ({ allowed: true }),
  checkAny: () => ({ allowed: true }),
  refused: () => undefined,
};

/** Where the bindings come from: the metadata state machine (src/meta/meta-state.ts). */
export interface AclSource {
  acls(): readonly AclBinding[];
  aclVersion(): number;
}

export interface NodeAuthorizerOptions {
  readonly superUsers: readonly string[];
  /** The metadata, once the node has opened it (undefined before: no binding, so only super users may act). */
  readonly source: () => AclSource | undefined;
  readonly logger: Logger;
  /** Counts refusals, by resource type and operation. */
  readonly denials: { inc(labels: { resource_type: ResourceType; operation: AclOperation }): void };
  readonly now?: () => number;
}

/** The `acl` authorizer of a node. */
export class NodeAuthorizer implements RequestAuthorizer {
  readonly enforcing = true;
  private built: { version: number; source: AclSource; authorizer: Authorizer } | null = null;
  private windowStart = -Infinity;
  private loggedInWindow = 0;
  private suppressed = 0;

  constructor(private readonly o: NodeAuthorizerOptions) {}

  check(session: Session, op: AclOperation, resource: Resource): Decision {
    return this.current().authorize(whoOf(session), op, resource);
  }

  checkAny(session: Session, op: AclOperation, type: ResourceType): Decision {
    return this.current().authorizeAny(whoOf(session), op, type);
  }

  refused(session: Session, op: AclOperation, resource: Resource, decision: Decision): void {
    this.o.denials.inc({ resource_type: resource.type, operation: op });
    const now = (this.o.now ?? Date.now)();
    if (now - this.windowStart >= DENIAL_LOG_WINDOW_MS) {
      this.windowStart = now;
      this.loggedInWindow = 0;
    }
    if (this.loggedInWindow >= DENIAL_LOGS_PER_WINDOW) {
      this.suppressed++;
      return;
    }
    this.loggedInWindow++;
    const suppressed = this.suppressed;
    this.suppressed = 0;
    const by = decision.by !== undefined ? describeBinding(decision.by) : null;
    this.o.logger.info(
      { principal: session.principal, remote: session.remote, listener: session.listener, operation: op, resource: resource.type, name: resource.name, deniedBy: by, ...(suppressed > 0 ? { suppressed } : {}) },
      `refused ${session.principal} from ${session.remote}: ${op} on ${describeResource(resource)} (${by !== null ? `denied by: ${by}` : 'no ACL allows it'})${suppressed > 0 ? `; ${suppressed} more refusal(s) not logged before this one` : ''}`,
    );
  }

  /** The authorizer of the bindings the metadata holds now. */
  private current(): Authorizer {
    const source = this.o.source();
    if (source === undefined) return new Authorizer([], this.o.superUsers);
    const version = source.aclVersion();
    if (this.built === null || this.built.source !== source || this.built.version !== version) {
      this.built = { version, source, authorizer: new Authorizer(source.acls(), this.o.superUsers) };
    }
    return this.built.authorizer;
  }
}

/** The principal of a session and the host it connects from. */
export function whoOf(session: Session): Who {
  return { principal: session.principal, host: hostOf(session.remote) };
}

/**
 * The host part of a connection's `host:port` as ACLs name it: the IP address, an IPv4 one as
 * such when the listener saw it IPv4-mapped (`::ffff:10.0.0.1`), an IPv6 one without brackets.
 */
export function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  let host = colon > 0 && /^\d+$/.test(remote.slice(colon + 1)) ? remote.slice(0, colon) : remote;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return mapped !== null ? mapped[1]! : host;
}
