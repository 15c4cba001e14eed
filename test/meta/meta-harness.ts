/**
 * A metadata state machine for the tests of its commands: the real MetaStateMachine over a real
 * state store and segment log, fed entries directly, its Raft group a stand-in that only numbers
 * proposals. Entries go on from the store's applied index, so a folder opened again (a restart)
 * carries on where it stopped.
 */
import path from 'node:path';
import { afterEach } from 'vitest';
import { EntryKind, type Entry } from '../../raft/types.js';
import { SegmentLog } from '../../storage/segment-log.js';
import { StateStore } from '../../storage/state-store.js';
import type { RaftGroup } from '../../src/host/raft-group.js';
import { encodeCommand, type MetaCommand } from '../../src/meta/commands.js';
import { MetaLogStorage, MetaStateMachine, type MetaResult } from '../../src/meta/meta-state.js';
import { quiet } from '../partition/harness.js';

export const TERM = 1;

export interface TestMeta {
  readonly meta: MetaStateMachine;
  readonly store: StateStore;
  readonly log: SegmentLog;
  /** Every entry `run` applied, in order. */
  readonly entries: Entry[];
  /** How many apply rounds told the node that topics changed. */
  readonly topicsChanged: () => number;
  /** Proposes `cmd` and applies it as the next entry; resolves with its result. */
  run(cmd: MetaCommand): Promise<MetaResult>;
  /** Closes the store and the log (also done after each test). */
  close(): Promise<void>;
}

/** Registers the clean-up of the test file and returns an opener of state machines on a folder. */
export function testMetas(): (dir: string) => Promise<TestMeta> {
  const open: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of open.splice(0)) await close();
  });
  return async (dir) => {
    const log = SegmentLog.open({ dir: path.join(dir, 'log'), recordBatches: false });
    const store = await StateStore.open(path.join(dir, 'state'));
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      log.close();
      await store.close();
    };
    open.push(close);
    let changed = 0;
    const events = { topicsChanged: () => void changed++, controllerChanged: () => undefined, clusterKnown: () => undefined, nodesChanged: () => undefined };
    const meta = new MetaStateMachine(store, new MetaLogStorage(log, MetaStateMachine.snapshotFile(dir)), events, quiet, 1_000_000);
    let last = store.appliedIndex();
    const raft = { applied: last, lead: 'n1', term: TERM, propose: () => ({ lastIndex: last + 1, term: TERM }) };
    meta.group = { raft, wake: () => undefined } as unknown as RaftGroup;
    const entries: Entry[] = [];
    return {
      meta,
      store,
      log,
      entries,
      topicsChanged: () => changed,
      close,
      async run(cmd) {
        const result = meta.propose(cmd);
        const e: Entry = { index: ++last, term: TERM, kind: EntryKind.Normal, data: encodeCommand(cmd) };
        entries.push(e);
        await meta.apply([e]);
        return result;
      },
    };
  };
}
