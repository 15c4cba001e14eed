/**
 * In-sync replicas (src/partition/in-sync.ts), as Kafka's ISR: a replica is in sync while it is a
 * connected voter that has held, within REPLICA_LAG_MS_MAX, everything its leader held at some
 * moment. Times and indexes are the test's.
 */
import { describe, expect, it } from 'vitest';
import { InSyncTracker, REPLICA_LAG_MS_MAX, inSyncReplicas, type ReplicaProgress } from '../../src/partition/in-sync.js';

const follower = (id: string, match: number, extra: Partial<ReplicaProgress> = {}): ReplicaProgress => ({ id, match, learner: false, rejoin: null, ...extra });

describe('InSyncTracker', () => {
  it('a follower that keeps one sample behind a log that grows all the time stays caught up', () => {
    const t = new InSyncTracker();
    // The leader writes 100 entries a second; the follower always holds what the leader held a second before.
    for (let s = 0; s <= 60; s++) t.sample('g', s * 1000, (s + 1) * 100, [{ id: 'n2', match: s * 100, connected: true }]);
    expect(t.caughtUp('g', 'n2', 60_000)).toBe(true);
  });

  it('a follower whose match stops falls out REPLICA_LAG_MS_MAX after it last held all the leader held, and comes back once it catches up', () => {
    const t = new InSyncTracker();
    t.sample('g', 0, 100, [{ id: 'n2', match: 100, connected: true }]);
    // n2 stops at 100 while the leader goes on.
    for (let s = 1; s <= 20; s++) t.sample('g', s * 1000, 100 + s * 10, [{ id: 'n2', match: 100, connected: true }]);
    // It held the leader's 100 at 0 s, and the leader had more from 1 s on.
    expect(t.caughtUp('g', 'n2', REPLICA_LAG_MS_MAX)).toBe(true);
    expect(t.caughtUp('g', 'n2', REPLICA_LAG_MS_MAX + 1)).toBe(false);
    expect(t.caughtUp('g', 'n2', 20_000)).toBe(false);
    t.sample('g', 21_000, 310, [{ id: 'n2', match: 310, connected: true }]);
    expect(t.caughtUp('g', 'n2', 21_000)).toBe(true);
  });

  it('a replica seen for the first time has REPLICA_LAG_MS_MAX to show it is caught up (a new leader knows nothing of its followers yet)', () => {
    const t = new InSyncTracker();
    t.sample('g', 5000, 500, [{ id: 'n3', match: 0, connected: true }]);
    expect(t.caughtUp('g', 'n3', 5000)).toBe(true);
    t.sample('g', 5000 + REPLICA_LAG_MS_MAX + 1000, 500, [{ id: 'n3', match: 0, connected: true }]);
    expect(t.caughtUp('g', 'n3', 5000 + REPLICA_LAG_MS_MAX + 1000)).toBe(false);
  });

  it('a follower that was disconnected must catch up again once back, however short its absence', () => {
    const t = new InSyncTracker();
    t.sample('g', 0, 100, [{ id: 'n2', match: 100, connected: true }]);
    t.sample('g', 1000, 150, [{ id: 'n2', match: 100, connected: false }]);
    t.sample('g', 2000, 200, [{ id: 'n2', match: 100, connected: true }]);
    expect(t.caughtUp('g', 'n2', 2000)).toBe(false);
    t.sample('g', 3000, 210, [{ id: 'n2', match: 200, connected: true }]);
    expect(t.caughtUp('g', 'n2', 3000)).toBe(true);
    // One not connected when first seen gets no grace.
    t.sample('g', 3000, 210, [{ id: 'n2', match: 210, connected: true }, { id: 'n3', match: 0, connected: false }]);
    expect(t.caughtUp('g', 'n3', 3000)).toBe(false);
  });

  it('with no writes, a follower holding the whole log stays caught up', () => {
    const t = new InSyncTracker();
    for (let s = 0; s <= 100; s++) t.sample('g', s * 1000, 42, [{ id: 'n2', match: 42, connected: true }]);
    expect(t.caughtUp('g', 'n2', 100_000)).toBe(true);
  });

  it('forgets groups no longer led, and replicas no longer in the group', () => {
    const t = new InSyncTracker();
    t.sample('a', 0, 10, [{ id: 'n2', match: 10, connected: true }]);
    t.sample('b', 0, 10, [{ id: 'n2', match: 10, connected: true }]);
    t.retain(new Set(['b']));
    expect(t.size).toBe(1);
    expect(t.caughtUp('a', 'n2', 0)).toBe(false);
    t.sample('b', 1000, 10, [{ id: 'n3', match: 10, connected: true }]);
    expect(t.caughtUp('b', 'n2', 1000)).toBe(false);
    expect(t.caughtUp('b', 'n3', 1000)).toBe(true);
  });
});

describe('inSyncReplicas', () => {
  const all = (): boolean => true;

  it('three voters, all connected and caught up: three in sync, not under-replicated', () => {
    const v = inSyncReplicas({ self: 'n1', voters: ['n1', 'n2', 'n3'], target: ['n1', 'n2', 'n3'], peers: [follower('n2', 5), follower('n3', 5)], connected: all, caughtUp: all });
    expect(v).toEqual({ inSync: ['n1', 'n2', 'n3'], replicas: 3, underReplicated: false });
  });

  it('a follower whose node is not connected is out of sync at once, caught up or not', () => {
    const v = inSyncReplicas({ self: 'n1', voters: ['n1', 'n2', 'n3'], target: ['n1', 'n2', 'n3'], peers: [follower('n2', 5), follower('n3', 5)], connected: (id) => id !== 'n3', caughtUp: all });
    expect(v).toEqual({ inSync: ['n1', 'n2'], replicas: 3, underReplicated: true });
  });

  it('a follower that is not caught up is out of sync', () => {
    const v = inSyncReplicas({ self: 'n1', voters: ['n1', 'n2', 'n3'], target: ['n1', 'n2', 'n3'], peers: [follower('n2', 5), follower('n3', 1)], connected: all, caughtUp: (id) => id !== 'n3' });
    expect(v.inSync).toEqual(['n1', 'n2']);
    expect(v.underReplicated).toBe(true);
  });

  it('a learner or a rejoining replica is never in sync: a partition moving a replica is under-replicated until the move is done', () => {
    const moving = inSyncReplicas({ self: 'n1', voters: ['n1', 'n2', 'n3'], target: ['n4', 'n2', 'n3'], peers: [follower('n2', 5), follower('n3', 5), follower('n4', 5, { learner: true })], connected: all, caughtUp: all });
    expect(moving).toEqual({ inSync: ['n1', 'n2', 'n3'], replicas: 4, underReplicated: true });
    const rejoining = inSyncReplicas({ self: 'n1', voters: ['n1', 'n2', 'n3'], target: ['n1', 'n2', 'n3'], peers: [follower('n2', 5), follower('n3', 5, { rejoin: 'inc-2' })], connected: all, caughtUp: all });
    expect(rejoining.inSync).toEqual(['n1', 'n2']);
    expect(rejoining.underReplicated).toBe(true);
  });

  it('a target naming a replica the group does not have yet counts it as missing', () => {
    const v = inSyncReplicas({ self: 'n1', voters: ['n1', 'n2'], target: ['n1', 'n2', 'n3'], peers: [follower('n2', 5)], connected: all, caughtUp: all });
    expect(v).toEqual({ inSync: ['n1', 'n2'], replicas: 3, underReplicated: true });
  });
});
