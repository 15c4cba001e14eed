/**
 * One real node in the test's own process (src/node/node.ts RaftlogNode), on a fresh folder and a
 * free loopback port, with fast Raft timers and interval syncs: for tests that call `handle` on it
 * directly or read its HTTP endpoints, without the child processes of a cluster.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../chaos/cluster.js';
import { RaftlogNode, type NodeConfig, type NodeParts } from '../../src/node/node.js';

export interface OneNode {
  readonly node: RaftlogNode;
  /** Its listener, host:port. */
  readonly listen: string;
  /** Stops the node and removes its folder. */
  close(): Promise<void>;
}

/** Starts node n1 alone; `config` adds to or overrides the test settings. */
export async function startOneNode(name: string, config: Partial<NodeConfig> = {}, parts: NodeParts = {}): Promise<OneNode> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `raftlog-${name}-`));
  const listen = `127.0.0.1:${await freePort()}`;
  const node = new RaftlogNode(
    {
      id: 'n1',
      listen,
      nodes: new Map([['n1', listen]]),
      dataDir: path.join(dir, 'n1'),
      secret: `a-secret-of-the-${name}-test`,
      logLevel: 'info',
      logFile: path.join(dir, 'n1.log'),
      tickMs: 20,
      electionTicks: 5,
      heartbeatTicks: 1,
      syncMode: 'interval',
      syncIntervalMs: 50,
      auth: 'none',
      superUsers: [],
      ...config,
    },
    parts,
  );
  await node.start();
  return {
    node,
    listen,
    async close() {
      await node.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
