/**
 * The authorizer's rules (src/auth/authorizer.ts), Kafka's: a deny wins, an allow must apply,
 * super users bypass, describe is implied by read/write/delete/alter, and a check reads only the
 * bindings of its principal. The properties hold the index to a restatement that reads every
 * binding (REFERENCE below), over random bindings and requests.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ANY_USER, CLUSTER, OPERATIONS_OF, WILDCARD, filterMatches, type AclBinding, type AclOperation, type Resource, type ResourceType } from '../../src/auth/acl.js';
import { Authorizer, type Who } from '../../src/auth/authorizer.js';
import { hostOf } from '../../src/auth/node-authorizer.js';

const RUNS = 500;

const alice: Who = { principal: 'User:alice', host: '10.0.0.1' };
const topic = (name: string): Resource => ({ type: 'topic', name });
const group = (name: string): Resource => ({ type: 'group', name });

function bind(over: Partial<AclBinding> & { op: AclOperation; on: Resource; prefixed?: boolean }): AclBinding {
  return {
    principal: over.principal ?? alice.principal,
    host: over.host ?? WILDCARD,
    resource: { type: over.on.type, name: over.on.name, pattern: over.prefixed === true ? 'prefixed' : 'literal' },
    operation: over.op,
    permission: over.permission ?? 'allow',
  };
}

describe('the authorizer', () => {
  it('denies what no binding allows, and allows what one does', () => {
    const a = new Authorizer([bind({ op: 'read', on: topic('orders') })]);
    expect(a.authorize(alice, 'read', topic('orders')).allowed).toBe(true);
    expect(a.authorize(alice, 'write', topic('orders')).allowed).toBe(false);
    expect(a.authorize(alice, 'read', topic('payments')).allowed).toBe(false);
    expect(a.authorize({ ...alice, principal: 'User:bob' }, 'read', topic('orders')).allowed).toBe(false);
    expect(a.authorize(alice, 'read', group('orders')).allowed).toBe(false);
    expect(new Authorizer([]).authorize(alice, 'describe', CLUSTER).allowed).toBe(false);
  });

  it('a deny wins over any allow, whichever pattern each has', () => {
    const a = new Authorizer([
      bind({ op: 'all', on: topic(WILDCARD) }),
      bind({ op: 'write', on: topic('pay'), prefixed: true, permission: 'deny' }),
    ]);
    expect(a.authorize(alice, 'write', topic('orders')).allowed).toBe(true);
    const d = a.authorize(alice, 'write', topic('payments'));
    expect(d.allowed).toBe(false);
    expect(d.by?.permission).toBe('deny');
    // A deny of write does not deny read.
    expect(a.authorize(alice, 'read', topic('payments')).allowed).toBe(true);
  });

  it('a deny of all denies every operation; an allow of all allows every one', () => {
    const a = new Authorizer([bind({ op: 'all', on: group('g') }), bind({ op: 'all', on: group('h'), permission: 'deny' }), bind({ op: 'read', on: group('h') })]);
    for (const op of OPERATIONS_OF.group) {
      expect(a.authorize(alice, op, group('g')).allowed).toBe(true);
      expect(a.authorize(alice, op, group('h')).allowed).toBe(false);
    }
  });

  it('read, write, delete and alter imply describe; alterConfigs implies describeConfigs; deny implies nothing', () => {
    for (const op of ['read', 'write', 'delete', 'alter'] as const) {
      expect(new Authorizer([bind({ op, on: topic('t') })]).authorize(alice, 'describe', topic('t')).allowed).toBe(true);
    }
    expect(new Authorizer([bind({ op: 'create', on: topic('t') })]).authorize(alice, 'describe', topic('t')).allowed).toBe(false);
    expect(new Authorizer([bind({ op: 'alterConfigs', on: topic('t') })]).authorize(alice, 'describeConfigs', topic('t')).allowed).toBe(true);
    const denyRead = new Authorizer([bind({ op: 'describe', on: topic('t') }), bind({ op: 'read', on: topic('t'), permission: 'deny' })]);
    expect(denyRead.authorize(alice, 'describe', topic('t')).allowed).toBe(true);
  });

  it('User:* applies to every principal, a host to connections from it only', () => {
    const a = new Authorizer([bind({ principal: ANY_USER, op: 'read', on: topic('public') }), bind({ op: 'write', on: topic('public'), host: '10.0.0.9' })]);
    expect(a.authorize({ principal: 'User:ANONYMOUS', host: '1.2.3.4' }, 'read', topic('public')).allowed).toBe(true);
    expect(a.authorize(alice, 'write', topic('public')).allowed).toBe(false);
    expect(a.authorize({ ...alice, host: '10.0.0.9' }, 'write', topic('public')).allowed).toBe(true);
  });

  it('super users may do everything, denies or not', () => {
    const a = new Authorizer([bind({ principal: 'User:root', op: 'all', on: CLUSTER, permission: 'deny' })], ['User:root']);
    expect(a.authorize({ principal: 'User:root', host: 'h' }, 'alter', CLUSTER).allowed).toBe(true);
    expect(a.authorizeAny({ principal: 'User:root', host: 'h' }, 'write', 'topic').allowed).toBe(true);
    expect(a.authorize(alice, 'alter', CLUSTER).allowed).toBe(false);
  });

  it('authorizeAny: some resource of the type allowed and not taken back by a deny', () => {
    const any = (bs: AclBinding[]): boolean => new Authorizer(bs).authorizeAny(alice, 'write', 'topic').allowed;
    expect(any([])).toBe(false);
    expect(any([bind({ op: 'write', on: topic('a') })])).toBe(true);
    expect(any([bind({ op: 'write', on: topic('a') }), bind({ op: 'write', on: topic('a'), permission: 'deny' })])).toBe(false);
    expect(any([bind({ op: 'write', on: topic('ab') }), bind({ op: 'write', on: topic('a'), prefixed: true, permission: 'deny' })])).toBe(false);
    expect(any([bind({ op: 'write', on: topic('ab'), prefixed: true }), bind({ op: 'write', on: topic('abc'), permission: 'deny' })])).toBe(true);
    expect(any([bind({ op: 'write', on: topic(WILDCARD) }), bind({ op: 'write', on: topic(WILDCARD), permission: 'deny' })])).toBe(false);
    expect(any([bind({ op: 'write', on: group('a') })])).toBe(false);
  });

  it('a host is the address part of host:port, an IPv4-mapped address as IPv4', () => {
    expect(hostOf('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(hostOf('::ffff:10.1.2.3:443')).toBe('10.1.2.3');
    expect(hostOf('::1:5000')).toBe('::1');
    expect(hostOf('[::1]:5000')).toBe('::1');
  });
});

// -------------------------------------------------------------------------------------------------
// Properties against a restatement that reads every binding.

const PRINCIPALS = ['User:alice', 'User:bob', ANY_USER];
const HOSTS = ['10.0.0.1', '10.0.0.2'];
const NAMES = ['a', 'ab', 'abc', 'b', 'ba'];

const resourceType = fc.constantFrom<ResourceType>('topic', 'group', 'cluster');
const binding: fc.Arbitrary<AclBinding> = resourceType.chain((type) =>
  fc.record({
    principal: fc.constantFrom(...PRINCIPALS),
    host: fc.constantFrom(WILDCARD, ...HOSTS),
    resource:
      type === 'cluster'
        ? fc.constant({ type, name: CLUSTER.name, pattern: 'literal' as const })
        : fc.oneof(fc.record({ type: fc.constant(type), name: fc.constantFrom(WILDCARD, ...NAMES), pattern: fc.constant('literal' as const) }), fc.record({ type: fc.constant(type), name: fc.constantFrom(...NAMES), pattern: fc.constant('prefixed' as const) })),
    operation: fc.constantFrom(...OPERATIONS_OF[type]),
    permission: fc.constantFrom('allow' as const, 'deny' as const),
  }),
);
const who: fc.Arbitrary<Who> = fc.record({ principal: fc.constantFrom('User:alice', 'User:bob', 'User:carol'), host: fc.constantFrom(...HOSTS) });
const request = resourceType.chain((type) =>
  fc.record({ who, op: fc.constantFrom(...OPERATIONS_OF[type].filter((o) => o !== 'all')), resource: fc.constant(type).chain((t) => (t === 'cluster' ? fc.constant(CLUSTER) : fc.constantFrom(...NAMES).map((name) => ({ type: t, name })))) }),
);

/** Kafka's rules, read off every binding in turn. */
function reference(bindings: readonly AclBinding[], w: Who, op: AclOperation, r: Resource): boolean {
  const applies = bindings.filter((b) => (b.principal === w.principal || b.principal === ANY_USER) && (b.host === WILDCARD || b.host === w.host) && filterMatches({ resourceType: r.type, name: r.name, pattern: 'match' }, b));
  if (applies.some((b) => b.permission === 'deny' && (b.operation === op || b.operation === 'all'))) return false;
  const implied: Partial<Record<AclOperation, AclOperation[]>> = { describe: ['read', 'write', 'delete', 'alter'], describeConfigs: ['alterConfigs'] };
  return applies.some((b) => b.permission === 'allow' && (b.operation === op || b.operation === 'all' || (implied[op] ?? []).includes(b.operation)));
}

