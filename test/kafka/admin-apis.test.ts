/**
 * The admin APIs a kafkajs admin calls besides topics and ACLs, over the fake node (fake-node.ts)
 * with a controller and a coordinator kept in memory: CreatePartitions (37), DescribeConfigs
 * (32), AlterConfigs (33), IncrementalAlterConfigs (44) and DeleteGroups (42), in Kafka's
 * encoding, with their errors, and the rights each needs (src/server/access.ts).
 */
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { AclBinding } from '../../src/auth/acl.js';
import { NodeAuthorizer } from '../../src/auth/node-authorizer.js';
import { ServerError } from '../../src/errors.js';
import type { KafkaNode } from '../../src/kafka/api.js';
import { brokerId } from '../../src/kafka/brokers.js';
import { KafkaReader } from '../../src/kafka/codec/reader.js';
import type { KafkaWriter } from '../../src/kafka/codec/writer.js';
import { answer } from '../../src/kafka/dispatch.js';
import { KafkaErrorCode } from '../../src/kafka/errors.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { newSession, type Session } from '../../src/server/session.js';
import { DEFAULT_TOPIC_CONFIG, ErrorCode, type AlterTopicConfigRequest, type CreatePartitionsRequest } from '../../src/wire/protocol.js';
import { fakeKafkaNode } from './fake-node.js';
import { request } from './raw.js';

const admin: Session = { ...newSession('kafka', '127.0.0.1:1'), principal: 'User:admin' };
const alice: Session = { ...newSession('kafka', '127.0.0.1:2'), principal: 'User:alice' };

const TOPIC = 2;
const BROKER = 4;

let node: ReturnType<typeof fakeKafkaNode>;
let orders: TopicRecord;
let alters: AlterTopicConfigRequest[];
let grows: CreatePartitionsRequest[];
let deletes: string[][];
let acls: AclBinding[];

beforeEach(() => {
  const base = fakeKafkaNode();
  orders = { ...base.meta.topic('orders')! };
  alters = [];
  grows = [];
  deletes = [];
  acls = [];
  const unknown = (name: string): ServerError => new ServerError(ErrorCode.UnknownTopicOrPartition, `topic '${name}' does not exist`);
  // The controller's rules for the requests these APIs make, over one topic in memory.
  const controller: KafkaNode['controller'] = {
    ...base.controller,
    alterTopicConfig: (req) => {
      alters.push(req);
      if (req.topic !== 'orders') return Promise.reject(unknown(req.topic));
      const previous = orders.config;
      const config = { ...previous, ...req.config };
      if (req.dryRun !== true) orders = { ...orders, config };
      return Promise.resolve({ topic: 'orders', previous, config });
    },
    createPartitions: (req) => {
      grows.push(req);
      if (req.topic !== 'orders') return Promise.reject(unknown(req.topic));
      if (req.partitions <= orders.partitions) return Promise.reject(new ServerError(ErrorCode.InvalidPartitions, `topic 'orders' has ${orders.partitions} partitions; it can only grow`));
      const previous = orders.partitions;
      const assignments = Array.from({ length: req.partitions - previous }, () => ['n1']);
      if (req.dryRun !== true) orders = { ...orders, partitions: req.partitions, assignments: [...orders.assignments, ...assignments] };
      return Promise.resolve({ topic: 'orders', previous, partitions: req.partitions, assignments });
    },
  };
  const coordinator = {
    ...base.coordinator,
    deleteGroups: (groups: readonly string[]) => {
      deletes.push([...groups]);
      return Promise.resolve({
        groups: groups.map((group) => {
          if (group === 'idle') return { group };
          if (group === 'busy') return { group, error: { code: ErrorCode.GroupNotEmpty, message: `group 'busy' has active members` } };
          return { group, error: { code: ErrorCode.UnknownGroup, message: `group '${group}' does not exist` } };
        }),
      });
    },
  } as KafkaNode['coordinator'];
  const authorizer = new NodeAuthorizer({ superUsers: [admin.principal], source: () => ({ acls: () => acls, aclVersion: () => acls.length }), logger: pino({ level: 'silent' }), denials: { inc: () => undefined } });
  node = Object.assign(base, {
    controller,
    coordinator,
    authorizer,
    config: { ...base.config, autoCreateTopics: true },
    meta: { ...base.meta, topic: (name: string) => (name === 'orders' ? orders : undefined), topics: () => [orders] },
  });
});

