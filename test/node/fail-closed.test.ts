/**
 * Misconfiguration fails closed (issue 22 §2): a node refuses to start with an empty or short
 * cluster secret, saying how to make one; the secret can come from a file or the environment
 * instead of the command line; and a boolean environment variable means what it says, or stops
 * the node (RAFTLOG_CHAOS_ENDPOINTS=false turned the chaos endpoint on).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../chaos/cluster.js';
import { SECRET_BYTES_MIN, command, strictBooleanEnv } from '../../src/node/options.js';
import { nodeConfigOf, type NodeConfig } from '../helpers/node-config.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-fail-closed-');

function config(args: string[], env: Record<string, string> = {}): NodeConfig {
  return nodeConfigOf(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data', path.join(tmp(), 'n1'), ...args], env);
}

describe('the cluster secret', () => {
  it('may not be empty, from the command line or the environment', () => {
    expect(() => config(['--secret', ''])).toThrow(/cluster secret from --secret is empty.*openssl rand -hex 32/);
    expect(() => config([], { RAFTLOG_SECRET: '' })).toThrow(/cluster secret from RAFTLOG_SECRET is empty/);
  });

  it(`may not be shorter than ${SECRET_BYTES_MIN} bytes`, () => {
    expect(() => config(['--secret', 'x'.repeat(SECRET_BYTES_MIN - 1)])).toThrow(new RegExp(`is ${SECRET_BYTES_MIN - 1} bytes, shorter than the ${SECRET_BYTES_MIN}.*openssl rand -hex 32`));
    expect(config(['--secret', 'x'.repeat(SECRET_BYTES_MIN)]).secret).toBe('x'.repeat(SECRET_BYTES_MIN));
  });

  it('is read from a file (its first line), given by --secret-file or RAFTLOG_SECRET_FILE', () => {
    const file = path.join(tmp(), 'secret');
    fs.writeFileSync(file, '0123456789abcdef0123456789abcdef\n');
    expect(config(['--secret-file', file]).secret).toBe('0123456789abcdef0123456789abcdef');
    expect(config([], { RAFTLOG_SECRET_FILE: file }).secret).toBe('0123456789abcdef0123456789abcdef');
    fs.writeFileSync(file, '\n');
    expect(() => config(['--secret-file', file])).toThrow(/from the file .* is empty/);
    expect(() => config(['--secret-file', path.join(tmp(), 'missing')])).toThrow(/cannot read the cluster secret from/);
    expect(() => config(['--secret-file', file, '--secret', 'x'.repeat(32)])).toThrow(/not both/);
  });

  it('is read from RAFTLOG_SECRET', () => {
    expect(config([], { RAFTLOG_SECRET: 's'.repeat(40) }).secret).toBe('s'.repeat(40));
  });

  it('is created in the folder beside the data folder when none is given, long enough', () => {
    const c = config([]);
    expect(c.secret.length).toBeGreaterThanOrEqual(SECRET_BYTES_MIN);
    expect(fs.readFileSync(path.join(path.dirname(c.dataDir), 'cluster-secret'), 'utf8').trim()).toBe(c.secret);
  });
});

describe('a boolean environment variable', () => {
  const flagged = (): ReturnType<typeof command> => command().exitOverride().addOption(new Option('--flag', 'a switch').env('RAFTLOG_TEST_FLAG'));
  const value = (text: string): unknown => {
    process.env['RAFTLOG_TEST_FLAG'] = text;
    try {
      const cmd = flagged();
      cmd.parse([], { from: 'user' });
      strictBooleanEnv(cmd);
      return cmd.opts<{ flag?: boolean }>().flag;
    } finally {
      delete process.env['RAFTLOG_TEST_FLAG'];
    }
  };

  it('is true for true, 1 and yes, false for false, 0 and no, and a start error for anything else', () => {
    for (const t of ['true', '1', 'yes', 'TRUE', 'Yes']) expect(value(t)).toBe(true);
    for (const t of ['false', '0', 'no', 'False', 'NO']) expect(value(t)).toBe(false);
    for (const t of ['', 'on', 'maybe', 'truthy']) expect(() => value(t)).toThrow(/RAFTLOG_TEST_FLAG must be one of true, 1, yes, false, 0, no/);
  });
});

let cluster: LocalCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe('the chaos entry point', () => {
  it('keeps its network route off for RAFTLOG_CHAOS_ENDPOINTS=false', async () => {
    cluster = new LocalCluster({ nodes: 1, env: { RAFTLOG_CHAOS_ENDPOINTS: 'false' } });
    await cluster.start();
    expect((await fetch(`http://${cluster.nodes[0]!.address}/chaos/network`)).status).toBe(404);
  });
});
