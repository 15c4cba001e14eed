/**
 * Making a user's credential from a password, wherever the password is: in the client library or
 * the CLI (`raftlog users create`), and on the controller for the bootstrap user, whose password
 * a node is given (src/node/bootstrap-user.ts). Only the credential (src/auth/scram.ts) travels
 * and is stored: a password is never sent to a node by `users create`, nor written to the Raft log.
 */
import { randomBytes } from 'node:crypto';
import type { ScramCredentialSpec } from '../wire/protocol.js';
import { SCRAM_ITERATIONS_DEFAULT, SCRAM_SALT_BYTES, SCRAM_SHA_256, scramCredential } from './scram.js';

/** Bytes of a password (UTF-8), at least and at most: a short one is guessed, and a long one costs every login its hashing. */
export const PASSWORD_BYTES_MIN = 8;
export const PASSWORD_BYTES_MAX = 1024;

/** What is wrong with `password` as a new user's, or null. */
export function passwordProblem(password: unknown): string | null {
  if (typeof password !== 'string') return 'a password must be a string';
  const n = Buffer.byteLength(password, 'utf8');
  if (n < PASSWORD_BYTES_MIN) return `a password of ${n} bytes is too short: use at least ${PASSWORD_BYTES_MIN}`;
  if (n > PASSWORD_BYTES_MAX) return `a password of ${n} bytes is too long: use at most ${PASSWORD_BYTES_MAX}`;
  return null;
}

/** A new SCRAM-SHA-256 credential for `password`: a fresh random salt, SCRAM_ITERATIONS_DEFAULT iterations. */
export async function newCredential(password: string, iterations = SCRAM_ITERATIONS_DEFAULT, random: (bytes: number) => Buffer = randomBytes): Promise<ScramCredentialSpec> {
  const c = await scramCredential(password, random(SCRAM_SALT_BYTES), iterations);
  return { mechanism: SCRAM_SHA_256, iterations: c.iterations, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey };
}
