/**
 * DeleteGroups (key 42) v0-1, answered by the group coordinator as the native deleteGroups (the
 * CLI's `groups delete`): a group with no members goes, its committed offsets with it, from the
 * metadata group; another node answers NOT_COORDINATOR.
 *
 *   request v0-1    groups_names [string]
 *   response v0-1   throttle_time_ms int32, results [group_id string, error_code int16]
 *
 * Each group is answered on its own, in the request's order: a group with members is
 * NON_EMPTY_GROUP (68), one with neither members nor committed offsets GROUP_ID_NOT_FOUND (69),
 * an empty id INVALID_GROUP_ID, as Kafka answers them.
 */
import type { Session } from '../../server/session.js';
import { native, requestProblem, type KafkaApi, type KafkaNode } from '../api.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, kafkaErrorOfApi, type KafkaError } from '../errors.js';
import { topicResultsBytes } from '../reply-bytes.js';
import { ADMIN_TIMEOUT_MS_DEFAULT } from './topics.js';

interface DeleteGroupsResponse {
  readonly groups: readonly { readonly group: string; readonly error: KafkaError }[];
}

export const deleteGroups: KafkaApi<readonly string[], DeleteGroupsResponse> = {
  key: 42,
  name: 'DeleteGroups',
  replyBytes: (req) => topicResultsBytes(req),
  minVersion: 0,
  maxVersion: 1,
  decode: (r: KafkaReader) => r.array((g) => g.string('group id'), 'groups_names'),
  async serve(node: KafkaNode, req: readonly string[], _version: number, session: Session): Promise<DeleteGroupsResponse> {
    const errors = new Map<number, KafkaError>();
    const valid: { group: string; at: number }[] = [];
    req.forEach((group, at) => {
      if (group === '') return void errors.set(at, { code: KafkaErrorCode.InvalidGroupId, message: 'a group id must not be empty' });
      const problem = requestProblem({ type: 'deleteGroups', groups: [group], timeoutMs: ADMIN_TIMEOUT_MS_DEFAULT });
      if (problem !== null) errors.set(at, kafkaErrorOf(node.logger, problem));
      else valid.push({ group, at });
    });
    if (valid.length > 0) {
      try {
        const res = (await native(node, session, { type: 'deleteGroups', groups: valid.map((v) => v.group), timeoutMs: ADMIN_TIMEOUT_MS_DEFAULT }))!;
        res.groups.forEach((g, i) => errors.set(valid[i]!.at, kafkaErrorOfApi(g.error)));
      } catch (err) {
        const e = kafkaErrorOf(node.logger, err);
        for (const v of valid) errors.set(v.at, e);
      }
    }
    return { groups: req.map((group, at) => ({ group, error: errors.get(at) ?? NO_ERROR })) };
  },
  encode(w: KafkaWriter, _version: number, res: DeleteGroupsResponse): void {
    w.int32(0).array(res.groups, (x, g) => x.string(g.group).int16(g.error.code));
  },
};
