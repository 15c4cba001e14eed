/**
 * A group member's offset commits: one at a time (an older offset never lands after a newer
 * one), what is known to be committed per partition (so unchanged positions are not sent again),
 * and what a refusal means: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID or REBALANCE_IN_PROGRESS say the
 * member must rejoin.
 */
import { ErrorCode } from '../wire/protocol.js';
import { tpKey } from './assignors/types.js';
import { RaftlogError, toRaftlogError } from './errors.js';
import type { GroupMembership, CommitResult } from './group-membership.js';
import { formatOffset } from './offsets.js';

export interface OffsetPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface CommitsEvents {
  committed(offsets: { topic: string; partition: number; offset: string }[], memberId: string, generation: number): void;
  mustRejoin(reason: string): void;
}

export class GroupCommits {
  /** Offsets known to be committed, by partition. */
  private readonly known = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly membership: GroupMembership,
    private readonly on: CommitsEvents,
  ) {}

  /** Notes an offset read from the coordinator (-1: none). */
  note(topic: string, partition: number, offset: number): void {
    if (offset >= 0) this.known.set(tpKey(topic, partition), offset);
    else this.known.delete(tpKey(topic, partition));
  }

  /** Keeps only what is known of these partitions. */
  retain(keys: ReadonlySet<string>): void {
    for (const k of [...this.known.keys()]) if (!keys.has(k)) this.known.delete(k);
  }

  clear(): void {
    this.known.clear();
  }

  /** The positions that differ from what is committed. */
  changed(positions: readonly OffsetPosition[]): OffsetPosition[] {
    return positions.filter((p) => this.known.get(tpKey(p.topic, p.partition)) !== p.offset);
  }

  /** Commits after the commits before it; rejects with the refusal of any partition. */
  commit(offsets: readonly OffsetPosition[]): Promise<void> {
    const run = async (): Promise<void> => {
      if (offsets.length === 0) return;
      const { memberId, generation } = this.membership;
      const results = await this.commitAll(offsets);
      throwFailures(this.membership.groupId, this.absorb(results, memberId, generation));
    };
    const p = this.chain.then(run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** A refusal of the whole request counts as every partition's. */
  private async commitAll(offsets: readonly OffsetPosition[]): Promise<CommitResult[]> {
    try {
      return await this.membership.commit(offsets);
    } catch (err) {
      const error = toRaftlogError(err);
      return offsets.map((o) => ({ ...o, error }));
    }
  }

  private absorb(results: readonly CommitResult[], memberId: string, generation: number): CommitResult[] {
    const done = results.filter((r) => r.error === null);
    for (const r of done) this.known.set(tpKey(r.topic, r.partition), r.offset);
    if (done.length > 0) this.on.committed(done.map((r) => ({ topic: r.topic, partition: r.partition, offset: formatOffset(r.offset) })), memberId, generation);
    const failed = results.filter((r) => r.error !== null);
    const refusal = failed.find((r) => r.error?.code === ErrorCode.IllegalGeneration || r.error?.code === ErrorCode.UnknownMemberId || r.error?.code === ErrorCode.RebalanceInProgress);
    if (refusal?.error) this.on.mustRejoin(`a commit was refused: ${refusal.error.message}`);
    return failed;
  }
}

function throwFailures(groupId: string, failed: readonly CommitResult[]): void {
  const first = failed[0]?.error;
  if (!first) return;
  const list = failed.map((r) => `${r.topic}/${r.partition} at ${r.offset}`).join(', ');
  throw new RaftlogError(first.code, `group '${groupId}': could not commit ${list}: ${first.message}`, {
    retriable: first.retriable,
    outcomeUnknown: first.outcomeUnknown,
    topic: failed[0].topic,
    partition: failed[0].partition,
    cause: first,
  });
}
