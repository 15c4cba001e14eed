/**
 * ACLs on the Kafka listener, over the fake node (fake-node.ts) with an `acl` authorizer: a
 * refusal reaches a Kafka client as its API's code (TOPIC_AUTHORIZATION_FAILED 29,
 * GROUP_AUTHORIZATION_FAILED 30, CLUSTER_AUTHORIZATION_FAILED 31), Metadata lists only what may
 * be described, and DescribeAcls, CreateAcls and DeleteAcls (keys 29-31) read and change the
 * bindings in Kafka's encoding.
 */
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { filterMatches, type AclBinding } from '../../src/auth/acl.js';
import { NodeAuthorizer } from '../../src/auth/node-authorizer.js';
import type { KafkaNode } from '../../src/kafka/api.js';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import type { KafkaWriter } from '../../src/kafka/codec/writer.js';
import { answer } from '../../src/kafka/dispatch.js';
import { KafkaErrorCode, kafkaCodeOf } from '../../src/kafka/errors.js';
import { newSession, type Session } from '../../src/server/session.js';
import { ErrorCode } from '../../src/wire/protocol.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { fakeKafkaNode } from './fake-node.js';
import { request } from './raw.js';

const admin: Session = { ...newSession('kafka', '127.0.0.1:1'), principal: 'User:admin' };
const alice: Session = { ...newSession('kafka', '127.0.0.1:2'), principal: 'User:alice' };

let held: AclBinding[];
let version: number;
let node: ReturnType<typeof fakeKafkaNode>;

beforeEach(() => {
  held = [];
  version = 0;
  const base = fakeKafkaNode();
  // The bindings in memory, changed as the controller's metadata would change them.
  const acls: KafkaNode['acls'] = {
    createAcls: (req) => {
      for (const b of req.bindings) if (!held.some((h) => JSON.stringify(h) === JSON.stringify(b))) held.push(b);
      version++;
      return Promise.resolve({ results: req.bindings.map(() => ({})) });
    },
    describeAcls: (req) => Promise.resolve({ bindings: held.filter((b) => filterMatches(req.filter, b)) }),
    deleteAcls: (req) => {
      const results = req.filters.map((f) => {
        const removed = held.filter((b) => filterMatches(f, b));
        held = held.filter((b) => !removed.includes(b));
        return { removed };
      });
      version++;
      return Promise.resolve({ results });
    },
  };
  const authorizer = new NodeAuthorizer({ superUsers: [admin.principal], source: () => ({ acls: () => held, aclVersion: () => version }), logger: pino({ level: 'silent' }), denials: { inc: () => undefined } });
  node = Object.assign(base, { acls, authorizer });
});

/** The response body (after the correlation id) of one request. */
async function call(session: Session, key: number, v: number, body: (w: KafkaWriter) => void): Promise<KafkaReader> {
  const a = await answer(node, session, request(key, v, 9, body).subarray(4));
  if (a.kind !== 'reply') throw new Error(`no reply: ${a.kind}`);
  const r = new KafkaReader(Buffer.concat(a.chunks));
  r.int32('size');
  expect(r.int32('correlation id')).toBe(9);
  return r;
}

const produce = (s: Session): Promise<KafkaReader> =>
  call(s, 0, 7, (w) => w.nullableString(null).int16(-1).int32(5000).array(['orders'], (x, t) => x.string(t).array([0], (y, p) => y.int32(p).bytes(encodeBatch([{ value: Buffer.from('v') }])))));

/** Produce v7's error code for orders/0. */
async function produceError(s: Session): Promise<number> {
  const r = await produce(s);
  const [[, [code]]] = r.array((x) => [x.string(), x.array((y) => (y.int32(), y.int16()))] as const);
  return code!;
}

/** Metadata v4's topics: name and error code. */
async function metadata(s: Session, topics: string[] | null): Promise<[string, number][]> {
  const r = await call(s, 3, 4, (w) => {
    if (topics === null) w.int32(-1);
    else w.array(topics, (x, t) => x.string(t));
    w.bool(false);
  });
  r.int32('throttle');
  r.array((x) => (x.int32(), x.string(), x.int32(), x.nullableString()));
  r.nullableString('cluster id');
  r.int32('controller');
  return r.array((x) => {
    const code = x.int16();
    const name = x.string();
    x.bool();
    x.array((y) => (y.int16(), y.int32(), y.int32(), y.array((z) => z.int32()), y.array((z) => z.int32())));
    return [name, code] as [string, number];
  });
}

