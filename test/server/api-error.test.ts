/**
 * What the client gets for a failed request (handlers.ts apiError): a ServerError keeps its code
 * and message, and its hint becomes the address of the node to ask; anything else is a bug of the
 * node's, answered UNKNOWN_SERVER_ERROR.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RaftError, RaftErrorCode } from '../../raft/errors.js';
import { ServerError } from '../../src/errors.js';
import { toServerError } from '../../src/partition/partition.js';
import { apiError } from '../../src/server/handlers.js';
import { ErrorCode, type NodeRef } from '../../src/wire/protocol.js';

const addresses = new Map([['n2', '127.0.0.1:7002']]);
const node = {
  logger: pino({ level: 'silent' }),
  nodeRef: (id: string | null): NodeRef | undefined => {
    const address = id === null ? undefined : addresses.get(id);
    return address === undefined ? undefined : { id: id!, address };
  },
};

describe('apiError', () => {
  it('gives the code, the message, and the address of the node the hint names', () => {
    const err = new ServerError(ErrorCode.NotLeader, 'this node does not lead t/0; n2 does', 'n2');

    expect(apiError(node, err)).toEqual({ code: ErrorCode.NotLeader, message: 'this node does not lead t/0; n2 does', leader: { id: 'n2', address: '127.0.0.1:7002' } });
  });

  it('leaves the leader out when no node is named, or the node is not one of the cluster', () => {
    expect(apiError(node, new ServerError(ErrorCode.CoordinatorNotAvailable, 'none is elected yet'))).toEqual({ code: ErrorCode.CoordinatorNotAvailable, message: 'none is elected yet' });
    expect(apiError(node, new ServerError(ErrorCode.NotCoordinator, 'n9 is', 'n9'))).toEqual({ code: ErrorCode.NotCoordinator, message: 'n9 is' });
  });

  it('answers any other error UNKNOWN_SERVER_ERROR', () => {
    expect(apiError(node, new TypeError('x is undefined'))).toEqual({ code: ErrorCode.UnknownServerError, message: 'the node failed to handle the request: x is undefined' });
  });
});

describe('a partition\'s Raft refusals, as the client sees them', () => {
  it('a leadership transfer to a rejoining replica is a retriable LEADER_NOT_AVAILABLE, not a bug of the node', () => {
    // Before: ReplicaRejoining fell through to UNKNOWN_SERVER_ERROR ("a bug on the node").
    const refused = new RaftError(RaftErrorCode.ReplicaRejoining, 'n3 is rejoining after losing data and cannot lead until it has caught up and been promoted', true);
    expect(apiError(node, toServerError(refused, 't/0'))).toEqual({
      code: ErrorCode.LeaderNotAvailable,
      message: 't/0: n3 is rejoining after losing data and cannot lead until it has caught up and been promoted; retry once it has caught up',
    });
  });

  it('every Raft error code maps to a code of the protocol\'s', () => {
    for (const code of Object.values(RaftErrorCode)) {
      const answer = apiError(node, toServerError(new RaftError(code, 'refused', true), 't/0'));
      expect(answer.code, code).not.toBe(ErrorCode.UnknownServerError);
    }
  });
});
