/**
 * Offset look-ups (earliest, latest, by timestamp) for many partitions: one listOffsets request
 * per leader, retried as a whole after a routing error.
 */
import type { ListedOffset, OffsetSpec } from '../wire/protocol.js';
import { tpKey as key } from './assignors/types.js';
import type { Cluster } from './cluster.js';
import { ClientErrorCode, RaftlogError, fromApiError, shouldRetry } from './errors.js';
import { withRetry, type RetryOptions } from './retry.js';

export interface OffsetQuery {
  readonly topic: string;
  readonly partition: number;
  readonly spec: OffsetSpec;
}

/** The offset of each query, in query order. */
export async function listOffsets(cluster: Cluster, queries: readonly OffsetQuery[], retry: Required<RetryOptions> = cluster.config.retry): Promise<ListedOffset[]> {
  return withRetry(
    async () => {
      await cluster.refreshIfStale();
      for (const t of new Set(queries.map((q) => q.topic))) await cluster.topic(t);
      const byLeader = new Map<string, OffsetQuery[]>();
      for (const q of queries) {
        const address = cluster.leaderAddress(q.topic, q.partition);
        const list = byLeader.get(address) ?? [];
        list.push(q);
        byLeader.set(address, list);
      }
      const found = new Map<string, ListedOffset>();
      const answers = await Promise.allSettled(
        [...byLeader].map(async ([address, list]) => {
          const resp = await cluster.request(address, { type: 'listOffsets', partitions: list });
          for (const r of Array.isArray(resp.partitions) ? resp.partitions : []) {
            if (r.error) {
              const err = fromApiError(r.error, { topic: r.topic, partition: r.partition, node: address });
              cluster.notePartitionError(r.topic, r.partition, err);
              throw err;
            }
            found.set(key(r.topic, r.partition), r);
          }
        }),
      );
      // A retriable failure wins, so the whole look-up is tried again.
      const failures = answers.flatMap((a) => (a.status === 'rejected' ? [a.reason as unknown] : []));
      const failure = failures.find((f) => shouldRetry(f)) ?? failures[0];
      if (failure !== undefined) throw failure;
      return queries.map((q) => {
        const r = found.get(key(q.topic, q.partition));
        if (!r) {
          throw new RaftlogError(ClientErrorCode.ProtocolError, `${q.topic}/${q.partition}: the leader did not answer the offset look-up for this partition`, {
            retriable: true,
          });
        }
        return r;
      });
    },
    retry,
    { clock: cluster.clock, onRetry: () => cluster.refreshIfStale() },
  );
}
