/**
 * fast-check arbitraries of well-formed client requests (src/wire/protocol.ts), one per request
 * type, within every limit of LIMITS: what a client may send. Shared by the validator's tests
 * (test/wire/validate.test.ts) and the fuzz suite (test/fuzz/).
 */
import fc from 'fast-check';
import { LIMITS, PRODUCER_EPOCH_MAX, REQUEST_TYPES, TOPIC_NAME, USER_NAME, type Request, type RequestType, type ScramCredentialSpec } from '../../src/wire/protocol.js';
import { SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, SCRAM_SALT_BYTES_MAX, SCRAM_SALT_BYTES_MIN, scramKeyBytes, type ScramMechanism } from '../../src/auth/scram.js';
import { ACL_NAME_LENGTH_MAX, OPERATIONS, OPERATIONS_OF, RESOURCE_TYPES, type AclPermission, type PatternType, type ResourceType } from '../../src/auth/acl.js';


const CONTROL = /[\u0000-\u001f\u007f]/;
const topic = fc.stringMatching(TOPIC_NAME).filter((n) => n !== '.' && n !== '..');
/** A group, member or client id: 1 to 40 characters, none a control character. */
export const ident = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((s) => !CONTROL.test(s));
const identOrEmpty = fc.oneof(fc.constant(''), ident);
const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength }).filter((s) => s.length <= maxLength);
const partition = fc.integer({ min: 0, max: LIMITS.partitionsPerTopicMax - 1 });
const offset = fc.maxSafeNat();
const timeoutMs = fc.integer({ min: 1, max: LIMITS.requestTimeoutMsMax });
const maxMoves = fc.integer({ min: 1, max: LIMITS.movesAtOnceMax });
const bytes = fc.uint8Array({ maxLength: 32 });
const few = <T>(a: fc.Arbitrary<T>, minLength = 0): fc.Arbitrary<T[]> => fc.array(a, { minLength, maxLength: 4 });
const committed = fc.record({ topic, partition, offset, metadata: text(LIMITS.offsetMetadataLengthMax) });
const principal = fc.oneof(fc.constant('User:*'), ident.map((n) => `User:${n}`)).filter((p) => p.length <= ACL_NAME_LENGTH_MAX);
const aclText = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((n) => n !== '*');
// Topics and groups only: a cluster binding's name may be left out, which the schema below cannot say.
const aclBinding = fc
  .tuple(fc.constantFrom<ResourceType>('topic', 'group'), fc.constantFrom<PatternType>('literal', 'prefixed'))
  .chain(([type, pattern]) =>
    fc.record({
      principal,
      host: fc.oneof(fc.constant('*'), aclText),
      resource: fc.record({ type: fc.constant(type), name: pattern === 'literal' ? fc.oneof(fc.constant('*'), aclText) : aclText, pattern: fc.constant(pattern) }),
      operation: fc.constantFrom(...OPERATIONS_OF[type]),
      permission: fc.constantFrom<AclPermission>('allow', 'deny'),
    }),
  );
const aclFilter = fc.record(
  {
    principal,
    host: aclText,
    resourceType: fc.constantFrom(...RESOURCE_TYPES),
    name: aclText,
    pattern: fc.constantFrom('literal' as const, 'prefixed' as const, 'match' as const),
    operation: fc.constantFrom(...OPERATIONS),
    permission: fc.constantFrom<AclPermission>('allow', 'deny'),
  },
  { requiredKeys: [] },
);
const quotaEntity = fc.oneof(fc.constant('<default>'), ident.map((name) => `User:${name}`));
const byteRate = fc.option(fc.integer({ min: 1, max: LIMITS.quotaByteRateMax }), { nil: null });
// Each sets or removes at least one rate.
const quotaAlteration = fc
  .record({ entity: quotaEntity, producerByteRate: byteRate, consumerByteRate: byteRate }, { requiredKeys: ['entity'] })
  .filter((a) => a.producerByteRate !== undefined || a.consumerByteRate !== undefined);

const userName = fc.stringMatching(USER_NAME).filter((n) => n !== 'ANONYMOUS');
/** A credential of `mechanism`: its keys as long as its hash's output. */
function scramCredential<M extends ScramMechanism>(mechanism: M): fc.Arbitrary<ScramCredentialSpec & { readonly mechanism: M }> {
  const key = fc.uint8Array({ minLength: scramKeyBytes(mechanism), maxLength: scramKeyBytes(mechanism) });
  return fc.record({
    mechanism: fc.constant(mechanism),
    iterations: fc.integer({ min: SCRAM_ITERATIONS_MIN, max: SCRAM_ITERATIONS_MAX }),
    salt: fc.uint8Array({ minLength: SCRAM_SALT_BYTES_MIN, maxLength: SCRAM_SALT_BYTES_MAX }),
    storedKey: key,
    serverKey: key,
  });
}

