/**
 * ACL bindings in the metadata (src/meta/acl-state.ts), applied by the real MetaStateMachine over
 * a real state store: added once each, removed by filter with what each filter removed, kept
 * across a restart (LevelDB) and carried whole by a snapshot to a replica that installs it, whose
 * authorizer then decides by them.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { CLUSTER_NAME, type AclBinding } from '../../src/auth/acl.js';
import { NodeAuthorizer } from '../../src/auth/node-authorizer.js';
import { newSession } from '../../src/server/session.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { TERM, testMetas, type TestMeta } from './meta-harness.js';

const tmp = tempDirs('raftlog-acls-');

const openTestMeta = testMetas();

/** A metadata state machine on the store in `dir` (meta-harness.ts). */
const openMeta = (dir = tmp()): Promise<TestMeta> => openTestMeta(dir);

const allow = (principal: string, operation: AclBinding['operation'], name: string, pattern: 'literal' | 'prefixed' = 'literal'): AclBinding => ({
  principal,
  host: '*',
  resource: { type: 'topic', name, pattern },
  operation,
  permission: 'allow',
});
const ALICE_READ = allow('User:alice', 'read', 'orders');
const ALICE_WRITE = allow('User:alice', 'write', 'orders');
const BOB_PREFIX = allow('User:bob', 'read', 'ord', 'prefixed');
const OPS_ALTER: AclBinding = { principal: 'User:ops', host: '*', resource: { type: 'cluster', name: CLUSTER_NAME, pattern: 'literal' }, operation: 'alter', permission: 'allow' };

const sorted = (bs: readonly AclBinding[]): string[] => bs.map((b) => JSON.stringify(b)).sort();

describe('ACL bindings in the metadata', () => {
  it('are added once each (a binding added again stays one), and the ACL version moves only when they change', async () => {
    const m = await openMeta();
    const v0 = m.meta.aclVersion();
    expect((await m.run({ type: 'createAcls', bindings: [ALICE_READ, ALICE_WRITE, ALICE_READ] })).ok).toBe(true);
    expect(sorted(m.meta.acls())).toEqual(sorted([ALICE_READ, ALICE_WRITE]));
    const v1 = m.meta.aclVersion();
    expect(v1).not.toBe(v0);
    expect((await m.run({ type: 'createAcls', bindings: [ALICE_READ] })).ok).toBe(true);
    expect(m.meta.acls()).toHaveLength(2);
    expect(m.meta.aclVersion()).toBe(v1);
  });

  it('a command with a binding that cannot be (a bug: the controller checks them) adds none', async () => {
    const m = await openMeta();
    const bad: AclBinding = { ...ALICE_READ, resource: { type: 'group', name: 'g', pattern: 'literal' }, operation: 'write' };
    const r = await m.run({ type: 'createAcls', bindings: [ALICE_READ, bad] });
    expect(r).toMatchObject({ ok: false, code: ErrorCode.InvalidRequest });
    expect(m.meta.acls()).toEqual([]);
  });

  it('are removed by filter; each filter says what it removed, a binding two filters match under the first', async () => {
    const m = await openMeta();
    await m.run({ type: 'createAcls', bindings: [ALICE_READ, ALICE_WRITE, BOB_PREFIX, OPS_ALTER] });
    const r = await m.run({ type: 'deleteAcls', filters: [{ principal: 'User:alice', operation: 'read' }, { principal: 'User:alice' }, { principal: 'User:nobody' }, { resourceType: 'topic', name: 'orders', pattern: 'match' }] });
    expect(r.ok).toBe(true);
    expect(r.ok && r.value).toEqual([{ removed: [ALICE_READ] }, { removed: [ALICE_WRITE] }, { removed: [] }, { removed: [BOB_PREFIX] }]);
    expect(m.meta.acls()).toEqual([OPS_ALTER]);
  });

  it('survive a restart of the node (the state store)', async () => {
    const dir = tmp();
    const m = await openMeta(dir);
    await m.run({ type: 'createAcls', bindings: [ALICE_READ, OPS_ALTER] });
    await m.store.flush();
    await m.close();
    const again = await openMeta(dir);
    expect(sorted(again.meta.acls())).toEqual(sorted([ALICE_READ, OPS_ALTER]));
  });

  it('go whole in a snapshot: a replica that installs it holds the same bindings, and its authorizer decides by them', async () => {
    const leader = await openMeta();
    await leader.run({ type: 'createAcls', bindings: [ALICE_READ, ALICE_WRITE, BOB_PREFIX, OPS_ALTER] });
    await leader.run({ type: 'deleteAcls', filters: [{ principal: 'User:alice', operation: 'write' }] });
    const { index, data } = await leader.store.exportSnapshot();

    const follower = await openMeta();
    const authorizer = new NodeAuthorizer({ superUsers: [], source: () => follower.meta, logger: pino({ level: 'silent' }), denials: { inc: () => undefined } });
    const alice = { ...newSession('client', '127.0.0.1:5000'), principal: 'User:alice' };
    expect(authorizer.check(alice, 'read', { type: 'topic', name: 'orders' }).allowed).toBe(false);

    await follower.meta.restore({ index, term: TERM, data }, follower.log);

    expect(sorted(follower.meta.acls())).toEqual(sorted([ALICE_READ, BOB_PREFIX, OPS_ALTER]));
    expect(authorizer.check(alice, 'read', { type: 'topic', name: 'orders' }).allowed).toBe(true);
    expect(authorizer.check(alice, 'write', { type: 'topic', name: 'orders' }).allowed).toBe(false);
    expect(authorizer.check({ ...alice, principal: 'User:bob' }, 'describe', { type: 'topic', name: 'orders-eu' }).allowed).toBe(true);
  });
});
