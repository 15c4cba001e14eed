/**
 * The server-side coordinator (src/groups/coordinator.ts) against a fake metadata group whose
 * proposals commit when the test says so (races between a rebalance and a proposal in flight), on
 * a clock the test moves (rebalance delays and session timeouts, to the millisecond).
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type JoinGroupRequest, type JoinGroupResponse } from '../../src/wire/protocol.js';
import { GroupCoordinator, type CoordinatorHost } from '../../src/groups/coordinator.js';
import type { GroupRecord, MetaCommand } from '../../src/meta/commands.js';
import type { MetaResult, MetaStateMachine } from '../../src/meta/meta-state.js';
import { ManualClock } from '../helpers/manual-clock.js';

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
  groupsWithOffsets(): string[] {
    return [];
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

function coordinatorOn(meta: FakeMeta, clock: ManualClock): GroupCoordinator {
  const host: CoordinatorHost = { meta: meta as unknown as MetaStateMachine, logger: pino({ level: 'silent' }), clock, isController: () => true, controllerId: () => 'n1' };
  coordinator = new GroupCoordinator(host);
  coordinator.start();
  return coordinator;
}

/** The end of the current event-loop turn: every promise settled in it has run its callbacks, and Node has reported any rejection left unhandled. */
const turnEnds = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Whether `p` has settled by the end of this turn. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await turnEnds();
  return done;
}

function members(c: GroupCoordinator): number {
  return c.listGroups().groups.find((g) => g.group === 'g')?.members ?? 0;
}

/** The initial rebalance delay of src/groups/coordinator.ts (INITIAL_REBALANCE_DELAY_MS). */
const INITIAL_DELAY_MS = 300;
/** How often the coordinator looks at sessions and deadlines (CHECK_EVERY_MS). */
const CHECK_MS = 100;

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
    const clock = new ManualClock();
    const c = coordinatorOn(meta, clock);
    const first = join(c);
    await clock.advance(INITIAL_DELAY_MS);
    const a = await first;
    expect(a.leader).toBe(a.memberId);

    // The leader's assignment is being committed when a second member joins.
    meta.hold = true;
    const sync = c.sync({ type: 'syncGroup', group: 'g', generation: a.generation, memberId: a.memberId, assignments: [{ memberId: a.memberId, assignment: new Uint8Array([1]) }] });
    const b = join(c);
    // b's join rejected the sync parked on the leader while its proposal is held, so nothing
    // awaits that rejection yet: a turn ends, in which Node would report it were it unhandled.
    await turnEnds();
    meta.commitNext();
    await expect(sync).rejects.toMatchObject({ code: ErrorCode.RebalanceInProgress });
    expect(unhandled).toEqual([]);

    // The group carries on: the leader rejoins and both get the next generation.
    meta.hold = false;
    const [a2, b2] = await Promise.all([join(c, a.memberId), b]);
    expect(a2.generation).toBe(a.generation + 1);
    expect(b2.generation).toBe(a.generation + 1);
  });

  it('an empty group\'s first rebalance waits the initial delay for more members, and a silent member is removed once its session times out', async () => {
    const clock = new ManualClock();
    const c = coordinatorOn(new FakeMeta(), clock);
    const a = join(c);
    const b = join(c);
    // Both joined inside the delay: neither is answered until it has passed, then both are, in one generation.
    await clock.advance(INITIAL_DELAY_MS - 1);
    expect(await settled(a)).toBe(false);
    await clock.advance(CHECK_MS);
    const [ja, jb] = await Promise.all([a, b]);
    expect(ja.generation).toBe(1);
    expect(jb.generation).toBe(1);
    expect(ja.members.length + jb.members.length).toBe(2);

    // a heartbeats halfway through the session; b stays silent from its join on.
    const beat = (j: JoinGroupResponse): Record<string, never> => c.heartbeat({ type: 'heartbeat', group: 'g', generation: j.generation, memberId: j.memberId });
    await clock.advance(5000);
    expect(beat(ja)).toEqual({});
    // The coordinator looks every CHECK_MS: at its last look b had been silent exactly 10 s, the session timeout, and is still in.
    await clock.advance(10_000 - 5000);
    expect(members(c)).toBe(2);
    await clock.advance(CHECK_MS);
    expect(members(c)).toBe(1);
    expect(() => beat(jb)).toThrow(expect.objectContaining({ code: ErrorCode.UnknownMemberId }));
    // The one left must rejoin: its partitions are to be handed out again.
    expect(() => beat(ja)).toThrow(expect.objectContaining({ code: ErrorCode.RebalanceInProgress }));
  });

  it('a member that joins while the group\'s empty generation is being committed waits the initial delay, not a rebalance timeout', async () => {
    // Before: the generation that followed counted as a rebalance of members (its wait was the
    // members' rebalance timeout, 60 s by default) though the committed one had none.
    const meta = new FakeMeta();
    const clock = new ManualClock();
    const c = coordinatorOn(meta, clock);
    const first = join(c);
    await clock.advance(INITIAL_DELAY_MS);
    const a = await first;
    await c.sync({ type: 'syncGroup', group: 'g', generation: a.generation, memberId: a.memberId, assignments: [{ memberId: a.memberId, assignment: new Uint8Array([1]) }] });

    // a leaves: the group's empty generation is proposed, and b joins before it commits.
    meta.hold = true;
    await c.leave({ type: 'leaveGroup', group: 'g', memberId: a.memberId });
    const b = join(c);
    await turnEnds();
    meta.hold = false;
    meta.commitNext();
    await turnEnds();
    expect(meta.record?.members).toEqual([]);
    await clock.advance(INITIAL_DELAY_MS + CHECK_MS);
    expect(await settled(b)).toBe(true);
    const joined = await b;
    expect(joined.generation).toBe(a.generation + 2);
    expect(joined.leader).toBe(joined.memberId);
  });
});
