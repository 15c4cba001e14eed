/**
 * A small deterministic network of Raft members for the core's unit tests.
 *
 * Each member is a `Raft` over a `MemoryStorage`. The network plays the host of test/sim: it takes
 * a member's Ready, persists it (snapshot, entries, hard state), queues its messages, records what
 * it applied, read and dropped, and advances. Messages wait in one FIFO queue until a test delivers
 * them, so a test can stop anywhere, look, drop a message, or let everything run (`stabilize`).
 * Cut links drop messages at delivery. Every send, delivery and drop is kept in `trace`.
 */
import type { CommitBroadcast, RaftLimits, UnsafeMutations } from '../../raft/config.js';
import type { Membership } from '../../raft/membership.js';
import { MemoryStorage } from '../../raft/memory-storage.js';
import type { PeerStatus } from '../../raft/raft.js';
import { Raft } from '../../raft/raft.js';
import { seededRandom } from '../../raft/random.js';
import {
  EntryKind,
  Role,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Snapshot,
} from '../../raft/types.js';

export interface TraceEvent {
  readonly kind: 'send' | 'deliver' | 'drop';
  readonly msg: Message;
}

export interface NetworkOptions {
  /** Member ids; the default is a, b, c. */
  readonly ids?: readonly NodeId[];
  readonly limits?: Partial<RaftLimits>;
  readonly checkQuorum?: boolean;
  readonly preVote?: boolean;
  readonly commitBroadcast?: CommitBroadcast;
  readonly seed?: number;
  /** Logs to start from, as the term of each entry from index 1 on. */
  readonly logs?: Readonly<Record<NodeId, readonly number[]>>;
  /** The persisted term of every member (default: the highest term in its log). */
  readonly term?: number;
  /** To prove a test catches the bug it aims at: the same arrangement over a core broken on purpose. */
  readonly unsafeMutations?: UnsafeMutations;
  /** The persisted commit index of every member, capped at its log's length (default 0). */
  readonly commit?: number;
}

const enc = new TextEncoder();

export function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

/** A payload of exactly `n` bytes. */
export function payload(n: number): Uint8Array {
  return new Uint8Array(n).fill(120);
}

/** Entries 1..n with the given terms; an entry's data names its index and term. */
export function entriesOfTerms(terms: readonly number[]): Entry[] {
  return terms.map((term, k) => ({ index: k + 1, term, kind: EntryKind.Normal, data: bytes(`i${k + 1}t${term}`) }));
}

/** A storage holding entries of the given terms from index 1 on, and the given hard state. */
export function storageWithLog(terms: readonly number[], hardState: HardState): MemoryStorage {
  const s = new MemoryStorage();
  s.append(entriesOfTerms(terms));
  s.hardState = hardState;
  return s;
}

export class Member {
  raft: Raft;
  /** Every Ready this member handed out, in order. */
  readonly readies: Ready[] = [];
  /** Every committed entry handed out for applying, in order. */
  readonly applied: Entry[] = [];
  readonly readStates: ReadState[] = [];
  readonly readsDropped: unknown[] = [];
  readonly snapshots: Snapshot[] = [];

  constructor(
    readonly id: NodeId,
    public storage: MemoryStorage,
    private readonly make: (storage: MemoryStorage, applied: number) => Raft,
  ) {
    this.raft = make(storage, 0);
  }

  /**
   * Restarts on a disk that lost everything, as a replica rejoining under `rejoin` (what the host
   * decides for a folder that came back empty, raft/rejoin.ts); with null, as if nothing noticed.
   * With `membership`, the new log starts from that configuration (what a node writes at the log
   * start of a replica it creates for a partition that was reassigned, src/partition/replica.ts).
   */
  wipe(rejoin: string | null, membership?: Membership): void {
    this.storage = new MemoryStorage();
    if (membership !== undefined) this.storage.applySnapshot({ index: 0, term: 0, data: new Uint8Array(0), membership });
    this.storage.hardState = { term: 0, vote: null, commit: 0, rejoin };
    this.applied.length = 0;
    this.raft = this.make(this.storage, 0);
  }

