/**
 * JoinGroup (key 11) v0-5, SyncGroup (key 14) v0-3, Heartbeat (key 12) v0-3 and LeaveGroup
 * (key 13) v0-1, on the node's group coordinator (src/groups/coordinator.ts), which keeps
 * member ids, generations and assignments opaque, so Kafka clients' assignors (kafkajs's
 * RoundRobinAssigner, librdkafka's range and roundrobin) work as they are.
 *
 *   JoinGroup request v0      group_id string, session_timeout_ms int32, member_id string,
 *                             protocol_type string, protocols [name string, metadata bytes]
 *   JoinGroup request v1-4    session_timeout_ms int32, rebalance_timeout_ms int32 in place of v0's
 *   JoinGroup request v5      v1, group_instance_id nullable_string after member_id
 *   JoinGroup response v0-1   error_code int16, generation_id int32, protocol_name string, leader string,
 *                             member_id string, members [member_id string, metadata bytes]
 *   JoinGroup response v2-4   throttle_time_ms int32, then v0
 *   JoinGroup response v5     v2, members [member_id string, group_instance_id nullable_string, metadata bytes]
 *   SyncGroup request v0-2    group_id string, generation_id int32, member_id string,
 *                             assignments [member_id string, assignment bytes]
 *   SyncGroup request v3      v0, group_instance_id nullable_string after member_id
 *   SyncGroup response v0     error_code int16, assignment bytes
 *   SyncGroup response v1-3   throttle_time_ms int32, then v0
 *   Heartbeat request v0-2    group_id string, generation_id int32, member_id string
 *   Heartbeat request v3      v0, group_instance_id nullable_string
 *   Heartbeat response v0     error_code int16
 *   Heartbeat response v1-3   throttle_time_ms int32, error_code int16
 *   LeaveGroup request v0-1   group_id string, member_id string
 *   LeaveGroup response v0    error_code int16
 *   LeaveGroup response v1    throttle_time_ms int32, error_code int16
 *
 * Static membership (group_instance_id, KIP-345) is not served: the id is read and the member is
 * an ordinary one. A v0 join has no rebalance timeout: the session timeout stands for it.
 */
import { LIMITS, type JoinGroupResponse } from '../../wire/protocol.js';
import { native, type KafkaApi, type KafkaNode, type RequestHeader } from '../api.js';
import { joinReplyBytes } from '../../server/reply-bounds.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

/** An empty group id or a negative generation, which Kafka has codes of its own for. */
function groupProblem(group: string, generation = 0): KafkaError | null {
  if (group === '') return { code: KafkaErrorCode.InvalidGroupId, message: 'a group id must not be empty' };
  if (generation < 0) return { code: KafkaErrorCode.IllegalGeneration, message: `generation ${generation} is not one` };
  return null;
}

interface JoinRequest {
  readonly group: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly memberId: string;
  readonly clientId: string;
  readonly protocolType: string;
  readonly protocols: readonly { readonly name: string; readonly metadata: Buffer }[];
}

interface JoinResponse {
  readonly error: KafkaError;
  readonly joined: JoinGroupResponse;
}

export const joinGroup: KafkaApi<JoinRequest, JoinResponse> = {
  key: 11,
  name: 'JoinGroup',
  replyBytes: (req) => KAFKA_RESPONSE_BYTES + joinReplyBytes(req.protocols.map((p) => p.metadata.byteLength)),
  minVersion: 0,
  maxVersion: 5,
  decode(r: KafkaReader, version: number, header: RequestHeader): JoinRequest {
    const group = r.string('group_id');
    const sessionTimeoutMs = r.int32('session_timeout_ms');
    const rebalanceTimeoutMs = version >= 1 ? r.int32('rebalance_timeout_ms') : sessionTimeoutMs;
    const memberId = r.string('member_id');
    if (version >= 5) r.nullableString('group_instance_id');
    const protocolType = r.string('protocol_type');
    const protocols = r.array((p) => ({ name: p.string('protocol name'), metadata: p.bytes('protocol metadata') }), 'protocols');
    return { group, sessionTimeoutMs, rebalanceTimeoutMs, memberId, clientId: header.clientId ?? '', protocolType, protocols };
  },
  async serve(node: KafkaNode, req: JoinRequest, _version: number, session: Session): Promise<JoinResponse> {
    const failed = (error: KafkaError): JoinResponse => ({ error, joined: { generation: -1, protocol: '', leader: '', memberId: req.memberId, members: [] } });
    const problem = groupProblem(req.group);
    if (problem !== null) return failed(problem);
    if (req.sessionTimeoutMs < LIMITS.sessionTimeoutMsMin || req.sessionTimeoutMs > LIMITS.sessionTimeoutMsMax) {
      return failed({ code: KafkaErrorCode.InvalidSessionTimeout, message: `session timeout ${req.sessionTimeoutMs} ms is outside ${LIMITS.sessionTimeoutMsMin}..${LIMITS.sessionTimeoutMsMax}` });
    }
    try {
      const joined = (await native(node, session, { type: 'joinGroup', group: req.group, memberId: req.memberId, clientId: req.clientId, protocolType: req.protocolType, protocols: req.protocols, sessionTimeoutMs: req.sessionTimeoutMs, rebalanceTimeoutMs: req.rebalanceTimeoutMs }))!;
      return { error: NO_ERROR, joined };
    } catch (err) {
      return failed(kafkaErrorOf(node.logger, err));
    }
  },
  encode(w: KafkaWriter, version: number, res: JoinResponse): void {
    if (version >= 2) w.int32(0);
    const j = res.joined;
    w.int16(res.error.code).int32(j.generation).string(j.protocol).string(j.leader).string(j.memberId);
    w.array(j.members, (x, m) => {
      x.string(m.memberId);
      if (version >= 5) x.nullableString(null);
      x.bytes(m.metadata);
    });
  },
};