/** The whole response frame of one request (size and correlation id first). */
async function frame(session: Session, key: number, v: number, body: (w: KafkaWriter) => void): Promise<Buffer> {
  const a = await answer(node, session, request(key, v, 9, body).subarray(4));
  if (a.kind !== 'reply') throw new Error(`no reply: ${a.kind === 'close' ? a.reason : a.kind}`);
  return Buffer.concat(a.chunks);
}

/** The response body of one request, past its size and correlation id. */
async function call(session: Session, key: number, v: number, body: (w: KafkaWriter) => void): Promise<KafkaReader> {
  const r = new KafkaReader(await frame(session, key, v, body));
  r.int32('size');
  expect(r.int32('correlation id')).toBe(9);
  return r;
}

interface Config {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** v0: is_default; v1-2: config_source. */
  readonly source: boolean | number;
  readonly synonyms?: readonly (readonly [string, string | null, number])[];
}

interface Described {
  readonly code: number;
  readonly message: string | null;
  readonly type: number;
  readonly name: string;
  readonly configs: readonly Config[];
}

/** DescribeConfigs at `v` of `resources` ([type, name, config names or null]). */
async function describeConfigs(session: Session, v: number, resources: readonly (readonly [number, string, readonly string[] | null])[], synonyms = false): Promise<Described[]> {
  const r = await call(session, 32, v, (w) => {
    w.array(resources, (x, [type, name, names]) => {
      x.int8(type).string(name);
      if (names === null) x.int32(-1);
      else x.array(names, (y, n) => y.string(n));
    });
    if (v >= 1) w.bool(synonyms);
  });
  expect(r.int32('throttle')).toBe(0);
  const out = r.array(
    (x): Described => ({
      code: x.int16(),
      message: x.nullableString(),
      type: x.int8(),
      name: x.string(),
      configs: x.array((y): Config => {
        const name = y.string();
        const value = y.nullableString();
        const readOnly = y.bool();
        const source = v === 0 ? y.bool() : y.int8();
        expect(y.bool(), 'is_sensitive').toBe(false);
        return v === 0 ? { name, value, readOnly, source } : { name, value, readOnly, source, synonyms: y.array((z) => [z.string(), z.nullableString(), z.int8()] as const) };
      }),
    }),
  );
  expect(r.remaining).toBe(0);
  return out;
}

/** AlterConfigs (or, `incremental`, IncrementalAlterConfigs v0) of one resource: [error code, message]. */
async function alterConfigs(session: Session, type: number, name: string, configs: readonly (readonly [string, string | null, number?])[], opts: { incremental?: boolean; validateOnly?: boolean } = {}): Promise<[number, string | null]> {
  const incremental = opts.incremental === true;
  const r = await call(session, incremental ? 44 : 33, incremental ? 0 : 1, (w) => {
    w.array([0], (x) => {
      x.int8(type).string(name);
      x.array(configs, (y, [n, value, op]) => {
        y.string(n);
        if (incremental) y.int8(op ?? 0);
        y.nullableString(value);
      });
    });
    w.bool(opts.validateOnly === true);
  });
  expect(r.int32('throttle')).toBe(0);
  const [res] = r.array((x) => {
    const code = x.int16();
    const message = x.nullableString();
    expect([x.int8(), x.string()]).toEqual([type, name]);
    return [code, message] as [number, string | null];
  });
  expect(r.remaining).toBe(0);
  return res!;
}

/** CreatePartitions v1 of `topics` ([name, count, assignments or null]): [name, code, message] each. */
async function createPartitions(session: Session, topics: readonly (readonly [string, number, (readonly number[])[] | null])[], validateOnly = false): Promise<[string, number, string | null][]> {
  const r = await call(session, 37, 1, (w) => {
    w.array(topics, (x, [name, count, assignments]) => {
      x.string(name).int32(count);
      if (assignments === null) x.int32(-1);
      else x.array(assignments, (y, ids) => y.array([...ids], (z, id) => z.int32(id)));
    });
    w.int32(5000).bool(validateOnly);
  });
  expect(r.int32('throttle')).toBe(0);
  return r.array((x) => [x.string(), x.int16(), x.nullableString()] as [string, number, string | null]);
}