  /** Restarts with the log cut after `last` (entries it had synced are gone), keeping the hard state. */
  cutLog(last: number, rejoin: string | null): void {
    const kept = this.storage.entries(1, last + 1, Number.MAX_SAFE_INTEGER);
    const hs = this.storage.hardState;
    this.storage = new MemoryStorage();
    this.storage.append(kept);
    this.storage.hardState = { ...hs, commit: Math.min(hs.commit, last), rejoin };
    this.applied.length = 0;
    this.raft = this.make(this.storage, 0);
  }

  /** A new `Raft` over what this member persisted, as after a crash and restart. */
  restart(): void {
    const last = this.applied[this.applied.length - 1];
    const fromSnapshot = this.storage.firstIndex() - 1;
    this.raft = this.make(this.storage, Math.max(last?.index ?? 0, fromSnapshot));
  }
}

export class Network {
  readonly members = new Map<NodeId, Member>();
  readonly trace: TraceEvent[] = [];
  private queue: Message[] = [];
  private readonly cuts = new Set<string>();

  constructor(readonly options: NetworkOptions = {}) {
    const ids = options.ids ?? ['a', 'b', 'c'];
    const seed = options.seed ?? 1;
    ids.forEach((id, k) => {
      const terms = options.logs?.[id] ?? [];
      const term = options.term ?? Math.max(0, ...terms);
      const storage = storageWithLog(terms, { term, vote: null, commit: Math.min(options.commit ?? 0, terms.length) });
      const make = (s: MemoryStorage, applied: number): Raft =>
        new Raft({
          id,
          voters: ids,
          storage: s,
          hardState: s.hardState,
          applied,
          random: seededRandom(seed * 1000 + k + 1),
          limits: options.limits,
          checkQuorum: options.checkQuorum,
          preVote: options.preVote,
          commitBroadcast: options.commitBroadcast,
          unsafeMutations: options.unsafeMutations,
        });
      this.members.set(id, new Member(id, storage, make));
    });
  }

  /**
   * A new member `id` with an empty log, as a host creates the replica of a node being added:
   * it starts from `membership` (the configuration that adds it) until its leader's log tells it
   * otherwise.
   */
  addMember(id: NodeId, membership: Membership): Member {
    const k = this.members.size;
    const seed = this.options.seed ?? 1;
    const make = (s: MemoryStorage, applied: number): Raft =>
      new Raft({
        id,
        voters: membership.voters,
        learners: membership.learners,
        storage: s,
        hardState: s.hardState,
        applied,
        random: seededRandom(seed * 1000 + k + 1),
        limits: this.options.limits,
        checkQuorum: this.options.checkQuorum,
        preVote: this.options.preVote,
        commitBroadcast: this.options.commitBroadcast,
        unsafeMutations: this.options.unsafeMutations,
      });
    const m = new Member(id, new MemoryStorage(), make);
    this.members.set(id, m);
    return m;
  }

  member(id: NodeId): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  raft(id: NodeId): Raft {
    return this.member(id).raft;
  }

  // -------------------------------------------------------------------------------------------
  // The host

  /** Takes one Ready from `id` if it has one: persists it, queues its messages, then advances. */
  process(id: NodeId): Ready | null {
    const m = this.member(id);
    if (!m.raft.hasReady()) return null;
    const rd = m.raft.ready();
    if (rd.snapshot !== null) {
      m.storage.applySnapshot(rd.snapshot);
      m.snapshots.push(rd.snapshot);
    }
    m.storage.append(rd.entries);
    if (rd.hardState !== null) m.storage.hardState = rd.hardState;
    for (const msg of rd.messages) {
      this.trace.push({ kind: 'send', msg });
      this.queue.push(msg);
    }
    m.applied.push(...rd.committedEntries);
    m.readStates.push(...rd.readStates);
    m.readsDropped.push(...rd.readsDropped);
    m.readies.push(rd);
    m.raft.advance(rd);
    return rd;
  }

  /** Processes Readys until no member has one. */
  processAll(): void {
    for (let round = 0; round < 10_000; round++) {
      let any = false;
      for (const id of this.members.keys()) if (this.process(id) !== null) any = true;
      if (!any) return;
    }
    throw new Error('members keep producing Readys');
  }

  // -------------------------------------------------------------------------------------------
  // The network

  inFlight(): readonly Message[] {
    return this.queue;
  }