export const REQUESTS: { readonly [K in RequestType]: fc.Arbitrary<Extract<Request, { type: K }>> } = {
  metadata: fc.record({ type: fc.constant('metadata'), topics: few(topic) }, { requiredKeys: ['type'] }),
  produce: fc.record({
    type: fc.constant('produce'),
    acks: fc.constantFrom('all', 'leader', 'none'),
    timeoutMs,
    batches: few(fc.record({ topic, partition, records: bytes })),
  }),
  fetch: fc.record({
    type: fc.constant('fetch'),
    maxWaitMs: fc.integer({ min: 0, max: LIMITS.fetchWaitMsMax }),
    minBytes: fc.integer({ min: 0, max: LIMITS.fetchBytesMax }),
    maxBytes: fc.integer({ min: 1, max: LIMITS.fetchBytesMax }),
    // Each partition once: a fetch naming one twice is refused (below).
    partitions: fc.uniqueArray(fc.record({ topic, partition, offset, maxBytes: fc.integer({ min: 1, max: LIMITS.fetchBytesMax }) }), { maxLength: 4, selector: (p) => `${p.topic}/${p.partition}` }),
  }),
  listOffsets: fc.record({
    type: fc.constant('listOffsets'),
    partitions: few(fc.record({ topic, partition, spec: fc.oneof(fc.constantFrom('earliest', 'latest'), fc.record({ timestamp: fc.maxSafeInteger() })) })),
  }),
  createTopics: fc.record({
    type: fc.constant('createTopics'),
    topics: few(
      fc.record(
        {
          name: topic,
          partitions: fc.integer({ min: -1, max: LIMITS.partitionsPerTopicMax }),
          replicationFactor: fc.integer({ min: -1, max: LIMITS.replicationFactorMax }),
          config: fc.record(
            {
              retentionBytes: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
              retentionMs: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
              segmentBytes: fc.integer({ min: LIMITS.topicSegmentBytesMin, max: LIMITS.topicSegmentBytesMax }),
              maxMessageBytes: fc.integer({ min: LIMITS.topicMessageBytesMin, max: LIMITS.topicMessageBytesMax }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['name', 'partitions', 'replicationFactor'] },
      ),
    ),
    timeoutMs,
  }),
  deleteTopics: fc.record({ type: fc.constant('deleteTopics'), topics: few(topic), timeoutMs }),
  initProducerId: fc
    .record(
      {
        type: fc.constant('initProducerId'),
        timeoutMs,
        transactionalId: ident,
        reinit: fc.record({ producerId: fc.maxSafeNat(), producerEpoch: fc.integer({ min: 0, max: PRODUCER_EPOCH_MAX }) }),
      },
      { requiredKeys: ['type', 'timeoutMs'] },
    )
    .map(({ reinit, ...r }) => ({ ...r, ...reinit })),
  status: fc.constant({ type: 'status' }),
  transferLeadership: fc.record({ type: fc.constant('transferLeadership'), topic, partition, to: text(LIMITS.nodeIdLengthMax), timeoutMs }),
  reassignPartitions: fc.record({ type: fc.constant('reassignPartitions'), partitions: few(fc.record({ topic, partition, replicas: few(text(LIMITS.nodeIdLengthMax)) })), timeoutMs }),
  decommissionNode: fc.record({ type: fc.constant('decommissionNode'), node: text(LIMITS.nodeIdLengthMax), maxMoves, timeoutMs }, { requiredKeys: ['type', 'node', 'timeoutMs'] }),
  recommissionNode: fc.record({ type: fc.constant('recommissionNode'), node: text(LIMITS.nodeIdLengthMax), timeoutMs }),
  alterReplicationFactor: fc.record(
    { type: fc.constant('alterReplicationFactor'), topic, replicationFactor: fc.integer({ min: 1, max: LIMITS.replicationFactorMax }), maxMoves, timeoutMs },
    { requiredKeys: ['type', 'topic', 'replicationFactor', 'timeoutMs'] },
  ),
  rebalancePartitions: fc.record({ type: fc.constant('rebalancePartitions'), maxMoves, dryRun: fc.boolean(), timeoutMs }, { requiredKeys: ['type', 'timeoutMs'] }),
  findCoordinator: fc.record({ type: fc.constant('findCoordinator'), group: ident }),
  joinGroup: fc.record({
    type: fc.constant('joinGroup'),
    group: ident,
    memberId: identOrEmpty,
    clientId: identOrEmpty,
    protocolType: ident,
    protocols: few(fc.record({ name: ident, metadata: bytes }), 1),
    sessionTimeoutMs: fc.integer({ min: LIMITS.sessionTimeoutMsMin, max: LIMITS.sessionTimeoutMsMax }),
    rebalanceTimeoutMs: timeoutMs,
  }),
  syncGroup: fc.record({
    type: fc.constant('syncGroup'),
    group: ident,
    generation: fc.maxSafeNat(),
    memberId: ident,
    assignments: few(fc.record({ memberId: ident, assignment: bytes })),
  }),
  heartbeat: fc.record({ type: fc.constant('heartbeat'), group: ident, generation: fc.maxSafeNat(), memberId: ident }),
  leaveGroup: fc.record({ type: fc.constant('leaveGroup'), group: ident, memberId: ident }),
  commitOffsets: fc.record({
    type: fc.constant('commitOffsets'),
    group: ident,
    generation: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
    memberId: identOrEmpty,
    offsets: few(committed),
    timeoutMs,
  }),
  fetchOffsets: fc.record({ type: fc.constant('fetchOffsets'), group: ident, partitions: few(fc.record({ topic, partition })) }, { requiredKeys: ['type', 'group'] }),
  listGroups: fc.constant({ type: 'listGroups' }),
  describeGroups: fc.record({ type: fc.constant('describeGroups'), groups: few(ident) }),
  resetOffsets: fc.record({ type: fc.constant('resetOffsets'), group: ident, offsets: few(committed), timeoutMs }),
  deleteGroups: fc.record({ type: fc.constant('deleteGroups'), groups: few(ident), timeoutMs }),
  createAcls: fc.record({ type: fc.constant('createAcls'), bindings: few(aclBinding), timeoutMs }),
  describeAcls: fc.record({ type: fc.constant('describeAcls'), filter: aclFilter }),
  deleteAcls: fc.record({ type: fc.constant('deleteAcls'), filters: few(aclFilter), timeoutMs }),
  saslHandshake: fc.record({ type: fc.constant('saslHandshake'), mechanism: text(LIMITS.saslMechanismLengthMax) }),
  saslAuthenticate: fc.record({ type: fc.constant('saslAuthenticate'), bytes }),
  upsertUser: fc.record({
    type: fc.constant('upsertUser'),
    name: userName,
    // One credential per mechanism, at least one.
    credentials: fc.record({ 'SCRAM-SHA-256': scramCredential('SCRAM-SHA-256'), 'SCRAM-SHA-512': scramCredential('SCRAM-SHA-512') }, { requiredKeys: [] }).filter((c) => Object.keys(c).length > 0),
    timeoutMs,
  }),
  deleteUser: fc.record({ type: fc.constant('deleteUser'), name: userName, timeoutMs }),
  listUsers: fc.record({ type: fc.constant('listUsers') }),
  alterQuotas: fc.record({ type: fc.constant('alterQuotas'), entries: few(quotaAlteration), timeoutMs }),
  describeQuotas: fc.constant({ type: 'describeQuotas' }),
  alterTopicConfig: fc.record({
    type: fc.constant('alterTopicConfig'),
    topic,
    config: fc.record(
      {
        retentionBytes: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
        retentionMs: fc.integer({ min: -1, max: Number.MAX_SAFE_INTEGER }),
        segmentBytes: fc.integer({ min: LIMITS.topicSegmentBytesMin, max: LIMITS.topicSegmentBytesMax }),
        maxMessageBytes: fc.integer({ min: LIMITS.topicMessageBytesMin, max: LIMITS.topicMessageBytesMax }),
      },
      { requiredKeys: [] },
    ),
    dryRun: fc.boolean(),
    timeoutMs,
  }, { requiredKeys: ['type', 'topic', 'config', 'timeoutMs'] }),
  createPartitions: fc.record({ type: fc.constant('createPartitions'), topic, partitions: fc.integer({ min: 1, max: LIMITS.partitionsPerTopicMax }), dryRun: fc.boolean(), timeoutMs }, { requiredKeys: ['type', 'topic', 'partitions', 'timeoutMs'] }),
  describeConfigs: fc.record({ type: fc.constant('describeConfigs'), topics: few(topic), node: fc.boolean() }, { requiredKeys: ['type', 'topics'] }),
};

/** A well-formed request of type `t`. */
export const requestOf = (t: RequestType): fc.Arbitrary<Request> => REQUESTS[t];
/** A well-formed request of any type. */
export const anyRequest: fc.Arbitrary<Request> = fc.oneof(...REQUEST_TYPES.map(requestOf));
