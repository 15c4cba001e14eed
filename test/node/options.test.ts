import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { command, toNodeConfig, type CliOptions } from '../../src/node/options.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-options-');

function configOf(args: string[], file: Record<string, unknown>): ReturnType<typeof toNodeConfig> {
  const dir = tmp();
  const cfg = path.join(dir, 'node.json');
  fs.writeFileSync(cfg, JSON.stringify(file));
  const cmd = command().exitOverride();
  const opts = cmd.parse(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data', path.join(dir, 'n1'), '--secret', 'a-long-enough-secret-for-tests', '--config', cfg, ...args], { from: 'user' }).opts<CliOptions>();
  return toNodeConfig(opts, (k) => cmd.getOptionValueSource(k));
}

describe('the config file', () => {
  it('sets what neither a flag nor the environment gave', () => {
    const c = configOf([], { sync: 'interval', syncIntervalMs: 250, tickMs: 20 });
    expect(c.syncMode).toBe('interval');
    expect(c.syncIntervalMs).toBe(250);
    expect(c.tickMs).toBe(20);
  });

  it('does not override a flag given on the command line, even one that repeats its default', () => {
    const c = configOf(['--sync', 'fsync', '--tick-ms', '50'], { sync: 'interval', tickMs: 20 });
    expect(c.syncMode).toBe('fsync');
    expect(c.tickMs).toBe(50);
  });
});