/** DeleteGroups v1 of `groups`: [group, code] each. */
async function deleteGroups(session: Session, groups: readonly string[]): Promise<[string, number][]> {
  const r = await call(session, 42, 1, (w) => w.array(groups, (x, g) => x.string(g)));
  expect(r.int32('throttle')).toBe(0);
  return r.array((x) => [x.string(), x.int16()] as [string, number]);
}

const byName = (configs: readonly Config[]): Map<string, Config> => new Map(configs.map((c) => [c.name, c]));

describe('DescribeConfigs', () => {
  it("v0 lists a topic's configs under Kafka's names, is_default where the value is the default, and cleanup.policy read-only", async () => {
    orders = { ...orders, config: { ...DEFAULT_TOPIC_CONFIG, retentionMs: 3_600_000 } };
    const [d] = await describeConfigs(admin, 0, [[TOPIC, 'orders', null]]);
    expect(d).toMatchObject({ code: 0, message: null, type: TOPIC, name: 'orders' });
    expect(d!.configs).toEqual([
      { name: 'retention.bytes', value: '-1', readOnly: false, source: true },
      { name: 'retention.ms', value: '3600000', readOnly: false, source: false },
      { name: 'segment.bytes', value: String(DEFAULT_TOPIC_CONFIG.segmentBytes), readOnly: false, source: true },
      { name: 'max.message.bytes', value: String(DEFAULT_TOPIC_CONFIG.maxMessageBytes), readOnly: false, source: true },
      { name: 'cleanup.policy', value: 'delete', readOnly: true, source: true },
    ]);
  });

  it('v1-2 give config_source (1 set on the topic, 5 the default) and, asked for, the synonyms down to the broker default', async () => {
    orders = { ...orders, config: { ...DEFAULT_TOPIC_CONFIG, retentionMs: 3_600_000 } };
    for (const v of [1, 2]) {
      const plain = byName((await describeConfigs(admin, v, [[TOPIC, 'orders', null]]))[0]!.configs);
      expect(plain.get('retention.ms')).toEqual({ name: 'retention.ms', value: '3600000', readOnly: false, source: 1, synonyms: [] });
      expect(plain.get('segment.bytes')).toMatchObject({ source: 5, synonyms: [] });
      const withSynonyms = byName((await describeConfigs(admin, v, [[TOPIC, 'orders', null]], true))[0]!.configs);
      expect(withSynonyms.get('retention.ms')!.synonyms).toEqual([
        ['retention.ms', '3600000', 1],
        ['log.retention.ms', String(DEFAULT_TOPIC_CONFIG.retentionMs), 5],
      ]);
      expect(withSynonyms.get('retention.bytes')!.synonyms).toEqual([['log.retention.bytes', '-1', 5]]);
    }
  });

  it('lists only the configs named (unknown names left out); an unknown topic is UNKNOWN_TOPIC_OR_PARTITION in its own resource; another resource type INVALID_REQUEST', async () => {
    const res = await describeConfigs(admin, 2, [
      [TOPIC, 'orders', ['retention.ms', 'colour']],
      [TOPIC, 'missing', null],
      [8, 'orders', null],
    ]);
    expect(res.map((r) => [r.name, r.code, r.configs.map((c) => c.name)])).toEqual([
      ['orders', 0, ['retention.ms']],
      ['missing', KafkaErrorCode.UnknownTopicOrPartition, []],
      ['orders', KafkaErrorCode.InvalidRequest, []],
    ]);
    expect(res[1]!.message).toContain("topic 'missing' does not exist");
  });

  it("describes this node as a broker, read-only, by its broker id or ''; another broker's id is INVALID_REQUEST", async () => {
    const own = String(brokerId('n1'));
    const [byId, asked, other] = await describeConfigs(admin, 1, [
      [BROKER, own, null],
      [BROKER, '', null],
      [BROKER, '12', null],
    ]);
    expect(byId!.code).toBe(0);
    expect(asked!.configs).toEqual(byId!.configs);
    expect(byId!.configs.every((c) => c.readOnly)).toBe(true);
    expect(Object.fromEntries(byId!.configs.map((c) => [c.name, [c.value, c.source]]))).toEqual({
      'broker.id': [own, 4],
      'auto.create.topics.enable': ['true', 4],
      'num.partitions': ['1', 5],
      'default.replication.factor': ['1', 5],
      'log.retention.ms': [String(DEFAULT_TOPIC_CONFIG.retentionMs), 5],
      'log.retention.bytes': ['-1', 5],
      'log.segment.bytes': [String(DEFAULT_TOPIC_CONFIG.segmentBytes), 5],
      'message.max.bytes': [String(DEFAULT_TOPIC_CONFIG.maxMessageBytes), 5],
    });
    expect(other).toMatchObject({ code: KafkaErrorCode.InvalidRequest, configs: [] });
  });
});