interface SyncRequest {
  readonly group: string;
  readonly generation: number;
  readonly memberId: string;
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
}

interface SyncResponse {
  readonly error: KafkaError;
  readonly assignment: Uint8Array;
}

export const syncGroup: KafkaApi<SyncRequest, SyncResponse> = {
  key: 14,
  name: 'SyncGroup',
  // The member's assignment, of at most groupMetadataBytesMax.
  replyBytes: () => KAFKA_RESPONSE_BYTES + LIMITS.groupMetadataBytesMax,
  minVersion: 0,
  maxVersion: 3,
  decode(r: KafkaReader, version: number): SyncRequest {
    const group = r.string('group_id');
    const generation = r.int32('generation_id');
    const memberId = r.string('member_id');
    if (version >= 3) r.nullableString('group_instance_id');
    const assignments = r.array((a) => ({ memberId: a.string('member_id'), assignment: a.bytes('assignment') }), 'assignments');
    return { group, generation, memberId, assignments };
  },
  async serve(node: KafkaNode, req: SyncRequest, _version: number, session: Session): Promise<SyncResponse> {
    const problem = groupProblem(req.group, req.generation);
    if (problem !== null) return { error: problem, assignment: new Uint8Array(0) };
    try {
      const { assignment } = (await native(node, session, { type: 'syncGroup', group: req.group, generation: req.generation, memberId: req.memberId, assignments: req.assignments }))!;
      return { error: NO_ERROR, assignment };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err), assignment: new Uint8Array(0) };
    }
  },
  encode(w: KafkaWriter, version: number, res: SyncResponse): void {
    if (version >= 1) w.int32(0);
    w.int16(res.error.code).bytes(res.assignment);
  },
};

interface HeartbeatRequest {
  readonly group: string;
  readonly generation: number;
  readonly memberId: string;
}

/** Heartbeat and LeaveGroup answer an error code alone. */
interface ErrorOnly {
  readonly error: KafkaError;
}

export const heartbeat: KafkaApi<HeartbeatRequest, ErrorOnly> = {
  key: 12,
  name: 'Heartbeat',
  replyBytes: () => KAFKA_RESPONSE_BYTES,
  minVersion: 0,
  maxVersion: 3,
  decode(r: KafkaReader, version: number): HeartbeatRequest {
    const req = { group: r.string('group_id'), generation: r.int32('generation_id'), memberId: r.string('member_id') };
    if (version >= 3) r.nullableString('group_instance_id');
    return req;
  },
  async serve(node: KafkaNode, req: HeartbeatRequest, _version: number, session: Session): Promise<ErrorOnly> {
    const problem = groupProblem(req.group, req.generation);
    if (problem !== null) return { error: problem };
    try {
      await native(node, session, { type: 'heartbeat', group: req.group, generation: req.generation, memberId: req.memberId });
      return { error: NO_ERROR };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err) };
    }
  },
  encode(w: KafkaWriter, version: number, res: ErrorOnly): void {
    if (version >= 1) w.int32(0);
    w.int16(res.error.code);
  },
};

interface LeaveRequest {
  readonly group: string;
  readonly memberId: string;
}

export const leaveGroup: KafkaApi<LeaveRequest, ErrorOnly> = {
  key: 13,
  name: 'LeaveGroup',
  replyBytes: () => KAFKA_RESPONSE_BYTES,
  minVersion: 0,
  maxVersion: 1,
  decode(r: KafkaReader): LeaveRequest {
    return { group: r.string('group_id'), memberId: r.string('member_id') };
  },
  async serve(node: KafkaNode, req: LeaveRequest, _version: number, session: Session): Promise<ErrorOnly> {
    const problem = groupProblem(req.group);
    if (problem !== null) return { error: problem };
    try {
      await native(node, session, { type: 'leaveGroup', group: req.group, memberId: req.memberId });
      return { error: NO_ERROR };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err) };
    }
  },
  encode(w: KafkaWriter, version: number, res: ErrorOnly): void {
    if (version >= 1) w.int32(0);
    w.int16(res.error.code);
  },
};
