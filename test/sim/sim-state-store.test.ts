import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../raft/random.js';
import { StateStore, type StateBackend } from '../../storage/state-store.js';
import { SimStateDisk } from './sim-state-store.js';

/** A disk whose writes land only when the test says so. */
function disk(random: () => number = seededRandom(1)): { disk: SimStateDisk; landAll: () => void } {
  const waiting: (() => void)[] = [];
  const d = new SimStateDisk({ schedule: (_sync, fn) => waiting.push(fn), random });
  return { disk: d, landAll: () => waiting.splice(0).forEach((fn) => fn()) };
}

async function keys(b: StateBackend): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of b.entries()) out.push(k);
  return out.sort();
}

const put = (key: string): { type: 'put'; key: string; value: Uint8Array } => ({ type: 'put', key, value: new Uint8Array([1]) });

describe('the simulated LevelDB', () => {
  it('settles a write when it lands; a process killed first loses it, one killed after keeps it', async () => {
    const { disk: d, landAll } = disk();
    const b = d.open('/s');
    let settled = false;
    const w = b.write([put('a')], false).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    landAll();
    await w;
    void b.write([put('b')], false);
    d.kill();
    landAll();
    expect(await keys(d.open('/s'))).toEqual(['a']);
  });

  it('lands batches in the order written, whichever latency ends first', async () => {
    const waiting: (() => void)[] = [];
    const d = new SimStateDisk({ schedule: (_sync, fn) => waiting.push(fn), random: seededRandom(1) });
    const b = d.open('/s');
    const order: string[] = [];
    const first = b.write([put('a')], false).then(() => order.push('a'));
    const second = b.write([put('b')], false).then(() => order.push('b'));
    waiting[1]!();
    await Promise.all([first, second]);
    expect(order).toEqual(['a', 'b']);
  });

  it('after a power loss keeps the synced state and a prefix of the batches since, each whole', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const { disk: d, landAll } = disk(seededRandom(seed));
      const b = d.open('/s');
      const writes = [b.write([put('a1'), put('a2')], false), b.write([put('b1')], true), b.write([put('c1'), put('c2')], false), b.write([put('d1'), put('d2'), put('d3')], false)];
      landAll();
      await Promise.all(writes);
      d.crash();
      const got = (await keys(d.open('/s'))).join(',');
      expect(['a1,a2,b1', 'a1,a2,b1,c1,c2', 'a1,a2,b1,c1,c2,d1,d2,d3']).toContain(got);
      outcomes.add(got);
    }
    expect(outcomes.size).toBe(3);
  });

  it('makes durable what it read when it opens (recovery writes and syncs a table)', async () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { disk: d, landAll } = disk(seededRandom(seed));
      const w = d.open('/s').write([put('a')], false);
      landAll();
      await w;
      d.kill();
      d.open('/s');
      d.crash();
      expect(await keys(d.open('/s'))).toEqual(['a']);
    }
  });

  it('loses a store whose folder was removed, and every store of a wiped disk', async () => {
    const { disk: d, landAll } = disk();
    const writes = [d.open('/n1/meta/state').write([put('a')], true), d.open('/n1/other').write([put('b')], true), d.open('/n2/state').write([put('c')], true)];
    landAll();
    await Promise.all(writes);
    expect(d.remove('/n1/meta/state')).toBe(true);
    expect(await keys(d.open('/n1/meta/state'))).toEqual([]);
    d.wipe('/n1');
    expect(await keys(d.open('/n1/other'))).toEqual([]);
    expect(await keys(d.open('/n2/state'))).toEqual(['c']);
  });

  it('under the real StateStore, a power loss never separates a change from its applied index', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { disk: d, landAll } = disk(seededRandom(seed));
      const store = await StateStore.load(d.open('/s'), '/s');
      for (let i = 1; i <= 6; i++) {
        const applied = store.apply(i, [{ type: 'put', key: 'last', value: i }]);
        landAll();
        await applied;
        if (i === 3) {
          const flushed = store.flush();
          landAll();
          await flushed;
        }
      }
      d.crash();
      const again = await StateStore.load(d.open('/s'), '/s');
      expect(again.appliedIndex()).toBeGreaterThanOrEqual(3);
      expect(again.get('last')).toBe(again.appliedIndex());
    }
  });
});

describe('the simulated LevelDB, failing', () => {
  it('a failed write does not land, and the batches after it do (as after a failed append to its log)', async () => {
    const { disk: d, landAll } = disk();
    const b = d.open('/s');
    d.failNext('write');
    const failed = b.write([put('a')], false);
    const later = b.write([put('b')], true);
    landAll();
    await expect(failed).rejects.toThrow(/EIO/);
    await later;
    d.crash();
    expect(await keys(d.open('/s'))).toEqual(['b']);
  });

  it('a failed sync leaves its batch landed but not durable, and that handle writes nothing more', async () => {
    const { disk: d, landAll } = disk();
    const b = d.open('/s');
    const first = b.write([put('a')], false);
    d.failNext('sync');
    const synced = b.write([put('b')], true);
    const after = b.write([put('c')], false);
    landAll();
    await first;
    await expect(synced).rejects.toThrow(/fdatasync/);
    await expect(after).rejects.toThrow(/after a failed sync/);
    d.kill();
    expect(await keys(d.open('/s'))).toEqual(['a', 'b']);
  });
});
