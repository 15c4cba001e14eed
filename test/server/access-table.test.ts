/**
 * Every request type has its rule (src/server/access.ts): run as a principal no ACL allows
 * anything, each is refused with an AUTHORIZATION_FAILED code, whole or item by item, before any
 * part of the node that could change something is called. A listing may still run, to answer an
 * empty list. SAMPLES is typed over every request type, so a new type does not compile until it
 * is here.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { NodeAuthorizer } from '../../src/auth/node-authorizer.js';
import { ServerError } from '../../src/errors.js';
import { handle, type HandlerNode } from '../../src/server/handlers.js';
import { newSession } from '../../src/server/session.js';
import { isAuthorizationFailure, type ErrorCode, type Request, type RequestType } from '../../src/wire/protocol.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';

const T = 'orders';
const G = 'billing';
const offsets = [{ topic: T, partition: 0, offset: 1, metadata: '' }];

/** Every request type but the SASL exchange, which needs no right (it is how a connection gets its principal; test/server/sasl.test.ts). */
type Checked = Exclude<RequestType, 'saslHandshake' | 'saslAuthenticate'>;

const SAMPLES: { readonly [K in Checked]: Extract<Request, { type: K }> } = {
  metadata: { type: 'metadata', topics: [T] },
  produce: { type: 'produce', acks: 'all', timeoutMs: 1000, batches: [{ topic: T, partition: 0, records: encodeBatch([{ value: Buffer.from('v') }]) }] },
  fetch: { type: 'fetch', maxWaitMs: 0, minBytes: 1, maxBytes: 1000, partitions: [{ topic: T, partition: 0, offset: 0, maxBytes: 1000 }] },
  listOffsets: { type: 'listOffsets', partitions: [{ topic: T, partition: 0, spec: 'latest' }] },
  createTopics: { type: 'createTopics', topics: [{ name: 'new', partitions: 1, replicationFactor: 1 }], timeoutMs: 1000 },
  deleteTopics: { type: 'deleteTopics', topics: [T], timeoutMs: 1000 },
  initProducerId: { type: 'initProducerId', timeoutMs: 1000 },
  status: { type: 'status' },
  transferLeadership: { type: 'transferLeadership', topic: T, partition: 0, to: 'n2', timeoutMs: 1000 },
  reassignPartitions: { type: 'reassignPartitions', partitions: [{ topic: T, partition: 0, replicas: ['n1'] }], timeoutMs: 1000 },
  decommissionNode: { type: 'decommissionNode', node: 'n1', timeoutMs: 1000 },
  recommissionNode: { type: 'recommissionNode', node: 'n1', timeoutMs: 1000 },
  alterReplicationFactor: { type: 'alterReplicationFactor', topic: T, replicationFactor: 1, timeoutMs: 1000 },
  rebalancePartitions: { type: 'rebalancePartitions', timeoutMs: 1000 },
  findCoordinator: { type: 'findCoordinator', group: G },
  joinGroup: { type: 'joinGroup', group: G, memberId: '', clientId: 'c', protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array(0) }], sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 1000 },
  syncGroup: { type: 'syncGroup', group: G, generation: 1, memberId: 'm', assignments: [] },
  heartbeat: { type: 'heartbeat', group: G, generation: 1, memberId: 'm' },
  leaveGroup: { type: 'leaveGroup', group: G, memberId: 'm' },
  commitOffsets: { type: 'commitOffsets', group: G, generation: -1, memberId: '', offsets, timeoutMs: 1000 },
  fetchOffsets: { type: 'fetchOffsets', group: G, partitions: [{ topic: T, partition: 0 }] },
  listGroups: { type: 'listGroups' },
  describeGroups: { type: 'describeGroups', groups: [G] },
  resetOffsets: { type: 'resetOffsets', group: G, offsets, timeoutMs: 1000 },
  deleteGroups: { type: 'deleteGroups', groups: [G], timeoutMs: 1000 },
  createAcls: { type: 'createAcls', bindings: [{ principal: 'User:mallory', host: '*', resource: { type: 'cluster', name: 'kafka-cluster', pattern: 'literal' }, operation: 'all', permission: 'allow' }], timeoutMs: 1000 },
  describeAcls: { type: 'describeAcls', filter: {} },
  deleteAcls: { type: 'deleteAcls', filters: [{}], timeoutMs: 1000 },
  alterQuotas: { type: 'alterQuotas', entries: [{ entity: 'User:mallory', producerByteRate: null }], timeoutMs: 1000 },
  describeQuotas: { type: 'describeQuotas' },
  upsertUser: { type: 'upsertUser', name: 'mallory', credentials: { 'SCRAM-SHA-256': { mechanism: 'SCRAM-SHA-256', iterations: 4096, salt: new Uint8Array(16), storedKey: new Uint8Array(32), serverKey: new Uint8Array(32) } }, timeoutMs: 1000 },
  deleteUser: { type: 'deleteUser', name: 'alice', timeoutMs: 1000 },
  listUsers: { type: 'listUsers' },
  alterTopicConfig: { type: 'alterTopicConfig', topic: T, config: { retentionMs: 1000 }, timeoutMs: 1000 },
  createPartitions: { type: 'createPartitions', topic: T, partitions: 4, timeoutMs: 1000 },
  describeConfigs: { type: 'describeConfigs', topics: [T], node: true },
};

