/**
 * The cluster's users (issue 22 §3), kept by the metadata group: each user's SCRAM credentials,
 * one per mechanism (SCRAM-SHA-256, SCRAM-SHA-512), applied on every node, so that any node
 * authenticates a connection from its own state (src/server/sasl.ts); metadata snapshots carry
 * them with every other key. A credential is never a password (src/auth/scram.ts): the Raft log
 * and the store hold salts and keys only.
 *
 *   key `user/<URI-encoded name>`  UserRecord:
 *     { name, since, credentials: { 'SCRAM-SHA-256'?: ScramCredentialSpec, 'SCRAM-SHA-512'?: ScramCredentialSpec } }
 *       each credential { mechanism (its key), iterations, salt, storedKey, serverKey }; at least one
 *
 *   written by the version before SCRAM-SHA-512 (LegacyUserRecord), still read as one
 *   SCRAM-SHA-256 credential (userRecordOf) until the user's next upsert rewrites it:
 *     { name, since, mechanism: 'SCRAM-SHA-256', iterations, salt, storedKey, serverKey }
 */
import type { StateOp } from '../../storage/state-store.js';
import { SCRAM_MECHANISMS, SCRAM_SHA_256, type ScramMechanism } from '../auth/scram.js';
import { ErrorCode, type ScramCredentialSpec, type ScramCredentials } from '../wire/protocol.js';
import type { MetaResult } from './meta-state.js';

export const USER_PREFIX = 'user/';

export function userKey(name: string): string {
  return `${USER_PREFIX}${encodeURIComponent(name)}`;
}

/** A user as the metadata group holds it. */
export interface UserRecord {
  readonly name: string;
  /** Its credentials, by mechanism: at least one. */
  readonly credentials: ScramCredentials;
  /** The metadata index of the entry that last set its credentials. */
  readonly since: number;
}

/** A user record as the version before SCRAM-SHA-512 wrote it: its one SCRAM-SHA-256 credential, inline. */
export interface LegacyUserRecord extends ScramCredentialSpec {
  readonly name: string;
  readonly since: number;
}

/** What the store holds under `user/<name>`: a record of this version, or of the one before. */
export type StoredUserRecord = UserRecord | LegacyUserRecord;

/** The record `stored` is, in this version's shape. */
export function userRecordOf(stored: StoredUserRecord): UserRecord {
  if ('credentials' in stored) return stored;
  const { name, since, iterations, salt, storedKey, serverKey } = stored;
  return { name, since, credentials: { [SCRAM_SHA_256]: { mechanism: SCRAM_SHA_256, iterations, salt, storedKey, serverKey } } };
}

/** The mechanisms `user` has a credential of, in SCRAM_MECHANISMS's order. */
export function mechanismsOf(user: UserRecord): ScramMechanism[] {
  return SCRAM_MECHANISMS.filter((m) => user.credentials[m] !== undefined);
}

/**
 * Creates a user or replaces all its credentials (Kafka's AlterUserScramCredentials upsertion, for
 * every mechanism at once: a mechanism not given is left with no credential, so that an old
 * password works with none). `credentials` since SCRAM-SHA-512; entries written before it carry
 * one SCRAM-SHA-256 `credential` instead, and replay as that. With `ifNoUsers` (the bootstrap
 * user, src/node/controller.ts), only while the cluster has no user: two controllers that both try
 * create it once.
 */
export type UpsertUserCommand = { readonly type: 'upsertUser'; readonly name: string; readonly ifNoUsers?: boolean } & (
  | { readonly credentials: ScramCredentials }
  | { readonly credential: ScramCredentialSpec }
);

export type UserCommand = UpsertUserCommand | { readonly type: 'deleteUser'; readonly name: string };

/** What a user command reads of the state. */
export interface UserState {
  get<T>(key: string): T | undefined;
  entries<T>(prefix: string): [string, T][];
}

/** The credentials an upsert sets, whichever version wrote it; each copied field by field. */
function credentialsOf(cmd: UpsertUserCommand): ScramCredentials {
  const given: ScramCredentials = 'credentials' in cmd ? cmd.credentials : { [SCRAM_SHA_256]: { ...cmd.credential, mechanism: SCRAM_SHA_256 } };
  const out: Partial<Record<ScramMechanism, ScramCredentialSpec>> = {};
  for (const m of SCRAM_MECHANISMS) {
    const c = given[m];
    if (c === undefined) continue;
    if (c.mechanism !== m) throw new Error(`user '${cmd.name}': a ${c.mechanism} credential under ${m}`);
    out[m] = { mechanism: m, iterations: c.iterations, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey };
  }
  // validate.ts refuses an upsert without one: a command that has none was not made by a controller.
  if (Object.keys(out).length === 0) throw new Error(`user '${cmd.name}': an upsert with no credential`);
  return out as ScramCredentials;
}

/** What `cmd`, the entry at `index`, changes, and its result (UpsertUserResponse / DeleteUserResponse, or why not). */
export function applyUserCommand(state: UserState, cmd: UserCommand, index: number): { ops: StateOp[]; result: MetaResult } {
  const known = state.get<StoredUserRecord>(userKey(cmd.name));
  switch (cmd.type) {
    case 'upsertUser': {
      if (cmd.ifNoUsers === true && state.entries(USER_PREFIX).length > 0) return { ops: [], result: { ok: true, value: { name: cmd.name, created: false, skipped: true } } };
      const rec: UserRecord = { name: cmd.name, credentials: credentialsOf(cmd), since: index };
      return { ops: [{ type: 'put', key: userKey(cmd.name), value: rec }], result: { ok: true, value: { name: cmd.name, created: known === undefined } } };
    }
    case 'deleteUser':
      if (known === undefined) return { ops: [], result: { ok: false, code: ErrorCode.ResourceNotFound, message: `user '${cmd.name}' does not exist (list the users with: raftlog users list)` } };
      return { ops: [{ type: 'del', key: userKey(cmd.name) }], result: { ok: true, value: { name: cmd.name } } };
    default: {
      const never: never = cmd;
      throw new Error(`unknown user command ${JSON.stringify(never)}`);
    }
  }
}
