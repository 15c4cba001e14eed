/**
 * `raftlog acls add | list | remove`: the cluster's ACL bindings (src/auth/acl.ts), which nodes
 * started with `--authorizer acl` check every request against. Shaped like Kafka's kafka-acls:
 *
 *   raftlog acls add --allow --principal User:alice --operation read --topic orders [--prefixed]
 *   raftlog acls add --deny --principal User:* --operation write --topic orders --host 10.0.0.7
 *   raftlog acls add --allow --principal User:ops --operation alter --operation describe --cluster
 *   raftlog acls list [--principal User:alice] [--topic orders [--prefixed | --matching]] [--json]
 *   raftlog acls remove --principal User:alice --topic orders [--operation read] [--allow|--deny]
 *
 * --principal and --operation may be repeated: add makes every principal × operation binding.
 * Operations are named as Kafka names them, in any case (Read, IDEMPOTENT_WRITE, idempotentWrite).
 */
import type { Command } from 'commander';
import {
  CLUSTER_NAME,
  OPERATIONS,
  WILDCARD,
  aclBindingProblem,
  principalProblem,
  type AclBinding,
  type AclFilter,
  type AclOperation,
  type AclPermission,
  type ResourcePattern,
  type ResourceType,
} from '../../auth/acl.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, type Run } from './shared.js';

interface AclOptions extends CommonOptions {
  readonly allow?: boolean;
  readonly deny?: boolean;
  readonly principal: string[];
  readonly operation: string[];
  readonly topic?: string;
  readonly group?: string;
  readonly cluster?: boolean;
  readonly prefixed?: boolean;
  readonly matching?: boolean;
  readonly host?: string;
  readonly json?: boolean;
}

const collect = (v: string, all: string[]): string[] => [...all, v];

/** An operation as a person types it: any case, with or without `_` or `-` (Kafka's IDEMPOTENT_WRITE is idempotentWrite). */
export function parseOperation(text: string): AclOperation {
  const key = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');
  const op = OPERATIONS.find((o) => key(o) === key(text));
  if (op === undefined) throw new UsageError(`--operation '${text}' is not one of ${OPERATIONS.join(', ')}`);
  return op;
}

function permissionOf(opts: AclOptions, required: boolean): AclPermission | undefined {
  if (opts.allow === true && opts.deny === true) throw new UsageError('give --allow or --deny, not both');
  if (opts.allow === true) return 'allow';
  if (opts.deny === true) return 'deny';
  if (required) throw new UsageError('say whether the bindings allow or deny: --allow or --deny');
  return undefined;
}

/** The resource the options name, if any: --topic, --group or --cluster (one). */
function resourceOf(opts: AclOptions): ResourcePattern | undefined {
  const given: [ResourceType, string][] = [];
  if (opts.topic !== undefined) given.push(['topic', opts.topic]);
  if (opts.group !== undefined) given.push(['group', opts.group]);
  if (opts.cluster === true) given.push(['cluster', CLUSTER_NAME]);
  if (given.length > 1) throw new UsageError('name one resource: --topic, --group or --cluster');
  if (opts.prefixed === true && opts.matching === true) throw new UsageError('give --prefixed or --matching, not both');
  const [r] = given;
  if (r === undefined) {
    if (opts.prefixed === true || opts.matching === true) throw new UsageError(`${opts.prefixed === true ? '--prefixed' : '--matching'} needs --topic or --group`);
    return undefined;
  }
  if (r[0] === 'cluster' && opts.prefixed === true) throw new UsageError('the cluster is one resource: --prefixed goes with --topic or --group');
  return { type: r[0], name: r[1], pattern: opts.prefixed === true ? 'prefixed' : 'literal' };
}

function principalsOf(opts: AclOptions): string[] {
  for (const p of opts.principal) {
    const problem = principalProblem(p);
    if (problem !== null) throw new UsageError(`--principal: ${problem}`);
  }
  return opts.principal;
}

