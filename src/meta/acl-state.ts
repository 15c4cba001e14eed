/**
 * ACL bindings in the metadata state (src/auth/acl.ts has the model): one key per binding,
 * `acl/<principal>/<resource type>/<pattern>/<name>/<operation>/<permission>/<host>` (each part
 * URI-encoded, aclKey), whose value is the binding. They are in every metadata snapshot with the
 * rest of the state store.
 *
 * Applying is deterministic on every node, as all metadata commands: what a command adds or
 * removes depends only on the state before it.
 */
import { ACL_BINDINGS_MAX, ACL_PREFIX, aclBindingProblem, aclKey, filterMatches, type AclBinding } from '../auth/acl.js';
import type { StateOp, StateStore } from '../../storage/state-store.js';
import { ErrorCode } from '../wire/protocol.js';
import type { MetaCommand } from './commands.js';
import type { MetaResult } from './meta-state.js';

/** What a deleteAcls command removed, per filter in its order (a binding two filters match is listed under the first). */
export type AclDeletion = { readonly removed: readonly AclBinding[] }[];

/** Every binding held, in key order. */
export function aclBindings(store: Pick<StateStore, 'entries'>): AclBinding[] {
  return store.entries<AclBinding>(ACL_PREFIX).map(([, b]) => b);
}

export function executeAclCommand(store: Pick<StateStore, 'entries' | 'get'>, cmd: Extract<MetaCommand, { type: 'createAcls' | 'deleteAcls' }>): { ops: StateOp[]; result: MetaResult } {
  switch (cmd.type) {
    case 'createAcls': {
      // The controller checked them; one that reaches the log anyway (a bug) changes nothing.
      const bad = cmd.bindings.map(aclBindingProblem).find((p) => p !== null);
      if (bad !== undefined) return { ops: [], result: { ok: false, code: ErrorCode.InvalidRequest, message: `${bad}; no binding was added` } };
      const fresh = new Map<string, AclBinding>();
      for (const b of cmd.bindings) {
        const key = aclKey(b);
        if (store.get(key) === undefined) fresh.set(key, b);
      }
      const held = store.entries(ACL_PREFIX).length;
      if (held + fresh.size > ACL_BINDINGS_MAX) {
        return { ops: [], result: { ok: false, code: ErrorCode.InvalidRequest, message: `the cluster holds ${held} ACL bindings, and at most ${ACL_BINDINGS_MAX}: ${fresh.size} more do not fit (use prefixed patterns, or remove some); no binding was added` } };
      }
      return { ops: [...fresh].map(([key, value]) => ({ type: 'put', key, value })), result: { ok: true } };
    }
    case 'deleteAcls': {
      const held = store.entries<AclBinding>(ACL_PREFIX);
      const gone = new Set<string>();
      const removed: AclDeletion = cmd.filters.map((f) => {
        const mine: AclBinding[] = [];
        for (const [key, b] of held) {
          if (gone.has(key) || !filterMatches(f, b)) continue;
          gone.add(key);
          mine.push(b);
        }
        return { removed: mine };
      });
      return { ops: [...gone].map((key) => ({ type: 'del', key })), result: { ok: true, value: removed } };
    }
    default: {
      const never: never = cmd;
      throw new Error(`not an ACL command: ${JSON.stringify(never)}`);
    }
  }
}
