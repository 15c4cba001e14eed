/**
 * Named fault points in storage (as Redpanda's): tests and chaos runs arm one to throw, stall or
 * kill the process when the code passes it. All are off unless armed.
 *
 * Arm from code with `faults.arm('sync', { action: 'stall', ms: 500 })`, or for a whole node from
 * the environment: RAFTLOG_FAULTS="sync:stall:500,append:throw" (point:action[:ms][:after N passes]).
 */
export const FAULT_POINTS = ['append', 'sync', 'roll', 'truncate'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export type FaultAction =
  | { readonly action: 'throw' }
  | { readonly action: 'stall'; readonly ms: number }
  | { readonly action: 'crash' };

export class FaultInjectedError extends Error {
  override readonly name = 'FaultInjectedError';
  constructor(readonly point: FaultPoint) {
    super(`injected fault at storage point '${point}'`);
  }
}

interface Armed {
  readonly fault: FaultAction;
  /** Passes to let through before firing. */
  skip: number;
  /** Fire once, or every time. */
  readonly once: boolean;
}

export class FaultPoints {
  private readonly armed = new Map<FaultPoint, Armed>();

  arm(point: FaultPoint, fault: FaultAction, opts: { after?: number; once?: boolean } = {}): void {
    this.armed.set(point, { fault, skip: opts.after ?? 0, once: opts.once ?? false });
  }

  disarm(point?: FaultPoint): void {
    if (point === undefined) this.armed.clear();
    else this.armed.delete(point);
  }

  /** Called by storage at each point; does nothing unless the point is armed. */
  pass(point: FaultPoint): void {
    const a = this.armed.get(point);
    if (a === undefined) return;
    if (a.skip > 0) {
      a.skip--;
      return;
    }
    if (a.once) this.armed.delete(point);
    const f = a.fault;
    switch (f.action) {
      case 'throw':
        throw new FaultInjectedError(point);
      case 'stall':
        // Blocks the thread, as a disk that stops answering would.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, f.ms);
        return;
      case 'crash':
        process.kill(process.pid, 'SIGKILL');
        return;
    }
  }

  /** Parses RAFTLOG_FAULTS-style text: "sync:stall:500,append:throw:after:100". */
  static parse(text: string | undefined): FaultPoints {
    const faults = new FaultPoints();
    if (text === undefined || text.trim() === '') return faults;
    for (const part of text.split(',')) {
      const [point, action, ...rest] = part.trim().split(':');
      if (!FAULT_POINTS.includes(point as FaultPoint)) {
        throw new Error(`unknown fault point '${point}' in '${text}'; the points are ${FAULT_POINTS.join(', ')}`);
      }
      let after = 0;
      const afterAt = rest.indexOf('after');
      if (afterAt >= 0) after = Number(rest[afterAt + 1]);
      let fault: FaultAction;
      if (action === 'throw') fault = { action: 'throw' };
      else if (action === 'crash') fault = { action: 'crash' };
      else if (action === 'stall') fault = { action: 'stall', ms: Number(rest[0] ?? 1000) };
      else throw new Error(`unknown fault action '${action}' in '${text}'; use throw, stall:<ms> or crash`);
      faults.arm(point as FaultPoint, fault, { after });
    }
    return faults;
  }
}
