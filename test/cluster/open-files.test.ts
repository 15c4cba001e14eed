/**
 * A node under a low `ulimit -n` (issue 22 §1: 300 partitions under `ulimit -n 256` left a node
 * that could neither accept connections nor restart). A one-node cluster of `cluster.js` run by
 * bash under a real limit: a topic it cannot keep files open for is refused with
 * INVALID_PARTITIONS and what to raise, and the node goes on serving; a topic that fits is
 * created; restarted under a limit too low for the replicas it holds, the node exits at once with
 * a message saying so (it does not run out of descriptors half way); under the old limit it comes
 * back with every partition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE_ENTRIES, freePort, sleep } from '../../chaos/cluster.js';
import { Client, RaftlogError, silentLogger } from '../../src/client/index.js';
import { FILES_RESERVED } from '../../src/node/limits.js';
import { NODE_RUNTIME_FLAGS } from '../../src/node/runtime-flags.js';
import type { StatusResponse } from '../../src/wire/protocol.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const dir = tempDirs('raftlog-ulimit-');
const running: ChildProcess[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    await new Promise((r) => {
      p.once('exit', r);
      p.kill('SIGTERM');
    });
  }
});

interface Run {
  readonly proc: ChildProcess;
  readonly exited: Promise<{ code: number | null; stderr: string }>;
}

/** `node cluster.js` for node n1 alone, under `ulimit -n <openFiles>` (bash sets the soft and hard limits). */
function startNode(openFiles: number, address: string, data: string): Run {
  const node = [process.execPath, ...NODE_RUNTIME_FLAGS, NODE_ENTRIES.production, '--id', 'n1', '--peers', `n1=${address}`, '--data', data, '--log-file', path.join(path.dirname(data), 'n1.log')];
  const proc = spawn('bash', ['-c', `ulimit -n ${openFiles} && exec "$@"`, 'bash', ...node], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RAFTLOG_SECRET: 'open-files-test-secret' } });
  running.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => proc.once('exit', (code) => resolve({ code, stderr })));
  return { proc, exited };
}

async function status(address: string): Promise<StatusResponse | null> {
  try {
    const res = await fetch(`http://${address}/status`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as StatusResponse) : null;
  } catch {
    return null;
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

const partitionsLed = async (address: string): Promise<number> => (await status(address))?.groups.filter((g) => g.group !== 'meta' && g.role === 'leader').length ?? 0;

describe('a node under a low open-files limit', () => {
  it('refuses a topic it cannot keep files open for, creates one that fits, and will not start under a limit too low for what it holds', async () => {
    const root = dir();
    const data = path.join(root, 'n1');
    const address = `127.0.0.1:${await freePort()}`;
    const replicasMax = 256 - FILES_RESERVED;
    let run = startNode(256, address, data);
    await waitFor('the node to answer /status', async () => (await status(address)) !== null);
    const admin = new Client({ brokers: [address], logger: silentLogger }).admin();
    try {
      const refused = await admin.createTopics({ topics: [{ topic: 'many', numPartitions: 300, replicationFactor: 1 }] }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(RaftlogError);
      expect((refused as RaftlogError).code).toBe('INVALID_PARTITIONS');
      expect((refused as RaftlogError).message).toContain('would put 300 partition replicas on node n1');
      expect((refused as RaftlogError).message).toContain(`raise ulimit -n (now 256; needs about ${FILES_RESERVED + 300}) on every node, or create fewer partitions`);
      // Still serving: a topic within the limit is created, and its partitions elect leaders.
      expect(await admin.createTopics({ topics: [{ topic: 'fits', numPartitions: replicasMax, replicationFactor: 1 }] })).toBe(true);
      await waitFor(`${replicasMax} partitions to have a leader`, async () => (await partitionsLed(address)) === replicasMax);
      expect((await admin.listTopics()).sort()).toEqual(['fits']);
    } finally {
      await admin.disconnect();
    }
    run.proc.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);

    // A lower limit than the replicas it holds need: a clear refusal at start, no half-open node.
    run = startNode(230, address, data);
    const failed = await run.exited;
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`this node holds ${replicasMax} partition replicas, more than its open-files limit allows`);
    expect(failed.stderr).toContain(`raise ulimit -n (now 230; needs about ${FILES_RESERVED + replicasMax})`);

    // Back under the limit it ran with: every partition comes back.
    run = startNode(256, address, data);
    await waitFor(`${replicasMax} partitions to have a leader again`, async () => (await partitionsLed(address)) === replicasMax);
  });
});
