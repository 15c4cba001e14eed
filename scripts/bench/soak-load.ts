/**
 * The soak's load on one system: the latency workload of workloads.ts (open loop, latency from
 * each record's due time to its receipt, so a stall is charged to every record that waited),
 * run continuously for as long as the soak lasts, with the end-to-end latency of each record filed
 * under the window its due time falls in, in a histogram (histogram.ts) rather than a list.
 *
 * Records: bytes 0-3 the record's sequence number (big-endian u32), bytes 4-11 its due time
 * (performance.now() of this process, float64), the rest filler, `recordBytes` in all. The
 * consumer reading along is a consumer group member (Target.subscribe with a group), so a record
 * delivered twice (after a rebalance) is counted once, as a duplicate.
 *
 * A send that fails is sent again RETRY_MS later, until DELIVERY_MS_MAX after its due time, as
 * raftlog's client retries inside its delivery timeout by itself (NATS's does not: without this,
 * every publish in flight during a stream leader's step-down would be a lost record, and the
 * figures would compare the clients' retry policies rather than the systems). A retried record
 * that was stored the first time after all is received twice, and counted once.
 *
 * The load runs in turns (`offer(untilMs)`): while another system has its turn nothing is due.
 * A window is closed (`close(w)`) once GRACE_MS passed after its end: a record of it not
 * received by then counts as received then, and as missing (as in workloads.ts), and is a late
 * one if it comes after.
 */
import { sleep } from '../../chaos/cluster.js';
import { LatencyHistogram } from './histogram.js';
import type { Closeable, LogOptions, Target, TargetProducer } from './target.js';

/** How long after a window ends its records may take to arrive before it is closed. */
export const GRACE_MS = 5000;
/** A failed send is sent again this much later (the NATS target's reconnect wait), */
const RETRY_MS = 50;
/** until this long after its due time (raftlog's client gives up later; its own retries rarely reach the soak). */
export const DELIVERY_MS_MAX = 30_000;
/** How often the open loop wakes to send what is due. */
const TICK_MS = 1;
const SEQ_OFFSET = 0;
const DUE_OFFSET = 4;
/** The header of every record (sequence number and due time). */
export const RECORD_HEADER_BYTES = 12;

/** One window's records on one system, once closed. */
export interface WindowStats {
  readonly sent: number;
  /** Received by the close, once each. */
  readonly received: number;
  /** Not received by the close (charged as if received then). */
  readonly missing: number;
  /** Sends given up on after DELIVERY_MS_MAX of failures (their records are missing too, unless delivered anyway). */
  readonly errors: number;
  /** Sends that failed and were sent again. */
  readonly retries: number;
  readonly hist: LatencyHistogram;
}

interface OpenWindow {
  firstSeq: number;
  /** One past the last sequence number sent in the window. */
  endSeq: number;
  received: number;
  errors: number;
  retries: number;
  readonly hist: LatencyHistogram;
}

export interface SoakLoadShape {
  readonly log: string;
  readonly partitions: number;
  readonly producers: number;
  readonly recordBytes: number;
  readonly ratePerSec: number;
  readonly logOptions: LogOptions;
  /** The consumer group reading along. */
  readonly group: string;
  readonly windowMs: number;
  /** The longest a turn or window can keep records unclosed: sizes the ring of due times. */
  readonly openMsMax: number;
}

export class SoakLoad {
  private readonly windows = new Map<number, OpenWindow>();
  /** Due time of the send with sequence number s, at s % dueRing.length, while its window is open. */
  private readonly dueRing: Float64Array;
  private received = new Uint8Array(1 << 16);
  private nextSeq = 0;
  /** Records received after their window was closed, and records received twice. */
  late = 0;
  duplicates = 0;
  private producerIndex = 0;
  /** Set by stop(): failed sends are no longer retried. */
  private stopped = false;
  /** performance.now() of the soak's start (start()): window 0 begins here. */
  private startMs = Number.NaN;

  private constructor(
    readonly target: Target,
    private readonly o: SoakLoadShape,
    private readonly producers: readonly TargetProducer[],
    private sub: Closeable | null,
  ) {
    this.dueRing = new Float64Array(Math.ceil((o.ratePerSec * (o.openMsMax + GRACE_MS)) / 1000) * 2 + 1024);
  }

  static async open(t: Target, o: SoakLoadShape): Promise<SoakLoad> {
    if (o.recordBytes < RECORD_HEADER_BYTES) throw new Error(`soak records must hold their ${RECORD_HEADER_BYTES}-byte header, not ${o.recordBytes} bytes`);
    await t.createLog(o.log, o.partitions, o.logOptions);
    const producers = await Promise.all(Array.from({ length: o.producers }, () => t.producer()));
    const load = new SoakLoad(t, o, producers, null);
    load.sub = await t.subscribe(o.log, (v) => load.onRecord(v), { group: o.group });
    return load;
  }

