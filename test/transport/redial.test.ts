import { describe, expect, it } from 'vitest';
import { command } from '../../src/node/options.js';
import { REDIAL_MS_MAX, REDIAL_MS_MIN, redialDelayMs } from '../../src/transport/peer-transport.js';

describe('redialling a peer', () => {
  it('starts near REDIAL_MS_MIN and doubles per failed dial, with jitter between half and one and a half times', () => {
    expect(redialDelayMs(0, 0)).toBe(REDIAL_MS_MIN * 0.5);
    expect(redialDelayMs(0, 0.5)).toBe(REDIAL_MS_MIN);
    expect(redialDelayMs(1, 0.5)).toBe(REDIAL_MS_MIN * 2);
    expect(redialDelayMs(1, 0.999)).toBeLessThan(REDIAL_MS_MIN * 2 * 1.5);
  });

  it('never waits more than one and a half REDIAL_MS_MAX, however many dials failed', () => {
    for (const attempts of [2, 3, 10, 100, 10_000]) {
      for (const random of [0, 0.5, 0.999999]) {
        const ms = redialDelayMs(attempts, random);
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeLessThan(REDIAL_MS_MAX * 1.5);
      }
    }
  });

  it('reaches a restarted peer again well within the shortest default election timeout', () => {
    // Only the lower id dials: a leader that dies before its survivors are connected again is
    // replaced only after the next dial (see REDIAL_MS_MAX).
    const defaults = command().parse([], { from: 'user' }).opts<{ tickMs: string; electionTicks: string }>();
    const electionMsMin = Number(defaults.tickMs) * Number(defaults.electionTicks);
    expect(electionMsMin).toBe(400);
    expect(REDIAL_MS_MAX * 1.5).toBeLessThanOrEqual(electionMsMin);
  });
});
