/**
 * A node's listener and TLS flags (src/node/listeners.ts, src/server/tls.ts): by default one
 * listener as before; each use may have an address of its own; TLS covers every listener once a
 * certificate is given; and a node refuses to start, saying what to fix, on a PEM file that is
 * missing, unreadable or not PEM, a key that is not the certificate's, TLS asked without a
 * certificate, peer TLS without a CA or with a certificate the CA did not sign, and uses that
 * share an address but not TLS.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeStartError } from '../../src/errors.js';
import { checkTls, readPemFiles } from '../../src/server/tls.js';
import { makeCa, type CertFiles, type TestCa } from '../helpers/certs.js';
import { nodeConfigOf, type NodeConfig } from '../helpers/node-config.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tmp = tempDirs('raftlog-tls-options-');

function config(args: string[]): NodeConfig {
  return nodeConfigOf(['--id', 'n1', '--peers', 'n1=127.0.0.1:7001', '--data', path.join(tmp(), 'n1'), '--secret', 'a-long-enough-secret-for-tests', ...args]);
}

let dir: string;
let ca: TestCa;
let node: CertFiles;
let other: TestCa;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-tls-certs-'));
  ca = makeCa(path.join(dir, 'ca'));
  node = ca.issue('n1');
  other = makeCa(path.join(dir, 'other'), 'other-ca');
  return () => fs.rmSync(dir, { recursive: true, force: true });
});

const pemArgs = (c: CertFiles = node, caFile = ca.cert): string[] => ['--tls-cert', c.cert, '--tls-key', c.key, '--tls-ca', caFile];

describe('listeners', () => {
  it('are all at --listen unless --client-listen and --http-listen give their own', () => {
    const one = config([]);
    expect(one.clientListen).toBeUndefined();
    expect(one.httpListen).toBeUndefined();
    const apart = config(['--client-listen', '127.0.0.1:8001', '--http-listen', '0.0.0.0:8081']);
    expect(apart.listen).toBe('127.0.0.1:7001');
    expect(apart.clientListen).toBe('127.0.0.1:8001');
    expect(apart.httpListen).toBe('0.0.0.0:8081');
  });

  it('refuse an address that is not host:port, and a Kafka listener at another listener\'s address', () => {
    expect(() => config(['--client-listen', '8001'])).toThrow(/--client-listen '8001' is not host:port/);
    expect(() => config(['--http-listen', '127.0.0.1:99999'])).toThrow(/--http-listen .* is not host:port/);
    expect(() => config(['--client-listen', '127.0.0.1:8001', '--kafka', '127.0.0.1:8001'])).toThrow(/--kafka 127.0.0.1:8001 is the client listener's address too/);
  });
});

describe('TLS', () => {
  it('is off without a certificate, and on every listener the node runs once --tls-cert is given', () => {
    expect(config([]).tls).toBeUndefined();
    expect([...config(pemArgs()).tls!.listeners].sort()).toEqual(['client', 'http', 'peer']);
    expect([...config([...pemArgs(), '--kafka', '127.0.0.1:9092']).tls!.listeners].sort()).toEqual(['client', 'http', 'kafka', 'peer']);
    expect(config([...pemArgs(), '--tls', 'none']).tls).toBeUndefined();
  });

  it('--tls names the listeners that take it, which must not share an address with one that does not', () => {
    const c = config([...pemArgs(), '--client-listen', '127.0.0.1:8001', '--http-listen', '127.0.0.1:8081', '--tls', 'peer,client']);
    expect([...c.tls!.listeners].sort()).toEqual(['client', 'peer']);
    expect(() => config([...pemArgs(), '--tls', 'peer,client'])).toThrow(/--tls puts the peer and client listener on TLS but not the http listener, and they share 127.0.0.1:7001/);
    expect(() => config([...pemArgs(), '--tls', 'kafka'])).toThrow(/--tls names kafka, but the node runs no Kafka listener/);
    expect(() => config([...pemArgs(), '--tls', 'peers'])).toThrow(/--tls: 'peers' is not a listener/);
  });

  it('asked without a certificate, or with a certificate and no key, does not start', () => {
    expect(() => config(['--tls', 'all'])).toThrow(/needs the node's certificate and its key: give --tls-cert and --tls-key/);
    expect(() => config(['--tls-cert', node.cert, '--tls-ca', ca.cert])).toThrow(/give --tls-cert and --tls-key/);
    expect(() => config(['--tls-client-auth', 'required'])).toThrow(/--tls-client-auth required needs TLS/);
  });

  it('does not start on a PEM file that is missing, unreadable or not PEM', () => {
    expect(() => config(pemArgs({ cert: path.join(dir, 'missing.pem'), key: node.key }))).toThrow(NodeStartError);
    expect(() => config(pemArgs({ cert: path.join(dir, 'missing.pem'), key: node.key }))).toThrow(/cannot read --tls-cert .*missing.pem: ENOENT/);
    // A folder where a file belongs cannot be read, whoever runs the test (root reads any file).
    expect(() => config(pemArgs({ cert: node.cert, key: dir }))).toThrow(/cannot read --tls-key .*: EISDIR/);
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate\n');
    expect(() => config(pemArgs({ cert: junk, key: node.key }))).toThrow(/--tls-cert .*junk.pem holds no PEM certificate/);
    expect(() => config(pemArgs({ cert: node.cert, key: junk }))).toThrow(/--tls-key .*junk.pem is not a PEM private key/);
    expect(() => config(pemArgs(node, junk))).toThrow(/--tls-ca .*junk.pem holds no PEM certificate/);
    const broken = path.join(dir, 'broken.pem');
    fs.writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(() => config(pemArgs({ cert: broken, key: node.key }))).toThrow(/certificate 1 of --tls-cert .*broken.pem does not parse/);
  });

  it('does not start with a key that is not the certificate\'s', () => {
    const n2 = ca.issue('n2');
    expect(() => config(pemArgs({ cert: node.cert, key: n2.key }))).toThrow(/the key in --tls-key .*n2.key is not the key of the certificate in --tls-cert/);
  });

  it('between peers needs the CA, one that signed the node\'s certificate, and a certificate good as client and server', () => {
    expect(() => config(['--tls-cert', node.cert, '--tls-key', node.key])).toThrow(/TLS on the peer listener is mutual: give the CA .* with --tls-ca/);
    expect(() => config(pemArgs(node, other.cert))).toThrow(/is not signed by the CA in --tls-ca .*other-ca.pem: the other nodes verify peers against that CA/);
    const serverOnly = ca.issue('server-only', { usage: 'serverAuth' });
    expect(() => config(pemArgs(serverOnly))).toThrow(/without allowing both serverAuth and clientAuth/);
    // Without TLS between peers, a certificate for clients only needs no CA at all.
    expect(config(['--tls-cert', node.cert, '--tls-key', node.key, '--client-listen', '127.0.0.1:8001', '--tls', 'client']).tls!.listeners).toEqual(new Set(['client']));
  });

  it('does not start with a certificate that has expired', () => {
    const files = { cert: node.cert, key: node.key, ca: ca.cert };
    const t = { listeners: new Set(['peer'] as const), pem: readPemFiles(files), clientAuth: false };
    expect(() => checkTls(t, files)).not.toThrow();
    expect(() => checkTls(t, files, new Date(Date.now() + 10 * 24 * 3600 * 1000))).toThrow(/the certificate in --tls-cert .* expired on/);
  });
});
