import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePortRun } from '../../chaos/cluster.js';

/** The low end of the kernel's ephemeral range, where it can be read. */
function ephemeralLow(): number | null {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

describe('freePort, the ports of test and chaos clusters', () => {
  it('hands out distinct ports that can be listened on, below the ephemeral range that outgoing connections take their source ports from', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 40; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    const low = ephemeralLow();
    if (low !== null && low >= 12_000) for (const p of ports) expect(p).toBeLessThan(low);
    for (const p of ports.slice(0, 5)) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(p, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('skips a port something listens on', async () => {
    const first = await freePort();
    // Whatever takes the next port in line, the following one handed out is not it.
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(first + 1, '127.0.0.1', () => resolve()));
    try {
      const next = await freePort();
      expect(next).not.toBe(first + 1);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

describe('freePortRun, ports in a row', () => {
  it('hands out runs that do not overlap each other or the ports handed out one by one', async () => {
    const taken = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const single = await freePort();
      const first = await freePortRun(3);
      for (const p of [single, first, first + 1, first + 2]) {
        expect(taken.has(p)).toBe(false);
        taken.add(p);
      }
    }
  });
});
