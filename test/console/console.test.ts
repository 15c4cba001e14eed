/**
 * The web console in a real browser: headless Chromium (Debian's; .ci/run installs it) driven by
 * puppeteer-core, against a live 3-node cluster. Each page is loaded from one node and what it
 * shows is checked against the client library's admin answers (what the CLI prints): nodes and
 * controller, topics and partition leaders, a record's key, headers and value, a group's
 * committed offsets and lag. A record produced through the page is read back with the client, a
 * search runs on the server, and a group's offsets are reset through the page. Screenshots go to
 * runs/console/.
 */
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_MS, launchBrowser, requireChromium, screenshot } from './browser.js';
import { SEARCH_MS_MAX } from '../../src/console/api.js';
import type { GroupConsumer } from '../../src/client/group-consumer.js';
import { eventually, readPartition, startCluster, type TestCluster } from '../cluster/helpers.js';

const TOPIC = 'orders';
const GROUP = 'billing';

let t: TestCluster;
let browser: Browser;
let page: Page;
/** The node whose console the browser opens: not the controller, so that admin and group requests go to another node. */
let base = '';

/** Loads the console at `hash` afresh (a change of hash alone would not reload a page already there). */
async function open(hash: string, ready: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${base}/ui/${hash}`, { waitUntil: 'load' });
  await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: PAGE_MS });
}

const shot = (name: string): Promise<void> => screenshot(page, name);

/** The texts of the cells of `selector`'s rows, row by row. */
function cells(selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
}

/**
 * Opens `hash` until the rows of `selector` satisfy `healthy` (within 20 s), and returns them: a
 * cluster just started on a busy machine may show a node whose status did not answer in time, or
 * a follower still probing, for a moment; the console must show it healthy once it is.
 */
async function cellsOnceHealthy(hash: string, ready: string, selector: string, healthy: (rows: string[][]) => boolean, what: string): Promise<string[][]> {
  let rows: string[][] = [];
  await eventually(
    async () => {
      await open(hash, ready);
      rows = await cells(selector);
      return healthy(rows);
    },
    20_000,
    what,
  );
  return rows;
}

describe('web console', () => {
  beforeAll(async () => {
    requireChromium();
    t = await startCluster(3, [], 'production');
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3 }] });
    const { controller } = await admin.describeCluster();
    await admin.disconnect();
    const node = t.cluster.nodes.find((n) => n.id !== controller)!;
    base = `http://${node.address}`;
    const producer = t.client.producer();
    await producer.send({ topic: TOPIC, messages: Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ n: i }), headers: { source: `test-${i}` }, partition: i % 3 })) });
    await producer.disconnect();
    // A group that read everything, committed and left: Empty, with offsets; then more records, so it lags.
    const consumer = t.client.consumer({ groupId: GROUP, sessionTimeout: 3000, heartbeatInterval: 300 }) as GroupConsumer;
    let seen = 0;
    consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({ autoCommitInterval: 100, eachMessage: async () => void seen++ });
    await eventually(() => seen >= 12, 20_000, 'the group to read the 12 records');
    await consumer.stop();
    await consumer.disconnect();
    const more = t.client.producer();
    await more.send({ topic: TOPIC, messages: [0, 1, 2, 3, 4].map((i) => ({ key: `late${i}`, value: `late ${i}`, partition: i % 3 })) });
    await more.disconnect();
    browser = await launchBrowser();
    page = await browser.newPage();
    // The time inputs read local time: the test's times are UTC.
    await page.emulateTimezone('UTC');
    await page.setViewport({ width: 1400, height: 900 });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('shows the nodes and the controller the admin client reports', async () => {
    const rows = await cellsOnceHealthy('#/cluster', 'cluster', '#nodes', (rs) => rs.length === 3 && rs.every((r) => r[2] === 'up'), 'the console to show the 3 nodes up');
    await shot('cluster');
    const admin = t.client.admin();
    const cluster = await admin.describeCluster();
    await admin.disconnect();
    expect(rows.map((r) => r[0]!.split(' ')[0]).sort()).toEqual(cluster.nodes.map((n) => n.id).sort());
    expect(rows.find((r) => r[0]!.includes('controller'))?.[0]).toContain(cluster.controller!);
    for (const r of rows) expect(r[2]).toBe('up');
    // Each node holds a replica of each of the 3 partitions.
    for (const r of rows) expect(r[5]).toBe('3');
    expect(await page.$eval('#moves-summary', (e) => e.textContent)).toContain('0 partition(s) moving');
  });

  it("shows each partition's leader and high watermark as the admin client has them", async () => {
    const rows = await cellsOnceHealthy('#/topics', 'topics', `section[data-topic="${TOPIC}"] table`, (rs) => rs.length === 3 && rs.every((r) => r[7] === 'ok'), `the console to show the 3 partitions of ${TOPIC} fully replicated`);
    await shot('topics');
    const admin = t.client.admin();
    const [{ topics }, offsets] = await Promise.all([admin.describeTopics({ topics: [TOPIC] }), admin.fetchTopicOffsets(TOPIC)]);
    await admin.disconnect();
    expect(rows).toHaveLength(3);
    for (const p of topics[0]!.partitions) {
      const row = rows.find((r) => r[0] === String(p.partitionId))!;
      expect(row[1]).toBe(p.leader);
      expect(row[2]).toBe(p.replicas.join(', '));
      expect(row[4]).toBe(offsets.find((o) => o.partition === p.partitionId)!.high);
      expect(row[7]).toBe('ok');
    }
  });

  it('creates a topic', async () => {
    await open('#/topics', 'topics');
    await page.type('#create-topic input[name=name]', 'from-ui');
    await page.$eval('#create-topic input[name=partitions]', (e) => void ((e as unknown as { value: string }).value = '2'));
    await page.click('#create-topic button[type=submit]');
    await page.waitForSelector('section[data-topic="from-ui"]', { timeout: PAGE_MS });
    const admin = t.client.admin();
    const { topics } = await admin.describeTopics({ topics: ['from-ui'] });
    await admin.disconnect();
    expect(topics[0]!.partitions).toHaveLength(2);
    expect(topics[0]!.replicationFactor).toBe(3);
  });

  it("browses a partition with each record's key, headers and value, as text, JSON and hex", async () => {
    const expected = await readPartition(t.client, TOPIC, 1);
    await open(`#/messages?topic=${TOPIC}&partition=1&offset=0`, 'messages');
    await shot('messages');
    const rows = await cells('#messages');
    expect(rows).toHaveLength(expected.length);
    for (const [i, m] of expected.entries()) {
      expect(rows[i]![0]).toBe(m.offset);
      expect(rows[i]![2]).toBe(m.key!.toString());
      expect(rows[i]![3]).toBe(Object.entries(m.headers).map(([k, v]) => `${k}: ${v.toString()}`).join('\n'));
      expect(rows[i]![4]).toBe(m.value!.toString());
    }
    await open(`#/messages?topic=${TOPIC}&partition=1&offset=0&format=json`, 'messages');
    expect((await cells('#messages'))[0]![4]).toBe(JSON.stringify(JSON.parse(expected[0]!.value!.toString()), null, 2));
    await open(`#/messages?topic=${TOPIC}&partition=1&offset=0&format=hex`, 'messages');
    expect((await cells('#messages'))[0]![2]).toBe([...expected[0]!.key!].map((b) => b.toString(16).padStart(2, '0')).join(' '));
    // From a time: the first record at or after the second record's timestamp.
    const at = new Date(Number(expected[1]!.timestamp)).toISOString().slice(0, 19);
    await open(`#/messages?topic=${TOPIC}&partition=1&timestamp=${encodeURIComponent(at)}&limit=1`, 'messages');
    const fromTime = await cells('#messages');
    expect(Number(fromTime[0]![0])).toBeLessThanOrEqual(Number(expected[1]!.offset));
  });

  it('searches a partition by value on the server, within its budget', async () => {
    await open(`#/messages?topic=${TOPIC}&partition=1`, 'messages');
    await page.type('#search input[name=value]', '"n":4');
    await page.click('#search button[type=submit]');
    await page.waitForSelector('#search-summary', { timeout: PAGE_MS });
    const matches = await cells('#search-matches');
    expect(matches.map((r) => r[2])).toEqual(['k4']);
    expect(await page.$eval('#search-summary', (e) => e.textContent)).toContain('stopped by the end of the range');
    await shot('search');
  });

  it('produces a record with a key and headers that the client reads back', async () => {
    await open(`#/messages?topic=${TOPIC}&partition=2`, 'messages');
    await page.type('#produce input[name=key]', 'from-the-page');
    await page.type('#produce textarea[name=headers]', 'trace=abc123\nlang=en');
    await page.type('#produce textarea[name=value]', '{"hello":"console"}');
    await page.click('#produce button[type=submit]');
    await page.waitForFunction("document.getElementById('produce-result').textContent.startsWith('written to')", { timeout: PAGE_MS });
    const said = await page.$eval('#produce-result', (e) => e.textContent ?? '');
    const offset = /at offset (\d+)/.exec(said)![1]!;
    const read = await readPartition(t.client, TOPIC, 2);
    const m = read.find((x) => x.offset === offset)!;
    expect(m.key!.toString()).toBe('from-the-page');
    expect(m.value!.toString()).toBe('{"hello":"console"}');
    expect(Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ trace: 'abc123', lang: 'en' });
  });

  it("shows a group's committed offsets and lag as the admin client has them, and resets them", async () => {
    await open(`#/groups?group=${GROUP}`, 'groups');
    await shot('groups');
    const admin = t.client.admin();
    const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const offsets = await admin.fetchTopicOffsets(TOPIC);
    const rows = await cells('#offsets');
    expect(rows).toHaveLength(3);
    for (const c of committed!.partitions) {
      const row = rows.find((r) => r[0] === TOPIC && r[1] === String(c.partition))!;
      const high = offsets.find((o) => o.partition === c.partition)!.high;
      expect(row[2]).toBe(c.offset);
      expect(row[3]).toBe(high);
      expect(row[4]).toBe(String(Number(high) - Number(c.offset)));
      if (Number(high) > Number(c.offset)) expect(Number(row[5])).toBeGreaterThanOrEqual(0);
    }
    // The group is empty: reset it to the earliest offsets through the page.
    await page.select('#reset select[name=to]', 'earliest');
    await page.click('#reset button[type=submit]');
    await eventually(async () => (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions.every((p) => p.offset === '0'), PAGE_MS, 'the offsets to be reset to 0');
    await admin.disconnect();
  });

  it('stops a search at its byte budget, however wide the range', async () => {
    const admin = t.client.admin();
    await admin.createTopics({ topics: [{ topic: 'bulk', numPartitions: 1, replicationFactor: 3 }] });
    await admin.disconnect();
    const producer = t.client.producer();
    // One batch each: 40 batches of about 1 KiB.
    for (let i = 0; i < 40; i++) await producer.send({ topic: 'bulk', messages: [{ key: `b${i}`, value: `needle ${i} ${'x'.repeat(1000)}` }] });
    await producer.disconnect();
    const body = JSON.stringify({ topic: 'bulk', partition: 0, value: 'needle', maxBytes: 4096 });
    // A body another site's page could send without asking (text/plain) is refused.
    expect((await fetch(`${base}/api/search`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })).status).toBe(400);
    const res = await fetch(`${base}/api/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const r = (await res.json()) as { stoppedBy: string; scannedBytes: number; to: number; highWatermark: number; matches: { offset: number }[]; limits: { ms: number } };
    expect(res.status).toBe(200);
    expect(r.stoppedBy).toBe('bytes');
    // The budget, plus at most the one batch that crosses it.
    expect(r.scannedBytes).toBeLessThan(4096 + 2048);
    expect(r.to).toBeLessThan(r.highWatermark);
    expect(r.matches.length).toBe(r.to);
    expect(r.limits.ms).toBe(SEARCH_MS_MAX);
  });

  it("charts the node's produce and fetch rates and replica lag", async () => {
    await open('#/charts', 'charts');
    await page.waitForSelector('#chart-bytes canvas', { timeout: PAGE_MS });
    expect(await page.$$eval('.chart canvas', (c) => c.length)).toBeGreaterThanOrEqual(3);
    await shot('charts');
  });

  it('shows a node that is down, and the partitions it leaves under-replicated', async () => {
    const self = t.cluster.nodes.find((n) => `http://${n.address}` === base)!;
    const down = t.cluster.nodes.find((n) => n.id !== self.id)!;
    await t.cluster.kill(down.id);
    let seen: string[][] = [];
    await eventually(
      async () => {
        await open('#/topics', 'topics');
        seen = await cells(`section[data-topic="${TOPIC}"] table`);
        return seen.length === 3 && seen.every((r) => r[1] !== down.id && r[1] !== 'no leader' && r[7] === 'under-replicated');
      },
      30_000,
      `every partition of ${TOPIC} to have a leader and show as under-replicated with ${down.id} down`,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; the page showed ${JSON.stringify(seen)}`);
    });
    await shot('topics-node-down');
    await open('#/cluster', 'cluster');
    const rows = await cells('#nodes');
    expect(rows.find((r) => r[0]!.startsWith(down.id))?.[2]).toBe('unreachable');
  });
});
