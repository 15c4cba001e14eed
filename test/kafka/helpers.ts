/** Shared by the tests of the Kafka listener on real clusters: a cluster Kafka clients can use at once, and kcat. */
import { execFile, spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { eventually, startCluster, type TestCluster } from '../cluster/helpers.js';

/**
 * A cluster with a Kafka listener on every node, once every node's Metadata names all of them and
 * the controller: kafkajs's admin looks for the controller in the first Metadata it gets, and
 * fails rather than asks again.
 */
export async function startKafkaCluster(nodes = 3, args: readonly string[] = []): Promise<TestCluster> {
  const t = await startCluster(nodes, args, 'chaos', { kafka: true });
  try {
    await eventually(
      async () => {
        for (const broker of t.cluster.kafkaBrokers) {
          const admin = new Kafka({ brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
          try {
            await admin.connect();
            const c = await admin.describeCluster();
            if (c.brokers.length !== nodes || c.controller === null || c.controller < 0) return false;
          } catch {
            return false;
          } finally {
            await admin.disconnect();
          }
        }
        return true;
      },
      20_000,
      'every node to name all the brokers and the controller',
    );
  } catch (err) {
    await t.close();
    throw err;
  }
  return t;
}

/** The kcat binary; a test that needs it fails, saying how to install it, when it is not there. */
export function kcatPath(): string {
  const found = spawnSync('sh', ['-c', 'command -v kcat'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  if (found.status !== 0 || path === '') throw new Error('kcat is not installed; these tests run it against the Kafka listener: apt-get install -y kcat');
  return path;
}

/** Runs kcat with `args` (and `input` on its stdin); resolves with its stdout, rejects with its stderr if it fails. */
export function kcat(args: readonly string[], input?: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(kcatPath(), [...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`kcat ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}
