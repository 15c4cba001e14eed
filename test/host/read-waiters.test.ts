import { describe, expect, it } from 'vitest';
import type { Raft } from '../../raft/raft.js';
import { ReadWaiters } from '../../src/host/read-waiters.js';

/** The part of the core ReadWaiters uses: the term, the log's end, and readIndex requests. */
function fakeRaft(term: number, lastIndex: number): { raft: Raft; asked: number[] } {
  const asked: number[] = [];
  const raft = { term, lastIndex: () => lastIndex, readIndex: (id: number) => void asked.push(id) } as unknown as Raft;
  return { raft, asked };
}

function track(p: Promise<void>): { done: boolean; failed: Error | null } {
  const s = { done: false, failed: null as Error | null };
  p.then(
    () => (s.done = true),
    (e: Error) => (s.failed = e),
  );
  return s;
}

/** A read waiting on a leader of `term` whose log ended at `lastIndex` when the read arrived. */
function waitingRead(term: number, lastIndex: number): { w: ReadWaiters; read: ReturnType<typeof track>; asked: number[] } {
  const w = new ReadWaiters();
  const { raft, asked } = fakeRaft(term, lastIndex);
  const read = track(w.wait(raft, () => undefined, (e) => e as Error));
  return { w, read, asked };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const lost = (): Error => new Error('stopped leading');

/** Does `act`, lets promises settle, and tells whether the read is answered. */
async function answeredAfter(read: ReturnType<typeof track>, act: () => void): Promise<boolean> {
  act();
  await settle();
  return read.done;
}

describe('read waiters', () => {
  it('serve a read once the state machine applies the read point a quorum confirmed', async () => {
    const { w, read, asked } = waitingRead(3, 10);
    expect(asked).toHaveLength(1);

    expect(await answeredAfter(read, () => w.onReadStates([{ index: 9, context: asked[0]! }], [], lost, 8, 3))).toBe(false);
    expect(await answeredAfter(read, () => w.serve(9, 3))).toBe(true);
  });

  it("serve a read at the commit of an entry this leader created after the read arrived, without waiting for the quorum's answer", async () => {
    const { w, read } = waitingRead(3, 10);

    // The log's end at arrival may have been committed before the read arrived; the next entry was not.
    expect(await answeredAfter(read, () => w.serve(10, 3))).toBe(false);
    expect(await answeredAfter(read, () => w.serve(11, 3))).toBe(true);
  });

  it("do not count an entry of another term: it is another leader's, possibly committed before the read arrived", async () => {
    const { w, read } = waitingRead(3, 10);

    expect(await answeredAfter(read, () => w.serve(12, 4))).toBe(false);
    w.onReadStates([], [1], lost, 12, 4);
    await settle();
    expect(read.failed?.message).toBe('stopped leading');
  });
});
