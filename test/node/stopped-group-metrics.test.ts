/**
 * A partition stopped by a storage failure shows in `/metrics` (raftlog_groups_stopped,
 * raftlog_partition_stopped) and in `/status` (its role 'stopped' and the error), while the other
 * partitions of the node go on. One node in this process, on a disk that fails every write to one
 * partition's segment files once armed (as a disk returning EIO would).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../chaos/cluster.js';
import { RaftlogNode } from '../../src/node/node.js';
import { handle } from '../../src/server/handlers.js';
import { newSession } from '../../src/server/session.js';
import type { Request, ResponseMap } from '../../src/wire/protocol.js';
import { encodeBatch } from '../../src/wire/record-batch/encode.js';
import { nodeFileSystem, type FileSystem } from '../../storage/file-system.js';
import { eventually } from '../cluster/helpers.js';

/** The real disk, except that once `armed`, a write to a segment file of a partition whose folder starts with `prefix` fails with EIO. */
function failingDisk(prefix: string): FileSystem & { armed: boolean } {
  const doomed = new Set<number>();
  const check = (fd: number): void => {
    if (disk.armed && doomed.has(fd)) throw Object.assign(new Error(`EIO: i/o error, write (test disk)`), { code: 'EIO' });
  };
  const disk: FileSystem & { armed: boolean } = {
    ...nodeFileSystem,
    armed: false,
    openSync: (file, flags) => {
      const fd = nodeFileSystem.openSync(file, flags);
      if (file.endsWith('.log') && file.includes(`${path.sep}partitions${path.sep}${prefix}`)) doomed.add(fd);
      return fd;
    },
    closeSync: (fd) => {
      doomed.delete(fd);
      nodeFileSystem.closeSync(fd);
    },
    writeSync: (fd, buf, offset, length, position) => {
      check(fd);
      return nodeFileSystem.writeSync(fd, buf, offset, length, position);
    },
    writevSync: (fd, bufs, position) => {
      check(fd);
      return nodeFileSystem.writevSync(fd, bufs, position);
    },
    write: (fd, buf, offset, length, position) => {
      check(fd);
      return nodeFileSystem.write(fd, buf, offset, length, position);
    },
  };
  return disk;
}

let dir: string;
let node: RaftlogNode;
let listen: string;
const disk = failingDisk('doomed-');
const session = newSession('client', '127.0.0.1:40000');

async function run<R extends Request>(req: R): Promise<ResponseMap[R['type']]> {
  return (await handle(node, req, session)) as ResponseMap[R['type']];
}

async function get(urlPath: string): Promise<string> {
  return (await fetch(`http://${listen}${urlPath}`)).text();
}

function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftlog-stopped-'));
  listen = `127.0.0.1:${await freePort()}`;
  node = new RaftlogNode(
    {
      id: 'n1',
      listen,
      nodes: new Map([['n1', listen]]),
      dataDir: path.join(dir, 'n1'),
      secret: 'a-secret-of-the-stopped-group-test',
      logLevel: 'info',
      logFile: path.join(dir, 'n1.log'),
      tickMs: 20,
      electionTicks: 5,
      heartbeatTicks: 1,
      syncMode: 'interval',
      syncIntervalMs: 50,
      auth: 'none',
      superUsers: [],
    },
    { fs: disk },
  );
  await node.start();
  await eventually(
    async () => {
      const r = await run({ type: 'createTopics', topics: ['doomed', 'healthy'].map((name) => ({ name, partitions: 1, replicationFactor: 1 })), timeoutMs: 5000 }).catch(() => null);
      return r !== null && r.topics.every((t) => t.error === undefined || t.error.code === 'TOPIC_ALREADY_EXISTS');
    },
    20_000,
    'the topics to be created',
  );
  for (const topic of ['doomed', 'healthy']) {
    await eventually(async () => (await run({ type: 'produce', acks: 'all', timeoutMs: 5000, batches: [{ topic, partition: 0, records: encodeBatch([{ value: Buffer.from('first') }]) }] }).catch(() => null))?.results[0]?.error === undefined, 20_000, `a first record in ${topic}`);
  }
}, 60_000);

afterAll(async () => {
  await node?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a partition stopped by a storage failure', () => {
  it('shows in /metrics and /status; the node and its other partitions go on', async () => {
    let text = await get('/metrics');
    expect(sample(text, 'raftlog_groups_stopped')).toBe(0);
    expect(sample(text, 'raftlog_partition_stopped', 'topic="doomed"')).toBe(0);

    disk.armed = true;
    // The write fails on the disk: the produce fails, and the partition's group stops.
    await run({ type: 'produce', acks: 'all', timeoutMs: 2000, batches: [{ topic: 'doomed', partition: 0, records: encodeBatch([{ value: Buffer.from('lost') }]) }] }).catch(() => null);
    await eventually(async () => sample(await get('/metrics'), 'raftlog_groups_stopped') === 1, 10_000, 'the group to stop');
    text = await get('/metrics');
    expect(sample(text, 'raftlog_partition_stopped', 'topic="doomed"')).toBe(1);
    expect(sample(text, 'raftlog_partition_stopped', 'topic="healthy"')).toBe(0);

    const status = JSON.parse(await get('/status')) as { groups: { group: string; role: string; error?: string }[] };
    const doomed = status.groups.find((g) => g.group.startsWith('doomed/0'));
    expect(doomed).toMatchObject({ role: 'stopped', error: expect.stringContaining('EIO') as string });
    expect(status.groups.filter((g) => g.role === 'stopped')).toHaveLength(1);

    // The other partition still takes writes.
    const r = await run({ type: 'produce', acks: 'all', timeoutMs: 5000, batches: [{ topic: 'healthy', partition: 0, records: encodeBatch([{ value: Buffer.from('second') }]) }] });
    expect(r.results[0]).toEqual({ topic: 'healthy', partition: 0, baseOffset: 1 });
  });
});
