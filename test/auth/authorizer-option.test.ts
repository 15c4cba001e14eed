/** `--authorizer` (src/node/options.ts): acl or none, from a flag, the environment or the config file; none when not given. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultAuthorizer } from '../../src/node/options.js';
import { nodeConfigOf, type NodeConfig } from '../helpers/node-config.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-authorizer-');

function configOf(args: string[], file: Record<string, unknown> = {}): NodeConfig {
  const dir = tmp();
  const cfg = path.join(dir, 'node.json');
  fs.writeFileSync(cfg, JSON.stringify(file));
  return nodeConfigOf(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data', path.join(dir, 'n1'), '--secret', 'a-long-enough-secret-for-tests', '--config', cfg, ...args]);
}

describe('--authorizer', () => {
  it('is none when not given and clients do not authenticate (every request allowed, as before ACLs)', () => {
    expect(configOf([]).authorizer).toBe('none');
    expect(defaultAuthorizer('none')).toBe('none');
  });

  it('is acl when not given and clients authenticate (--auth sasl): a node that knows who asks checks what they may do', () => {
    expect(configOf(['--auth', 'sasl']).authorizer).toBe('acl');
    expect(defaultAuthorizer('sasl')).toBe('acl');
    expect(configOf(['--auth', 'sasl', '--authorizer', 'none']).authorizer).toBe('none');
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
