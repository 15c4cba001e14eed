/**
 * The bootstrap user (as Redpanda's RP_BOOTSTRAP_USER): `RAFTLOG_BOOTSTRAP_USER=name:password`, or
 * `--bootstrap-user-file` naming a file whose first line is `name:password`. The controller
 * creates this user while the cluster has no user (controller.ts), so that a cluster started with
 * `--auth sasl` has someone who can log in and create the others; the user is a super user
 * (options.ts adds `User:<name>` to superUsers). Give every node the same setting, as the cluster
 * secret: whichever node is the controller creates the user, and every node then treats it as a
 * super user.
 *
 * Until the controller has created it, the node does not check a login (bootstrapUserPending):
 * a cluster with no user can tell nobody that their password is wrong, and the bootstrap user,
 * whose password is right, would be told so by a node that is up a moment before its controller
 * has stored the user. The login is refused as retriable instead (src/server/sasl.ts, notReady).
 */
import { newCredentials, passwordProblem } from '../auth/credentials.js';
import { NodeStartError } from '../errors.js';
import { userNameProblem, type ScramCredentials } from '../wire/protocol.js';

export interface BootstrapUser {
  readonly name: string;
  readonly password: string;
}

/** `name:password` read (the first ':' ends the name), checked; `from` names where it came from, for the error. */
export function parseBootstrapUser(text: string, from: string): BootstrapUser {
  const at = text.indexOf(':');
  if (at <= 0) throw new NodeStartError(`the bootstrap user from ${from} is not name:password`);
  const name = text.slice(0, at);
  const password = text.slice(at + 1);
  const nameProblem = userNameProblem(name);
  if (nameProblem !== null) throw new NodeStartError(`the bootstrap user from ${from}: ${nameProblem}`);
  const pwProblem = passwordProblem(password);
  if (pwProblem !== null) throw new NodeStartError(`the bootstrap user from ${from}: ${pwProblem}`);
  return { name, password };
}

/** The credentials the controller stores for the bootstrap user, of every SCRAM mechanism (a fresh salt each time they are made). */
export function bootstrapCredentials(password: string): Promise<ScramCredentials> {
  return newCredentials(password);
}

/**
 * Why logins wait (null: they do not): this node was given a bootstrap user and the cluster has no
 * user yet, so its controller is about to create it. `hasUsers` is false while the metadata holds
 * none.
 */
export function bootstrapUserPending(bootstrap: BootstrapUser | undefined, hasUsers: boolean): string | null {
  if (bootstrap === undefined || hasUsers) return null;
  return `the cluster has no user yet and its controller is creating the bootstrap user '${bootstrap.name}' (if this lasts, give every node the same RAFTLOG_BOOTSTRAP_USER or --bootstrap-user-file)`;
}
