import { describe, expect, it } from 'vitest';
import { Raft } from '../../raft/raft.js';
import { seededRandom } from '../../raft/random.js';
import { EntryKind, Role, type AppendRequest, type AppendResponse, type Entry, type Message } from '../../raft/types.js';
import { Network, bytes, storageWithLog } from './harness.js';

function follower(terms: number[], term: number, commit = 0): Raft {
  const storage = storageWithLog(terms, { term, vote: null, commit });
  return new Raft({ id: 'b', voters: ['a', 'b', 'c'], storage, hardState: storage.hardState, random: seededRandom(2) });
}

function append(term: number, prevIndex: number, prevTerm: number, entryTerms: number[], commit = 0): AppendRequest {
  const entries: Entry[] = entryTerms.map((t, k) => ({ index: prevIndex + 1 + k, term: t, kind: EntryKind.Normal, data: bytes(`new${prevIndex + 1 + k}`) }));
  return { type: 'append', from: 'a', to: 'b', term, prevIndex, prevTerm, entries, commit };
}

/** Steps `m` into `r`, persists nothing, and returns its answer to the leader. */
function answer(r: Raft, m: AppendRequest): AppendResponse {
  r.step(m);
  const rd = r.ready();
  r.advance(rd);
  const resp = rd.messages.find((x) => x.type === 'appendResp');
  if (resp === undefined || resp.type !== 'appendResp') throw new Error('no append response');
  return resp;
}

function termsOf(r: Raft): number[] {
  return r.entries(r.firstIndex(), r.lastIndex() + 1, Number.MAX_SAFE_INTEGER).map((e) => e.term);
}