describe('AlterConfigs and IncrementalAlterConfigs', () => {
  it("AlterConfigs replaces the topic's configs, as Kafka's does: those named set, the others back to their defaults; DescribeConfigs then shows it", async () => {
    orders = { ...orders, config: { ...DEFAULT_TOPIC_CONFIG, segmentBytes: 2 * 1024 * 1024 } };
    expect(await alterConfigs(admin, TOPIC, 'orders', [['retention.ms', '60000']])).toEqual([0, null]);
    expect(alters).toEqual([{ type: 'alterTopicConfig', topic: 'orders', config: { ...DEFAULT_TOPIC_CONFIG, retentionMs: 60_000 }, timeoutMs: 30_000 }]);
    const d = byName((await describeConfigs(admin, 1, [[TOPIC, 'orders', null]]))[0]!.configs);
    expect(d.get('retention.ms')).toMatchObject({ value: '60000', source: 1 });
    expect(d.get('segment.bytes')).toMatchObject({ value: String(DEFAULT_TOPIC_CONFIG.segmentBytes), source: 5 });
  });

  it('IncrementalAlterConfigs changes only what it names: SET a value, DELETE back to the default', async () => {
    orders = { ...orders, config: { ...DEFAULT_TOPIC_CONFIG, retentionMs: 1000, segmentBytes: 2 * 1024 * 1024 } };
    expect(
      await alterConfigs(
        admin,
        TOPIC,
        'orders',
        [
          ['retention.bytes', '1000000', 0],
          ['retention.ms', null, 1],
          ['cleanup.policy', 'delete', 0],
        ],
        { incremental: true },
      ),
    ).toEqual([0, null]);
    expect(alters[0]!.config).toEqual({ retentionBytes: 1_000_000, retentionMs: DEFAULT_TOPIC_CONFIG.retentionMs });
    expect(orders.config).toEqual({ ...DEFAULT_TOPIC_CONFIG, retentionBytes: 1_000_000, segmentBytes: 2 * 1024 * 1024 });
  });

  it('refuse an unknown config, a value that is no integer or out of range, and cleanup.policy other than delete with INVALID_CONFIG and why; a config named twice INVALID_REQUEST; nothing changes', async () => {
    const refusals = [
      await alterConfigs(admin, TOPIC, 'orders', [['colour', 'blue']]),
      await alterConfigs(admin, TOPIC, 'orders', [['retention.ms', 'soon']]),
      await alterConfigs(admin, TOPIC, 'orders', [['segment.bytes', '5']]),
      await alterConfigs(admin, TOPIC, 'orders', [['cleanup.policy', 'compact']]),
      await alterConfigs(admin, TOPIC, 'orders', [['retention.bytes', '1', 2]], { incremental: true }),
      await alterConfigs(admin, TOPIC, 'orders', [['retention.bytes', '1', 7]], { incremental: true }),
      await alterConfigs(admin, TOPIC, 'orders', [
        ['retention.ms', '1'],
        ['retention.ms', '2'],
      ]),
    ];
    expect(refusals.map(([code]) => code)).toEqual([40, 40, 40, 40, 40, 42, 42]);
    expect(refusals[0]![1]).toContain("topic config 'colour' is not supported; supported: retention.bytes, retention.ms, segment.bytes, max.message.bytes, cleanup.policy");
    expect(refusals[1]![1]).toContain("'retention.ms' must be an integer, not 'soon'");
    expect(refusals[2]![1]).toMatch(/'segment\.bytes' = 5 is refused: .*outside/);
    expect(refusals[3]![1]).toContain('no log compaction');
    expect(refusals[4]![1]).toContain('APPEND');
    expect(alters).toEqual([]);
    expect(orders.config).toEqual(DEFAULT_TOPIC_CONFIG);
  });

  it('validate_only is the native dry run: checked by the controller, nothing changed', async () => {
    expect(await alterConfigs(admin, TOPIC, 'orders', [['retention.ms', '60000']], { validateOnly: true })).toEqual([0, null]);
    expect(await alterConfigs(admin, TOPIC, 'missing', [['retention.ms', '60000']], { incremental: true, validateOnly: true })).toEqual([KafkaErrorCode.UnknownTopicOrPartition, "topic 'missing' does not exist"]);
    expect(alters.map((a) => a.dryRun)).toEqual([true, true]);
    expect(orders.config).toEqual(DEFAULT_TOPIC_CONFIG);
  });

  it("a broker's configs are read-only (INVALID_REQUEST); a node that is not the controller answers NOT_CONTROLLER", async () => {
    expect((await alterConfigs(admin, BROKER, String(brokerId('n1')), [['num.partitions', '3']]))[0]).toBe(KafkaErrorCode.InvalidRequest);
    Object.assign(node, { controller: fakeKafkaNode().controller });
    expect((await alterConfigs(admin, TOPIC, 'orders', [['retention.ms', '60000']]))[0]).toBe(KafkaErrorCode.NotController);
  });
});

