import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeConfigOf, type NodeConfig } from '../helpers/node-config.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-options-');

function configOf(args: string[], file: Record<string, unknown>): NodeConfig {
  const dir = tmp();
  const cfg = path.join(dir, 'node.json');
  fs.writeFileSync(cfg, JSON.stringify(file));
  return nodeConfigOf(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data', path.join(dir, 'n1'), '--secret', 'a-long-enough-secret-for-tests', '--config', cfg, ...args]);
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

function joinConfig(args: string[]): NodeConfig {
  return nodeConfigOf(['--data', path.join(tmp(), 'n4'), '--secret', 'a-long-enough-secret-for-tests', ...args]);
}

describe('--join', () => {
  it('gives a node that knows only itself and the addresses to join through', () => {
    const c = joinConfig(['--id', 'n4', '--listen', '127.0.0.1:7004', '--join', '127.0.0.1:7001, 127.0.0.1:7002']);
    expect(c.join).toEqual(['127.0.0.1:7001', '127.0.0.1:7002']);
    expect([...c.nodes]).toEqual([['n4', '127.0.0.1:7004']]);
  });

  it('refuses --peers beside it, a missing --id or --listen, and an address that is not host:port, saying what to do', () => {
    expect(() => joinConfig(['--id', 'n4', '--listen', '127.0.0.1:7004', '--join', '127.0.0.1:7001', '--peers', 'n1=127.0.0.1:7001'])).toThrow(/--peers or --join, not both/);
    expect(() => joinConfig(['--listen', '127.0.0.1:7004', '--join', '127.0.0.1:7001'])).toThrow(/--join needs --id/);
    expect(() => joinConfig(['--id', 'n4', '--join', '127.0.0.1:7001'])).toThrow(/--join needs --id .* and --listen/);
    expect(() => joinConfig(['--id', 'n4', '--listen', '127.0.0.1:7004', '--join', 'nowhere'])).toThrow(/'nowhere' is not host:port/);
    expect(() => joinConfig(['--id', 'bad id', '--listen', '127.0.0.1:7004', '--join', '127.0.0.1:7001'])).toThrow(/not a node id/);
  });
});

describe('--kafka', () => {
  it('is off unless given, and given is the Kafka listener', () => {
    expect(joinConfig(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001']).kafka).toBeUndefined();
    expect(joinConfig(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--kafka', '127.0.0.1:9092']).kafka).toBe('127.0.0.1:9092');
  });

  it('refuses what is not host:port, and the --listen address', () => {
    expect(() => joinConfig(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--kafka', '9092'])).toThrow(/--kafka '9092' is not host:port/);
    expect(() => joinConfig(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--kafka', '127.0.0.1:70000'])).toThrow(/not host:port/);
    expect(() => joinConfig(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--kafka', '127.0.0.1:7001'])).toThrow(/is the --listen address/);
  });
});

describe('--auto-create-topics', () => {
  const base = ['--id', 'n1', '--peers', 'n1=127.0.0.1:7001'];
  it('is off unless given; given alone or as on it is on, as off it is off', () => {
    expect(joinConfig(base).autoCreateTopics).toBeUndefined();
    expect(joinConfig([...base, '--auto-create-topics']).autoCreateTopics).toBe(true);
    expect(joinConfig([...base, '--auto-create-topics', 'on']).autoCreateTopics).toBe(true);
    expect(joinConfig([...base, '--auto-create-topics', 'off']).autoCreateTopics).toBeUndefined();
  });

  it('takes true or false from a config file, and refuses anything else', () => {
    expect(configOf([], { autoCreateTopics: true }).autoCreateTopics).toBe(true);
    expect(configOf(['--auto-create-topics', 'off'], { autoCreateTopics: true }).autoCreateTopics).toBeUndefined();
    expect(() => joinConfig([...base, '--auto-create-topics', 'maybe'])).toThrow(/--auto-create-topics is on or off, not 'maybe'/);
  });
});
