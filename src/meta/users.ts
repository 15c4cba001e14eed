/**
 * The cluster's users (issue 22 §3), kept by the metadata group: each user's SCRAM-SHA-256
 * credential, applied on every node, so that any node authenticates a connection from its own
 * state (src/server/sasl.ts); metadata snapshots carry them with every other key. A credential is
 * never a password (src/auth/scram.ts): the Raft log and the store hold salts and keys only.
 *
 *   key `user/<URI-encoded name>`  UserRecord
 */
import type { StateOp } from '../../storage/state-store.js';
import { ErrorCode, type ScramCredentialSpec } from '../wire/protocol.js';
import type { MetaResult } from './meta-state.js';

export const USER_PREFIX = 'user/';

export function userKey(name: string): string {
  return `${USER_PREFIX}${encodeURIComponent(name)}`;
}

/** A user as the metadata group holds it. */
export interface UserRecord extends ScramCredentialSpec {
  readonly name: string;
  /** The metadata index of the entry that last set its credential. */
  readonly since: number;
}

export type UserCommand =
  /**
   * Creates a user or replaces its credential (Kafka's AlterUserScramCredentials upsertion). With
   * `ifNoUsers` (the bootstrap user, src/node/controller.ts), only while the cluster has no user:
   * two controllers that both try create it once.
   */
  | { readonly type: 'upsertUser'; readonly name: string; readonly credential: ScramCredentialSpec; readonly ifNoUsers?: boolean }
  | { readonly type: 'deleteUser'; readonly name: string };

/** What a user command reads of the state. */
export interface UserState {
  get<T>(key: string): T | undefined;
  entries<T>(prefix: string): [string, T][];
}

/** What `cmd`, the entry at `index`, changes, and its result (UpsertUserResponse / DeleteUserResponse, or why not). */
export function applyUserCommand(state: UserState, cmd: UserCommand, index: number): { ops: StateOp[]; result: MetaResult } {
  const known = state.get<UserRecord>(userKey(cmd.name));
  switch (cmd.type) {
    case 'upsertUser': {
      if (cmd.ifNoUsers === true && state.entries(USER_PREFIX).length > 0) return { ops: [], result: { ok: true, value: { name: cmd.name, created: false, skipped: true } } };
      const c = cmd.credential;
      const rec: UserRecord = { name: cmd.name, mechanism: c.mechanism, iterations: c.iterations, salt: c.salt, storedKey: c.storedKey, serverKey: c.serverKey, since: index };
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
