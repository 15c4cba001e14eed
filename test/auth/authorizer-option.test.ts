/** `--authorizer` (src/node/options.ts): acl or none, from a flag, the environment or the config file; none when not given. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { command, defaultAuthorizer, toNodeConfig, type CliOptions } from '../../src/node/options.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-authorizer-');

function configOf(args: string[], file: Record<string, unknown> = {}): ReturnType<typeof toNodeConfig> {
  const dir = tmp();
  const cfg = path.join(dir, 'node.json');
  fs.writeFileSync(cfg, JSON.stringify(file));
  const cmd = command().exitOverride();
  const opts = cmd.parse(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data', path.join(dir, 'n1'), '--secret', 'a-long-enough-secret-for-tests', '--config', cfg, ...args], { from: 'user' }).opts<CliOptions>();
  return toNodeConfig(opts, (k) => cmd.getOptionValueSource(k));
}

describe('--authorizer', () => {
  it('is none when not given (every request allowed, as before ACLs)', () => {
    expect(configOf([]).authorizer).toBe('none');
    expect(defaultAuthorizer()).toBe('none');
  });

  it('is taken from the flag, or else from the config file', () => {
    expect(configOf(['--authorizer', 'acl']).authorizer).toBe('acl');
    expect(configOf([], { authorizer: 'acl' }).authorizer).toBe('acl');
    expect(configOf(['--authorizer', 'none'], { authorizer: 'acl' }).authorizer).toBe('none');
  });

  it('refuses anything but acl or none', () => {
    expect(() => configOf(['--authorizer', 'simple'])).toThrow(/choices are acl, none|acl or none/);
    expect(() => configOf([], { authorizer: 'ACL' })).toThrow(/--authorizer is acl or none, not 'ACL'/);
  });
});
