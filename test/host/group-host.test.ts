/**
 * The group host on a simulated disk and clock (test/sim/world.ts, sim-fs.ts): what a failure in
 * one group does to the node.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { CorruptLogError } from '../../storage/errors.js';
import { SyncLedger } from '../../storage/sync-ledger.js';
import { GroupHost } from '../../src/host/group-host.js';
import { RaftGroup, type GroupStateMachine } from '../../src/host/raft-group.js';
import { openReplica } from '../../src/host/replica-trust.js';
import { quiet } from '../partition/harness.js';
import { SimFs } from '../sim/sim-fs.js';
import { Life, World } from '../sim/world.js';

const inert: GroupStateMachine = { apply: () => undefined, restore: () => undefined, onSoftState: () => undefined, onPersisted: () => undefined, onReadStates: () => undefined };

function setUp(): { world: World; host: GroupHost; groups: RaftGroup[] } {
  const world = new World();
  const life = new Life();
  const disk = new SimFs({ schedule: (fn) => world.after(1, fn, life), random: seededRandom(1) });
  const clock = world.clock(life);
  disk.mkdirSync('/n1', { recursive: true });
  const ledger = SyncLedger.open('/n1', disk, clock);
  const host = new GroupHost({ tickMs: 10, syncMode: 'fsync', syncIntervalMs: 100, logger: quiet, clock, send: () => undefined });
  const groups = ['a', 'b'].map((id) => {
    const dir = `/n1/${id}`;
    const { log, hardState } = openReplica({ group: id, name: id, dir, fs: disk, log: { dir: `${dir}/log`, recordBatches: false }, ledger, fresh: 'voter', random: seededRandom(2), logger: quiet });
    const g = new RaftGroup({ id, self: 'n1', voters: ['n1'], dir, fs: disk, log, hardState, ledger, applied: 0, limits: { electionTicks: 10, heartbeatTicks: 2 }, random: seededRandom(3), logger: quiet });
    g.sm = inert;
    host.add(g);
    return g;
  });
  return { world, host, groups };
}

describe('the group host', () => {
  it('stops only the group whose log turns out corrupt while it builds a Ready, and the others go on', async () => {
    // Before: the error escaped the host's pass as an unhandled rejection, which ends the process.
    const { world, host, groups } = setUp();
    const [a, b] = groups as [RaftGroup, RaftGroup];
    host.start();
    await world.run(() => a.raft.role === 'leader' && b.raft.role === 'leader', () => undefined);
    const ready = a.raft.ready.bind(a.raft);
    a.raft.ready = () => {
      a.raft.ready = ready;
      throw new CorruptLogError('/n1/a/log/00000000000000000001.log', 10, 'a bit flipped');
    };
    a.raft.propose([Buffer.from('x')]);
    b.raft.propose([Buffer.from('y')]);
    host.schedule();
    await world.run(() => world.now > 500, () => undefined);
    expect(a.failed).toMatch(/CorruptLogError: .* a bit flipped/);
    expect(b.failed).toBeNull();
    expect(b.raft.committed).toBeGreaterThanOrEqual(2);
    await host.stop();
  });
});
