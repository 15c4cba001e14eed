/**
 * The client's side of authentication (issue 22 §3): the mechanisms a connection logs in with
 * before it sends anything else (connection.ts), as the node serves them (src/server/sasl.ts).
 * SCRAM-SHA-256 and SCRAM-SHA-512 prove the password without sending it, and check that the node
 * holds the user's credential; PLAIN sends it (use it over TLS only). RAFTLOG-NODE is a node's own.
 */
import { randomBytes } from 'node:crypto';
import { NODE_MECHANISM, NodeProofClient } from '../auth/node-proof.js';
import { PASSWORD_BYTES_MAX } from '../auth/credentials.js';
import { SCRAM_NONCE_BYTES, ScramClient, isScramMechanism, type ScramMechanism } from '../auth/scram.js';
import { ErrorCode, userNameProblem } from '../wire/protocol.js';
import { RaftlogError, invalidArgument } from './errors.js';

/** A client's credentials (ClientOptions.sasl), as kafkajs takes them. */
export interface SaslOptions {
  /** 'scram-sha-256' or 'scram-sha-512' (in any case, as 'SCRAM-SHA-512'), or 'plain'. */
  readonly mechanism: string;
  readonly username: string;
  readonly password: string;
}

/** One mechanism, with what it needs: every connection opened starts an exchange of its own. */
export interface SaslMechanism {
  /** The name the handshake gives. */
  readonly mechanism: string;
  start(): SaslClientExchange;
}

export interface SaslClientExchange {
  /** The first message. */
  first(): Promise<Uint8Array>;
  /** The next message answering the node's, or null once the exchange is over on this side (the node proven, where the mechanism proves it). Throws a RaftlogError. */
  next(reply: Uint8Array): Promise<Uint8Array | null>;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');

function refused(message: string, cause?: unknown): RaftlogError {
  return new RaftlogError(ErrorCode.SaslAuthenticationFailed, message, { cause });
}

/** The mechanism `opts` name, checked (INVALID_ARGUMENT otherwise). */
export function userSasl(opts: SaslOptions): SaslMechanism {
  if (typeof opts !== 'object' || opts === null) throw invalidArgument('sasl must be { mechanism, username, password }');
  const problem = userNameProblem(opts.username);
  if (problem !== null) throw invalidArgument(`sasl.username: ${problem}`);
  if (typeof opts.password !== 'string' || opts.password.length === 0 || Buffer.byteLength(opts.password, 'utf8') > PASSWORD_BYTES_MAX) throw invalidArgument(`sasl.password must be a string of 1 to ${PASSWORD_BYTES_MAX} bytes`);
  const m = typeof opts.mechanism === 'string' ? opts.mechanism.toUpperCase() : '';
  if (isScramMechanism(m)) return scram(m, opts.username, opts.password);
  if (m === 'PLAIN') return plain(opts.username, opts.password);
  throw invalidArgument(`sasl.mechanism must be 'scram-sha-256', 'scram-sha-512' or 'plain', not '${String(opts.mechanism)}'`);
}

function scram(mechanism: ScramMechanism, username: string, password: string): SaslMechanism {
  return {
    mechanism,
    start: () => {
      const c = new ScramClient(username, password, randomBytes(SCRAM_NONCE_BYTES).toString('base64'), mechanism);
      let step = 0;
      return {
        first: () => Promise.resolve(bytes(c.first())),
        next: async (reply) => {
          try {
            if (step++ === 0) return bytes(await c.final(text(reply)));
            c.verify(text(reply));
            return null;
          } catch (err) {
            throw refused(`${mechanism} with the node failed: ${(err as Error).message}`, err);
          }
        },
      };
    },
  };
}

function plain(username: string, password: string): SaslMechanism {
  return { mechanism: 'PLAIN', start: () => ({ first: () => Promise.resolve(bytes(`\u0000${username}\u0000${password}`)), next: () => Promise.resolve(null) }) };
}

/** RAFTLOG-NODE (src/auth/node-proof.ts): node `self`, knowing the cluster secret, acting for `principal`. */
export function nodeSasl(self: string, secret: string, principal: string): SaslMechanism {
  return {
    mechanism: NODE_MECHANISM,
    start: () => {
      const c = new NodeProofClient(self, secret, principal);
      let step = 0;
      return {
        first: () => Promise.resolve(bytes(c.first())),
        next: (reply) => {
          try {
            return Promise.resolve(step++ === 0 ? bytes(c.final(text(reply))) : null);
          } catch (err) {
            return Promise.reject(refused((err as Error).message, err));
          }
        },
      };
    },
  };
}
