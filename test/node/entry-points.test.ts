/**
 * The two ways to start a node. `node cluster.js` has no fault switch: it refuses the chaos
 * options as unknown, ignores their environment variables and serves no chaos route. The chaos
 * entry point (chaos/node-main.ts), which the test and chaos clusters start, takes them, and says
 * so in the node's log.
 */
import { execFile } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster, NODE_ENTRIES, freePort } from '../../chaos/cluster.js';
import { warningsAtStart } from './start-warnings.js';

/** Runs an entry point to its exit: its exit code and what it wrote to stderr. */
function run(entry: string, args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { timeout: 20_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
    });
  });
}

let cluster: LocalCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe('node cluster.js', () => {
  for (const flags of [['--unsafe-mutant', 'ack-before-commit'], ['--chaos-endpoints']]) {
    it(`refuses ${flags[0]} as an unknown option`, async () => {
      const peers = `n1=127.0.0.1:${await freePort()}`;
      const r = await run(NODE_ENTRIES.production, ['--id', 'n1', '--peers', peers, ...flags]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`unknown option '${flags[0]}'`);
    });
  }

  it('ignores the chaos environment variables: no route to cut it off, no cheating', async () => {
    cluster = new LocalCluster({ nodes: 1, entry: 'production', env: { RAFTLOG_CHAOS_ENDPOINTS: '1', RAFTLOG_UNSAFE_MUTANT: 'ack-before-commit', RAFTLOG_FAULTS: 'sync:throw' } });
    await cluster.start();
    const url = `http://${cluster.nodes[0]!.address}/chaos/network`;
    expect((await fetch(url)).status).toBe(404);
    expect((await fetch(url, { method: 'POST', body: JSON.stringify({ dropTo: ['n2'] }) })).ok).toBe(false);
    expect((await warningsAtStart(cluster)).filter((m) => /UNSAFE|chaos|fault/.test(m))).toEqual([]);
  });
});

describe('the chaos entry point', () => {
  it('takes --chaos-endpoints, --unsafe-mutant and RAFTLOG_FAULTS, serves the network route, and warns about each', async () => {
    cluster = new LocalCluster({ nodes: 1, args: ['--chaos-endpoints', '--unsafe-mutant', 'skip-idempotence'], env: { RAFTLOG_FAULTS: 'sync:stall:1' } });
    await cluster.start();
    const res = await fetch(`http://${cluster.nodes[0]!.address}/chaos/network`);
    expect(await res.json()).toEqual({ dropTo: [], dropFrom: [] });
    const said = await warningsAtStart(cluster);
    expect(said).toContainEqual(expect.stringContaining("UNSAFE: this node runs the mutant 'skip-idempotence'"));
    expect(said).toContainEqual(expect.stringContaining('chaos endpoints are on'));
    expect(said).toContainEqual(expect.stringContaining('storage fault points are armed: sync:stall:1'));
  });

  it('refuses a mutant it does not know', async () => {
    const peers = `n1=127.0.0.1:${await freePort()}`;
    const r = await run(NODE_ENTRIES.chaos, ['--id', 'n1', '--peers', peers, '--unsafe-mutant', 'lose-everything']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("argument 'lose-everything' is invalid");
  });
});
