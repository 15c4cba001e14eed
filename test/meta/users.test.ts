/**
 * The users of the metadata group (src/meta/users.ts, issue 22 §3), applied by the real
 * MetaStateMachine over a real state store: an upsert creates a user or replaces its credential,
 * a delete removes it (RESOURCE_NOT_FOUND when there is none), the bootstrap upsert applies only
 * while there is no user; and the users survive a restart and travel in a metadata snapshot
 * (exported by one store, installed by another), credentials byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { newCredential } from '../../src/auth/credentials.js';
import { ScramServer, ScramClient } from '../../src/auth/scram.js';
import { ErrorCode, type ScramCredentialSpec } from '../../src/wire/protocol.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { testMetas, type TestMeta } from './meta-harness.js';

const tmp = tempDirs('raftlog-users-');
const openTestMeta = testMetas();

/** A metadata state machine on the store in `dir` (meta-harness.ts). */
const openMeta = (dir: string): Promise<TestMeta> => openTestMeta(dir);

/** Whether `password` logs in against `cred` (a whole SCRAM exchange). */
async function logsIn(cred: ScramCredentialSpec, password: string): Promise<boolean> {
  const server = new ScramServer(() => cred, 'server-nonce', () => Buffer.alloc(16));
  const client = new ScramClient('alice', password, 'client-nonce');
  const serverFirst = server.first(client.first());
  try {
    client.verify(server.final(await client.final(serverFirst)));
    return true;
  } catch {
    return false;
  }
}

describe('users in the metadata group', () => {
  it('an upsert creates a user, a second replaces its credential, and listing shows names and mechanisms only', async () => {
    const m = await openMeta(tmp());
    const first = await newCredential('first-password');
    expect(await m.run({ type: 'upsertUser', name: 'alice', credential: first })).toMatchObject({ ok: true, value: { name: 'alice', created: true } });
    const second = await newCredential('second-password');
    expect(await m.run({ type: 'upsertUser', name: 'alice', credential: second })).toMatchObject({ ok: true, value: { created: false } });
    const rec = m.meta.user('alice')!;
    expect(await logsIn(rec, 'second-password')).toBe(true);
    expect(await logsIn(rec, 'first-password')).toBe(false);
    expect(Object.keys(rec).sort()).toEqual(['iterations', 'mechanism', 'name', 'salt', 'serverKey', 'since', 'storedKey']);
  });

  it('a delete removes the user; deleting one that does not exist is RESOURCE_NOT_FOUND and changes nothing', async () => {
    const m = await openMeta(tmp());
    await m.run({ type: 'upsertUser', name: 'alice', credential: await newCredential('alice-password') });
    await m.run({ type: 'upsertUser', name: 'bob', credential: await newCredential('bob-password') });
    expect(await m.run({ type: 'deleteUser', name: 'alice' })).toMatchObject({ ok: true });
    expect(m.meta.users().map((u) => u.name)).toEqual(['bob']);
    expect(await m.run({ type: 'deleteUser', name: 'alice' })).toMatchObject({ ok: false, code: ErrorCode.ResourceNotFound });
    expect(m.meta.users().map((u) => u.name)).toEqual(['bob']);
  });

  it('the bootstrap upsert (ifNoUsers) creates its user only while there is none', async () => {
    const m = await openMeta(tmp());
    expect(await m.run({ type: 'upsertUser', name: 'admin', credential: await newCredential('admin-password'), ifNoUsers: true })).toMatchObject({ ok: true, value: { created: true } });
    // A second controller's attempt, committed after the first: nothing changes.
    const before = m.meta.user('admin');
    expect(await m.run({ type: 'upsertUser', name: 'admin', credential: await newCredential('other-password'), ifNoUsers: true })).toMatchObject({ ok: true, value: { skipped: true } });
    expect(m.meta.user('admin')).toEqual(before);
  });

  it('survive a restart, and travel in a metadata snapshot to another store, credentials byte for byte', async () => {
    const dir = tmp();
    let m = await openMeta(dir);
    await m.run({ type: 'upsertUser', name: 'alice', credential: await newCredential('alice-password') });
    await m.run({ type: 'upsertUser', name: 'bob@example.com', credential: await newCredential('bob-password') });
    const users = m.meta.users();
    await m.store.close();
    m = await openMeta(dir);
    expect(m.meta.users()).toEqual(users);

    const { data } = await m.store.exportSnapshot();
    const other = await openMeta(tmp());
    await other.store.importSnapshot(data);
    expect(other.meta.users()).toEqual(users);
    expect(await logsIn(other.meta.user('alice')!, 'alice-password')).toBe(true);
    expect(other.meta.user('bob@example.com')?.storedKey).toEqual(users[1]!.storedKey);
  });
});
