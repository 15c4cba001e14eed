/**
 * The web console of a cluster started with `--auth sasl`, in a real browser (Debian's headless
 * Chromium, driven by puppeteer-core, as test/console/console.test.ts): the page asks for a user
 * before it shows anything, says so when the password is wrong, logs in through its form (the
 * node's cookie is HttpOnly and SameSite=Strict), shows the cluster to the bootstrap user, logs
 * out; a user with read on one topic browses its records, and is told which ACL it lacks when it
 * produces or opens the cluster page. Screenshots go to runs/console/.
 */
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster, repoRoot } from '../../chaos/cluster.js';
import { Client, silentLogger } from '../../src/client/index.js';
import { eventually } from '../cluster/helpers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = path.join(repoRoot(), 'runs', 'console');
const ADMIN_PASSWORD = 'console-admin-password-1';
const VIEWER_PASSWORD = 'console-viewer-password-1';
const TOPIC = 'orders';
const PAGE_MS = 15_000;

let cluster: LocalCluster;
let browser: Browser;
let page: Page;
let base = '';
let nodeId = '';

async function waitReady(ready: string): Promise<void> {
  await page.waitForSelector(`body[data-ready="${ready}"]`, { timeout: PAGE_MS });
}

/** Fills the login form and sends it. */
async function logIn(user: string, password: string): Promise<void> {
  await page.$eval('#login input[name=username]', (e) => void ((e as unknown as { value: string }).value = ''));
  await page.$eval('#login input[name=password]', (e) => void ((e as unknown as { value: string }).value = ''));
  await page.type('#login input[name=username]', user);
  await page.type('#login input[name=password]', password);
  await page.evaluate('delete document.body.dataset.ready');
  await page.click('#login button[type=submit]');
}

const text = (selector: string): Promise<string> => page.$eval(selector, (e) => e.textContent ?? '');

describe('web console with --auth sasl', () => {
  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
    fs.mkdirSync(SHOTS, { recursive: true });
    cluster = new LocalCluster({ nodes: 3, entry: 'production', args: ['--auth', 'sasl'], env: { RAFTLOG_BOOTSTRAP_USER: `admin:${ADMIN_PASSWORD}` }, httpAuth: { username: 'admin', password: ADMIN_PASSWORD } });
    await cluster.start();
    const client = new Client({ brokers: cluster.brokers, logger: silentLogger, retry: { retries: 20, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 }, sasl: { mechanism: 'scram-sha-256', username: 'admin', password: ADMIN_PASSWORD } });
    const admin = client.admin();
    await eventually(
      async () => {
        try {
          return (await admin.listUsers()).some((u) => u.name === 'admin');
        } catch {
          return false;
        }
      },
      30_000,
      'the bootstrap user to log in',
    );
    await admin.upsertUser('viewer', VIEWER_PASSWORD);
    await admin.createAcls([{ principal: 'User:viewer', host: '*', resource: { type: 'topic', name: TOPIC, pattern: 'literal' }, operation: 'read', permission: 'allow' }]);
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
    await admin.disconnect();
    const producer = client.producer();
    await producer.send({ topic: TOPIC, acks: 'all', messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `secret value ${i}` })) });
    await producer.disconnect();
    const node = cluster.nodes[1]!;
    base = `http://${node.http}`;
    nodeId = node.id;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('shows the login form instead of the page, and says so when the password is wrong', async () => {
    await page.goto(`${base}/ui/#/topics`, { waitUntil: 'load' });
    await waitReady('login');
    expect(await page.$('#login input[type=password]')).not.toBeNull();
    expect(await page.$('section[data-topic]')).toBeNull();
    await page.screenshot({ path: path.join(SHOTS, 'login.png'), fullPage: true });
    await logIn('admin', 'not-the-admin-password');
    await waitReady('login-failed');
    expect(await text('#login-error')).toMatch(/SASL_AUTHENTICATION_FAILED: .*wrong user name or password/);
  });

  it('logs in through the form: the page it was asked for, the user in the header, an HttpOnly SameSite=Strict cookie', async () => {
    await logIn('admin', ADMIN_PASSWORD);
    await waitReady('topics');
    expect(await page.$(`section[data-topic="${TOPIC}"]`)).not.toBeNull();
    expect(await text('#who')).toBe('admin');
    expect(await page.$eval('#logout', (e) => (e as unknown as { hidden: boolean }).hidden)).toBe(false);
    const cookie = (await page.cookies()).find((c) => c.name === `raftlog-session-${nodeId}`);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: false });
    // The script cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('');
    await page.goto('about:blank');
    await page.goto(`${base}/ui/#/cluster`, { waitUntil: 'load' });
    await waitReady('cluster');
    expect((await page.$$('#nodes tbody tr')).length).toBe(3);
    await page.screenshot({ path: path.join(SHOTS, 'logged-in.png'), fullPage: true });
  });

  it('logs out: the login form again, also after a reload', async () => {
    await page.evaluate('delete document.body.dataset.ready');
    await page.click('#logout');
    await waitReady('login');
    await page.goto('about:blank');
    await page.goto(`${base}/ui/#/cluster`, { waitUntil: 'load' });
    await waitReady('login');
    expect(await page.$('#nodes')).toBeNull();
  });

  it("shows a user with read on one topic its records, and tells it the ACL it lacks to produce or see the cluster", async () => {
    await logIn('viewer', VIEWER_PASSWORD);
    await waitReady('cluster-error');
    expect(await text('#error')).toMatch(/CLUSTER_AUTHORIZATION_FAILED: User:viewer may not describe the cluster/);
    await page.goto('about:blank');
    await page.goto(`${base}/ui/#/messages?topic=${TOPIC}&partition=0&offset=0`, { waitUntil: 'load' });
    await waitReady('messages');
    const values = await page.$$eval('#messages tbody tr td.value', (cells) => cells.map((c) => c.textContent?.trim() ?? ''));
    expect(values).toEqual(['secret value 0', 'secret value 1', 'secret value 2']);
    await page.type('#produce textarea[name=value]', 'from the viewer');
    await page.click('#produce button[type=submit]');
    await page.waitForFunction("document.getElementById('produce-result').textContent.length > 0", { timeout: PAGE_MS });
    expect(await text('#produce-result')).toMatch(/TOPIC_AUTHORIZATION_FAILED: User:viewer may not write topic 'orders'/);
    await page.screenshot({ path: path.join(SHOTS, 'viewer-refused.png'), fullPage: true });
  });
});
