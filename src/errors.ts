/**
 * The two expected failures of a node, as typed errors (a broken invariant is an assert instead):
 *
 * - ServerError: a client request refused, whoever refused it: a partition replica
 *   (partition/partition.ts), the controller (node/controller.ts) or the group coordinator
 *   (groups/coordinator.ts). The handlers (server/handlers.ts) turn it into the ApiError the client
 *   gets: its code and message as they are, and the hint as the address of the node to ask instead.
 * - NodeStartError: the node cannot start (options, data folder, listener); node/launch.ts prints
 *   its message and exits 2.
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

/** A node cannot start: the message says what is wrong and what to do. */
export class NodeStartError extends Error {
  override readonly name = 'NodeStartError';
}