/** CreateAcls v1 of one binding: resource type, name, pattern, principal, operation, permission (Kafka's codes). */
function creation(w: KafkaWriter, c: readonly [number, string, number, string, number, number]): void {
  w.int8(c[0]).string(c[1]).int8(c[2]).string(c[3]).string('*').int8(c[4]).int8(c[5]);
}

describe('Kafka clients and the ACLs', () => {
  it("get each native refusal as its API's Kafka code", () => {
    expect(kafkaCodeOf(ErrorCode.TopicAuthorizationFailed)).toBe(29);
    expect(kafkaCodeOf(ErrorCode.GroupAuthorizationFailed)).toBe(30);
    expect(kafkaCodeOf(ErrorCode.ClusterAuthorizationFailed)).toBe(31);
  });

  it('a produce, a heartbeat and a producer id refused: 29, 30 and 31; the log unchanged', async () => {
    expect(await produceError(alice)).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    expect(node.partition.batches).toHaveLength(0);
    const hb = await call(alice, 12, 0, (w) => w.string('g').int32(1).string('m'));
    expect(hb.int16()).toBe(KafkaErrorCode.GroupAuthorizationFailed);
    const pid = await call(alice, 22, 0, (w) => w.nullableString(null).int32(1000));
    pid.int32('throttle');
    expect(pid.int16()).toBe(KafkaErrorCode.ClusterAuthorizationFailed);
    // A super user is not refused.
    expect(await produceError(admin)).toBe(KafkaErrorCode.None);
    expect(node.partition.batches).toHaveLength(1);
  });

  it('Metadata of every topic lists those it may describe; a topic named that it may not is 29', async () => {
    expect(await metadata(alice, null)).toEqual([]);
    expect(await metadata(alice, ['orders'])).toEqual([['orders', KafkaErrorCode.TopicAuthorizationFailed]]);
    expect(await metadata(admin, null)).toEqual([['orders', KafkaErrorCode.None]]);
  });

  it('CreateAcls, DescribeAcls and DeleteAcls read and change the bindings, which then decide', async () => {
    // alice may read orders (literal) but not write anything starting with "ord"; a transactional id has no ACLs here.
    const created = await call(admin, 30, 1, (w) =>
      w.array(
        [
          [2, 'orders', 3, 'User:alice', 3, 3],
          [2, 'ord', 4, 'User:alice', 4, 2],
          [5, 'txn', 3, 'User:alice', 4, 3],
        ] as const,
        creation,
      ),
    );
    created.int32('throttle');
    const codes = created.array((x) => {
      const code = x.int16();
      x.nullableString();
      return code;
    });
    expect(codes).toEqual([0, 0, KafkaErrorCode.InvalidRequest]);
    expect(held).toHaveLength(2);

    const described = await call(admin, 29, 1, (w) => w.int8(1).nullableString(null).int8(1).nullableString('User:alice').nullableString(null).int8(1).int8(1));
    described.int32('throttle');
    expect(described.int16()).toBe(0);
    described.nullableString();
    const resources = described.array((x) => ({ type: x.int8(), name: x.string(), pattern: x.int8(), acls: x.array((y) => [y.string(), y.string(), y.int8(), y.int8()]) }));
    expect(resources).toEqual([
      { type: 2, name: 'orders', pattern: 3, acls: [['User:alice', '*', 3, 3]] },
      { type: 2, name: 'ord', pattern: 4, acls: [['User:alice', '*', 4, 2]] },
    ]);

    // read implies describe: alice now sees orders, and still may not write it.
    expect(await metadata(alice, null)).toEqual([['orders', KafkaErrorCode.None]]);
    expect(await produceError(alice)).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    // alice may not list or change ACLs.
    const refused = await call(alice, 29, 1, (w) => w.int8(1).nullableString(null).int8(1).nullableString(null).nullableString(null).int8(1).int8(1));
    refused.int32('throttle');
    expect(refused.int16()).toBe(KafkaErrorCode.ClusterAuthorizationFailed);

    const deleted = await call(admin, 31, 1, (w) => w.array([0], (x) => x.int8(2).nullableString(null).int8(1).nullableString('User:alice').nullableString(null).int8(4).int8(1)));
    deleted.int32('throttle');
    const results = deleted.array((x) => ({ code: x.int16(), message: x.nullableString(), matching: x.array((y) => [y.int16(), y.nullableString(), y.int8(), y.string(), y.int8(), y.string(), y.string(), y.int8(), y.int8()]) }));
    expect(results).toEqual([{ code: 0, message: null, matching: [[0, null, 2, 'ord', 4, 'User:alice', '*', 4, 2]] }]);
    expect(await produceError(alice)).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    expect(held).toHaveLength(1);
  });
});
