/**
 * Typed errors of the client library. Every failure a caller sees is a RaftlogError: a code from
 * the protocol's closed list (ErrorCode) or one the client detects itself (ClientErrorCode),
 * whether retrying can succeed, and for writes whether the outcome is unknown (the request may
 * have taken effect although no answer came back).
 */
import { ErrorCode, isCertainFailure, isRetriable, topicNameProblem, type ApiError, type NodeRef } from '../wire/protocol.js';

/** Failures the client detects itself; a node never sends these. */
export const ClientErrorCode = {
  /** Could not connect, or the connection closed with requests in flight. Retriable. */
  ConnectionError: 'CONNECTION_ERROR',
  /** A node answered with a frame that does not follow the protocol. */
  ProtocolError: 'PROTOCOL_ERROR',
  /** The caller passed something the client cannot send (bad offset, bad broker address...). */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** The producer, consumer or admin was disconnected while the call was pending. */
  Disconnected: 'DISCONNECTED',
  /** A consumer handler (eachMessage / eachBatch) threw; the error is the cause. */
  HandlerError: 'HANDLER_ERROR',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export type RaftlogErrorCode = ErrorCode | ClientErrorCode;

export interface RaftlogErrorOptions {
  readonly retriable?: boolean;
  /** The request may have taken effect (timeout, lost connection). */
  readonly outcomeUnknown?: boolean;
  /** Where to go instead (NOT_LEADER / NOT_COORDINATOR). */
  readonly leader?: NodeRef;
  readonly topic?: string;
  readonly partition?: number;
  /** host:port of the node that answered (or did not). */
  readonly node?: string;
  readonly cause?: unknown;
}

export class RaftlogError extends Error {
  override readonly name = 'RaftlogError';
  readonly code: RaftlogErrorCode;
  readonly retriable: boolean;
  readonly outcomeUnknown: boolean;
  readonly leader: NodeRef | undefined;
  readonly topic: string | undefined;
  readonly partition: number | undefined;
  readonly node: string | undefined;

  constructor(code: RaftlogErrorCode, message: string, opts: RaftlogErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.outcomeUnknown = opts.outcomeUnknown ?? false;
    this.leader = opts.leader;
    this.topic = opts.topic;
    this.partition = opts.partition;
    this.node = opts.node;
  }

  /** The same failure with more context in front of the message. */
  withContext(prefix: string, extra: RaftlogErrorOptions = {}): RaftlogError {
    return new RaftlogError(this.code, `${prefix}: ${this.message}`, {
      retriable: this.retriable,
      outcomeUnknown: this.outcomeUnknown,
      leader: this.leader,
      topic: extra.topic ?? this.topic,
      partition: extra.partition ?? this.partition,
      node: extra.node ?? this.node,
      cause: this,
    });
  }
}

const ERROR_CODES: ReadonlySet<string> = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && ERROR_CODES.has(v);
}

/** What a person can do about a code, appended to the node's message. */
function hintFor(code: ErrorCode, topic: string | undefined): string {
  switch (code) {
    case ErrorCode.UnknownTopicOrPartition:
      return topic === undefined ? '' : ` (does topic '${topic}' exist? create it with: raftlog topics create ${topic})`;
    case ErrorCode.RecordTooLarge:
      return ' (send smaller records, or raise the topic\'s maxMessageBytes)';
    case ErrorCode.InvalidReplicationFactor:
      return ' (the replication factor must be between 1 and the number of nodes)';
    case ErrorCode.NotEnoughReplicas:
      return ' (too few replicas are up to acknowledge with acks=all; start the stopped nodes)';
    case ErrorCode.CoordinatorNotAvailable:
      return ' (the cluster is electing its controller, which coordinates groups; try again shortly)';
    case ErrorCode.OutOfOrderSequence:
    case ErrorCode.InvalidProducerEpoch:
      return ' (the producer lost track of its sequence numbers; it takes a new producer id)';
    case ErrorCode.TopicAuthorizationFailed:
    case ErrorCode.GroupAuthorizationFailed:
    case ErrorCode.ClusterAuthorizationFailed:
      return ' (an operator can allow it with: raftlog acls add)';
    default:
      return '';
  }
}

/** A RaftlogError for an error a node sent, with its retriable and outcome flags. */
export function fromApiError(e: ApiError, ctx: { topic?: string; partition?: number; node?: string } = {}): RaftlogError {
  const where = ctx.topic === undefined ? '' : ctx.partition === undefined ? `topic '${ctx.topic}': ` : `${ctx.topic}/${ctx.partition}: `;
  const from = ctx.node === undefined ? '' : ` [node ${ctx.node}]`;
  return new RaftlogError(e.code, `${where}${e.code}: ${e.message}${hintFor(e.code, ctx.topic)}${from}`, {
    retriable: isRetriable(e.code),
    outcomeUnknown: !isCertainFailure(e.code),
    leader: e.leader,
    topic: ctx.topic,
    partition: ctx.partition,
    node: ctx.node,
  });
}

/** Checks that a value from the wire is an ApiError. */
export function asApiError(v: unknown): ApiError | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  if (!isErrorCode(r.code)) return null;
  const message = typeof r.message === 'string' ? r.message : '';
  const leader = asNodeRef(r.leader);
  return leader === null ? { code: r.code, message } : { code: r.code, message, leader };
}

function asNodeRef(v: unknown): NodeRef | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.address === 'string' ? { id: r.id, address: r.address } : null;
}

/** Whether trying again may succeed: a retriable code or an unknown outcome. */
export function shouldRetry(err: unknown): err is RaftlogError {
  return err instanceof RaftlogError && (err.retriable || err.outcomeUnknown);
}

/** Any thrown value as a RaftlogError (unexpected ones become PROTOCOL_ERROR with the cause). */
export function toRaftlogError(err: unknown): RaftlogError {
  if (err instanceof RaftlogError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RaftlogError(ClientErrorCode.ProtocolError, message, { cause: err });
}

export function invalidArgument(message: string): RaftlogError {
  return new RaftlogError(ClientErrorCode.InvalidArgument, message);
}

/** Throws INVALID_TOPIC for a name the cluster would refuse (Kafka's rule, topicNameProblem). */
export function checkTopicName(topic: unknown): void {
  const problem = topicNameProblem(topic);
  if (problem) throw new RaftlogError(ErrorCode.InvalidTopic, problem, { topic: String(topic) });
}