describe('the authorizer, over random bindings', () => {
  it('decides as the rules read over every binding do', () => {
    fc.assert(
      fc.property(fc.array(binding, { maxLength: 30 }), request, (bindings, { who: w, op, resource }) => {
        expect(new Authorizer(bindings).authorize(w, op, resource).allowed).toBe(reference(bindings, w, op, resource));
      }),
      { numRuns: RUNS },
    );
  });

  it('a deny that applies denies, whatever else is held; a super user is never denied', () => {
    fc.assert(
      fc.property(fc.array(binding, { maxLength: 30 }), request, fc.boolean(), (bindings, { who: w, op, resource }, all) => {
        const deny: AclBinding = { principal: w.principal, host: WILDCARD, resource: { ...resource, pattern: 'literal' }, operation: all ? 'all' : op, permission: 'deny' };
        expect(new Authorizer([...bindings, deny]).authorize(w, op, resource).allowed).toBe(false);
        expect(new Authorizer([...bindings, deny], [w.principal]).authorize(w, op, resource).allowed).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('an allow more never takes away, a deny more never grants', () => {
    fc.assert(
      fc.property(fc.array(binding, { maxLength: 20 }), binding, request, (bindings, extra, { who: w, op, resource }) => {
        const before = new Authorizer(bindings).authorize(w, op, resource).allowed;
        const after = new Authorizer([...bindings, extra]).authorize(w, op, resource).allowed;
        if (extra.permission === 'allow' && before) expect(after).toBe(true);
        if (extra.permission === 'deny' && !before) expect(after).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('the bindings of other principals change nothing', () => {
    fc.assert(
      fc.property(fc.array(binding, { maxLength: 20 }), request, (bindings, { who: w, op, resource }) => {
        const others = bindings.map((b) => ({ ...b, principal: 'User:mallory' }));
        const mine = bindings.filter((b) => b.principal === w.principal || b.principal === ANY_USER);
        expect(new Authorizer([...mine, ...others]).authorize(w, op, resource).allowed).toBe(new Authorizer(mine).authorize(w, op, resource).allowed);
      }),
      { numRuns: RUNS },
    );
  });

  it('authorizeAny allows whenever some resource of the type is allowed', () => {
    fc.assert(
      fc.property(fc.array(binding, { maxLength: 30 }), request, (bindings, { who: w, op, resource }) => {
        const a = new Authorizer(bindings);
        if (a.authorize(w, op, resource).allowed) expect(a.authorizeAny(w, op, resource.type).allowed).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
