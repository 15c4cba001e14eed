/**
 * The benchmark's workloads (scripts/bench/workloads.ts) against an in-memory target whose
 * acknowledgements and deliveries the test controls: what each figure counts, not how fast
 * anything is.
 */
import { describe, expect, it } from 'vitest';
import { failover, latency, latencyInterleaved, openLatency, openThroughput, throughputInterleaved, throughputResult, warmUp } from '../../scripts/bench/workloads.js';
import type { Closeable, Target, TargetProducer } from '../../scripts/bench/target.js';

/**
 * A log in memory: a send is acknowledged and delivered to subscribers in the next turn of the
 * event loop, except while its leader is killed (sends fail until a new one is elected).
 */
class MemoryTarget implements Target {
  /** When each send reached this target (performance.now()). */
  readonly sendTimes: number[] = [];

  constructor(
    readonly label = 'memory',
    /** Extra time before a send is acknowledged and delivered. */
    private readonly delayMs = 0,
    /** Where every send is noted by the target's label, shared by targets to see their turns. */
    private readonly timeline: string[] = [],
  ) {}

  readonly nodes = ['a', 'b'];
  readonly logs = new Map<string, Uint8Array[]>();
  private subscribers = new Map<string, ((v: Uint8Array) => void)[]>();
  private down = new Set<string>();
  private lead = 'a';
  /** Milliseconds until a new leader after each kill, in order; 50 once these run out. */
  readonly elections: number[] = [];

  async createLog(name: string): Promise<void> {
    this.logs.set(name, []);
  }
  async producer(): Promise<TargetProducer> {
    return {
      send: async (log, value) => {
        this.sendTimes.push(performance.now());
        this.timeline.push(this.label);
        // An answer comes in a later turn of the event loop, as over a socket.
        await new Promise((r) => (this.delayMs > 0 ? setTimeout(r, this.delayMs) : setImmediate(r)));
        if (this.down.has(this.lead)) throw new Error('no leader');
        this.logs.get(log)!.push(value);
        for (const s of this.subscribers.get(log) ?? []) s(value);
      },
      close: async () => undefined,
    };
  }
  async subscribe(log: string, onRecord: (v: Uint8Array) => void): Promise<Closeable> {
    this.subscribers.set(log, [...(this.subscribers.get(log) ?? []), onRecord]);
    return { close: async () => void this.subscribers.set(log, (this.subscribers.get(log) ?? []).filter((s) => s !== onRecord)) };
  }
  async leader(): Promise<string> {
    return this.lead;
  }
  async kill(node: string): Promise<void> {
    this.down.add(node);
    // A new leader after 50 ms (or as `elections` says).
    setTimeout(() => {
      this.lead = this.nodes.find((n) => !this.down.has(n))!;
    }, this.elections.shift() ?? 50);
  }
  async restart(node: string): Promise<void> {
    this.down.delete(node);
  }
  async transfer(): Promise<void> {
    this.lead = this.nodes.find((n) => n !== this.lead)!;
  }
  async stop(): Promise<void> {}
}

const quiet = (): void => undefined;