/** The filter of list and remove: each option given narrows it. */
function filtersOf(opts: AclOptions): AclFilter[] {
  const resource = resourceOf(opts);
  const permission = permissionOf(opts, false);
  const base: AclFilter = {
    ...(resource !== undefined ? { resourceType: resource.type, name: resource.name, pattern: opts.matching === true ? 'match' : resource.pattern } : {}),
    ...(permission !== undefined ? { permission } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
  };
  const principals: (string | undefined)[] = opts.principal.length > 0 ? principalsOf(opts) : [undefined];
  const operations: (AclOperation | undefined)[] = opts.operation.length > 0 ? opts.operation.map(parseOperation) : [undefined];
  return principals.flatMap((principal) => operations.map((operation) => ({ ...base, ...(principal !== undefined ? { principal } : {}), ...(operation !== undefined ? { operation } : {}) })));
}

/** Bindings as a table (or JSON), in a stable order. */
function printBindings(io: Io, bindings: readonly AclBinding[], json: boolean): void {
  const sorted = [...bindings].sort((a, b) => rowOf(a).join('\u0000').localeCompare(rowOf(b).join('\u0000')));
  if (json) {
    io.out(`${JSON.stringify(sorted, null, 2)}\n`);
    return;
  }
  io.out(table(['PRINCIPAL', 'PERMISSION', 'OPERATION', 'RESOURCE', 'PATTERN', 'NAME', 'HOST'], sorted.map(rowOf)));
}

function rowOf(b: AclBinding): string[] {
  return [b.principal, b.permission, b.operation, b.resource.type, b.resource.pattern, b.resource.name, b.host];
}

function resourceOptions(cmd: Command): Command {
  return cmd
    .option('--topic <name>', "a topic ('*': every topic)")
    .option('--group <id>', "a consumer group ('*': every group)")
    .option('--cluster', 'the cluster (admin requests, status, ACLs)')
    .option('--prefixed', 'every topic or group whose name starts with the name given')
    .option('--host <ip>', "the host the bindings apply to ('*': any)");
}

export function aclsCommand(program: Command, io: Io, run: Run): void {
  const acls = program.command('acls').description('who may do what: the ACL bindings nodes started with --authorizer acl check');

  resourceOptions(brokersOption(acls.command('add').description('allow or deny principals operations on a topic, a group or the cluster'), io))
    .option('--allow', 'the bindings allow')
    .option('--deny', 'the bindings deny (a deny wins over any allow)')
    .option('--principal <principal>', 'who: User:<name>, or User:* for everyone (repeat for more)', collect, [])
    .option('--operation <op>', `what: ${OPERATIONS.join(', ')} (repeat for more)`, collect, [])
    .option('--json', 'print the bindings added as JSON')
    .action((opts: AclOptions) =>
      run(opts, async () => {
        const permission = permissionOf(opts, true)!;
        const resource = resourceOf(opts);
        if (resource === undefined) throw new UsageError('name the resource: --topic NAME, --group ID or --cluster');
        if (opts.matching === true) throw new UsageError('--matching is for list');
        if (opts.principal.length === 0) throw new UsageError('name who: --principal User:<name> (User:* for everyone)');
        if (opts.operation.length === 0) throw new UsageError('name what: --operation (e.g. read, write, describe)');
        const bindings = principalsOf(opts).flatMap((principal) =>
          opts.operation.map(parseOperation).map((operation): AclBinding => ({ principal, host: opts.host ?? WILDCARD, resource, operation, permission })),
        );
        for (const b of bindings) {
          const problem = aclBindingProblem(b);
          if (problem !== null) throw new UsageError(problem);
        }
        return withAdmin(io, opts, async (admin) => {
          await admin.createAcls(bindings);
          if (opts.json !== true) io.out(`added ${bindings.length} ACL binding${bindings.length === 1 ? '' : 's'}\n`);
          printBindings(io, bindings, opts.json === true);
          return 0;
        });
      }),
    );

  resourceOptions(brokersOption(acls.command('list').description('the ACL bindings, all or those the options name'), io))
    .option('--allow', 'only bindings that allow')
    .option('--deny', 'only bindings that deny')
    .option('--principal <principal>', 'only the bindings of this principal (repeat for more)', collect, [])
    .option('--operation <op>', 'only the bindings of this operation (repeat for more)', collect, [])
    .option('--matching', 'every binding that applies to the --topic or --group named: its literal, `*`, and the prefixes of its name')
    .option('--json', 'print the bindings as JSON')
    .action((opts: AclOptions) =>
      run(opts, async () => {
        const filters = filtersOf(opts);
        return withAdmin(io, opts, async (admin) => {
          const found = new Map<string, AclBinding>();
          for (const f of filters) for (const b of await admin.describeAcls(f)) found.set(JSON.stringify(rowOf(b)), b);
          const bindings = [...found.values()];
          if (bindings.length === 0 && opts.json !== true) {
            io.out('no ACL bindings match\n');
            return 0;
          }
          printBindings(io, bindings, opts.json === true);
          return 0;
        });
      }),
    );

  resourceOptions(brokersOption(acls.command('remove').description('remove every ACL binding the options name (at least a principal or a resource)'), io))
    .option('--allow', 'only bindings that allow')
    .option('--deny', 'only bindings that deny')
    .option('--principal <principal>', 'the bindings of this principal (repeat for more)', collect, [])
    .option('--operation <op>', 'the bindings of this operation (repeat for more)', collect, [])
    .option('--json', 'print the bindings removed as JSON')
    .action((opts: AclOptions) =>
      run(opts, async () => {
        if (opts.matching === true) throw new UsageError('--matching is for list');
        const filters = filtersOf(opts);
        if (opts.principal.length === 0 && resourceOf(opts) === undefined) {
          throw new UsageError('name what to remove: --principal and/or a resource (--topic, --group or --cluster); raftlog acls list shows them');
        }
        return withAdmin(io, opts, async (admin) => {
          const removed = (await admin.deleteAcls(filters)).flat();
          if (opts.json !== true) io.out(removed.length === 0 ? 'no ACL bindings matched; nothing removed\n' : `removed ${removed.length} ACL binding${removed.length === 1 ? '' : 's'}\n`);
          if (removed.length > 0 || opts.json === true) printBindings(io, removed, opts.json === true);
          return 0;
        });
      }),
    );
}
