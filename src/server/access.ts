/**
 * What each request needs to be allowed, checked before it runs (so a refused request changes
 * nothing), as Kafka checks its APIs. One table: `admit` switches over every request type.
 *
 *   metadata            describe topic; every topic: only those it may describe are listed
 *   produce             write topic, per batch
 *   fetch               read topic, per partition
 *   listOffsets         describe topic, per partition
 *   createTopics        create on the cluster, or else on the topic, per topic
 *   deleteTopics        delete topic, per topic
 *   initProducerId      idempotentWrite on the cluster, or write on some topic
 *   status, describeAcls                               describe cluster
 *   transferLeadership, reassignPartitions, decommissionNode, recommissionNode,
 *   alterReplicationFactor, rebalancePartitions, createAcls, deleteAcls        alter cluster
 *   findCoordinator     describe group
 *   joinGroup, syncGroup, heartbeat, leaveGroup        read group
 *   commitOffsets, resetOffsets   read group; read topic, per partition
 *   fetchOffsets        describe group; describe topic, per partition (every partition: only
 *                       those of topics it may describe)
 *   listGroups          describe cluster lists every group, else those it may describe
 *   describeGroups      describe group, per group
 *   deleteGroups        delete group, per group
 *   alterQuotas         alterConfigs on the cluster; describeQuotas: describeConfigs on the
 *                       cluster (Kafka's AlterClientQuotas and DescribeClientQuotas)
 *   alterTopicConfig    alterConfigs topic; createPartitions: alter topic
 *   describeConfigs     describeConfigs topic, per topic; the node's settings: describeConfigs
 *                       on the cluster (Kafka's DescribeConfigs of a broker)
 *
 * A request that needs one thing is refused whole, with a ServerError of TOPIC_, GROUP_ or
 * CLUSTER_AUTHORIZATION_FAILED. One that carries several topics, partitions or groups is split,
 * as Kafka does per partition: the allowed part runs, the refused items get that error in their
 * place of the answer. A listing leaves out what the principal may not describe, and does not
 * count that as a refusal; a refusal is reported to the authorizer (logged and counted).
 */
import { CLUSTER, describeResource, type AclOperation, type Resource, type ResourceType } from '../auth/acl.js';
import type { Decision } from '../auth/authorizer.js';
import type { RequestAuthorizer } from '../auth/node-authorizer.js';
import { ServerError } from '../errors.js';
import {
  ErrorCode,
  type ApiError,
  type CommitOffsetsResponse,
  type CommittedOffset,
  type DescribeConfigsResponse,
  type DescribeGroupsResponse,
  type FetchOffsetsResponse,
  type FetchResponse,
  type GroupResultsResponse,
  type ListGroupsResponse,
  type ListOffsetsResponse,
  type MetadataResponse,
  type ProduceResponse,
  type ProduceResult,
  type Request,
  type TopicResult,
} from '../wire/protocol.js';
import type { Session } from './session.js';

/** What `handle` does with a request once it is checked. */
export type Gate =
  /** Everything it needs is allowed: run it as it is. */
  | { readonly kind: 'pass' }
  /** Nothing of it is allowed, and the answer says so item by item: send this, run nothing. */
  | { readonly kind: 'answer'; readonly response: unknown }
  /** Run `request` (the allowed part), then make the answer of the whole with `merge`. */
  | { readonly kind: 'narrow'; readonly request: Request; readonly merge: (response: unknown) => unknown };

const PASS: Gate = { kind: 'pass' };

const ERROR_OF: Readonly<Record<ResourceType, ErrorCode>> = {
  topic: ErrorCode.TopicAuthorizationFailed,
  group: ErrorCode.GroupAuthorizationFailed,
  cluster: ErrorCode.ClusterAuthorizationFailed,
};

/**
 * Checks `req` for `session` (see the table above). Throws a ServerError when the whole request is
 * refused; otherwise says how to run it.
 */