  /** Delivers the queued messages that match `filter`, in order; the others stay queued. */
  deliver(filter: (m: Message) => boolean = () => true): number {
    const now = this.queue;
    this.queue = [];
    const keep: Message[] = [];
    let n = 0;
    for (const m of now) {
      if (filter(m)) {
        this.deliverOne(m);
        n++;
      } else {
        keep.push(m);
      }
    }
    this.queue = keep.concat(this.queue);
    return n;
  }

  /** Loses the queued messages that match `filter`. */
  discard(filter: (m: Message) => boolean): number {
    const lost = this.queue.filter(filter);
    this.queue = this.queue.filter((m) => !filter(m));
    for (const msg of lost) this.trace.push({ kind: 'drop', msg });
    return lost.length;
  }

  private deliverOne(msg: Message): void {
    if (this.cuts.has(`${msg.from}>${msg.to}`)) {
      this.trace.push({ kind: 'drop', msg });
      return;
    }
    this.trace.push({ kind: 'deliver', msg });
    this.raft(msg.to).step(msg);
  }

  /** Processes and delivers until nothing is left; messages matching `drop` are lost. */
  stabilize(drop: (m: Message) => boolean = () => false): void {
    for (let round = 0; round < 10_000; round++) {
      this.processAll();
      this.discard(drop);
      if (this.queue.length === 0) return;
      this.deliver();
    }
    throw new Error('the network did not stabilize');
  }

  /** Processes and delivers one message at a time (oldest first) until `cond` holds. */
  runUntil(cond: () => boolean): void {
    for (let step = 0; step < 100_000; step++) {
      this.processAll();
      if (cond()) return;
      const m = this.queue.shift();
      if (m === undefined) throw new Error('the network went quiet before the condition held');
      this.deliverOne(m);
    }
    throw new Error('the condition never held');
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutOneWay(a, b);
    this.cutOneWay(b, a);
  }

  isolate(id: NodeId): void {
    for (const other of this.members.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Time and elections

  /** Ticks `id` n times without processing or delivering anything. */
  tick(id: NodeId, n = 1): void {
    for (let k = 0; k < n; k++) this.raft(id).tick();
  }

  /** n times: tick each of `ids` once, then stabilize. */
  tickAndStabilize(n: number, ids: readonly NodeId[] = [...this.members.keys()]): void {
    for (let k = 0; k < n; k++) {
      for (const id of ids) this.raft(id).tick();
      this.stabilize();
    }
  }

  /** `campaign()` on `id`, then stabilize; throws unless `id` ends up leading. */
  elect(id: NodeId): void {
    this.raft(id).campaign();
    this.stabilize();
    if (this.role(id) !== Role.Leader) throw new Error(`${id} did not win: it is ${this.role(id)} at term ${this.term(id)}`);
  }

  restart(id: NodeId): void {
    this.member(id).restart();
  }

  // -------------------------------------------------------------------------------------------
  // Looking

  role(id: NodeId): Role {
    return this.raft(id).role;
  }

  term(id: NodeId): number {
    return this.raft(id).term;
  }

  lead(id: NodeId): NodeId | null {
    return this.raft(id).lead;
  }

  commit(id: NodeId): number {
    return this.raft(id).committed;
  }

  lastIndex(id: NodeId): number {
    return this.raft(id).lastIndex();
  }

  /** The member's log as the core sees it (persisted entries and unstable tail). */
  entries(id: NodeId): Entry[] {
    const r = this.raft(id);
    const first = r.firstIndex();
    const last = r.lastIndex();
    return first > last ? [] : r.entries(first, last + 1, Number.MAX_SAFE_INTEGER);
  }

  /** `index:term` of every entry in the member's log, for comparing logs. */
  shape(id: NodeId): string[] {
    return this.entries(id).map((e) => `${e.index}:${e.term}`);
  }

  /** What a leader knows of a follower (throws on a non-leader). */
  peer(leader: NodeId, follower: NodeId): PeerStatus {
    const p = this.raft(leader).status().peers.find((x) => x.id === follower);
    if (p === undefined) throw new Error(`${leader} keeps no progress for ${follower} (is it leading?)`);
    return p;
  }

  /** Messages sent so far (in order) that match `filter`. */
  sent(filter: (m: Message) => boolean = () => true): Message[] {
    return this.trace.filter((t) => t.kind === 'send' && filter(t.msg)).map((t) => t.msg);
  }
}
