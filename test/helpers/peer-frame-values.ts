/**
 * fast-check arbitraries of well-formed peer frames (src/transport/peer-frames.ts), of every kind,
 * carrying every kind of Raft message and catch-up message. Shared by the peer frame tests
 * (test/transport/peer-frames.test.ts) and the fuzz suite (test/fuzz/).
 */
import fc from 'fast-check';
import { EntryKind, type Message, type MessageType } from '../../raft/types.js';
import type { PeerFrame } from '../../src/transport/peer-frames.js';
import type { RecoveryMessage } from '../../src/host/log-recovery.js';

const nodeId = fc.string({ unit: 'binary', maxLength: 12 });
const group = fc.string({ maxLength: 16 });
const nat = fc.maxSafeNat();
const token = fc.stringMatching(/^[0-9a-f]{0,64}$/);
const membership = fc.record({ voters: fc.array(nodeId, { maxLength: 3 }), learners: fc.array(nodeId, { maxLength: 2 }) });
const entry = fc.record({ index: nat, term: nat, kind: fc.constantFrom(...Object.values(EntryKind)), data: fc.uint8Array({ maxLength: 32 }) });

/** An answer, sometimes from a replica rejoining under an incarnation. */
function answer<T extends object>(a: fc.Arbitrary<T>): fc.Arbitrary<T & { rejoin?: string }> {
  return fc.tuple(a, fc.option(token, { nil: undefined })).map(([m, rejoin]) => (rejoin === undefined ? m : { ...m, rejoin }));
}

const base = { from: nodeId, to: nodeId, term: nat };
const voteRequest = <K extends 'preVote' | 'vote'>(type: K) => fc.record({ type: fc.constant(type), ...base, lastIndex: nat, lastTerm: nat, transfer: fc.boolean() });
const voteResponse = <K extends 'preVoteResp' | 'voteResp'>(type: K) => answer(fc.record({ type: fc.constant(type), ...base, reject: fc.boolean() }));

export const MESSAGES: { readonly [K in MessageType]: fc.Arbitrary<Message & { readonly type: K }> } = {
  preVote: voteRequest('preVote'),
  vote: voteRequest('vote'),
  preVoteResp: voteResponse('preVoteResp'),
  voteResp: voteResponse('voteResp'),
  append: fc.record(
    { type: fc.constant('append'), ...base, prevIndex: nat, prevTerm: nat, entries: fc.array(entry, { maxLength: 3 }), commit: nat, logStartMembership: membership },
    { requiredKeys: ['type', 'from', 'to', 'term', 'prevIndex', 'prevTerm', 'entries', 'commit'] },
  ),
  appendResp: answer(fc.record({ type: fc.constant('appendResp'), ...base, index: nat, reject: fc.boolean(), conflictTerm: nat, conflictIndex: nat })),
  heartbeat: fc.record({ type: fc.constant('heartbeat'), ...base, commit: nat, readRound: nat }),
  heartbeatResp: answer(fc.record({ type: fc.constant('heartbeatResp'), ...base, readRound: nat })),
  snapshot: fc.record({ type: fc.constant('snapshot'), ...base, snapshot: fc.record({ index: nat, term: nat, data: fc.uint8Array({ maxLength: 32 }) }) }),
  timeoutNow: fc.record({ type: fc.constant('timeoutNow'), ...base }),
};
export const MESSAGE_TYPES = Object.keys(MESSAGES) as MessageType[];
export const anyMessage: fc.Arbitrary<Message> = fc.oneof(...MESSAGE_TYPES.map((t): fc.Arbitrary<Message> => MESSAGES[t]));

export type RecoveryKind = RecoveryMessage['k'];
const snapshotMessage = MESSAGES.snapshot;
export const RECOVERY: { readonly [K in RecoveryKind]: fc.Arbitrary<RecoveryMessage & { readonly k: K }> } = {
  begin: fc.record({ k: fc.constant('begin'), group, id: token, snapshot: snapshotMessage }),
  chunk: fc.record({ k: fc.constant('chunk'), group, id: token, seq: nat, bytes: fc.uint8Array({ maxLength: 64 }) }),
  end: fc.record({ k: fc.constant('end'), group, id: token, chunks: nat }),
  ack: fc.record({ k: fc.constant('ack'), group, id: token, seq: nat }),
  done: fc.record({ k: fc.constant('done'), group, id: token }),
  abort: fc.record({ k: fc.constant('abort'), group, id: token, why: fc.string({ maxLength: 20 }) }),
};
export const RECOVERY_KINDS = Object.keys(RECOVERY) as RecoveryKind[];
export const anyRecovery: fc.Arbitrary<RecoveryMessage> = fc.oneof(...RECOVERY_KINDS.map((k): fc.Arbitrary<RecoveryMessage> => RECOVERY[k]));

export type Kind = PeerFrame['t'];
export const FRAMES: { readonly [K in Kind]: fc.Arbitrary<Extract<PeerFrame, { t: K }>> } = {
  challenge: fc.record({ t: fc.constant('challenge'), id: nodeId, nonce: token }),
  auth: fc.record({ t: fc.constant('auth'), id: nodeId, nonce: token, cluster: token, inc: token, member: fc.boolean(), mac: token }),
  welcome: fc.record({ t: fc.constant('welcome'), cluster: token, inc: token, member: fc.boolean(), mac: token }),
  raft: fc.record({ t: fc.constant('raft'), m: fc.array(fc.tuple(group, anyMessage), { maxLength: 4 }) }),
  leaders: fc.record(
    {
      t: fc.constant('leaders'),
      groups: fc.array(fc.tuple(group, nat), { maxLength: 4 }),
      moving: fc.array(group, { maxLength: 4 }),
      meta: nat,
      kafka: fc.tuple(fc.constantFrom('127.0.0.1', 'broker-2.example', 'localhost'), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
      client: fc.tuple(fc.constantFrom('127.0.0.1', 'node-2.example', 'localhost'), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
      clientTls: fc.boolean(),
    },
    { requiredKeys: ['t', 'groups'] },
  ),
  transfer: fc.record({ t: fc.constant('transfer'), group, to: nodeId }),
  nodes: fc.record({ t: fc.constant('nodes'), nodes: fc.array(fc.tuple(nodeId, token), { maxLength: 3 }) }),
  stray: fc.record({ t: fc.constant('stray'), group }),
  removed: fc.record({ t: fc.constant('removed'), group, term: nat }),
  retired: fc.record({ t: fc.constant('retired') }),
  join: fc.record({ t: fc.constant('join'), id: nodeId, nonce: token, address: token, inc: token, mac: token }),
  joined: fc.record({ t: fc.constant('joined'), cluster: token, founders: fc.array(nodeId, { maxLength: 3 }), nodes: fc.array(fc.tuple(nodeId, token), { maxLength: 3 }), rejoin: fc.boolean(), mac: token }),
  joinRefused: fc.record({ t: fc.constant('joinRefused'), reason: token, retriable: fc.boolean(), controller: token }),
  recovery: fc.record({ t: fc.constant('recovery'), m: anyRecovery }),
};
export const KINDS = Object.keys(FRAMES) as Kind[];
export const anyFrame: fc.Arbitrary<PeerFrame> = fc.oneof(...KINDS.map((k): fc.Arbitrary<PeerFrame> => FRAMES[k]));