/** Calls that only read, which a listing may make to answer an empty list. */
const READS = new Set(['coordinator.listGroups', 'status']);

/** The fake node with every part that acts recording its calls. */
function spiedNode(): { node: HandlerNode; calls: string[] } {
  const base = fakeKafkaNode();
  const calls: string[] = [];
  const spy = <O extends object>(name: string, o: O): O =>
    new Proxy(o, {
      get(target, key, receiver) {
        const v: unknown = Reflect.get(target, key, receiver);
        if (typeof v !== 'function' || typeof key !== 'string') return v;
        return (...args: unknown[]) => {
          calls.push(`${name}.${key}`);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  const partition = spy('partition', base.partition);
  const node: HandlerNode = {
    ...base,
    controller: spy('controller', base.controller),
    coordinator: spy('coordinator', base.coordinator),
    acls: spy('acls', base.acls),
    partitions: new Map([['p:t1:0', partition as unknown as ReturnType<typeof base.partitions.get> & object]]),
    status: () => {
      calls.push('status');
      return base.status();
    },
    authorizer: new NodeAuthorizer({ superUsers: [], source: () => ({ acls: () => [], aclVersion: () => 0 }), logger: pino({ level: 'silent' }), denials: { inc: () => undefined } }),
  };
  return { node, calls };
}

/** Every error code anywhere in an answer. */
function codesIn(v: unknown): ErrorCode[] {
  if (Array.isArray(v)) return v.flatMap(codesIn);
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return [];
  const o = v as Record<string, unknown>;
  const own = typeof o['code'] === 'string' && typeof o['message'] === 'string' ? [o['code'] as ErrorCode] : [];
  return [...own, ...Object.values(o).flatMap(codesIn)];
}

describe('a principal no ACL allows anything', () => {
  for (const type of Object.keys(SAMPLES) as Checked[]) {
    it(`is refused ${type}, and nothing that acts is called`, async () => {
      const { node, calls } = spiedNode();
      const session = { ...newSession('client', '127.0.0.1:1'), principal: 'User:mallory' };
      let codes: ErrorCode[];
      try {
        const res = await handle(node, SAMPLES[type], session);
        codes = codesIn(res);
        if (type === 'listGroups') expect(res).toEqual({ groups: [] });
        else expect(codes.length).toBeGreaterThan(0);
      } catch (err) {
        if (!(err instanceof ServerError)) throw err;
        codes = [err.code];
      }
      expect(codes.every(isAuthorizationFailure)).toBe(true);
      expect(calls.filter((c) => !READS.has(c))).toEqual([]);
    });
  }
});
