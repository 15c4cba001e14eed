/**
 * The server-side coordinator (src/groups/coordinator.ts) against a fake metadata group whose
 * proposals commit when the test says so: races between a rebalance and a proposal in flight.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type JoinGroupRequest, type JoinGroupResponse } from '../../src/wire/protocol.js';
import { GroupCoordinator, type CoordinatorHost } from '../../src/groups/coordinator.js';
import type { GroupRecord, MetaCommand } from '../../src/meta/commands.js';
import type { MetaResult, MetaStateMachine } from '../../src/meta/meta-state.js';

/** A metadata group of one group record; each proposal waits for `commitNext()` when `hold` is set. */
class FakeMeta {
  record: GroupRecord | undefined;
  hold = false;
  private held: (() => void)[] = [];

  isReady(): boolean {
    return true;
  }
  consumerGroup(): GroupRecord | undefined {
    return this.record;
  }
  consumerGroups(): GroupRecord[] {
    return this.record === undefined ? [] : [this.record];
  }
  propose(cmd: MetaCommand): Promise<MetaResult> {
    const apply = (): MetaResult => {
      if (cmd.type === 'groupGeneration') {
        this.record = { group: cmd.group, state: 'CompletingRebalance', generation: cmd.generation, protocolType: cmd.protocolType, protocol: cmd.protocol, leader: cmd.leader, members: cmd.members, assignments: {} };
      } else if (cmd.type === 'groupAssign') {
        const assignments: Record<string, Uint8Array> = {};
        for (const a of cmd.assignments) assignments[a.memberId] = a.assignment;
        this.record = { ...this.record!, state: 'Stable', assignments };
      } else {
        throw new Error(`the fake metadata group does not take '${cmd.type}'`);
      }
      return { ok: true, value: this.record };
    };
    if (!this.hold) return Promise.resolve(apply());
    return new Promise((resolve) => this.held.push(() => resolve(apply())));
  }
  commitNext(): void {
    this.held.shift()?.();
  }
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
process.on('unhandledRejection', onUnhandled);

let coordinator: GroupCoordinator | null = null;
afterEach(() => {
  coordinator?.stop();
  coordinator = null;
});

function join(c: GroupCoordinator, memberId = ''): Promise<JoinGroupResponse> {
  const req: JoinGroupRequest = {
    type: 'joinGroup',
    group: 'g',
    memberId,
    clientId: 'test',
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: new Uint8Array(0) }],
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 1000,
  };
  return c.join(req);
}

describe('the group coordinator', () => {
  it('a join during the leader\'s sync fails that sync with REBALANCE_IN_PROGRESS and does not crash the node', async () => {
    const meta = new FakeMeta();
    const host: CoordinatorHost = { meta: meta as unknown as MetaStateMachine, logger: pino({ level: 'silent' }), isController: () => true, controllerId: () => 'n1' };
    coordinator = new GroupCoordinator(host);
    coordinator.start();
    const a = await join(coordinator);
    expect(a.leader).toBe(a.memberId);

    // The leader's assignment is being committed when a second member joins.
    meta.hold = true;
    const sync = coordinator.sync({ type: 'syncGroup', group: 'g', generation: a.generation, memberId: a.memberId, assignments: [{ memberId: a.memberId, assignment: new Uint8Array([1]) }] });
    const b = join(coordinator);
    await new Promise((r) => setTimeout(r, 50));
    meta.commitNext();
    await expect(sync).rejects.toMatchObject({ code: ErrorCode.RebalanceInProgress });
    expect(unhandled).toEqual([]);

    // The group carries on: the leader rejoins and both get the next generation.
    meta.hold = false;
    const [a2, b2] = await Promise.all([join(coordinator, a.memberId), b]);
    expect(a2.generation).toBe(a.generation + 1);
    expect(b2.generation).toBe(a.generation + 1);
  });
});
