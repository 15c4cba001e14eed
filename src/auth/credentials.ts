/**
 * Making a user's credentials from a password, wherever the password is: in the client library or
 * the CLI (`raftlog users create`), and on the controller for the bootstrap user, whose password
 * a node is given (src/node/bootstrap-user.ts). One credential per SCRAM mechanism, each with a
 * salt of its own (src/auth/scram.ts); only the credentials travel and are stored: a password is
 * never sent to a node by `users create`, nor written to the Raft log.
 */
import { randomBytes } from 'node:crypto';
import type { ScramCredentialSpec, ScramCredentials } from '../wire/protocol.js';
import { SCRAM_ITERATIONS_DEFAULT, SCRAM_MECHANISMS, SCRAM_SALT_BYTES, SCRAM_SHA_256, scramCredential, type ScramMechanism } from './scram.js';

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

/** A new `mechanism` credential for `password`: a fresh random salt, SCRAM_ITERATIONS_DEFAULT iterations unless told. */
export async function newCredential<M extends ScramMechanism = typeof SCRAM_SHA_256>(
  password: string,
  iterations = SCRAM_ITERATIONS_DEFAULT,
  random: (bytes: number) => Buffer = randomBytes,
  mechanism: M = SCRAM_SHA_256 as M,
): Promise<ScramCredentialSpec & { readonly mechanism: M }> {
  const c = await scramCredential(password, random(SCRAM_SALT_BYTES), iterations, mechanism);
  return { mechanism, iterations: c.iterations, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey };
}

/** New credentials for `password` of each of `mechanisms` (every SCRAM mechanism unless told), each with a salt of its own. */
export async function newCredentials(password: string, mechanisms: readonly ScramMechanism[] = SCRAM_MECHANISMS, iterations = SCRAM_ITERATIONS_DEFAULT, random: (bytes: number) => Buffer = randomBytes): Promise<ScramCredentials> {
  if (mechanisms.length === 0) throw new Error('a user needs a credential of at least one mechanism');
  const out: Partial<Record<ScramMechanism, ScramCredentialSpec>> = {};
  for (const m of SCRAM_MECHANISMS) if (mechanisms.includes(m)) out[m] = await newCredential(password, iterations, random, m);
  return out as ScramCredentials;
}
