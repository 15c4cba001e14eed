import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { NODE_RUNTIME_FLAGS, missingRuntimeFlags } from '../../src/node/runtime-flags.js';

describe('the runtime flags a node starts with', () => {
  it('counts a flag as given whatever its value, so an operator can choose their own', () => {
    expect(missingRuntimeFlags([])).toEqual(NODE_RUNTIME_FLAGS);
    expect(missingRuntimeFlags(['--cpu-prof'])).toEqual(['--initial-old-space-size=256']);
    expect(missingRuntimeFlags(['--initial-old-space-size=1024'])).toEqual([]);
    expect(missingRuntimeFlags(['--initial_old_space_size=64'])).toEqual([]);
  });

  let cluster: LocalCluster | null = null;
  afterEach(async () => {
    await cluster?.stop();
    cluster = null;
  });

  /** The node's warnings up to the line that says it listens (written after them, in order). */
  const warningsAtStart = async (c: LocalCluster): Promise<string[]> => {
    for (let i = 0; i < 100; i++) {
      // The node may be writing its last line as it is read: only whole lines count.
      const text = fs.readFileSync(c.nodes[0]!.logFile, 'utf8');
      const lines = text
        .slice(0, text.lastIndexOf('\n') + 1)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { level: number; msg: string });
      if (lines.some((l) => l.msg.includes('listening on'))) return lines.filter((l) => l.level === 40).map((l) => l.msg);
      await sleep(50);
    }
    throw new Error('the node never logged that it listens');
  };

  it('a node started without them says so in its log, with the command to use', async () => {
    cluster = new LocalCluster({ nodes: 1, runtimeFlags: [] });
    await cluster.start();
    expect(await warningsAtStart(cluster)).toContainEqual(expect.stringContaining('start the node with `node --initial-old-space-size=256 cluster.js ...`'));
  });

  it('a node started as cluster.js starts its nodes runs with them and does not warn', async () => {
    cluster = new LocalCluster({ nodes: 1 });
    await cluster.start();
    expect((await warningsAtStart(cluster)).filter((m) => m.includes('--initial-old-space-size'))).toEqual([]);
  });
});
