/**
 * Routing of consumer-group requests to the group's coordinator. `findCoordinator` (any node
 * answers) says where it is; the address is kept until a request fails in a way that says it
 * moved. NOT_COORDINATOR naming the coordinator is followed at once; NOT_COORDINATOR without a
 * name, COORDINATOR_NOT_AVAILABLE (none elected yet), a lost connection, a node shutting down or
 * a timeout look it up again after a backoff. Every other error is an answer for the caller:
 * REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID... are not retried here.
 *
 * Requests that name no group (listGroups) go to the controller, which coordinates every group.
 */
import { sleep } from '../wire/clock.js';
import { ErrorCode, type RequestType, type ResponseMap } from '../wire/protocol.js';
import type { Cluster } from './cluster.js';
import type { RequestOf } from './connection.js';
import { ClientErrorCode, RaftlogError, toRaftlogError } from './errors.js';
import { Backoff, gaveUp, type RetryOptions } from './retry.js';

/** Whether a failure says the request should go (or go again) to a coordinator found anew. */
export function isRoutingFailure(err: RaftlogError): boolean {
  switch (err.code) {
    case ErrorCode.NotCoordinator:
    case ErrorCode.CoordinatorNotAvailable:
    case ErrorCode.NotLeader:
    case ErrorCode.LeaderNotAvailable:
    case ErrorCode.ShuttingDown:
    case ErrorCode.RequestTimedOut:
    case ClientErrorCode.ConnectionError:
      return true;
    case ClientErrorCode.ProtocolError:
      return err.retriable;
    default:
      return false;
  }
}

export class GroupCoordinator {
  private address: string | null = null;

  /** `group` null: the controller (for requests about every group). */
  constructor(
    private readonly cluster: Cluster,
    readonly group: string | null,
  ) {}

  /** The coordinator's address as last known (null before the first look-up). */
  get known(): string | null {
    return this.address;
  }

  forget(): void {
    this.address = null;
  }

  /**
   * Sends `req` to the coordinator, retrying routing failures within `retry`; any other error
   * is thrown as the coordinator sent it.
   */
  async send<T extends RequestType>(req: RequestOf<T>, timeoutMs: number, retry: Required<RetryOptions> = this.cluster.config.retry): Promise<ResponseMap[T]> {
    const backoff = new Backoff(retry);
    const clock = this.cluster.clock;
    const started = clock.now();
    for (let attempt = 1; ; attempt++) {
      try {
        const address = await this.locate();
        return await this.cluster.request(address, req, timeoutMs);
      } catch (err) {
        const e = toRaftlogError(err);
        if (!isRoutingFailure(e)) throw e;
        this.note(e);
        const delay = backoff.after(e);
        if (delay === null) throw gaveUp(this.explain(e), attempt, clock.now() - started);
        await sleep(clock, delay);
      }
    }
  }

  private async locate(): Promise<string> {
    if (this.address !== null) return this.address;
    if (this.group === null) {
      await this.cluster.refresh();
      const id = this.cluster.controller;
      const address = id === null ? undefined : this.cluster.nodeAddress(id);
      if (address === undefined) throw new RaftlogError(ErrorCode.CoordinatorNotAvailable, 'the cluster has no controller (metadata leader) yet', { retriable: true });
      this.address = address;
      return address;
    }
    const { coordinator } = await this.cluster.requestAny({ type: 'findCoordinator', group: this.group });
    this.cluster.learnNode(coordinator);
    this.address = coordinator.address;
    return coordinator.address;
  }

  private note(err: RaftlogError): void {
    if (err.code === ErrorCode.NotCoordinator && err.leader) {
      this.cluster.learnNode(err.leader);
      this.address = err.leader.address;
      return;
    }
    this.address = null;
    if (err.code === ClientErrorCode.ConnectionError) this.cluster.markStale();
  }

  private explain(err: RaftlogError): RaftlogError {
    const whose = this.group === null ? 'the group coordinator' : `the coordinator of group '${this.group}'`;
    return err.withContext(`cannot reach ${whose}`);
  }
}
