/**
 * The ACL requests: bindings added and removed by the controller as metadata commands (their
 * apply is src/meta/acl-state.ts); another node answers NOT_LEADER naming the controller, and the
 * client goes there, as for every admin request. Listed from the node's own metadata.
 */
import type { NodeId } from '../../raft/types.js';
import { ACL_BINDINGS_MAX, describeBinding, filterMatches } from '../auth/acl.js';
import { ServerError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AclDeletion } from '../meta/acl-state.js';
import type { MetaStateMachine } from '../meta/meta-state.js';
import type { AclRequests } from '../server/handlers.js';
import { ErrorCode, type CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DescribeAclsRequest, DescribeAclsResponse } from '../wire/protocol.js';
import { proposeBefore, requireController } from './controller.js';

/** What the ACL requests need of their node. */
export interface AclAdminHost {
  readonly logger: Logger;
  readonly meta: Pick<MetaStateMachine, 'acls' | 'propose'>;
  isController(): boolean;
  controllerId(): NodeId | null;
}

export class AclAdmin implements AclRequests {
  constructor(private readonly node: AclAdminHost) {}

  /** Adds the bindings (checked by the request's validation, src/wire/validate.ts), all in one command. */
  async createAcls(req: CreateAclsRequest): Promise<CreateAclsResponse> {
    requireController(this.node);
    if (req.bindings.length === 0) return { results: [] };
    const r = await proposeBefore(this.node.meta, { type: 'createAcls', bindings: req.bindings }, Date.now() + req.timeoutMs);
    if (!r.ok) {
      const error = { code: r.code, message: r.message };
      return { results: req.bindings.map(() => ({ error })) };
    }
    this.node.logger.info({ acls: req.bindings.map(describeBinding) }, `ACL bindings added: ${req.bindings.map(describeBinding).join('; ')}`);
    return { results: req.bindings.map(() => ({})) };
  }

  /**
   * From this node's metadata, as a Kafka broker answers from its own: the controller's holds
   * every change it has answered (the client library asks it), another node's may lag behind.
   */
  describeAcls(req: DescribeAclsRequest): Promise<DescribeAclsResponse> {
    const meta = this.node.meta as AclAdminHost['meta'] | undefined;
    if (meta === undefined) return Promise.reject(new ServerError(ErrorCode.LeaderNotAvailable, 'this node has not opened its metadata yet; ask another node', this.node.controllerId()));
    return Promise.resolve({ bindings: meta.acls().filter((b) => filterMatches(req.filter, b)).slice(0, ACL_BINDINGS_MAX) });
  }

  /** Removes what each filter matches, in one command: the answer lists, per filter, what it removed. */
  async deleteAcls(req: DeleteAclsRequest): Promise<DeleteAclsResponse> {
    requireController(this.node);
    if (req.filters.length === 0) return { results: [] };
    const r = await proposeBefore(this.node.meta, { type: 'deleteAcls', filters: req.filters }, Date.now() + req.timeoutMs);
    if (!r.ok) throw new ServerError(r.code, r.message);
    const removed = r.value as AclDeletion;
    const all = removed.flatMap((x) => x.removed);
    if (all.length > 0) this.node.logger.info({ acls: all.map(describeBinding) }, `ACL bindings removed: ${all.map(describeBinding).join('; ')}`);
    return { results: removed.map((x) => ({ removed: x.removed })) };
  }
}