describe('CreatePartitions', () => {
  it('grows a topic to the count asked (the new total); kafkajs sends no assignments as null', async () => {
    expect(await createPartitions(admin, [['orders', 3, null]])).toEqual([['orders', 0, null]]);
    expect(grows).toEqual([{ type: 'createPartitions', topic: 'orders', partitions: 3, timeoutMs: 5000 }]);
    expect(orders.partitions).toBe(3);
  });

  it('answers each topic on its own: fewer partitions INVALID_PARTITIONS, an unknown topic UNKNOWN_TOPIC_OR_PARTITION, a topic named twice or replicas placed by hand INVALID_REQUEST', async () => {
    const res = await createPartitions(admin, [
      ['orders', 1, null],
      ['missing', 2, null],
      ['zero', 0, []],
      ['twice', 2, null],
      ['twice', 3, null],
      ['placed', 2, [[1, 2]]],
    ]);
    expect(res.map(([name, code]) => [name, code])).toEqual([
      ['orders', KafkaErrorCode.InvalidPartitions],
      ['missing', KafkaErrorCode.UnknownTopicOrPartition],
      ['zero', KafkaErrorCode.InvalidPartitions],
      ['twice', KafkaErrorCode.InvalidRequest],
      ['twice', KafkaErrorCode.InvalidRequest],
      ['placed', KafkaErrorCode.InvalidRequest],
    ]);
    expect(res[0]![2]).toContain('it can only grow');
    expect(res[2]![2]).toContain('not 0');
    // The count of 0, the duplicates and the placement never reached the controller.
    expect(grows.map((g) => g.topic)).toEqual(['orders', 'missing']);
  });

  it('validate_only is the native dry run: placed by the controller, not made', async () => {
    expect(await createPartitions(admin, [['orders', 4, null]], true)).toEqual([['orders', 0, null]]);
    expect(grows[0]!.dryRun).toBe(true);
    expect(orders.partitions).toBe(1);
  });
});