  /** Sets the soak's start, where window 0 begins, before the first offer. */
  start(startMs: number): void {
    this.startMs = startMs;
  }

  private windowOf(dueMs: number): number {
    return Math.floor((dueMs - this.startMs) / this.o.windowMs);
  }

  private onRecord(v: Uint8Array): void {
    const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const seq = view.getUint32(SEQ_OFFSET);
    const due = view.getFloat64(DUE_OFFSET);
    if (seq >= this.nextSeq) return; // not one of this run's (cannot happen: a fresh log)
    if ((this.received[seq >> 3]! & (1 << (seq & 7))) !== 0) {
      this.duplicates++;
      return;
    }
    this.received[seq >> 3]! |= 1 << (seq & 7);
    const w = this.windows.get(this.windowOf(due));
    if (w === undefined || seq < w.firstSeq) {
      this.late++;
      return;
    }
    w.received++;
    w.hist.record(performance.now() - due);
  }

  /** Offers the load (open loop) from now until `untilMs` (performance.now()), or until `stopped()`. */
  async offer(untilMs: number, stopped: () => boolean): Promise<void> {
    if (Number.isNaN(this.startMs)) throw new Error('soak load: offer() before start()');
    const rate = this.o.ratePerSec;
    const turnStart = performance.now() + TICK_MS;
    let k = 0;
    while (!stopped()) {
      const now = performance.now();
      if (now >= untilMs) break;
      const dueNow = Math.floor(((now - turnStart) * rate) / 1000) + 1;
      for (; k < dueNow; k++) {
        const due = turnStart + (k * 1000) / rate;
        if (due >= untilMs) break;
        this.send(due);
      }
      await sleep(TICK_MS);
    }
  }

  private send(due: number): void {
    const seq = this.nextSeq++;
    if (seq >> 3 >= this.received.length) {
      const grown = new Uint8Array(this.received.length * 2);
      grown.set(this.received);
      this.received = grown;
    }
    this.dueRing[seq % this.dueRing.length] = due;
    const wi = this.windowOf(due);
    let w = this.windows.get(wi);
    if (w === undefined) {
      w = { firstSeq: seq, endSeq: seq, received: 0, errors: 0, retries: 0, hist: new LatencyHistogram() };
      this.windows.set(wi, w);
    }
    w.endSeq = seq + 1;
    const value = new Uint8Array(this.o.recordBytes).fill(120);
    const view = new DataView(value.buffer);
    view.setUint32(SEQ_OFFSET, seq);
    view.setFloat64(DUE_OFFSET, due);
    void this.deliver(value, due, w);
  }

  /** Sends `value` until it is acknowledged or DELIVERY_MS_MAX after `due`, each try on the next producer. */
  private async deliver(value: Uint8Array, due: number, w: OpenWindow): Promise<void> {
    for (;;) {
      const p = this.producers[this.producerIndex++ % this.producers.length]!;
      try {
        await p.send(this.o.log, value);
        return;
      } catch {
        if (this.stopped || performance.now() - due + RETRY_MS > DELIVERY_MS_MAX) {
          w.errors++;
          return;
        }
        w.retries++;
        await sleep(RETRY_MS);
      }
    }
  }

  /**
   * Closes window `wi`: its records not received by now are charged as received now and counted
   * missing. A window in which nothing was due (another system's turns) has no stats.
   */
  close(wi: number): WindowStats | null {
    const w = this.windows.get(wi);
    if (w === undefined) return null;
    this.windows.delete(wi);
    const now = performance.now();
    if (this.nextSeq - w.firstSeq > this.dueRing.length) throw new Error(`soak load: window ${wi} of ${this.target.label} closed after its due times were overwritten (sequence ${w.firstSeq}, now ${this.nextSeq}, ring ${this.dueRing.length})`);
    let missing = 0;
    for (let seq = w.firstSeq; seq < w.endSeq; seq++) {
      if ((this.received[seq >> 3]! & (1 << (seq & 7))) !== 0) continue;
      missing++;
      w.hist.record(now - this.dueRing[seq % this.dueRing.length]!);
    }
    return { sent: w.endSeq - w.firstSeq, received: w.received, missing, errors: w.errors, retries: w.retries, hist: w.hist };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.sub?.close();
    this.sub = null;
    await Promise.all(this.producers.map((p) => p.close()));
  }
}
