/**
 * The embedded cluster (`node cluster.js` with no node options, src/node/embedded.ts) on ports and
 * a data folder of the user's choosing: --base-port, --kafka-base-port and --data. It starts its
 * three nodes there, says the address list the CLI needs, serves the CLI on it, and stops cleanly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE_ENTRIES, freePortRun } from '../../chaos/cluster.js';
import { main } from '../../src/cli/program.js';
import { embeddedOptions } from '../../src/node/embedded.js';

let child: ChildProcess | null = null;
afterEach(() => {
  if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = null;
});

describe('node cluster.js: the embedded cluster', () => {
  it('reads only its own options; any other makes it a node', () => {
    expect(embeddedOptions([])).toEqual({});
    expect(embeddedOptions(['--base-port', '8001', '--data=/tmp/x'])).toEqual({ basePort: 8001, data: '/tmp/x' });
    expect(embeddedOptions(['--kafka-base-port', '9500'])).toEqual({ kafkaBasePort: 9500 });
    expect(embeddedOptions(['--id', 'n1', '--data', 'd'])).toBeNull();
    expect(embeddedOptions(['--data', 'd', '--peers', 'n1=127.0.0.1:1'])).toBeNull();
    expect(() => embeddedOptions(['--base-port', 'seven'])).toThrow("--base-port must be a port from 1 to 65533");
    expect(() => embeddedOptions(['--data'])).toThrow('--data needs a value');
  });

  it('takes --base-port, --kafka-base-port and --data, prints the RAFTLOG_BROKERS to use, serves the CLI there, and stops cleanly', async () => {
    const base = await freePortRun(3);
    const kafkaBase = await freePortRun(3);
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-embedded-'));
    const brokers = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(',');
    const c = spawn(process.execPath, [NODE_ENTRIES.production, '--base-port', String(base), '--kafka-base-port', String(kafkaBase), '--data', data], { cwd: data });
    child = c;
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 45_000;
    while (!out.includes('Stop with Ctrl-C')) {
      if (Date.now() > deadline || c.exitCode !== null) throw new Error(`the embedded cluster did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toContain('a 3-node cluster is running');
    for (let i = 0; i < 3; i++) {
      expect(out).toMatch(new RegExp(`n${i + 1}\\s+127\\.0\\.0\\.1:${base + i}\\s+kafka 127\\.0\\.0\\.1:${kafkaBase + i}`));
      expect(fs.existsSync(path.join(data, `n${i + 1}`, 'node.log'))).toBe(true);
    }
    expect(out).toContain(`export RAFTLOG_BROKERS=${brokers}`);
    // The CLI, pointed there as the output says.
    const said: string[] = [];
    const io = { out: (s: string) => void said.push(s), err: (s: string) => void said.push(s), stdin: Readable.from(['']), env: { RAFTLOG_BROKERS: brokers } };
    expect(await main(['topics', 'create', 'here', '--partitions', '2'], io)).toBe(0);
    expect(said.join('')).toContain('created topic here (2 partitions, replication factor 3)');
    const exited = new Promise<string>((resolve) => c.once('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
    c.kill('SIGTERM');
    expect(await exited).toBe('code 0');
    fs.rmSync(data, { recursive: true, force: true });
  }, 90_000);
});
