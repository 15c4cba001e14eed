/**
 * One request frame in, its answer out (socket-free: the listener does the I/O).
 *
 *   request    header, body        header v1: api_key int16, api_version int16, correlation_id int32,
 *                                  client_id nullable_string; v2 (flexible versions): v1, tagged_fields
 *   response   header, body        header v0: correlation_id int32; v1 (flexible versions but
 *                                  ApiVersions'): v0, tagged_fields
 *
 * A request this node cannot serve ends the connection, as with a Kafka broker: an unknown api
 * key, a version outside the range served, a body that does not parse (kafka/codec/reader.ts).
 * ApiVersions is the exception Kafka makes: asked at a version not served, it is answered
 * UNSUPPORTED_VERSION with the ranges served, in its v0 layout.
 *
 * Authentication (src/server/sasl.ts): under `--auth sasl`, a connection that has not
 * authenticated may send only ApiVersions, SaslHandshake and SaslAuthenticate; anything else
 * closes it, as Kafka closes it. The answer that ends a connection's last allowed failed
 * authentication is written, then the connection closed. While the node cannot check passwords
 * (SaslServer.notReady: it has just joined and is receiving the metadata, or is starting), a
 * SaslHandshake or SaslAuthenticate closes the connection unanswered: a Kafka client takes any
 * SASL error as fatal, but reconnects to a broker that closed on it, as to one not ready.
 * Likewise a request that lists what the metadata holds (KafkaApi.needsMetadata: Metadata for
 * every topic) while the node's metadata cannot be trusted closes the connection unanswered.
 */
import { KafkaDecodeError, KafkaReader } from './codec/reader.js';
import { KafkaWriter } from './codec/writer.js';
import type { KafkaNode, RequestHeader } from './api.js';
import type { Session } from '../server/session.js';
import { API_VERSIONS_KEY, unsupportedVersion } from './apis/api-versions.js';
import { KAFKA_APIS, SERVED_RANGES } from './apis/index.js';
import { SASL_AUTHENTICATE_KEY, SASL_HANDSHAKE_KEY } from './apis/sasl.js';

/** What a connection may ask before it has authenticated, when it must. */
export const BEFORE_AUTHENTICATION: ReadonlySet<number> = new Set([API_VERSIONS_KEY, SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY]);

export type Answer =
  /** Write these bytes (a whole response frame, size first); with `closeAfter`, then close the connection, for that reason. */
  | { readonly kind: 'reply'; readonly chunks: readonly Uint8Array[]; readonly api: string; readonly closeAfter?: string }
  /** Nothing to write: a produce with acks=0. */
  | { readonly kind: 'none'; readonly api: string }
  /** Close the connection, for this reason; `api`: the request's, once its api key is known. */
  | { readonly kind: 'close'; readonly reason: string; readonly api?: string };

export function readHeader(r: KafkaReader): RequestHeader {
  return { apiKey: r.int16('api_key'), apiVersion: r.int16('api_version'), correlationId: r.int32('correlation_id'), clientId: r.nullableString('client_id') };
}

/** A response frame: size, header, body. */
export function responseFrame(correlationId: number, taggedHeader: boolean, body: KafkaWriter): Uint8Array[] {
  const head = new KafkaWriter();
  const bodyChunks = body.finish();
  let size = 4 + (taggedHeader ? 1 : 0);
  for (const c of bodyChunks) size += c.byteLength;
  head.int32(size).int32(correlationId);
  if (taggedHeader) head.taggedFields();
  return [...head.finish(), ...bodyChunks];
}

/**
 * Answers one request frame (without its size). Throws only for a bug in an API (a KafkaDecodeError
 * is turned into 'close' here). Once the request is read, and before it is served, `room` is asked
 * for the most its response may hold (KafkaApi.replyBytes): the connection's reply budget
 * (src/server/reply-budget.ts); false means the connection is gone, and nothing is served.
 */
export async function answer(node: KafkaNode, session: Session, frame: Buffer, room: (bytes: number) => Promise<boolean> = () => Promise.resolve(true)): Promise<Answer> {
  const r = new KafkaReader(frame);
  let header: RequestHeader;
  try {
    header = readHeader(r);
  } catch (err) {
    if (err instanceof KafkaDecodeError) return { kind: 'close', reason: `request header: ${err.message}` };
    throw err;
  }
  const { apiKey, apiVersion, correlationId } = header;
  const api = KAFKA_APIS.get(apiKey);
  if (api === undefined) return { kind: 'close', reason: `api key ${apiKey} is not served` };
  if (node.sasl.mode === 'sasl' && !session.authenticated && !BEFORE_AUTHENTICATION.has(apiKey)) return { kind: 'close', reason: `${api.name} before the connection authenticated (--auth sasl): SaslHandshake and SaslAuthenticate first`, api: api.name };
  if (apiKey === SASL_HANDSHAKE_KEY || apiKey === SASL_AUTHENTICATE_KEY) {
    // Kafka clients give up on a refused login (kafkajs and librdkafka take any SASL error as fatal) but reconnect to a broker that closed on them.
    const notReady = node.sasl.notReady();
    if (notReady !== null) return { kind: 'close', reason: `${api.name} unanswered: ${notReady}`, api: api.name };
  }
  if (apiVersion < api.minVersion || apiVersion > api.maxVersion) {
    if (apiKey !== API_VERSIONS_KEY) return { kind: 'close', reason: `${api.name} v${apiVersion} is not served (v${api.minVersion}-${api.maxVersion} are)`, api: api.name };
    const w = new KafkaWriter();
    unsupportedVersion(w, SERVED_RANGES);
    return { kind: 'reply', chunks: responseFrame(correlationId, false, w), api: api.name };
  }
  const flexible = api.flexibleFrom !== undefined && apiVersion >= api.flexibleFrom;
  let req: unknown;
  try {
    if (flexible) r.taggedFields('request header tagged fields');
    req = api.decode(r, apiVersion, header);
  } catch (err) {
    if (err instanceof KafkaDecodeError) return { kind: 'close', reason: `${api.name} v${apiVersion}: ${err.message}`, api: api.name };
    throw err;
  }
  if (api.needsMetadata?.(req) === true) {
    const problem = node.metadataProblem();
    if (problem !== null) return { kind: 'close', reason: `${api.name} unanswered: node ${node.config.id} cannot answer from its metadata yet: ${problem}`, api: api.name };
  }
  if (!(await room(api.replyBytes(req, node)))) return { kind: 'close', reason: 'the connection closed before the request was served', api: api.name };
  const res = await api.serve(node, req, apiVersion, session);
  if (res === null) return { kind: 'none', api: api.name };
  const w = new KafkaWriter();
  api.encode(w, apiVersion, res);
  const chunks = responseFrame(correlationId, flexible && apiKey !== API_VERSIONS_KEY, w);
  const closeAfter = node.sasl.closeReason(session);
  return closeAfter === null ? { kind: 'reply', chunks, api: api.name } : { kind: 'reply', chunks, api: api.name, closeAfter };
}
