/**
 * The users of the metadata group (src/meta/users.ts, issue 22 §3), applied by the real
 * MetaStateMachine over a real state store: an upsert creates a user or replaces all its
 * credentials, a delete removes it (RESOURCE_NOT_FOUND when there is none), the bootstrap upsert
 * applies only while there is no user; the users survive a restart and travel in a metadata
 * snapshot (exported by one store, installed by another), credentials byte for byte. What the
 * version before SCRAM-SHA-512 wrote, an upsert entry in the metadata log and a user record in the
 * store, still loads: a user with one SCRAM-SHA-256 credential, who logs in with it through a
 * node's SaslServer, and is refused SCRAM-SHA-512 as a wrong password is.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { newCredential, newCredentials } from '../../src/auth/credentials.js';
import { ScramServer, ScramClient, type ScramCredential, type ScramMechanism } from '../../src/auth/scram.js';
import { userKey, type LegacyUserRecord } from '../../src/meta/users.js';
import { SaslServer } from '../../src/server/sasl.js';
import { newSession } from '../../src/server/session.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { testMetas, type TestMeta } from './meta-harness.js';

const tmp = tempDirs('raftlog-users-');
const openTestMeta = testMetas();

/** A metadata state machine on the store in `dir` (meta-harness.ts). */
const openMeta = (dir: string): Promise<TestMeta> => openTestMeta(dir);

/** Whether `password` logs in against `cred` (a whole SCRAM exchange of its mechanism). */
async function logsIn(cred: ScramCredential | undefined, password: string): Promise<boolean> {
  if (cred === undefined) return false;
  const mechanism = cred.mechanism ?? 'SCRAM-SHA-256';
  const server = new ScramServer(() => cred, 'server-nonce', () => Buffer.alloc(16), mechanism);
  const client = new ScramClient('alice', password, 'client-nonce', mechanism);
  const serverFirst = server.first(client.first());
  try {
    client.verify(server.final(await client.final(serverFirst)));
    return true;
  } catch {
    return false;
  }
}

