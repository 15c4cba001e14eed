import { describe, expect, it } from 'vitest';
import { RaftInvariantError } from '../../raft/errors.js';
import { MemoryStorage } from '../../raft/memory-storage.js';
import { Raft } from '../../raft/raft.js';
import { seededRandom } from '../../raft/random.js';
import { Role, type Ready } from '../../raft/types.js';
import { Network, bytes, payload } from './harness.js';

function lastReady(net: Network, id: string): Ready {
  const rd = net.member(id).readies.at(-1);
  if (rd === undefined) throw new Error(`${id} handed out no Ready`);
  return rd;
}

describe('the Ready contract', () => {
  it('Ready: mustSync is true when a Ready carries entries', () => {
    const net = new Network();
    net.elect('a');

    net.raft('a').propose([bytes('x')]);
    const rd = net.process('a');

    expect(rd?.entries).toHaveLength(1);
    expect(rd?.mustSync).toBe(true);
  });

  it('Ready: mustSync is true for a new term and vote, even without entries', () => {
    const net = new Network();

    net.raft('b').step({ type: 'vote', from: 'a', to: 'b', term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
    const rd = net.process('b');

    expect(rd?.entries).toEqual([]);
    expect(rd?.hardState).toEqual({ term: 1, vote: 'a', commit: 0, rejoin: null });
    expect(rd?.mustSync).toBe(true);
  });

  it('Ready: mustSync is false for a change of the commit index alone, on leader and follower', () => {
    const net = new Network();
    net.elect('a');
    const { lastIndex } = net.raft('a').propose([bytes('x')]);
    net.processAll();
    net.deliver(); // appends to b and c
    net.processAll();
    const followerPersist = lastReady(net, 'b');
    net.deliver(); // their answers to a

    const leaderCommit = net.process('a');
    net.deliver(); // appends that carry the new commit index
    const followerCommit = net.process('b');

    expect(followerPersist.mustSync).toBe(true);
    expect(leaderCommit?.entries).toEqual([]);
    expect(leaderCommit?.hardState?.commit).toBe(lastIndex);
    expect(leaderCommit?.mustSync).toBe(false);
    expect(followerCommit?.entries).toEqual([]);
    expect(followerCommit?.hardState?.commit).toBe(lastIndex);
    expect(followerCommit?.mustSync).toBe(false);
  });

  it('Ready: a leader sends first (before persisting) and counts its own copy only after advance', () => {
    const net = new Network();
    net.elect('a');
    const before = net.commit('a');
    const { lastIndex } = net.raft('a').propose([bytes('x')]);

    // The leader's Ready is out: its entry is not yet persisted, but its appends may already go.
    const rd = net.raft('a').ready();
    expect(rd.sendFirst).toBe(true);
    expect(rd.entries.map((e) => e.index)).toEqual([lastIndex]);
    const toB = rd.messages.filter((m) => m.to === 'b');
    expect(toB.map((m) => m.type)).toEqual(['append']);
    for (const m of toB) net.raft('b').step(m);
    const followerPersist = net.process('b');
    net.deliver(); // b's acknowledgement reaches a

    // One follower of three is not a majority while a's own copy is not durable.
    expect(followerPersist?.sendFirst).toBe(false);
    expect(net.commit('a')).toBe(before);

    net.member('a').storage.append(rd.entries);
    net.raft('a').advance(rd);
    expect(net.commit('a')).toBe(lastIndex);
  });

  it('Ready: a leader sends what it queues while its Ready is out, and still counts its own copy only after advance', () => {
    const net = new Network();
    net.elect('a');
    const before = net.commit('a');
    const first = net.raft('a').propose([bytes('x')]);
    const rd = net.raft('a').ready();
    expect(rd.sendFirst).toBe(true);
    // Nothing queued since the Ready: nothing to send.
    expect(net.raft('a').takeMessagesWhileOut()).toEqual([]);

    // A proposal made while the host persists that Ready goes to the followers now, not after the sync.
    const second = net.raft('a').propose([bytes('y')]);
    expect(net.raft('a').hasReady()).toBe(false);
    const early = net.raft('a').takeMessagesWhileOut();
    const toB = early.filter((m) => m.to === 'b');
    expect(toB.map((m) => m.type)).toEqual(['append']);
    expect(toB.flatMap((m) => (m.type === 'append' ? m.entries.map((e) => e.index) : []))).toEqual([second.lastIndex]);
    expect(net.raft('a').takeMessagesWhileOut()).toEqual([]);

    // b takes both appends; its acknowledgement alone does not commit while a's copy is not durable.
    for (const m of [...rd.messages, ...early].filter((x) => x.to === 'b')) net.raft('b').step(m);
    net.process('b');
    net.deliver();
    expect(net.commit('a')).toBe(before);

    // Once a has persisted the first Ready, its entry commits; the second waits for the next Ready.
    net.member('a').storage.append(rd.entries);
    net.raft('a').advance(rd);
    expect(net.commit('a')).toBe(first.lastIndex);
    const next = net.raft('a').ready();
    expect(next.entries.map((e) => e.index)).toEqual([second.lastIndex]);
  });

  it('Ready: nothing is sent while out by a member that is not a leader of a durable term', () => {
    const net = new Network();
    // A follower that voted in a new term: its answer waits for that vote to be synced.
    net.raft('b').step({ type: 'vote', from: 'a', to: 'b', term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
    const rd = net.raft('b').ready();
    expect(rd.sendFirst).toBe(false);
    expect(net.raft('b').takeMessagesWhileOut()).toEqual([]);
    net.raft('b').advance(rd);

    // A leader that steps down while its Ready is out: what it queues after waits for the next Ready.
    const lead = new Network();
    lead.elect('a');
    lead.raft('a').propose([bytes('x')]);
    const out = lead.raft('a').ready();
    // (c leads a later term: its heartbeat makes a a follower of term 9, which a has not synced.)
    lead.raft('a').step({ type: 'heartbeat', from: 'c', to: 'a', term: 9, commit: 0, readRound: 0 });
    expect(lead.role('a')).toBe(Role.Follower);
    expect(lead.raft('a').takeMessagesWhileOut()).toEqual([]);
    lead.raft('a').advance(out);
    const after = lead.raft('a').ready();
    expect(after.sendFirst).toBe(false);
    expect(after.hardState?.term).toBe(9);
    expect(after.messages.some((m) => m.type === 'heartbeatResp' && m.to === 'c')).toBe(true);
  });

  it('Ready: a new term or vote is never sent first, also on the way to leading', () => {
    const net = new Network();
    net.raft('a').campaign();
    while (net.role('a') !== Role.Leader) {
      net.processAll();
      net.deliver();
    }
    net.process('a');
    const readies = net.member('a').readies;
    const voted = readies.filter((rd) => rd.hardState?.vote === 'a');
    const led = readies.filter((rd) => rd.softState?.role === Role.Leader);

    expect(voted).toHaveLength(1);
    expect(voted[0]!.sendFirst).toBe(false);
    expect(voted[0]!.messages.map((m) => m.type)).toContain('vote');
    expect(led).toHaveLength(1);
    expect(led[0]!.hardState?.vote ?? 'a').toBe('a');
    expect(led[0]!.hardState?.term ?? voted[0]!.hardState!.term).toBe(voted[0]!.hardState!.term);
    expect(led[0]!.sendFirst).toBe(true);
    expect(led[0]!.messages.map((m) => m.type)).toContain('append');
  });

  it('Ready: committedEntries are handed out once each, in order, applyBytesMax at a time', () => {
    const net = new Network({ limits: { applyBytesMax: 50 } });
    net.elect('a');

    for (let k = 0; k < 5; k++) net.raft('a').propose([payload(20)]); // 44 bytes each: one per Ready
    net.stabilize();

    for (const id of ['a', 'b', 'c']) {
      const applied = net.member(id).applied.map((e) => e.index);
      expect(applied).toEqual([1, 2, 3, 4, 5, 6]);
      for (const rd of net.member(id).readies) expect(rd.committedEntries.length).toBeLessThanOrEqual(1);
    }
  });

  it('Ready: advance without a Ready throws RaftInvariantError', () => {
    const r = new Raft({ id: 'a', voters: ['a', 'b', 'c'], storage: new MemoryStorage(), random: seededRandom(1) });
    r.campaign();
    const rd = r.ready();
    r.advance(rd);

    expect(() => r.advance(rd)).toThrow(RaftInvariantError);
  });

  it('Ready: ready twice without advance throws RaftInvariantError', () => {
    const r = new Raft({ id: 'a', voters: ['a', 'b', 'c'], storage: new MemoryStorage(), random: seededRandom(1) });
    r.campaign();
    r.ready();

    expect(r.hasReady()).toBe(false);
    expect(() => r.ready()).toThrow(RaftInvariantError);
  });

  it('Ready: what the core takes between ready and advance waits for the next Ready', () => {
    const net = new Network();
    net.elect('a');
    const a = net.raft('a');
    const storage = net.member('a').storage;
    const text = (rd: Ready): string[] => rd.entries.map((e) => new TextDecoder().decode(e.data));

    a.propose([bytes('x')]);
    const first = a.ready();
    a.propose([bytes('y')]);
    storage.append(first.entries);
    a.advance(first);
    const second = a.ready();
    storage.append(second.entries);
    a.advance(second);

    expect(text(first)).toEqual(['x']);
    expect(text(second)).toEqual(['y']);
    expect(second.messages.filter((m) => m.type === 'append')).toHaveLength(2);
  });

  it('Ready: a member restarted from its storage and hard state resumes term, vote and commit', () => {
    const net = new Network();
    net.elect('a');
    net.raft('a').propose([bytes('x')]);
    net.stabilize();
    net.tickAndStabilize(1, ['a']); // the followers learn the commit
    const before = { term: net.term('b'), vote: net.raft('b').vote, commit: net.commit('b') };

    net.restart('b');

    expect({ term: net.term('b'), vote: net.raft('b').vote, commit: net.commit('b') }).toEqual(before);
    expect(before).toEqual({ term: 1, vote: 'a', commit: 2 });
    expect(net.role('b')).toBe(Role.Follower);
    expect(net.raft('b').hasReady()).toBe(false);

    const { lastIndex } = net.raft('a').propose([bytes('y')]);
    net.stabilize();

    expect(net.commit('b')).toBe(lastIndex);
    expect(net.member('b').applied.map((e) => e.index)).toEqual([1, 2, 3]);
  });
});
