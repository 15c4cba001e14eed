/**
 * DescribeGroups (key 15) v0-2 and ListGroups (key 16) v0-2, from the group coordinator.
 *
 *   DescribeGroups request v0-2   groups [string]
 *   DescribeGroups response v0    groups [error_code int16, group_id string, group_state string,
 *                                   protocol_type string, protocol_data string, members [member_id string,
 *                                   client_id string, client_host string, member_metadata bytes,
 *                                   member_assignment bytes]]
 *   DescribeGroups response v1-2  throttle_time_ms int32, then v0
 *   ListGroups request v0-2       (empty)
 *   ListGroups response v0        error_code int16, groups [group_id string, protocol_type string]
 *   ListGroups response v1-2      throttle_time_ms int32, then v0
 *
 * The states are Kafka's names (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead);
 * protocol_data is the chosen assignor. The coordinator does not keep members' hosts:
 * client_host is empty. ListGroups lists the groups a broker coordinates, and clients ask every
 * broker (kafkajs's admin does): a node other than the coordinator answers with none.
 */
import { ServerError } from '../../errors.js';
import { ErrorCode, type GroupDescription, type ListGroupsResponse } from '../../wire/protocol.js';
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import { LIST_GROUPS_BYTES_ESTIMATE, describeGroupsReplyBytes } from '../../server/reply-bounds.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';

interface DescribeGroupsResponse {
  readonly groups: readonly { readonly error: KafkaError; readonly group: GroupDescription }[];
}

function emptyGroup(group: string): GroupDescription {
  return { group, state: 'Dead', generation: 0, protocolType: '', protocol: '', leader: '', members: [] };
}

export const describeGroups: KafkaApi<{ readonly groups: readonly string[] }, DescribeGroupsResponse> = {
  key: 15,
  name: 'DescribeGroups',
  replyBytes: (req) => KAFKA_RESPONSE_BYTES + describeGroupsReplyBytes(req.groups.length),
  minVersion: 0,
  maxVersion: 2,
  decode(r: KafkaReader): { groups: string[] } {
    return { groups: r.array((g) => g.string('group id'), 'groups') };
  },
  async serve(node: KafkaNode, req: { readonly groups: readonly string[] }, _version: number, session: Session): Promise<DescribeGroupsResponse> {
    const named = req.groups.filter((g) => g !== '');
    let described: readonly GroupDescription[] = [];
    let whole: KafkaError | null = null;
    if (named.length > 0) {
      try {
        described = (await native(node, session, { type: 'describeGroups', groups: named }))!.groups;
      } catch (err) {
        whole = kafkaErrorOf(node.logger, err);
      }
    }
    const byId = new Map(described.map((g) => [g.group, g]));
    return {
      groups: req.groups.map((id) => {
        if (id === '') return { error: { code: KafkaErrorCode.InvalidGroupId, message: 'a group id must not be empty' }, group: emptyGroup(id) };
        if (whole !== null) return { error: whole, group: emptyGroup(id) };
        const g = byId.get(id) ?? emptyGroup(id);
        return { error: kafkaErrorOfApi(g.error), group: g };
      }),
    };
  },
  encode(w: KafkaWriter, version: number, res: DescribeGroupsResponse): void {
    if (version >= 1) w.int32(0);
    w.array(res.groups, (x, { error, group: g }) => {
      x.int16(error.code).string(g.group).string(g.state).string(g.protocolType).string(g.protocol);
      x.array(g.members, (y, m) => y.string(m.memberId).string(m.clientId).string('').bytes(m.metadata).bytes(m.assignment));
    });
  },
};

interface ListGroups {
  readonly error: KafkaError;
  readonly groups: ListGroupsResponse['groups'];
}

export const listGroups: KafkaApi<null, ListGroups> = {
  key: 16,
  name: 'ListGroups',
  replyBytes: () => KAFKA_RESPONSE_BYTES + LIST_GROUPS_BYTES_ESTIMATE,
  minVersion: 0,
  maxVersion: 2,
  decode: () => null,
  async serve(node: KafkaNode, _req: unknown, _version: number, session: Session): Promise<ListGroups> {
    try {
      return { error: NO_ERROR, groups: (await native(node, session, { type: 'listGroups' }))!.groups };
    } catch (err) {
      if (err instanceof ServerError && err.code === ErrorCode.NotCoordinator) return { error: NO_ERROR, groups: [] };
      return { error: kafkaErrorOf(node.logger, err), groups: [] };
    }
  },
  encode(w: KafkaWriter, version: number, res: ListGroups): void {
    if (version >= 1) w.int32(0);
    w.int16(res.error.code);
    w.array(res.groups, (x, g) => x.string(g.group).string(g.protocolType));
  },
};