export function admit(authz: RequestAuthorizer, session: Session, req: Request): Gate {
  const a = new Checks(authz, session);
  const topic = (name: string): Resource => ({ type: 'topic', name });
  const group = (name: string): Resource => ({ type: 'group', name });
  switch (req.type) {
    case 'metadata': {
      if (req.topics === undefined) {
        return { kind: 'narrow', request: req, merge: (r) => ({ ...(r as MetadataResponse), topics: (r as MetadataResponse).topics.filter((t) => a.may('describe', topic(t.name))) }) };
      }
      return a.split(req.topics, (t) => a.item('describe', topic(t)), (topics) => ({ ...req, topics }), (r) => (r as MetadataResponse).topics, (topics, r) => ({ ...(r as MetadataResponse), topics }), (name, error) => ({
        name,
        error,
        partitions: [],
        replicationFactor: 0,
        config: { retentionBytes: 0, retentionMs: 0, segmentBytes: 0, maxMessageBytes: 0 },
      }), null);
    }
    case 'produce': {
      const refused = (b: (typeof req.batches)[number], error: ApiError): ProduceResult => ({ topic: b.topic, partition: b.partition, error });
      const gate = a.split(req.batches, (b) => a.item('write', topic(b.topic)), (batches) => ({ ...req, batches }), (r) => (r as ProduceResponse).results, (results, r) => ({ ...(r as ProduceResponse), results }) satisfies ProduceResponse, refused, { results: [] });
      // A produce with acks "none" gets no answer, refused or not.
      if (req.acks === 'none' && gate.kind === 'answer') return { kind: 'answer', response: null };
      if (req.acks === 'none' && gate.kind === 'narrow') return { ...gate, merge: () => null };
      return gate;
    }
    case 'fetch':
      return a.split(req.partitions, (p) => a.item('read', topic(p.topic)), (partitions) => ({ ...req, partitions }), (r) => (r as FetchResponse).partitions, (partitions, r) => ({ ...(r as FetchResponse), partitions }) satisfies FetchResponse, (p, error) => ({
        topic: p.topic,
        partition: p.partition,
        error,
        highWatermark: -1,
        logStartOffset: -1,
        batches: [],
      }), { partitions: [] });
    case 'listOffsets':
      return a.split(req.partitions, (p) => a.item('describe', topic(p.topic)), (partitions) => ({ ...req, partitions }), (r) => (r as ListOffsetsResponse).partitions, (partitions, r) => ({ ...(r as ListOffsetsResponse), partitions }) satisfies ListOffsetsResponse, (p, error) => ({ topic: p.topic, partition: p.partition, offset: -1, error }), { partitions: [] });
    case 'createTopics': {
      if (a.may('create', CLUSTER)) return PASS;
      return a.split(req.topics, (t) => a.item('create', topic(t.name)), (topics) => ({ ...req, topics }), (r) => (r as { topics: TopicResult[] }).topics, (topics, r) => ({ ...(r as { topics: TopicResult[] }), topics }), (t, error): TopicResult => ({ name: t.name, error }), { topics: [] });
    }
    case 'deleteTopics':
      return a.split(req.topics, (t) => a.item('delete', topic(t)), (topics) => ({ ...req, topics }), (r) => (r as { topics: TopicResult[] }).topics, (topics, r) => ({ ...(r as { topics: TopicResult[] }), topics }), (name, error): TopicResult => ({ name, error }), { topics: [] });
    case 'initProducerId': {
      if (a.may('idempotentWrite', CLUSTER) || authz.checkAny(session, 'write', 'topic').allowed) return PASS;
      return a.refuse('idempotentWrite', CLUSTER, authz.check(session, 'idempotentWrite', CLUSTER), ' (nor write on any topic)');
    }
    case 'status':
    case 'describeAcls':
    // As Kafka's DescribeUserScramCredentials.
    case 'listUsers':
      a.require('describe', CLUSTER);
      return PASS;
    case 'transferLeadership':
    case 'reassignPartitions':
    case 'decommissionNode':
    case 'recommissionNode':
    case 'alterReplicationFactor':
    case 'rebalancePartitions':
    case 'createAcls':
    case 'deleteAcls':
    // As Kafka's AlterUserScramCredentials.
    case 'upsertUser':
    case 'deleteUser':
      a.require('alter', CLUSTER);
      return PASS;
    case 'alterQuotas':
      a.require('alterConfigs', CLUSTER);
      return PASS;
    case 'describeQuotas':
      a.require('describeConfigs', CLUSTER);
      return PASS;
    // Authenticating needs no right: it is how a connection gets its principal.
    case 'saslHandshake':
    case 'saslAuthenticate':
      return PASS;
    // As Kafka: IncrementalAlterConfigs needs alterConfigs on the topic, CreatePartitions alter on it.
    case 'alterTopicConfig':
      a.require('alterConfigs', topic(req.topic));
      return PASS;
    case 'createPartitions':
      a.require('alter', topic(req.topic));
      return PASS;
    case 'describeConfigs': {
      if (req.node === true) a.require('describeConfigs', CLUSTER);
      const refused = (name: string, error: ApiError): DescribeConfigsResponse['topics'][number] => ({ name, error });
      return a.split(req.topics, (t) => a.item('describeConfigs', topic(t)), (topics) => ({ ...req, topics }), (r) => (r as DescribeConfigsResponse).topics, (topics, r) => ({ ...(r as DescribeConfigsResponse), topics }) satisfies DescribeConfigsResponse, refused, req.node === true ? null : { topics: [] });
    }
    case 'findCoordinator':
      a.require('describe', group(req.group));
      return PASS;
    case 'joinGroup':
    case 'syncGroup':
    case 'heartbeat':
    case 'leaveGroup':
      a.require('read', group(req.group));
      return PASS;
    case 'commitOffsets':
    case 'resetOffsets': {
      a.require('read', group(req.group));
      const refused = (o: CommittedOffset, error: ApiError): CommitOffsetsResponse['results'][number] => ({ topic: o.topic, partition: o.partition, error });
      return a.split(req.offsets, (o) => a.item('read', topic(o.topic)), (offsets) => ({ ...req, offsets }), (r) => (r as CommitOffsetsResponse).results, (results, r) => ({ ...(r as CommitOffsetsResponse), results }) satisfies CommitOffsetsResponse, refused, { results: [] });
    }
    case 'fetchOffsets': {
      a.require('describe', group(req.group));
      if (req.partitions === undefined) {
        return { kind: 'narrow', request: req, merge: (r) => ({ ...(r as FetchOffsetsResponse), offsets: (r as FetchOffsetsResponse).offsets.filter((o) => a.may('describe', topic(o.topic))) }) satisfies FetchOffsetsResponse };
      }
      return a.split(req.partitions, (p) => a.item('describe', topic(p.topic)), (partitions) => ({ ...req, partitions }), (r) => (r as FetchOffsetsResponse).offsets, (offsets, r) => ({ ...(r as FetchOffsetsResponse), offsets }) satisfies FetchOffsetsResponse, (p, error) => ({
        topic: p.topic,
        partition: p.partition,
        offset: -1,
        metadata: '',
        error,
      }), { offsets: [] });
    }
    case 'listGroups':
      if (a.may('describe', CLUSTER)) return PASS;
      return { kind: 'narrow', request: req, merge: (r) => ({ ...(r as ListGroupsResponse), groups: (r as ListGroupsResponse).groups.filter((g) => a.may('describe', group(g.group))) }) satisfies ListGroupsResponse };
    case 'describeGroups':
      return a.split(req.groups, (g) => a.item('describe', group(g)), (groups) => ({ ...req, groups }), (r) => (r as DescribeGroupsResponse).groups, (groups, r) => ({ ...(r as DescribeGroupsResponse), groups }) satisfies DescribeGroupsResponse, (g, error) => ({
        group: g,
        error,
        state: 'Dead' as const,
        generation: 0,
        protocolType: '',
        protocol: '',
        leader: '',
        members: [],
      }), { groups: [] });
    case 'deleteGroups':
      return a.split(req.groups, (g) => a.item('delete', group(g)), (groups) => ({ ...req, groups }), (r) => (r as GroupResultsResponse).groups, (groups, r) => ({ ...(r as GroupResultsResponse), groups }) satisfies GroupResultsResponse, (g, error) => ({ group: g, error }), { groups: [] });
    default: {
      const never: never = req;
      throw new Error(`no authorization rule for request ${JSON.stringify(never)}`);
    }
  }
}