describe('§5.3 log replication', () => {
  it('§5.3: a leader commits an entry once a majority holds it, and followers learn the commit', () => {
    const net = new Network({ ids: ['a', 'b', 'c', 'd', 'e'] });
    net.elect('a');
    net.isolate('d');
    net.isolate('e');

    const { lastIndex } = net.raft('a').propose([bytes('x')]);
    net.processAll();
    const commitBeforeAcks = net.commit('a');
    net.stabilize();

    expect(commitBeforeAcks).toBe(lastIndex - 1);
    for (const id of ['a', 'b', 'c']) {
      expect(net.commit(id)).toBe(lastIndex);
      expect(net.member(id).applied.map((e) => new TextDecoder().decode(e.data))).toContain('x');
    }
    expect(net.lastIndex('d')).toBe(lastIndex - 1);
  });

  it('followers learn a commit from a message of its own (eager, the default) or from whatever goes to them next (piggyback)', () => {
    const commitOnly = (m: Message): boolean => m.type === 'append' && m.from === 'a' && m.entries.length === 0;
    for (const mode of ['eager', 'piggyback'] as const) {
      const net = new Network({ commitBroadcast: mode, limits: { electionTicks: 10, heartbeatTicks: 2 } });
      net.elect('a');
      net.stabilize();
      const sentBefore = net.sent(commitOnly).length;
      const { lastIndex } = net.raft('a').propose([bytes('x')]);
      net.stabilize();

      expect(net.commit('a')).toBe(lastIndex);
      if (mode === 'eager') {
        expect(net.sent(commitOnly).length - sentBefore).toBe(2);
        for (const id of ['b', 'c']) expect(net.commit(id)).toBe(lastIndex);
        continue;
      }
      expect(net.sent(commitOnly).length).toBe(sentBefore);
      for (const id of ['b', 'c']) expect(net.commit(id)).toBe(lastIndex - 1);
      // The next write carries it...
      const second = net.raft('a').propose([bytes('y')]);
      net.processAll();
      net.deliver((m) => m.type === 'append' && m.from === 'a');
      net.processAll();
      for (const id of ['b', 'c']) expect(net.commit(id)).toBe(lastIndex);
      net.stabilize();
      // ...and with nothing more to write, the next heartbeat does.
      expect(net.commit('a')).toBe(second.lastIndex);
      for (const id of ['b', 'c']) expect(net.commit(id)).toBe(lastIndex);
      net.tick('a', 2);
      net.stabilize();
      for (const id of ['b', 'c']) expect(net.commit(id)).toBe(second.lastIndex);
    }
  });

  it('§5.3: a leader does not commit an entry that only a minority holds', () => {
    const net = new Network({ ids: ['a', 'b', 'c', 'd', 'e'] });
    net.elect('a');
    for (const id of ['c', 'd', 'e']) net.isolate(id);

    const { lastIndex } = net.raft('a').propose([bytes('x')]);
    net.stabilize();
    const commitWithMinority = net.commit('a');
    net.heal();
    net.tickAndStabilize(1, ['a']);

    expect(net.lastIndex('b')).toBe(lastIndex);
    expect(commitWithMinority).toBe(lastIndex - 1);
    expect(net.commit('a')).toBe(lastIndex);
  });

  it('§5.3: a follower rejects an append whose previous entry does not match, and keeps its log', () => {
    const b = follower([1, 1], 2);

    const resp = answer(b, append(2, 2, 2, [2]));

    expect(resp.reject).toBe(true);
    expect(resp.index).toBe(2);
    expect(termsOf(b)).toEqual([1, 1]);
  });

  it('§5.3: a follower rejects an append whose previous entry it does not have, pointing past its last entry', () => {
    const b = follower([1, 1], 2);

    const resp = answer(b, append(2, 5, 2, [2]));

    expect(resp).toMatchObject({ reject: true, index: 5, conflictTerm: 0, conflictIndex: 3 });
    expect(termsOf(b)).toEqual([1, 1]);
  });

  it('§5.3: a follower replaces a conflicting suffix with the leader\'s entries', () => {
    const net = new Network({ logs: { b: [1, 1, 1, 1] }, term: 1 });
    const b = net.raft('b');

    b.step({ ...append(2, 2, 1, [2]), to: 'b' });
    const rd = net.process('b');

    expect(rd?.entries.map((e) => `${e.index}:${e.term}`)).toEqual(['3:2']);
    expect(net.member('b').storage.lastIndex()).toBe(3);
    expect(net.shape('b')).toEqual(['1:1', '2:1', '3:2']);
    expect(rd?.messages).toEqual([expect.objectContaining({ type: 'appendResp', reject: false, index: 3 })]);
  });

  it('§5.3: an append of entries the follower already holds does not truncate its log', () => {
    const b = follower([1, 1, 1, 1], 1);

    const resp = answer(b, append(1, 1, 1, [1]));

    expect(resp).toMatchObject({ reject: false, index: 2 });
    expect(termsOf(b)).toEqual([1, 1, 1, 1]);
  });

  it('§5.3: a follower advances its commit only up to the last entry the append proved it holds', () => {
    const b = follower([1, 1, 1, 1], 1);

    answer(b, append(2, 1, 1, [1], 3));

    expect(b.committed).toBe(2);
  });

  it('§5.3: a rejection carries the follower\'s term at prevIndex and the first index it holds of that term', () => {
    const b = follower([1, 1, 3, 3, 3, 3], 3, 2);

    const resp = answer(b, append(4, 5, 2, [4]));

    expect(resp).toMatchObject({ reject: true, index: 5, conflictTerm: 3, conflictIndex: 3 });
  });

  it('§5.3: the leader skips a whole divergent term per round trip (3 appends for a follower 18 entries astray)', () => {
    const common = [1, 1];
    const leaderLog = [...common, ...Array<number>(28).fill(2)];
    const strayLog = [...common, ...Array<number>(18).fill(3)];
    const net = new Network({ logs: { a: leaderLog, b: leaderLog, c: strayLog }, term: 3, commit: 2 });

    net.elect('a');

    const toC = net.sent((m) => m.type === 'append' && m.to === 'c') as AppendRequest[];
    const firstAccepted = net.sent((m) => m.type === 'appendResp' && m.from === 'c' && !(m as AppendResponse).reject)[0] as AppendResponse;
    const rejections = net.sent((m) => m.type === 'appendResp' && m.from === 'c' && (m as AppendResponse).reject);
    expect(rejections).toHaveLength(2);
    expect(toC.slice(0, 3).map((m) => m.prevIndex)).toEqual([30, 20, 2]);
    expect(firstAccepted.index).toBe(31);
    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.commit('c')).toBe(31);
  });

  it('§5.3: when the leader holds the follower\'s conflicting term, it resumes after its own last entry of that term', () => {
    const leaderLog = [1, 1, 3, 3, 3, 5, 5, 5, 5, 5];
    const strayLog = [1, 1, 3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4];
    const net = new Network({ logs: { a: leaderLog, b: leaderLog, c: strayLog }, term: 5, commit: 2 });

    net.elect('a');

    const toC = net.sent((m) => m.type === 'append' && m.to === 'c') as AppendRequest[];
    const rejections = net.sent((m) => m.type === 'appendResp' && m.from === 'c' && (m as AppendResponse).reject);
    expect(rejections).toHaveLength(2);
    expect(toC.slice(0, 3).map((m) => m.prevIndex)).toEqual([10, 8, 5]);
    expect(net.shape('c')).toEqual(net.shape('a'));
  });
});

