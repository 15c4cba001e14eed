/**
 * The metadata command of client quotas (src/meta/quotas.ts), applied by the real
 * MetaStateMachine over a real state store: it sets and removes each rate on its own, drops the
 * record of an entity left with none, refuses (changing nothing) what the controller would not
 * have proposed, and its records travel in a snapshot.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, LIMITS, QUOTA_DEFAULT_ENTITY } from '../../src/wire/protocol.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { testMetas, type TestMeta } from './meta-harness.js';

const tmp = tempDirs('raftlog-quotas-');
const openTestMeta = testMetas();

/** A metadata state machine on a store of its own (meta-harness.ts). */
const openMeta = (): Promise<TestMeta> => openTestMeta(tmp());

describe('setQuota', () => {
  it('sets each rate, changes one without the other, and removes a rate with null', async () => {
    const m = await openMeta();
    expect((await m.run({ type: 'setQuota', entity: 'User:alice', producerByteRate: 1000, consumerByteRate: 5000 })).ok).toBe(true);
    await m.run({ type: 'setQuota', entity: QUOTA_DEFAULT_ENTITY, producerByteRate: 200 });
    await m.run({ type: 'setQuota', entity: 'User:alice', producerByteRate: 2000 });
    expect(m.meta.quota('User:alice')).toEqual({ entity: 'User:alice', producerByteRate: 2000, consumerByteRate: 5000 });
    await m.run({ type: 'setQuota', entity: 'User:alice', consumerByteRate: null });
    expect(m.meta.quota('User:alice')).toEqual({ entity: 'User:alice', producerByteRate: 2000 });
    // The default first, then the users by name.
    expect(m.meta.quotas().map((q) => q.entity)).toEqual([QUOTA_DEFAULT_ENTITY, 'User:alice']);
  });

  it('drops the record of an entity left with no rate, and removing what is not there changes nothing', async () => {
    const m = await openMeta();
    await m.run({ type: 'setQuota', entity: 'User:bob', producerByteRate: 1000 });
    expect((await m.run({ type: 'setQuota', entity: 'User:bob', producerByteRate: null, consumerByteRate: null })).ok).toBe(true);
    expect(m.meta.quota('User:bob')).toBeUndefined();
    expect(m.store.entries('quota/')).toEqual([]);
    expect((await m.run({ type: 'setQuota', entity: 'User:nobody', producerByteRate: null })).ok).toBe(true);
    expect(m.meta.quotas()).toEqual([]);
  });

  it('refuses, changing nothing, an entity or rate the controller would have refused', async () => {
    const m = await openMeta();
    await m.run({ type: 'setQuota', entity: 'User:alice', producerByteRate: 1000 });
    for (const bad of [
      { type: 'setQuota', entity: 'alice', producerByteRate: 5 },
      { type: 'setQuota', entity: 'User:alice', producerByteRate: 0 },
      { type: 'setQuota', entity: 'User:alice', producerByteRate: 1.5 },
      { type: 'setQuota', entity: 'User:alice', consumerByteRate: LIMITS.quotaByteRateMax + 1 },
    ] as const) {
      expect(await m.run(bad)).toMatchObject({ ok: false, code: ErrorCode.InvalidRequest, message: expect.stringContaining('nothing changed') });
    }
    expect(m.meta.quotas()).toEqual([{ entity: 'User:alice', producerByteRate: 1000 }]);
  });

  it('travels in a metadata snapshot', async () => {
    const m = await openMeta();
    await m.run({ type: 'setQuota', entity: QUOTA_DEFAULT_ENTITY, producerByteRate: 200_000, consumerByteRate: 300_000 });
    const { data } = await m.store.exportSnapshot();
    const other = await openMeta();
    await other.store.importSnapshot(data);
    expect(other.meta.quota(QUOTA_DEFAULT_ENTITY)).toEqual({ entity: QUOTA_DEFAULT_ENTITY, producerByteRate: 200_000, consumerByteRate: 300_000 });
  });
});
