import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../chaos/cluster.js';
import { NODE_RUNTIME_FLAGS, missingRuntimeFlags } from '../../src/node/runtime-flags.js';
import { warningsAtStart } from './start-warnings.js';

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

  it('a node started without them says so in its log, with the command to use', async () => {
    cluster = new LocalCluster({ nodes: 1, entry: 'production', runtimeFlags: [] });
    await cluster.start();
    expect(await warningsAtStart(cluster)).toContainEqual(expect.stringContaining('start the node with `node --initial-old-space-size=256 cluster.js ...`'));
  });

  it('a node started as cluster.js starts its nodes runs with them and does not warn', async () => {
    cluster = new LocalCluster({ nodes: 1, entry: 'production' });
    await cluster.start();
    expect((await warningsAtStart(cluster)).filter((m) => m.includes('--initial-old-space-size'))).toEqual([]);
  });
});
