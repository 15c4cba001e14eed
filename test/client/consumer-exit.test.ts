/**
 * A program that consumes and then calls `consumer.stop()` exits by itself, as a kafkajs user
 * expects: stop() leaves no timer and no socket that keeps Node running (disconnect() is not
 * needed for that). Each case runs a child process against the fake broker and waits for it to
 * end on its own.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeCluster } from './fake-broker.js';

const CLIENT = new URL('../../dist/src/client/index.js', import.meta.url).href;
/** How long the child may take to end by itself once it has stopped its consumer. */
const EXIT_WAIT_MS = 10_000;

let cluster: FakeCluster;
beforeEach(async () => {
  cluster = await FakeCluster.start();
  cluster.createTopic('jobs', 2);
  cluster.append('jobs', 0, [{ key: null, value: Buffer.from('a') }]);
  cluster.append('jobs', 1, [{ key: null, value: Buffer.from('b') }]);
});
afterEach(async () => {
  await cluster.stop();
});

/** Runs `body` (a module that has `client` and `brokers`) in a child: how it ended and what it printed. */
function runChild(body: string): Promise<{ exit: string; out: string; err: string }> {
  const script = `import { Client } from ${JSON.stringify(CLIENT)};
const client = new Client({ brokers: process.env.BROKERS.split(','), retry: { retries: 5, initialRetryTimeMs: 20, maxRetryTimeMs: 200 } });
${body}
console.log('stopped');`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, BROKERS: cluster.brokers.join(',') }, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', () => {
      // Once it says it stopped, it has this long to end by itself.
      if (timer === undefined && out.includes('stopped')) timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WAIT_MS);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ exit: signal !== null ? `signal ${signal}` : `code ${code}`, out, err });
    });
  });
}

describe('consumer.stop() lets the process exit', () => {
  it('a plain consumer', async () => {
    const r = await runChild(`
const consumer = client.consumer({ maxWaitTimeInMs: 200 });
consumer.assign([{ topic: 'jobs', partition: 0, offset: 'earliest' }, { topic: 'jobs', partition: 1, offset: 'earliest' }]);
let seen = 0;
let done;
const finished = new Promise((r) => (done = r));
await consumer.run({ eachMessage: async ({ message }) => { console.log('got', message.value.toString()); if (++seen === 2) done(); } });
await finished;
await consumer.stop();`);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l.startsWith('got')).sort()).toEqual(['got a', 'got b']);
    expect(r.exit).toBe('code 0');
  });

  it('a group consumer (it commits and leaves the group)', async () => {
    const r = await runChild(`
const consumer = client.consumer({ groupId: 'workers', maxWaitTimeInMs: 200 });
await consumer.subscribe({ topics: ['jobs'], fromBeginning: true });
let seen = 0;
let done;
const finished = new Promise((r) => (done = r));
await consumer.run({ eachMessage: async () => { if (++seen === 2) done(); } });
await finished;
await consumer.stop();`);
    expect(r.err).toBe('');
    expect(r.exit).toBe('code 0');
    expect(cluster.coordinator.groups.get('workers')?.members.size).toBe(0);
  });
});
