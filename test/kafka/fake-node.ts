/**
 * A KafkaNode (src/kafka/api.ts) for tests of the listener without a cluster: the real native
 * handlers run over it, with one topic `orders` of one partition led here, whose replica keeps
 * produced batches in memory (offsets and the high watermark as a partition gives them). The
 * controller and the coordinator refuse everything: those APIs are tested on real clusters.
 */
import pino from 'pino';
import type { KafkaNode } from '../../src/kafka/api.js';
import type { ServedPartition } from '../../src/server/handlers.js';
import { ServerError } from '../../src/errors.js';
import { ErrorCode, DEFAULT_TOPIC_CONFIG, type Acks } from '../../src/wire/protocol.js';
import { readBatchHeader, writeBaseOffset } from '../../src/wire/record-batch/header.js';
import type { TopicRecord } from '../../src/meta/commands.js';
import { ALLOW_EVERYTHING } from '../../src/auth/node-authorizer.js';
import type { UserRecord } from '../../src/meta/users.js';
import { SaslServer, type AuthMode } from '../../src/server/sasl.js';
import { KafkaListener } from '../../src/kafka/listener.js';

const TOPIC: TopicRecord = { name: 'orders', id: 't1', partitions: 1, replicationFactor: 1, config: DEFAULT_TOPIC_CONFIG, assignments: [['n1']] };

class MemoryPartition {
  readonly batches: Buffer[] = [];
  highWatermark = 0;
  readonly log = { logStartOffset: (): number => 0 };
  private waiters: (() => void)[] = [];

  produce(batch: Uint8Array, _acks: Acks): Promise<number> {
    const b = Buffer.from(batch);
    const base = this.highWatermark;
    writeBaseOffset(b, 0, base);
    this.batches.push(b);
    this.highWatermark += readBatchHeader(b).lastOffsetDelta + 1;
    for (const w of this.waiters.splice(0)) w();
    return Promise.resolve(base);
  }

  confirmLeadership(): Promise<void> {
    return Promise.resolve();
  }

  read(offset: number): { batches: Uint8Array[]; highWatermark: number; logStartOffset: number } {
    if (offset > this.highWatermark) throw new ServerError(ErrorCode.OffsetOutOfRange, `offset ${offset} is past the high watermark ${this.highWatermark}`);
    const batches = this.batches.filter((b) => {
      const h = readBatchHeader(b);
      return h.baseOffset + h.lastOffsetDelta >= offset;
    });
    return { batches, highWatermark: this.highWatermark, logStartOffset: 0 };
  }

  waitForData(offset: number, ms: number, signal?: AbortSignal): Promise<void> {
    if (this.highWatermark > offset || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.waiters = this.waiters.filter((w) => w !== done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  listOffset(): { offset: number } {
    return { offset: this.highWatermark };
  }

  transferLeadership(): Promise<string | null> {
    return Promise.resolve('n1');
  }
}

const refuse = (): Promise<never> => Promise.reject(new ServerError(ErrorCode.NotLeader, 'this fake node is not the controller', null));
const noop = { inc: (): void => undefined, dec: (): void => undefined, observe: (): void => undefined };

/** The fake's authentication: the mode (default none), its users, by name, and why its metadata cannot be trusted now (RaftlogNode.metadataProblem; default never). */
export interface FakeAuth {
  readonly mode?: AuthMode;
  readonly users?: ReadonlyMap<string, UserRecord>;
  readonly metadataProblem?: () => string | null;
}

/** No principal has a quota: nothing is throttled. */
const NO_QUOTAS: KafkaNode['quotas'] = { record: () => 0, fetchBytesMax: () => null };

/** `quotas`: what enforces client quotas (src/server/quotas.ts); none when absent. `auth`: --auth and the users (none and no users when absent). */
export function fakeKafkaNode(kafkaAddress = '127.0.0.1:9092', quotas: KafkaNode['quotas'] = NO_QUOTAS, auth: FakeAuth = {}): KafkaNode & { readonly partition: MemoryPartition } {
  const partition = new MemoryPartition();
  const logger = pino({ level: 'silent' });
  const users = auth.users ?? new Map<string, UserRecord>();
  const metadataProblem = auth.metadataProblem ?? ((): string | null => null);
  return {
    partition,
    quotas,
    config: { id: 'n1', secret: 'fake-cluster-secret' },
    logger,
    sasl: new SaslServer({ mode: auth.mode ?? 'none', self: 'n1', secret: 'fake-cluster-secret', logger, users: () => ({ user: (name) => users.get(name) }), loginProblem: metadataProblem }),
    meta: { topic: (name: string) => (name === TOPIC.name ? TOPIC : undefined), topics: () => [TOPIC], cluster: () => ({ clusterId: 'fake-cluster', metaVoters: ['n1'], since: 1 }) },
    partitions: new Map<string, ServedPartition>([['p:t1:0', partition as unknown as ServedPartition]]),
    brokenPartitions: new Map(),
    controller: {
      createTopics: refuse,
      deleteTopics: refuse,
      initProducerId: refuse,
      reassignPartitions: refuse,
      decommissionNode: refuse,
      recommissionNode: refuse,
      alterReplicationFactor: refuse,
      rebalancePartitions: refuse,
      alterQuotas: refuse,
      describeQuotas: () => ({ quotas: [] }),
      upsertUser: refuse,
      deleteUser: refuse,
      listUsers: refuse,
      alterTopicConfig: refuse,
      createPartitions: refuse,
    },
    coordinator: { join: refuse, sync: refuse, heartbeat: () => ({}), leave: refuse, commit: refuse, fetchOffsets: refuse, listGroups: () => ({ groups: [] }), describeGroups: () => ({ groups: [] }), resetOffsets: refuse, deleteGroups: refuse } as unknown as KafkaNode['coordinator'],
    acls: { createAcls: refuse, describeAcls: refuse, deleteAcls: refuse },
    authorizer: ALLOW_EVERYTHING,
    metrics: { producedBytes: noop, fetchedBytes: noop, requests: noop, requestSeconds: noop, replyBytes: noop, slowClientsClosed: noop },
    nodeIds: () => ['n1'],
    nodeRef: (id) => (id === 'n1' ? { id, address: '127.0.0.1:7001' } : undefined),
    leaderOf: () => ({ leader: 'n1', term: 1 }),
    controllerId: () => 'n1',
    metadataProblem,
    status: () => ({ node: 'n1', address: '127.0.0.1:7001', uptimeMs: 0, peers: [], groups: [] }),
    kafkaAddresses: () => new Map([['n1', kafkaAddress]]),
    clientDial: (id) => (id === 'n1' ? { address: '127.0.0.1:7001' } : undefined),
  };
}

/** A Kafka listener on a loopback port over a fake node with `auth`, which names that listener as its own Kafka address. */
export async function listenOnFakeNode(auth: FakeAuth): Promise<{ listener: KafkaListener; port: number }> {
  let address = '127.0.0.1:0';
  const listener = new KafkaListener({ ...fakeKafkaNode(undefined, undefined, auth), kafkaAddresses: () => new Map([['n1', address]]) });
  await listener.listen('127.0.0.1:0');
  const port = listener.port();
  address = `127.0.0.1:${port}`;
  return { listener, port };
}
