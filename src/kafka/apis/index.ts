/**
 * Every Kafka API this listener serves, by key, with the versions it advertises (KAFKA.md: both
 * kafkajs and librdkafka then pick versions with no tagged fields, apart from librdkafka's first
 * ApiVersions v3; Produce from v3 and Fetch from v4 keep librdkafka on the v2 record format, and
 * the group APIs from v0 give it balanced consumer groups).
 */
import type { KafkaApi } from '../api.js';
import { createAcls, deleteAcls, describeAcls } from './acls.js';
import { apiVersions, type ApiRange } from './api-versions.js';
import { alterConfigs, describeConfigs, incrementalAlterConfigs } from './configs.js';
import { deleteGroups } from './delete-groups.js';
import { fetch } from './fetch.js';
import { findCoordinator } from './find-coordinator.js';
import { heartbeat, joinGroup, leaveGroup, syncGroup } from './group-membership.js';
import { describeGroups, listGroups } from './group-views.js';
import { listOffsets } from './list-offsets.js';
import { metadata } from './metadata.js';
import { offsetCommit, offsetFetch } from './offsets.js';
import { produce } from './produce.js';
import { initProducerId } from './producer-id.js';
import { createPartitions, createTopics, deleteTopics } from './topics.js';
import { saslAuthenticate, saslHandshake } from './sasl.js';

const OTHERS: readonly KafkaApi[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  offsetCommit,
  offsetFetch,
  findCoordinator,
  joinGroup,
  heartbeat,
  leaveGroup,
  syncGroup,
  describeGroups,
  listGroups,
  createTopics,
  deleteTopics,
  initProducerId,
  describeAcls,
  createAcls,
  deleteAcls,
  describeConfigs,
  alterConfigs,
  saslHandshake,
  saslAuthenticate,
  createPartitions,
  deleteGroups,
  incrementalAlterConfigs,
];

/** The ranges ApiVersions advertises, by key. */
export const SERVED_RANGES: readonly ApiRange[] = [...OTHERS, apiVersions(() => [])]
  .map((a) => ({ key: a.key, minVersion: a.minVersion, maxVersion: a.maxVersion }))
  .sort((a, b) => a.key - b.key);

export const KAFKA_APIS: ReadonlyMap<number, KafkaApi> = new Map([...OTHERS, apiVersions(() => SERVED_RANGES)].map((a) => [a.key, a]));
