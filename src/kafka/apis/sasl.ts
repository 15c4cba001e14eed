/**
 * SaslHandshake (key 17), v0-1, and SaslAuthenticate (key 36), v0-2: a Kafka client's login, as
 * the native saslHandshake and saslAuthenticate (src/server/sasl.ts): SCRAM-SHA-256 and PLAIN,
 * against the cluster's users. With `--auth sasl` a connection may send only these and ApiVersions
 * until it has authenticated (dispatch.ts closes it otherwise, as Kafka does), and its requests are
 * served one after the other until then (listener.ts).
 *
 *   SaslHandshake
 *   request v0-1   mechanism string
 *   response v0-1  error_code int16, mechanisms [string]
 *
 *   SaslAuthenticate
 *   request v0-1   auth_bytes bytes
 *   request v2     auth_bytes compact_bytes, tagged_fields
 *   response v0    error_code int16, error_message nullable_string, auth_bytes bytes
 *   response v1    v0, session_lifetime_ms int64
 *   response v2    error_code int16, error_message compact_nullable_string, auth_bytes compact_bytes,
 *                  session_lifetime_ms int64, tagged_fields
 *
 * Both versions of the handshake are answered alike. A client of Kafka before 1.0 that follows a
 * v0 handshake with bare SASL tokens instead of SaslAuthenticate is not served: its next frame
 * is not a request, and closes the connection. Sessions do not expire (session_lifetime_ms 0:
 * no re-authentication, KIP-368).
 */
import { native, type KafkaApi, type KafkaNode } from '../api.js';
import type { KafkaReader } from '../codec/reader.js';
import type { KafkaWriter } from '../codec/writer.js';
import { KafkaErrorCode, NO_ERROR, kafkaErrorOf, type KafkaError } from '../errors.js';
import type { Session } from '../../server/session.js';
import { LIMITS, SASL_MECHANISMS } from '../../wire/protocol.js';
import { KAFKA_RESPONSE_BYTES } from '../reply-bytes.js';

export const SASL_HANDSHAKE_KEY = 17;
export const SASL_AUTHENTICATE_KEY = 36;

interface HandshakeResponse {
  readonly error: KafkaError;
  readonly mechanisms: readonly string[];
}

export const saslHandshake: KafkaApi<{ readonly mechanism: string }, HandshakeResponse> = {
  key: SASL_HANDSHAKE_KEY,
  name: 'SaslHandshake',
  // An error and the mechanisms served (two short names).
  replyBytes: () => KAFKA_RESPONSE_BYTES,
  minVersion: 0,
  maxVersion: 1,
  decode(r: KafkaReader): { mechanism: string } {
    return { mechanism: r.string('mechanism') };
  },
  async serve(node: KafkaNode, req: { readonly mechanism: string }, _version: number, session: Session): Promise<HandshakeResponse> {
    try {
      const { mechanisms } = (await native(node, session, { type: 'saslHandshake', mechanism: req.mechanism }))!;
      return { error: NO_ERROR, mechanisms };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err), mechanisms: SASL_MECHANISMS };
    }
  },
  encode(w: KafkaWriter, _version: number, res: HandshakeResponse): void {
    w.int16(res.error.code);
    w.array(res.mechanisms, (x, m) => x.string(m));
  },
};

interface AuthenticateResponse {
  readonly error: KafkaError;
  readonly bytes: Uint8Array;
}

export const saslAuthenticate: KafkaApi<{ readonly bytes: Uint8Array }, AuthenticateResponse> = {
  key: SASL_AUTHENTICATE_KEY,
  name: 'SaslAuthenticate',
  // An error message and the server's SCRAM message (at most saslMessageBytesMax).
  replyBytes: () => KAFKA_RESPONSE_BYTES + LIMITS.saslMessageBytesMax,
  minVersion: 0,
  maxVersion: 2,
  flexibleFrom: 2,
  decode(r: KafkaReader, version: number): { bytes: Uint8Array } {
    if (version >= 2) {
      const bytes = r.compactBytes('auth_bytes');
      r.taggedFields();
      return { bytes };
    }
    return { bytes: r.bytes('auth_bytes') };
  },
  async serve(node: KafkaNode, req: { readonly bytes: Uint8Array }, _version: number, session: Session): Promise<AuthenticateResponse> {
    try {
      const { bytes } = (await native(node, session, { type: 'saslAuthenticate', bytes: req.bytes }))!;
      return { error: NO_ERROR, bytes };
    } catch (err) {
      return { error: kafkaErrorOf(node.logger, err), bytes: new Uint8Array(0) };
    }
  },
  encode(w: KafkaWriter, version: number, res: AuthenticateResponse): void {
    const message = res.error.code === KafkaErrorCode.None ? null : res.error.message;
    w.int16(res.error.code);
    if (version >= 2) {
      w.compactNullableString(message).compactBytes(res.bytes).int64(0).taggedFields();
      return;
    }
    w.nullableString(message).bytes(res.bytes);
    if (version >= 1) w.int64(0);
  },
};
