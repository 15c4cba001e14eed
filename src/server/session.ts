/**
 * Who a client connection speaks for. Each connection, native (`/client`) or Kafka, has one
 * Session from its first byte to its close; every request read from it runs as its `principal`.
 * A connection starts as ANONYMOUS; authenticating (SASL on the Kafka listener, its native
 * equivalent on `/client`) names the user it proved to be. An HTTP request has a session of its
 * own, named by its credentials (HTTP Basic or the console's cookie, src/server/http-auth.ts).
 *
 * Principals are written as Kafka writes them, `User:<name>`, so that ACLs read the same on both
 * protocols and to anyone used to Kafka's.
 */

/** The principal of a connection that has not authenticated. */
export const ANONYMOUS = 'User:ANONYMOUS';

/** `http`: a request to the HTTP listener (the console's API, /status), one session per request (src/server/http-auth.ts). */
export type ListenerName = 'client' | 'kafka' | 'http';

export interface Session {
  /** Which listener the connection came in on. */
  readonly listener: ListenerName;
  /** host:port of the other end, for logs. */
  readonly remote: string;
  /** Who its requests run as: ANONYMOUS until the connection authenticates. */
  principal: string;
  /** The connection has authenticated (src/server/sasl.ts): `principal` is who it proved to be. */
  authenticated: boolean;
  /** The SASL exchange under way, from its handshake to its last message (null: none). */
  sasl: SaslExchange | null;
  /** Authentications that failed on this connection (src/server/sasl.ts closes it past a limit). */
  saslFailures: number;
  /**
   * Stops reading requests from the connection for `ms` (a quota's throttle, src/server/quotas.ts);
   * what it read already is still served and answered. Set by the listener; absent, nothing is muted.
   */
  mute?: (ms: number) => void;
  /**
   * Called once, when the connection has authenticated (src/server/sasl.ts): the listener lifts
   * the frame limit a connection has before (PRE_AUTH_FRAME_BYTES_MAX under `--auth sasl`).
   */
  onAuthenticated?: () => void;
}

/** One SASL exchange of a connection (src/server/sasl.ts makes them, one per mechanism). */
export interface SaslExchange {
  readonly mechanism: string;
  /**
   * Takes the client's next message: the node's answer, and the principal once the client has
   * proven who it is (null: more messages to come). Throws (a SaslRefusal) when it fails.
   */
  step(message: Uint8Array): Promise<{ readonly reply: Uint8Array; readonly principal: string | null }>;
}

export function newSession(listener: ListenerName, remote: string): Session {
  return { listener, remote, principal: ANONYMOUS, authenticated: false, sasl: null, saslFailures: 0 };
}

/** The principal of user `name`. */
export function userPrincipal(name: string): string {
  return `User:${name}`;
}
