/**
 * Who a client connection speaks for. Each connection, native (`/client`) or Kafka, has one
 * Session from its first byte to its close; every request read from it runs as its `principal`.
 * A connection starts as ANONYMOUS; authenticating (SASL on the Kafka listener, its native
 * equivalent on `/client`) names the user it proved to be.
 *
 * Principals are written as Kafka writes them, `User:<name>`, so that ACLs read the same on both
 * protocols and to anyone used to Kafka's.
 */

/** The principal of a connection that has not authenticated. */
export const ANONYMOUS = 'User:ANONYMOUS';

export type ListenerName = 'client' | 'kafka';

export interface Session {
  /** Which listener the connection came in on. */
  readonly listener: ListenerName;
  /** host:port of the other end, for logs. */
  readonly remote: string;
  /** Who its requests run as: ANONYMOUS until the connection authenticates. */
  principal: string;
  /**
   * Stops reading requests from the connection for `ms` (a quota's throttle, src/server/quotas.ts);
   * what it read already is still served and answered. Set by the listener; absent, nothing is muted.
   */
  mute?: (ms: number) => void;
}

export function newSession(listener: ListenerName, remote: string): Session {
  return { listener, remote, principal: ANONYMOUS };
}

/** The principal of user `name`. */
export function userPrincipal(name: string): string {
  return `User:${name}`;
}