describe('§5.4.2 committing entries from previous terms', () => {
  it('§5.4.2: a new leader appends a no-op entry of its term, and commits it', () => {
    const net = new Network({ logs: { a: [1, 1], b: [1, 1], c: [1] }, term: 1 });

    net.elect('a');

    const last = net.entries('a').at(-1);
    expect(last).toMatchObject({ index: 3, term: net.term('a'), kind: EntryKind.Noop });
    expect(net.term('a')).toBe(2);
    for (const id of ['a', 'b', 'c']) {
      expect(net.shape(id)).toEqual(['1:1', '2:1', '3:2']);
      expect(net.commit(id)).toBe(3);
    }
  });

  /** a led term 2 and appended entry 2 that nobody else got; now a wins term 3 and appends its no-op at 3.
   * One entry per append message, so b reports holding entry 2 before it gets entry 3. */
  function figure8(unsafe: boolean): Network {
    const net = new Network({
      logs: { a: [1, 2], b: [1], c: [1] },
      term: 2,
      commit: 1,
      limits: { appendBytesMax: 1 },
      unsafeMutations: unsafe ? { commitPriorTermByCount: true } : undefined,
    });
    net.isolate('c');
    net.raft('a').campaign();
    net.runUntil(() => net.role('a') === Role.Leader && net.peer('a', 'b').match === 2);
    return net;
  }

  it('§5.4.2 (Figure 8): a leader does not commit an earlier term\'s entry by counting replicas, but does once an entry of its term commits', () => {
    const net = figure8(false);

    // Entry 2 (term 2) is on a and b, a majority of three, and must not count as committed.
    expect(net.shape('b')).toEqual(['1:1', '2:2']);
    expect(net.term('a')).toBe(3);
    expect(net.commit('a')).toBe(1);
    expect(net.member('a').applied.map((e) => e.index)).toEqual([1]);

    net.stabilize();

    expect(net.commit('a')).toBe(3);
    expect(net.member('a').applied.map((e) => `${e.index}:${e.term}`)).toEqual(['1:1', '2:2', '3:3']);
    expect(net.commit('b')).toBe(3);
  });

  it('§5.4.2 (Figure 8): the same arrangement over a core that counts replicas of earlier terms commits entry 2 early', () => {
    const net = figure8(true);

    expect(net.shape('b')).toEqual(['1:1', '2:2']);
    expect(net.commit('a')).toBe(2);
  });
});

describe('§5.3 leader-side bookkeeping', () => {
  it('§5.3: a leader keeps sending entries until a follower that was behind matches its whole log', () => {
    const net = new Network();
    net.elect('a');
    net.isolate('c');
    for (let k = 0; k < 5; k++) net.raft('a').propose([bytes(`v${k}`)]);
    net.stabilize();
    expect(net.lastIndex('c')).toBe(1);
    net.heal();

    net.tickAndStabilize(1, ['a']);

    expect(net.shape('c')).toEqual(net.shape('a'));
    expect(net.commit('c')).toBe(net.commit('a'));
    expect(net.peer('a', 'c').match).toBe(net.lastIndex('a'));
  });
});
