/**
 * Logging in to a brand-new `--auth sasl` cluster as its bootstrap user (RAFTLOG_BOOTSTRAP_USER,
 * src/node/bootstrap-user.ts) from the moment its nodes listen. The controller creates the user
 * only once the cluster is named and its nodes recorded, so for a moment a node is up, trusts its
 * metadata, and holds no user: a login then must be refused as retriable (LEADER_NOT_AVAILABLE,
 * saying why), never as a wrong password (SASL_AUTHENTICATION_FAILED), which a client, and the
 * person behind it, takes as final. Nor may it count as a failed login in the node's log.
 */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster, sleep } from '../../chaos/cluster.js';
import { Connection } from '../../src/client/connection.js';
import { ClientErrorCode, RaftlogError } from '../../src/client/index.js';
import { userSasl } from '../../src/client/sasl.js';
import { ErrorCode } from '../../src/wire/protocol.js';

const PASSWORD = 'bootstrap-new-cluster-password-7c2d';
const admin = { mechanism: 'scram-sha-256', username: 'admin', password: PASSWORD };

let cluster: LocalCluster | undefined;
afterAll(async () => cluster?.stop());

/** Logs in to `address` once (a new connection) and asks for the metadata: null when that worked, else the error. */
async function loginOnce(address: string): Promise<unknown> {
  const c = new Connection({ address, connectTimeoutMs: 1000, sasl: userSasl(admin) });
  try {
    await c.request({ type: 'metadata' }, 2000);
    return null;
  } catch (err) {
    return err;
  } finally {
    c.close();
  }
}

describe('a brand-new --auth sasl cluster with a bootstrap user', () => {
  it('refuses the bootstrap user as retriable until the controller has created it, never as a wrong password', async () => {
    const c = new LocalCluster({ nodes: 3, args: ['--auth', 'sasl'], env: { RAFTLOG_BOOTSTRAP_USER: `admin:${PASSWORD}` } });
    cluster = c;
    let started = false;
    const starting = c.start().then(() => (started = true));
    // Every node, from the moment it has ports: the first one to log in ends the loop for all.
    const codes = new Map<string, number>();
    let in_ = false;
    const deadline = Date.now() + 30_000;
    while (!in_ && Date.now() < deadline) {
      const addresses = c.nodes.map((n) => n.client);
      const results = await Promise.all(addresses.map(loginOnce));
      for (const r of results) {
        if (r === null) in_ = true;
        // CONNECTION_ERROR: the node does not listen yet.
        else if (r instanceof RaftlogError && r.code !== ClientErrorCode.ConnectionError) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        else if (!(r instanceof RaftlogError)) throw r;
      }
      if (!in_) await sleep(5);
    }
    await starting;
    expect(started).toBe(true);
    expect(in_).toBe(true);
    expect(codes.get(ErrorCode.SaslAuthenticationFailed) ?? 0).toBe(0);
    // The nodes were asked while they started: the only refusal is the retriable one.
    for (const code of codes.keys()) expect(code).toBe(ErrorCode.LeaderNotAvailable);
    for (const n of c.nodes) expect(fs.readFileSync(n.logFile, 'utf8')).not.toMatch(/authentication failed/);
  }, 60_000);
});