/** The checks of one request by one session. */
class Checks {
  constructor(
    private readonly authz: RequestAuthorizer,
    private readonly session: Session,
  ) {}

  /** Whether the session may: for a listing, or a first choice before another (nothing reported). */
  may(op: AclOperation, resource: Resource): boolean {
    return this.authz.check(this.session, op, resource).allowed;
  }

  /** Throws the refusal, reported, unless the session may. */
  require(op: AclOperation, resource: Resource): void {
    const d = this.authz.check(this.session, op, resource);
    if (!d.allowed) this.refuse(op, resource, d);
  }

  /** Reports a refusal and throws it. */
  refuse(op: AclOperation, resource: Resource, d: Decision, more = ''): never {
    const e = this.error(op, resource, d, more);
    throw new ServerError(e.code, e.message);
  }

  /** The error of one item of a request, reported, or null if the session may. */
  item(op: AclOperation, resource: Resource): ApiError | null {
    const d = this.authz.check(this.session, op, resource);
    return d.allowed ? null : this.error(op, resource, d);
  }

  private error(op: AclOperation, resource: Resource, d: Decision, more = ''): ApiError {
    this.authz.refused(this.session, op, resource, d);
    const why = d.by !== undefined ? 'an ACL denies it' : 'no ACL allows it';
    return { code: ERROR_OF[resource.type], message: `${this.session.principal} may not ${op} ${describeResource(resource)}${more}: ${why}` };
  }

  /**
   * A request of many items: each checked by `refusal`. All allowed: it runs as it is. None:
   * `empty` with each item's error (`refused`), and nothing runs (with `empty` null, the request
   * of no items runs: its answer has more than items). Some: `narrowed` (the request of the
   * allowed items) runs, and its answer's items (`served` reads them, `rebuild` puts them back)
   * are interleaved with the refused ones in the request's order.
   */
  split<T, R, Res>(
    items: readonly T[],
    refusal: (item: T) => ApiError | null,
    narrowed: (allowed: T[]) => Request,
    served: (response: unknown) => readonly R[],
    rebuild: (items: R[], response: unknown) => Res,
    refused: (item: T, error: ApiError) => R,
    empty: Res | null,
  ): Gate {
    const errors = items.map(refusal);
    if (errors.every((e) => e === null)) return PASS;
    const allowed = items.filter((_, i) => errors[i] === null);
    if (allowed.length === 0 && empty !== null) return { kind: 'answer', response: rebuild(items.map((t, i) => refused(t, errors[i]!)), empty) };
    return {
      kind: 'narrow',
      request: narrowed(allowed),
      merge: (response) => {
        const done = served(response);
        if (done.length !== allowed.length) throw new Error(`a narrowed request of ${allowed.length} items was answered with ${done.length}`);
        let next = 0;
        return rebuild(items.map((t, i) => (errors[i] === null ? done[next++]! : refused(t, errors[i]!))), response);
      },
    };
  }
}
