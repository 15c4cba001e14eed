/**
 * What every Kafka API of this listener is: a socket-free codec of its request and response (each
 * file's header comment is its wire grammar, for the versions it serves) and a `serve` that answers
 * the request by running the node's own requests (src/wire/protocol.ts) through the same checks
 * and handlers as the native protocol (`native`), so that partition, controller and coordinator
 * rules exist once.
 */
import type { NodeId } from '../../raft/types.js';
import type { MetaStateMachine } from '../meta/meta-state.js';
import type { ClientNode } from '../server/client-server.js';
import { handle } from '../server/handlers.js';
import type { Session } from '../server/session.js';
import type { DialTls } from '../server/tls.js';
import type { Request, ResponseMap } from '../wire/protocol.js';
import { RequestError, parseRequest } from '../wire/validate.js';
import type { KafkaReader } from './codec/reader.js';
import type { KafkaWriter } from './codec/writer.js';

/** What the Kafka listener needs of its node: what the native handlers need, the cluster's id, and where each node serves Kafka. */
export interface KafkaNode extends ClientNode {
  /**
   * `autoCreateTopics`: a Metadata request may create the topics it names (auto-create.ts); off
   * when absent. `secret`: the cluster secret, with which a creation forwarded to the controller
   * authenticates (src/auth/node-proof.ts).
   */
  readonly config: ClientNode['config'] & { readonly autoCreateTopics?: boolean; readonly secret: string };
  readonly meta: ClientNode['meta'] & Pick<MetaStateMachine, 'cluster'>;
  /** host:port of the Kafka listener of each node known to run one, this one included. */
  kafkaAddresses(): ReadonlyMap<NodeId, string>;
  /** How this node reaches node `id`'s client listener (its address, and TLS when it takes it), for what it forwards there (auto-create.ts); undefined when it does not know the node. */
  clientDial(id: NodeId): { readonly address: string; readonly tls?: DialTls } | undefined;
}

/** The request header (v1; v2 adds tagged fields, read by the listener). */
export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

export interface KafkaApi<Req = unknown, Res = unknown> {
  readonly key: number;
  readonly name: string;
  /** The versions served (and advertised in ApiVersions). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The first version with tagged fields and compact types (request header v2), if any is served. */
  readonly flexibleFrom?: number;
  /**
   * The most the response to `req` may hold, as the node is now (or, where the group
   * coordinator's state decides it, a named estimate): the connection reserves it before serving
   * (src/server/reply-budget.ts; reply-bytes.ts has the sizes).
   */
  replyBytes(req: Req, node: KafkaNode): number;
  /**
   * True for a request whose answer is a list read from this node's metadata, with no item to
   * carry an error (Metadata for every topic): while that metadata cannot be trusted
   * (metadataProblem: the node is starting, or has just joined and is receiving it), the
   * connection is closed unanswered, as a Kafka broker serves no client before it has caught up
   * with the metadata, where an empty list would tell the client there is nothing.
   */
  needsMetadata?(req: Req): boolean;
  /** Reads the body; throws KafkaDecodeError (reader.ts) on anything that does not parse. */
  decode(r: KafkaReader, version: number, header: RequestHeader): Req;
  /** Answers; null for no response (a produce with acks=0). Never throws for an expected failure. */
  serve(node: KafkaNode, req: Req, version: number, session: Session): Promise<Res | null>;
  encode(w: KafkaWriter, version: number, res: Res): void;
}

/**
 * Runs one of the node's own requests as a client's on `/client` would run: through
 * src/wire/validate.ts (its field checks and LIMITS) and src/server/handlers.ts. Throws the
 * RequestError or ServerError the native client would get as an error reply.
 */
export async function native<R extends Request>(node: KafkaNode, session: Session, req: R): Promise<ResponseMap[R['type']] | null> {
  const { request } = parseRequest({ id: 0, ...req });
  return (await handle(node, request, session)) as ResponseMap[R['type']] | null;
}

/**
 * The RequestError `native` would throw for `req`, or null: lets an API whose Kafka form carries
 * many items (topics to create) refuse one item with its own error and send the rest together.
 */
export function requestProblem(req: Request): RequestError | null {
  try {
    parseRequest({ id: 0, ...req });
    return null;
  } catch (err) {
    if (err instanceof RequestError) return err;
    throw err;
  }
}

/** Clamps a number a Kafka client sends (a wait, a byte budget, a timeout) into what the node's protocol allows. */
export function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}
