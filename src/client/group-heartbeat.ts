/**
 * A member's heartbeats, on their own timer so they keep going while a handler runs. One chain per
 * generation: start() after a sync, stop() before the next join; an answer that arrives after
 * stop() is dropped. REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID ask for a
 * rejoin; so does a silence longer than the session timeout, since by then the coordinator has
 * likely handed the member's partitions to others and reading them on would process them twice.
 */
import type { Clock, Timer } from '../wire/clock.js';
import type { GroupMembership } from './group-membership.js';
import type { Logger } from './logger.js';

export interface HeartbeatEvents {
  ok(generation: number): void;
  rejoin(reason: string): void;
}

export class Heartbeats {
  /** Identifies the running chain; null when none runs. */
  private chain: object | null = null;
  private timer: Timer | null = null;
  private lastAnswer = 0;

  constructor(
    private readonly membership: GroupMembership,
    private readonly intervalMs: number,
    private readonly sessionTimeoutMs: number,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly on: HeartbeatEvents,
  ) {}

  start(): void {
    this.stop();
    const chain = {};
    this.chain = chain;
    this.lastAnswer = this.clock.now();
    const generation = this.membership.generation;
    const groupId = this.membership.groupId;
    const beat = async (): Promise<void> => {
      const outcome = await this.membership.heartbeat();
      if (this.chain !== chain) return;
      switch (outcome.kind) {
        case 'ok':
          this.lastAnswer = this.clock.now();
          this.on.ok(generation);
          break;
        case 'rejoin':
          this.lastAnswer = this.clock.now();
          this.on.rejoin(outcome.reason);
          break;
        case 'stale':
          break;
        case 'failed': {
          const silent = this.clock.now() - this.lastAnswer;
          const message = `group '${groupId}': heartbeat failed: ${outcome.error.message}`;
          this.logger.debug(message);
          if (silent > this.sessionTimeoutMs) {
            this.logger.warn(`${message}; none answered for ${silent} ms, so this member stops fetching and rejoins`);
            this.on.rejoin(`no heartbeat was answered for ${silent} ms`);
          }
          break;
        }
        default: {
          const never: never = outcome;
          throw new Error(`unknown heartbeat outcome ${String(never)}`);
        }
      }
      if (this.chain === chain) this.timer = this.clock.after(this.intervalMs, () => void beat());
    };
    this.timer = this.clock.after(this.intervalMs, () => void beat());
  }

  stop(): void {
    this.chain = null;
    this.timer?.cancel();
    this.timer = null;
  }
}
