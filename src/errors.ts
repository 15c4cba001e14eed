/**
 * The expected failure of a client request on a node, whoever refused it: a partition replica
 * (partition/partition.ts), the controller (node/controller.ts) or the group coordinator
 * (groups/coordinator.ts). The handlers turn it into the ApiError the client gets: its code and
 * message as they are, and the hint as the address of the node to ask instead.
 */
import type { NodeId } from '../raft/types.js';
import type { ErrorCode } from './wire/protocol.js';

export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The node to ask instead (the partition's leader, the controller, the coordinator); null when none is known. */
    readonly leaderHint: NodeId | null = null,
  ) {
    super(message);
  }
}
