/**
 * `raftlog quotas set | remove | list`: client quotas, Kafka's producer_byte_rate and
 * consumer_byte_rate per user (README "Quotas").
 *
 *   raftlog quotas set --user alice --produce-rate 1MB --fetch-rate 5MB
 *   raftlog quotas set --default --produce-rate 200KB      every user without a rate of its own
 *   raftlog quotas remove --user alice [--produce] [--fetch]   (neither: both rates)
 *   raftlog quotas list [--json]
 *
 * Rates are bytes per second: a number, with an optional unit, KB, MB, GB (powers of 1000) or KiB,
 * MiB, GiB (powers of 1024), and an optional "/s".
 */
import { InvalidArgumentError, type Command } from 'commander';
import { LIMITS, QUOTA_DEFAULT_ENTITY, type QuotaAlteration, type QuotaEntry } from '../../wire/protocol.js';
import { withAdmin, type CommonOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { table } from '../format.js';
import type { Io } from '../io.js';
import { brokersOption, type Run } from './shared.js';

interface EntityOptions extends CommonOptions {
  readonly user?: string;
  readonly default?: boolean;
}

interface SetOptions extends EntityOptions {
  readonly produceRate?: number;
  readonly fetchRate?: number;
}

interface RemoveOptions extends EntityOptions {
  readonly produce?: boolean;
  readonly fetch?: boolean;
}

interface ListOptions extends CommonOptions {
  readonly json?: boolean;
}

const UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const RATE = /^(\d+(?:\.\d+)?)\s*([a-z]*?)(?:\/s)?$/i;

/** A byte rate as a person writes it ("200KB", "1.5MiB/s", "1048576"), in bytes per second. */
export function parseByteRate(value: string): number {
  const m = RATE.exec(value.trim());
  const unit = m === null ? undefined : UNITS[m[2]!.toLowerCase()];
  if (m === null || unit === undefined) throw new InvalidArgumentError(`'${value}' is not a byte rate: give bytes per second, e.g. 1048576, 200KB, 5MB or 1MiB (KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024)`);
  const n = Math.round(Number(m[1]) * unit);
  if (n < 1 || n > LIMITS.quotaByteRateMax) throw new InvalidArgumentError(`'${value}' is ${n} bytes per second; a rate is 1 to ${LIMITS.quotaByteRateMax}`);
  return n;
}

/** A byte rate for people: 200 KB/s, 1.5 MB/s (powers of 1000, as the rates are usually given). */
export function byteRate(n: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s', 'TB/s'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** The entity --user or --default names (exactly one of them). */
function entityOf(opts: EntityOptions): string {
  if ((opts.user !== undefined) === (opts.default === true)) throw new UsageError('name whose quota it is: --user <name>, or --default for every user without a quota of its own');
  return opts.default === true ? QUOTA_DEFAULT_ENTITY : `User:${opts.user!}`;
}

/** How the list shows an entity: the user's name, or `<default>`. */
function who(q: QuotaEntry): string {
  return q.entity === QUOTA_DEFAULT_ENTITY ? `${QUOTA_DEFAULT_ENTITY} (every user without its own)` : q.entity.slice('User:'.length);
}

export function quotasCommand(program: Command, io: Io, run: Run): void {
  const quotas = program.command('quotas').description('client quotas: produce and fetch byte rates per user, enforced on each node by throttling');

  brokersOption(quotas.command('set').description("set a user's (or the default's) produce and fetch rates, bytes per second per node"), io)
    .option('--user <name>', 'the user (principal User:<name>)')
    .option('--default', 'the default: every user without a rate of its own')
    .option('--produce-rate <rate>', 'bytes per second its producers may send each node, e.g. 1MB', parseByteRate)
    .option('--fetch-rate <rate>', 'bytes per second each node may send its consumers, e.g. 5MB', parseByteRate)
    .action((opts: SetOptions) =>
      run(opts, async () => {
        const entity = entityOf(opts);
        if (opts.produceRate === undefined && opts.fetchRate === undefined) throw new UsageError('give --produce-rate, --fetch-rate or both');
        const change: QuotaAlteration = {
          entity,
          ...(opts.produceRate !== undefined ? { producerByteRate: opts.produceRate } : {}),
          ...(opts.fetchRate !== undefined ? { consumerByteRate: opts.fetchRate } : {}),
        };
        return withAdmin(io, opts, async (admin) => {
          await admin.alterQuotas([change]);
          const set = [opts.produceRate !== undefined ? `produce ${byteRate(opts.produceRate)}` : '', opts.fetchRate !== undefined ? `fetch ${byteRate(opts.fetchRate)}` : ''].filter((x) => x !== '');
          io.out(`quota of ${entity}: ${set.join(', ')} (per node)\n`);
          return 0;
        });
      }),
    );

  brokersOption(quotas.command('remove').description("remove a user's (or the default's) rates: both, or the ones named"), io)
    .option('--user <name>', 'the user (principal User:<name>)')
    .option('--default', 'the default: every user without a rate of its own')
    .option('--produce', 'only the produce rate')
    .option('--fetch', 'only the fetch rate')
    .action((opts: RemoveOptions) =>
      run(opts, async () => {
        const entity = entityOf(opts);
        const both = opts.produce !== true && opts.fetch !== true;
        const change: QuotaAlteration = {
          entity,
          ...(both || opts.produce === true ? { producerByteRate: null } : {}),
          ...(both || opts.fetch === true ? { consumerByteRate: null } : {}),
        };
        return withAdmin(io, opts, async (admin) => {
          await admin.alterQuotas([change]);
          const what = both || (opts.produce === true && opts.fetch === true) ? 'produce and fetch rates' : opts.produce === true ? 'produce rate' : 'fetch rate';
          io.out(`removed the ${what} of ${entity}\n`);
          return 0;
        });
      }),
    );

  brokersOption(quotas.command('list').description('every user with a quota, and the default'), io)
    .option('--json', 'print the quotas as JSON: [{entity, producerByteRate?, consumerByteRate?}], bytes per second')
    .action((opts: ListOptions) =>
      run(opts, async () =>
        withAdmin(io, opts, async (admin) => {
          const list = await admin.describeQuotas();
          if (opts.json) {
            io.out(`${JSON.stringify(list, null, 2)}\n`);
            return 0;
          }
          if (list.length === 0) {
            io.out('no quotas: every user may produce and fetch as fast as the nodes go (set one with: raftlog quotas set --default --produce-rate 10MB)\n');
            return 0;
          }
          // A user without a rate of its own in a direction is held to the default's there.
          const rate = (q: QuotaEntry, n: number | undefined): string => (n !== undefined ? `${byteRate(n)} (${n})` : q.entity === QUOTA_DEFAULT_ENTITY ? '-' : 'the default');
          io.out(table(['USER', 'PRODUCE RATE', 'FETCH RATE'], list.map((q) => [who(q), rate(q, q.producerByteRate), rate(q, q.consumerByteRate)])));
          return 0;
        }),
      ),
    );
}
