/**
 * The authentication options of a node (issue 22 §3; src/node/options.ts, auth-mode.ts,
 * bootstrap-user.ts): unauthenticated access (`--auth none`) is what a node takes by itself only
 * when every client listener is on loopback, and it says so when told to run that way elsewhere;
 * super users are principals; the bootstrap user comes from the environment or a file, never the
 * command line, and is a super user.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { authWarning, defaultAuthMode, httpPlaintextWarning, isLoopbackHost } from '../../src/node/auth-mode.js';
import { nodeConfigOf, type NodeConfig } from '../helpers/node-config.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-auth-options-');
const SECRET = 'a-cluster-secret-long-enough';

function config(args: string[], env: Record<string, string> = {}, peers = 'n1=127.0.0.1:7001'): NodeConfig {
  return nodeConfigOf(['--id', 'n1', '--peers', peers, '--data', path.join(tmp(), 'n1'), '--secret', SECRET, ...args], env);
}

describe('--auth', () => {
  it('is none by default when every client listener (native and Kafka) is on loopback, as the embedded cluster and the test clusters', () => {
    expect(config([]).auth).toBe('none');
    expect(config(['--kafka', '127.0.0.1:9092']).auth).toBe('none');
    expect(config([], {}, 'n1=localhost:7001').auth).toBe('none');
  });

  it('is sasl by default as soon as one client listener is reachable from elsewhere', () => {
    expect(config([], {}, 'n1=10.0.0.5:7001').auth).toBe('sasl');
    expect(config(['--kafka', '0.0.0.0:9092']).auth).toBe('sasl');
    expect(config([], {}, 'n1=node1.example.com:7001').auth).toBe('sasl');
  });

  it('looks at the client listener (--client-listen), not the peer one: peers prove the cluster secret', () => {
    expect(config(['--client-listen', '0.0.0.0:8001']).auth).toBe('sasl');
    expect(config(['--client-listen', '127.0.0.1:8001'], {}, 'n1=10.0.0.5:7001').auth).toBe('none');
  });

  it('is what it is told, by flag or RAFTLOG_AUTH', () => {
    expect(config(['--auth', 'sasl']).auth).toBe('sasl');
    expect(config([], { RAFTLOG_AUTH: 'none' }, 'n1=10.0.0.5:7001').auth).toBe('none');
    expect(() => config(['--auth', 'maybe'])).toThrow(/Allowed choices are none, sasl/);
  });

  it('none on a listener that is not loopback is warned about at start, naming the address; on loopback it is not', () => {
    expect(authWarning('none', ['0.0.0.0:7001', '127.0.0.1:9092'])).toMatch(/--auth none on 0\.0\.0\.0:7001, which is not loopback: anyone who reaches this port may do everything/);
    expect(authWarning('none', ['127.0.0.1:7001', '[::1]:9092'])).toBeNull();
    expect(authWarning('sasl', ['0.0.0.0:7001'])).toBeNull();
    expect(defaultAuthMode(['127.0.0.2:1', '[::1]:2'])).toBe('none');
    expect(isLoopbackHost('127.0.0.1.example.com')).toBe(false);
  });
});

describe('--super-users and the bootstrap user', () => {
  it('super users are principals, with or without User:', () => {
    expect(config(['--super-users', 'alice, User:bob']).superUsers).toEqual(['User:alice', 'User:bob']);
    expect(config([]).superUsers).toEqual([]);
    expect(() => config(['--super-users', 'ANONYMOUS'])).toThrow(/--super-users: 'ANONYMOUS'/);
  });

  it('RAFTLOG_BOOTSTRAP_USER=name:password names the bootstrap user, a super user', () => {
    const c = config(['--super-users', 'alice'], { RAFTLOG_BOOTSTRAP_USER: 'admin:pass:with:colons' });
    expect(c.bootstrapUser).toEqual({ name: 'admin', password: 'pass:with:colons' });
    expect(c.superUsers).toEqual(['User:alice', 'User:admin']);
  });

  it('--bootstrap-user-file reads name:password from the first line of a file', () => {
    const file = path.join(tmp(), 'bootstrap');
    fs.writeFileSync(file, 'admin:a-long-password\n');
    expect(config(['--bootstrap-user-file', file]).bootstrapUser).toEqual({ name: 'admin', password: 'a-long-password' });
  });

  it('is refused on the command line (ps shows it), without a password, or with a bad name or a short password', () => {
    expect(() => config(['--bootstrap-user', 'admin:a-long-password'])).toThrow(/not on the command line/);
    expect(() => config([], { RAFTLOG_BOOTSTRAP_USER: 'admin' })).toThrow(/RAFTLOG_BOOTSTRAP_USER is not name:password/);
    expect(() => config([], { RAFTLOG_BOOTSTRAP_USER: 'no way:a-long-password' })).toThrow(/user name 'no way'/);
    expect(() => config([], { RAFTLOG_BOOTSTRAP_USER: 'admin:short' })).toThrow(/too short/);
  });
});

describe('--http-auth-metrics and the HTTP listener under --auth sasl', () => {
  it('leaves /metrics open unless told required, by flag, RAFTLOG_HTTP_AUTH_METRICS or the config file', () => {
    expect(config(['--auth', 'sasl']).httpAuthMetrics).toBeUndefined();
    expect(config(['--auth', 'sasl', '--http-auth-metrics', 'required']).httpAuthMetrics).toBe('required');
    expect(config(['--auth', 'sasl'], { RAFTLOG_HTTP_AUTH_METRICS: 'none' }).httpAuthMetrics).toBe('none');
    const file = path.join(tmp(), 'config.json');
    fs.writeFileSync(file, JSON.stringify({ httpAuthMetrics: 'required' }));
    expect(config(['--auth', 'sasl', '--config', file]).httpAuthMetrics).toBe('required');
    fs.writeFileSync(file, JSON.stringify({ httpAuthMetrics: 'sometimes' }));
    expect(() => config(['--config', file])).toThrow(/--http-auth-metrics is none or required, not 'sometimes'/);
    expect(() => config(['--http-auth-metrics', 'maybe'])).toThrow(/Allowed choices are none, required/);
  });

  it('warns when passwords would come in plaintext to an HTTP listener others reach, not over TLS or on loopback, nor under --auth none', () => {
    expect(httpPlaintextWarning('sasl', '0.0.0.0:8080', false)).toMatch(/the HTTP listener 0\.0\.0\.0:8080 is not loopback and takes no TLS, but asks for passwords.*--tls-cert/);
    expect(httpPlaintextWarning('sasl', '0.0.0.0:8080', true)).toBeNull();
    expect(httpPlaintextWarning('sasl', '127.0.0.1:8080', false)).toBeNull();
    expect(httpPlaintextWarning('none', '0.0.0.0:8080', false)).toBeNull();
  });
});