describe('benchmark workloads', () => {
  it('throughput counts only acknowledged records of the measured window', async () => {
    const t = new MemoryTarget();
    // 50 ms of ramp, then 200 ms measured.
    const session = await openThroughput(t, { log: 'tp', partitions: 1, producers: 2, recordBytes: 100, inFlight: 4 });
    const r = throughputResult({ producers: 2, recordBytes: 100 }, [await session.window(200, 50)]);
    await session.close();
    const written = t.logs.get('tp')!.length;
    expect(r.recordsPerSec).toBeGreaterThan(0);
    // The window is 0.2 s of a longer run: it cannot count more than was written in all.
    expect(r.recordsPerSec * 0.2).toBeLessThanOrEqual(written);
    expect(r.mbPerSec).toBeCloseTo((r.recordsPerSec * 100) / 1e6, 2);
    expect(r.errors).toBe(0);
  });

  it('interleaved throughput gives the systems turns and measures each on its own', async () => {
    const timeline: string[] = [];
    const fast = new MemoryTarget('f', 0, timeline);
    const slow = new MemoryTarget('s', 10, timeline);
    const shape = { log: 'tp', partitions: 1, producers: 1, recordBytes: 100, inFlight: 2 };
    const sessions = [await openThroughput(fast, shape), await openThroughput(slow, shape)];
    const [a, b] = await throughputInterleaved(sessions, { producers: 1, recordBytes: 100, warmupMs: 50, rampMs: 20, rounds: 3, windowMs: 100, progress: quiet });
    await Promise.all(sessions.map((s) => s.close()));
    // The slow target acknowledges each of 2 outstanding sends after 10 ms: at most ~200/s.
    expect(b!.recordsPerSec).toBeGreaterThan(50);
    expect(b!.recordsPerSec).toBeLessThan(260);
    expect(a!.recordsPerSec).toBeGreaterThan(4 * b!.recordsPerSec);
    // Turns, never overlapping: warm-ups f, s; rounds f s | s f | f s.
    const turns = timeline.filter((who, i) => i === 0 || timeline[i - 1] !== who).join('');
    expect(turns).toBe('fsfsfs');
  });

  it('latency charges a stall of the sender to every record that was due during it (no coordinated omission)', async () => {
    const t = new MemoryTarget();
    // 200 records/s for 1 s after a 100 ms warm-up. Right after the warm-up the sending process
    // itself is blocked for 400 ms (as by a GC pause): about 80 records (40%) fall due then and go
    // out late, all at once. Timed from their actual send they would look instant.
    const stall = 400;
    const run = latency(t, { log: 'lat', partitions: 1, producers: 1, recordBytes: 16, ratePerSec: 200, warmupMs: 100, measureMs: 1000, progress: quiet });
    await new Promise((r) => setTimeout(r, 150));
    const until = performance.now() + stall;
    while (performance.now() < until) {
      // busy: nothing else runs
    }
    const r = await run;
    expect(r.sent).toBe(200);
    expect(r.received).toBe(200);
    expect(r.missing).toBe(0);
    expect(r.ms.max).toBeGreaterThan(stall * 0.75);
    expect(r.ms.p99).toBeGreaterThan(stall * 0.5);
  });

  it('latency counts records never delivered as missing', async () => {
    const t = new MemoryTarget();
    // The subscriber never hears of anything.
    t.subscribe = async () => ({ close: async () => undefined });
    const r = await latency(t, { log: 'lat', partitions: 1, producers: 1, recordBytes: 16, ratePerSec: 100, warmupMs: 0, measureMs: 100, progress: quiet });
    expect(r.sent).toBe(10);
    expect(r.missing).toBe(10);
    expect(r.received).toBe(0);
  }, 15_000);

  it('interleaved latency gives the systems turns, A B then B A, and keeps each one\'s figures apart', async () => {
    const fast = new MemoryTarget('fast');
    const slow = new MemoryTarget('slow', 30);
    const shape = { log: 'lat', partitions: 1, producers: 2, recordBytes: 16, ratePerSec: 200 };
    const sessions = [await openLatency(fast, shape), await openLatency(slow, shape)];
    const lines: string[] = [];
    const [a, b] = await latencyInterleaved(sessions, { ratePerSec: 200, recordBytes: 16, warmupMs: 50, rounds: 3, windowMs: 100, progress: (l) => lines.push(l) });
    await Promise.all(sessions.map((s) => s.close()));
    // 3 windows of 0.1 s at 200/s each, after a warm-up window of 10 records that is not counted.
    expect(a!.sent).toBe(60);
    expect(b!.sent).toBe(60);
    expect(fast.sendTimes).toHaveLength(70);
    expect(a!.missing + b!.missing).toBe(0);
    // Each system's own latency, not the other's.
    expect(a!.ms.p99).toBeLessThan(30);
    expect(b!.ms.p50).toBeGreaterThanOrEqual(29);
    // Turns: warm-ups fast, slow; then fast, slow | slow, fast | fast, slow. Each window's sends
    // fall between the other system's windows.
    const windowsOf = (t: MemoryTarget): [number, number][] => [0, 10, 30, 50].map((from, i) => [t.sendTimes[from]!, t.sendTimes[from + (i === 0 ? 9 : 19)]!]);
    const f = windowsOf(fast);
    const w = windowsOf(slow);
    const order = [...f.map(([x]) => ({ x, who: 'f' })), ...w.map(([x]) => ({ x, who: 's' }))].sort((p, q) => p.x - q.x).map((p) => p.who).join('');
    expect(order).toBe('fsfssffs');
    for (const [from, to] of f) for (const [x, y] of w) expect(to < x || y < from).toBe(true);
    expect(lines.filter((l) => /round \d\/3/.test(l))).toHaveLength(3);
  });

  it('warm-up carries load on a log of its own for the time given, and none when given none', async () => {
    const t = new MemoryTarget();
    await warmUp(t, { partitions: 1, producers: 2, ms: 0, progress: quiet });
    expect(t.logs.size).toBe(0);
    const lines: string[] = [];
    await warmUp(t, { partitions: 1, producers: 2, ms: 300, progress: (l) => lines.push(l) });
    expect([...t.logs.keys()]).toEqual(['warm-up']);
    // A steady rate for 0.3 s: hundreds of records, all acknowledged and delivered.
    expect(t.logs.get('warm-up')!.length).toBeGreaterThan(100);
    expect(lines.join('\n')).toMatch(/warming up/);
  });

  it('failover counts a kill not recovered in time as the limit, and goes on once writes are acknowledged again', async () => {
    const t = new MemoryTarget();
    // The second kill's election takes 600 ms, past the 300 ms limit given.
    t.elections.push(50, 600);
    const lines: string[] = [];
    const r = await failover(t, { log: 'fo', producers: 2, recordBytes: 16, kills: 3, transfers: 0, settleMs: 20, recoveryMsMax: 300, progress: (l) => lines.push(l) });
    expect(r.kills).toHaveLength(3);
    expect(r.unrecovered).toBe(1);
    expect(r.kills[1]).toBe(300);
    expect(r.kills[0]).toBeLessThan(300);
    expect(r.kills[2]).toBeLessThan(300);
    expect(lines.join('\n')).toMatch(/kill 2\/3 \(b\): no acknowledged write within 300 ms/);
  });

  it('failover times each kill to the next acknowledged write, and each transfer', async () => {
    const t = new MemoryTarget();
    const r = await failover(t, { log: 'fo', producers: 2, recordBytes: 16, kills: 3, transfers: 2, settleMs: 20, progress: quiet });
    expect(r.kills).toHaveLength(3);
    expect(r.transfers).toHaveLength(2);
    // The memory target elects a new leader 50 ms after a kill: no acknowledgement comes sooner.
    for (const ms of r.kills) expect(ms).toBeGreaterThanOrEqual(45);
    expect(r.killMs.max).toBe(Math.round(Math.max(...r.kills)));
  });
});