describe('DeleteGroups', () => {
  it('answers each group: deleted, NON_EMPTY_GROUP (68), GROUP_ID_NOT_FOUND (69), an empty id INVALID_GROUP_ID (24), byte for byte', async () => {
    const bytes = await frame(admin, 42, 1, (w) => w.array(['idle', 'busy', 'never', ''], (x, g) => x.string(g)));
    // size, correlation id, throttle_time_ms, results [group_id string, error_code int16]
    const body = Buffer.from([0, 0, 0, 0, 0, 0, 0, 4, 0, 4, ...Buffer.from('idle'), 0, 0, 0, 4, ...Buffer.from('busy'), 0, 68, 0, 5, ...Buffer.from('never'), 0, 69, 0, 0, 0, 24]);
    const head = Buffer.alloc(8);
    head.writeInt32BE(4 + body.length, 0);
    head.writeInt32BE(9, 4);
    expect(bytes).toEqual(Buffer.concat([head, body]));
    expect(deletes).toEqual([['idle', 'busy', 'never']]);
  });

  it('v0 has the same layout; a node that is not the coordinator answers NOT_COORDINATOR for each group', async () => {
    Object.assign(node, { coordinator: { ...node.coordinator, deleteGroups: () => Promise.reject(new ServerError(ErrorCode.NotCoordinator, 'this node is not the coordinator')) } });
    const r = await call(admin, 42, 0, (w) => w.array(['a', 'b'], (x, g) => x.string(g)));
    r.int32('throttle');
    expect(r.array((x) => [x.string(), x.int16()])).toEqual([
      ['a', KafkaErrorCode.NotCoordinator],
      ['b', KafkaErrorCode.NotCoordinator],
    ]);
  });
});

describe('the rights these APIs need, as Kafka names them', () => {
  it('a principal no ACL allows: each refused in its own place with its resource type\'s code, and nothing changed', async () => {
    const [topic, broker] = await describeConfigs(alice, 1, [
      [TOPIC, 'orders', null],
      [BROKER, '', null],
    ]);
    expect([topic!.code, broker!.code]).toEqual([KafkaErrorCode.TopicAuthorizationFailed, KafkaErrorCode.ClusterAuthorizationFailed]);
    expect((await alterConfigs(alice, TOPIC, 'orders', [['retention.ms', '1']]))[0]).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    expect((await alterConfigs(alice, TOPIC, 'orders', [['retention.ms', '1']], { incremental: true }))[0]).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    expect((await createPartitions(alice, [['orders', 3, null]]))[0]![1]).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    expect(await deleteGroups(alice, ['idle'])).toEqual([['idle', KafkaErrorCode.GroupAuthorizationFailed]]);
    expect([alters, grows, deletes]).toEqual([[], [], []]);
  });

  it('describeConfigs on a topic lets describe it, alterConfigs alter its configs (and describe them), alter grow it, delete on a group delete it', async () => {
    const allow = (type: 'topic' | 'group', name: string, operation: AclBinding['operation']): AclBinding => ({ principal: alice.principal, host: '*', resource: { type, name, pattern: 'literal' }, operation, permission: 'allow' });
    acls = [allow('topic', 'orders', 'describeConfigs')];
    expect((await describeConfigs(alice, 1, [[TOPIC, 'orders', ['retention.ms']]]))[0]!.code).toBe(0);
    expect((await alterConfigs(alice, TOPIC, 'orders', [['retention.ms', '1']]))[0]).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    acls = [allow('topic', 'orders', 'alterConfigs')];
    expect((await alterConfigs(alice, TOPIC, 'orders', [['retention.ms', '1']]))[0]).toBe(0);
    expect((await describeConfigs(alice, 1, [[TOPIC, 'orders', ['retention.ms']]]))[0]!.configs[0]!.value).toBe('1');
    expect((await createPartitions(alice, [['orders', 3, null]]))[0]![1]).toBe(KafkaErrorCode.TopicAuthorizationFailed);
    acls = [allow('topic', 'orders', 'alter'), allow('group', 'idle', 'delete')];
    expect((await createPartitions(alice, [['orders', 3, null]]))[0]![1]).toBe(0);
    expect(await deleteGroups(alice, ['idle', 'busy'])).toEqual([
      ['idle', 0],
      ['busy', KafkaErrorCode.GroupAuthorizationFailed],
    ]);
    expect(deletes).toEqual([['idle']]);
  });
});