describe('users in the metadata group', () => {
  it('an upsert creates a user, a second replaces all its credentials, and listing shows names and mechanisms only', async () => {
    const m = await openMeta(tmp());
    expect(await m.run({ type: 'upsertUser', name: 'alice', credentials: await newCredentials('first-password') })).toMatchObject({ ok: true, value: { name: 'alice', created: true } });
    let rec = m.meta.user('alice')!;
    expect(Object.keys(rec.credentials)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    expect(await logsIn(rec.credentials['SCRAM-SHA-256'], 'first-password')).toBe(true);
    expect(await logsIn(rec.credentials['SCRAM-SHA-512'], 'first-password')).toBe(true);
    // Each mechanism's credential has a salt of its own.
    expect(rec.credentials['SCRAM-SHA-256']!.salt).not.toEqual(rec.credentials['SCRAM-SHA-512']!.salt);
    expect(await m.run({ type: 'upsertUser', name: 'alice', credentials: await newCredentials('second-password') })).toMatchObject({ ok: true, value: { created: false } });
    rec = m.meta.user('alice')!;
    expect(await logsIn(rec.credentials['SCRAM-SHA-512'], 'second-password')).toBe(true);
    expect(await logsIn(rec.credentials['SCRAM-SHA-512'], 'first-password')).toBe(false);
    expect(Object.keys(rec).sort()).toEqual(['credentials', 'name', 'since']);
    // An upsert of one mechanism leaves the user with that one only: the old password works with none.
    await m.run({ type: 'upsertUser', name: 'alice', credentials: await newCredentials('third-password', ['SCRAM-SHA-512']) });
    rec = m.meta.user('alice')!;
    expect(Object.keys(rec.credentials)).toEqual(['SCRAM-SHA-512']);
    expect(await logsIn(rec.credentials['SCRAM-SHA-512'], 'third-password')).toBe(true);
  });

  it('a delete removes the user; deleting one that does not exist is RESOURCE_NOT_FOUND and changes nothing', async () => {
    const m = await openMeta(tmp());
    await m.run({ type: 'upsertUser', name: 'alice', credentials: await newCredentials('alice-password') });
    await m.run({ type: 'upsertUser', name: 'bob', credentials: await newCredentials('bob-password') });
    expect(await m.run({ type: 'deleteUser', name: 'alice' })).toMatchObject({ ok: true });
    expect(m.meta.users().map((u) => u.name)).toEqual(['bob']);
    expect(await m.run({ type: 'deleteUser', name: 'alice' })).toMatchObject({ ok: false, code: ErrorCode.ResourceNotFound });
    expect(m.meta.users().map((u) => u.name)).toEqual(['bob']);
  });

  it('the bootstrap upsert (ifNoUsers) creates its user only while there is none', async () => {
    const m = await openMeta(tmp());
    expect(await m.run({ type: 'upsertUser', name: 'admin', credentials: await newCredentials('admin-password'), ifNoUsers: true })).toMatchObject({ ok: true, value: { created: true } });
    // A second controller's attempt, committed after the first: nothing changes.
    const before = m.meta.user('admin');
    expect(await m.run({ type: 'upsertUser', name: 'admin', credentials: await newCredentials('other-password'), ifNoUsers: true })).toMatchObject({ ok: true, value: { skipped: true } });
    expect(m.meta.user('admin')).toEqual(before);
  });

  it('survive a restart, and travel in a metadata snapshot to another store, credentials byte for byte', async () => {
    const dir = tmp();
    let m = await openMeta(dir);
    await m.run({ type: 'upsertUser', name: 'alice', credentials: await newCredentials('alice-password') });
    await m.run({ type: 'upsertUser', name: 'bob@example.com', credentials: await newCredentials('bob-password') });
    const users = m.meta.users();
    await m.store.close();
    m = await openMeta(dir);
    expect(m.meta.users()).toEqual(users);

    const { data } = await m.store.exportSnapshot();
    const other = await openMeta(tmp());
    await other.store.importSnapshot(data);
    expect(other.meta.users()).toEqual(users);
    expect(await logsIn(other.meta.user('alice')!.credentials['SCRAM-SHA-512'], 'alice-password')).toBe(true);
    expect(other.meta.user('bob@example.com')?.credentials['SCRAM-SHA-256']?.storedKey).toEqual(users[1]!.credentials['SCRAM-SHA-256']!.storedKey);
  });
});

/** A node's SASL server over `m`'s users, as a node has it (src/node/node.ts gives it the metadata). */
function saslOver(m: TestMeta): SaslServer {
  return new SaslServer({ mode: 'sasl', self: 'n1', secret: 'cluster-secret', logger: pino({ level: 'silent' }), users: () => m.meta, loginProblem: () => null, failureDelay: () => Promise.resolve() });
}

/** Logs `user` in with `mechanism` through `sasl`: its principal, or the message it was refused with. */
async function login(sasl: SaslServer, mechanism: ScramMechanism | 'PLAIN', user: string, password: string): Promise<string> {
  const session = newSession('client', '127.0.0.1:1');
  try {
    sasl.handshake(session, mechanism);
    if (mechanism === 'PLAIN') await sasl.authenticate(session, Buffer.from(`\u0000${user}\u0000${password}`));
    else {
      const c = new ScramClient(user, password, 'client-nonce', mechanism);
      const first = await sasl.authenticate(session, Buffer.from(c.first()));
      const final = await sasl.authenticate(session, Buffer.from(await c.final(Buffer.from(first.bytes).toString())));
      c.verify(Buffer.from(final.bytes).toString());
    }
    return session.principal;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('users written by the version before SCRAM-SHA-512', () => {
  // What that version wrote: an upsert entry with one SCRAM-SHA-256 `credential`, and a record with it inline.
  const legacyCommand = async (name: string, password: string) => ({ type: 'upsertUser', name, credential: await newCredential(password) }) as const;

  it("replay from the metadata log as users with a SCRAM-SHA-256 credential, who log in with it and are refused SCRAM-SHA-512 as a wrong password", async () => {
    const m = await openMeta(tmp());
    expect(await m.run(await legacyCommand('olga', 'olga-password'))).toMatchObject({ ok: true, value: { created: true } });
    expect(Object.keys(m.meta.user('olga')!.credentials)).toEqual(['SCRAM-SHA-256']);
    const sasl = saslOver(m);
    expect(await login(sasl, 'SCRAM-SHA-256', 'olga', 'olga-password')).toBe('User:olga');
    expect(await login(sasl, 'PLAIN', 'olga', 'olga-password')).toBe('User:olga');
    const refused = await login(sasl, 'SCRAM-SHA-512', 'olga', 'olga-password');
    expect(refused).toBe("authentication of user 'olga' with SCRAM-SHA-512 failed: wrong user name or password");
    expect(await login(sasl, 'SCRAM-SHA-256', 'olga', 'not-olgas-password')).toBe(refused.replace('SCRAM-SHA-512', 'SCRAM-SHA-256'));
  });

  it('load from the store (a folder or a snapshot of that version) as the same, and are rewritten whole by the next upsert', async () => {
    const dir = tmp();
    let m = await openMeta(dir);
    const c = await newCredential('olga-password');
    const legacy: LegacyUserRecord = { name: 'olga', since: 7, ...c };
    await m.store.apply(m.store.appliedIndex() + 1, [{ type: 'put', key: userKey('olga'), value: legacy }]);
    await m.store.close();
    m = await openMeta(dir);
    expect(m.meta.user('olga')).toEqual({ name: 'olga', since: 7, credentials: { 'SCRAM-SHA-256': c } });
    expect(m.meta.users().map((u) => [u.name, Object.keys(u.credentials)])).toEqual([['olga', ['SCRAM-SHA-256']]]);
    const sasl = saslOver(m);
    expect(await login(sasl, 'SCRAM-SHA-256', 'olga', 'olga-password')).toBe('User:olga');
    expect(await login(sasl, 'SCRAM-SHA-512', 'olga', 'olga-password')).toBe("authentication of user 'olga' with SCRAM-SHA-512 failed: wrong user name or password");
    // `raftlog users create olga` with the same password: both mechanisms, in this version's record.
    await m.run({ type: 'upsertUser', name: 'olga', credentials: await newCredentials('olga-password') });
    expect(Object.keys(m.store.get<object>(userKey('olga'))!).sort()).toEqual(['credentials', 'name', 'since']);
    expect(await login(sasl, 'SCRAM-SHA-512', 'olga', 'olga-password')).toBe('User:olga');
  });
});
