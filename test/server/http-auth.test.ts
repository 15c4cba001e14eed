/**
 * Authentication on the HTTP listener (src/server/http-auth.ts, issue 23), in this process: the
 * node's real HttpServer, HttpAuth and SaslServer over a fake node whose users and ACLs the test
 * sets, with a clock the test moves. Under `--auth sasl`: /status needs a user by HTTP Basic
 * (401 with a Basic challenge, the same for a wrong password and an unknown user) and describe on
 * the cluster (403); /health, the console's pages and by default /metrics are open; the console's
 * login gives a cookie (HttpOnly, SameSite=Strict, Secure over TLS) that logout, a changed
 * password and time end; a host that fails too often is locked out (429, Retry-After, without its
 * password checked) and counted; a node that cannot check passwords yet (it has just joined and
 * is receiving the metadata) answers 503 with Retry-After, counting nothing. Under `--auth none`
 * everything is open, as before.
 */
import fs from 'node:fs';
import https from 'node:https';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../chaos/cluster.js';
import type { AclBinding } from '../../src/auth/acl.js';
import { newCredentials } from '../../src/auth/credentials.js';
import { NodeAuthorizer } from '../../src/auth/node-authorizer.js';
import type { UserRecord } from '../../src/meta/users.js';
import { HTTP_NOT_READY_RETRY_AFTER_S, HttpAuth, type HttpAuthMetrics } from '../../src/server/http-auth.js';
import { HttpServer, type HttpNode, type HttpRoute } from '../../src/server/http.js';
import { HTTP_SESSION_IDLE_MS_MAX, HTTP_SESSION_MS_MAX } from '../../src/server/http-sessions.js';
import { HTTP_LOGIN_FAILURES_FREE, HTTP_LOGIN_LOCKOUT_MS_MIN } from '../../src/server/login-limiter.js';
import type { AuthMode, SaslServer } from '../../src/server/sasl.js';
import type { Session } from '../../src/server/session.js';
import { makeCa } from '../helpers/certs.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { fakeKafkaNode } from '../kafka/fake-node.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const tempDir = tempDirs('raftlog-http-auth-');

const ADMIN = 'admin-password-1';
const ALICE = 'alice-password-1';
let users: Map<string, UserRecord>;
beforeAll(async () => {
  users = new Map([
    // admin with a SCRAM-SHA-512 credential only: a password is checked against whichever the user has.
    ['admin', { name: 'admin', since: 1, credentials: await newCredentials(ADMIN, ['SCRAM-SHA-512']) }],
    ['alice', { name: 'alice', since: 1, credentials: await newCredentials(ALICE) }],
  ]);
});

/** Alice may read topic orders, and nothing on the cluster; admin is a super user. */
const BINDINGS: AclBinding[] = [{ principal: 'User:alice', host: '*', resource: { type: 'topic', name: 'orders', pattern: 'literal' }, operation: 'read', permission: 'allow' }];

interface Listener {
  readonly base: string;
  readonly failures: string[];
  /** The clock of sessions and lockouts (ms since the epoch). */
  readonly clock: { now: number };
  readonly auth: HttpAuth;
}

/** A node's HTTP listener in this process, with a route at /api/ that answers who the request runs as. */
async function listener(mode: AuthMode, o: { readonly metrics?: HttpAuthMetrics; readonly tls?: { cert: string; key: string }; readonly plaintextWarning?: string; readonly metadataProblem?: () => string | null } = {}): Promise<Listener> {
  const port = await freePort();
  const fake = fakeKafkaNode('127.0.0.1:9092', undefined, { mode, users, ...(o.metadataProblem !== undefined ? { metadataProblem: o.metadataProblem } : {}) });
  const logger = pino({ level: 'silent' });
  const authorizer = new NodeAuthorizer({ superUsers: ['User:admin'], source: () => ({ acls: () => BINDINGS, aclVersion: () => 1 }), logger, denials: { inc: () => undefined } });
  const node = {
    ...fake,
    authorizer,
    transport: { accept: () => undefined },
    metrics: { ...fake.metrics, registry: { contentType: 'text/plain', metrics: () => Promise.resolve('raftlog_up 1\n') } },
  } as unknown as HttpNode;
  const clock = { now: 1_800_000_000_000 };
  const failures: string[] = [];
  const auth = new HttpAuth({
    mode,
    metrics: o.metrics ?? 'none',
    node: 'n1',
    passwords: fake.sasl as SaslServer,
    logger,
    failures: { inc: (l) => void failures.push(String((l as { reason: string }).reason)) },
    plaintextWarning: o.plaintextWarning ?? null,
    now: () => clock.now,
    failureDelayMs: 0,
  });
  const whoami: HttpRoute = (_req, res, session: Session) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ principal: session.principal, listener: session.listener }));
    return Promise.resolve();
  };
  const routes = new Map<string, HttpRoute>([
    ['/api/', whoami],
    ['/ui/', whoami],
  ]);
  const server = new HttpServer(node, routes, undefined, { ...(o.tls !== undefined ? { tls: { pem: { cert: fs.readFileSync(o.tls.cert, 'utf8'), key: fs.readFileSync(o.tls.key, 'utf8') }, clientAuth: false } } : {}), auth });
  await server.listen(`127.0.0.1:${port}`);
  cleanup.push(() => server.close());
  return { base: `${o.tls !== undefined ? 'https' : 'http'}://127.0.0.1:${port}`, failures, clock, auth };
}

const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body };
}

async function login(base: string, username: string, password: string): Promise<{ status: number; cookie: string | null; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return { status: res.status, cookie: res.headers.get('set-cookie'), body: (await res.json()) as Record<string, unknown> };
}

/** The `name=value` part of a Set-Cookie header, to send back as a Cookie header. */
const cookiePair = (setCookie: string): string => setCookie.split(';')[0]!;

describe('the HTTP listener of a node with --auth sasl', () => {
  it('answers /status without credentials 401, with a Basic challenge and AUTHENTICATION_REQUIRED', async () => {
    const l = await listener('sasl');
    const r = await get(`${l.base}/status`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="raftlog"/);
    expect(r.body.error?.code).toBe('AUTHENTICATION_REQUIRED');
    expect(r.body.error?.message).toMatch(/curl -u NAME/);
  });

  it('answers a wrong password and an unknown user the same (401, SASL_AUTHENTICATION_FAILED), counts them, and the right password 200', async () => {
    const l = await listener('sasl');
    const wrong = await get(`${l.base}/status`, basic('admin', 'not-the-password'));
    const unknown = await get(`${l.base}/status`, basic('nobody', 'not-the-password'));
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(r.body.error?.code).toBe('SASL_AUTHENTICATION_FAILED');
      expect(r.body.error?.message).toMatch(/wrong user name or password/);
    }
    expect(l.failures).toEqual(['credentials', 'credentials']);
    const ok = await get(`${l.base}/status`, basic('admin', ADMIN));
    expect(ok.status).toBe(200);
    expect(ok.body.node).toBe('n1');
  });

  it('refuses /status to a user who may not describe the cluster: 403 CLUSTER_AUTHORIZATION_FAILED, naming who and what', async () => {
    const l = await listener('sasl');
    const r = await get(`${l.base}/status`, basic('alice', ALICE));
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({ code: 'CLUSTER_AUTHORIZATION_FAILED', message: expect.stringMatching(/User:alice may not describe the cluster: no ACL allows it/) as unknown as string });
  });

  it('runs an added route as the user who authenticated', async () => {
    const l = await listener('sasl');
    expect((await get(`${l.base}/api/whoami`, basic('alice', ALICE))).body).toEqual({ principal: 'User:alice', listener: 'http' });
    const anonymous = await get(`${l.base}/api/whoami`);
    expect(anonymous.status).toBe(401);
    // The console's paths do not challenge with Basic: the browser would open its own dialog over the page.
    expect(anonymous.headers.get('www-authenticate')).not.toMatch(/Basic/);
  });

  it('leaves /health, the console pages and by default /metrics open; --http-auth-metrics required closes /metrics', async () => {
    const open = await listener('sasl');
    expect((await get(`${open.base}/health`)).body).toEqual({ node: 'n1', ready: true });
    expect((await get(`${open.base}/ui/`)).body).toEqual({ principal: 'User:ANONYMOUS', listener: 'http' });
    expect((await get(`${open.base}/metrics`)).body).toEqual({ text: 'raftlog_up 1\n' });
    expect(open.auth.status()).toEqual({ auth: 'basic', metrics: 'open', sessions: 0 });
    const closed = await listener('sasl', { metrics: 'required' });
    const anonymous = await get(`${closed.base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    // What /status needs: a user, and describe on the cluster.
    expect((await get(`${closed.base}/metrics`, basic('alice', ALICE))).status).toBe(403);
    expect((await get(`${closed.base}/metrics`, basic('admin', ADMIN))).body).toEqual({ text: 'raftlog_up 1\n' });
    expect(closed.auth.status().metrics).toBe('required');
  });

  it('logs the console in with a session cookie (HttpOnly, SameSite=Strict), which logout ends', async () => {
    const l = await listener('sasl');
    const wrong = await login(l.base, 'alice', 'wrong-password');
    expect(wrong.status).toBe(401);
    expect(wrong.cookie).toBeNull();
    const ok = await login(l.base, 'alice', ALICE);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ principal: 'User:alice', expiresAt: l.clock.now + HTTP_SESSION_MS_MAX });
    expect(ok.cookie).toMatch(/^raftlog-session-n1=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const cookie = { cookie: cookiePair(ok.cookie!) };
    expect((await get(`${l.base}/api/whoami`, cookie)).body).toEqual({ principal: 'User:alice', listener: 'http' });
    expect((await get(`${l.base}/auth/session`, cookie)).body).toEqual({ auth: 'sasl', principal: 'User:alice', via: 'cookie', expiresAt: l.clock.now + HTTP_SESSION_MS_MAX });
    expect(l.auth.status().sessions).toBe(1);
    const out = await fetch(`${l.base}/auth/logout`, { method: 'POST', headers: cookie });
    expect(await out.json()).toEqual({ loggedOut: true });
    expect(out.headers.get('set-cookie')).toMatch(/^raftlog-session-n1=; .*Max-Age=0/);
    // The same cookie, kept by whoever had it, no longer logs in.
    const after = await get(`${l.base}/api/whoami`, cookie);
    expect(after.status).toBe(401);
    expect(after.body.error?.message).toMatch(/session ended/);
    // A token never given out does not either.
    expect((await get(`${l.base}/api/whoami`, { cookie: `raftlog-session-n1=${'A'.repeat(43)}` })).status).toBe(401);
  });

  it("ends a session once the user's password changes, and after an idle hour or a working day", async () => {
    const l = await listener('sasl');
    const cookieOf = async (): Promise<Record<string, string>> => ({ cookie: cookiePair((await login(l.base, 'alice', ALICE)).cookie!) });
    const whoami = async (c: Record<string, string>): Promise<number> => (await get(`${l.base}/api/whoami`, c)).status;
    // Idle.
    const idle = await cookieOf();
    l.clock.now += HTTP_SESSION_IDLE_MS_MAX - 1;
    expect(await whoami(idle)).toBe(200);
    l.clock.now += HTTP_SESSION_IDLE_MS_MAX;
    expect(await whoami(idle)).toBe(401);
    // Used all along, but past its lifetime.
    const used = await cookieOf();
    for (let t = 0; t < HTTP_SESSION_MS_MAX; t += HTTP_SESSION_IDLE_MS_MAX / 2) {
      expect(await whoami(used)).toBe(200);
      l.clock.now += HTTP_SESSION_IDLE_MS_MAX / 2;
    }
    expect(await whoami(used)).toBe(401);
    // The password changed.
    const before = await cookieOf();
    const old = users.get('alice')!;
    users.set('alice', { name: 'alice', since: 2, credentials: await newCredentials('alice-new-password') });
    cleanup.push(() => void users.set('alice', old));
    const r = await get(`${l.base}/api/whoami`, before);
    expect(r.status).toBe(401);
    expect(r.body.error?.message).toMatch(/password changed or the user was deleted/);
  });

  it(`locks a host out after ${HTTP_LOGIN_FAILURES_FREE} failed logins: 429 with Retry-After, even for the right password, counted`, async () => {
    const l = await listener('sasl');
    for (let i = 0; i < HTTP_LOGIN_FAILURES_FREE; i++) expect((await get(`${l.base}/status`, basic('admin', `guess-${i}`))).status).toBe(401);
    // Still free: the next failure is the one that locks.
    expect((await login(l.base, 'admin', 'guess-last')).status).toBe(401);
    const locked = await get(`${l.base}/status`, basic('admin', ADMIN));
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe(String(HTTP_LOGIN_LOCKOUT_MS_MIN / 1000));
    expect(locked.body.error?.code).toBe('TOO_MANY_LOGIN_FAILURES');
    expect((await login(l.base, 'admin', ADMIN)).status).toBe(429);
    expect(l.failures).toEqual([...Array<string>(HTTP_LOGIN_FAILURES_FREE + 1).fill('credentials'), 'locked_out', 'locked_out']);
    // Once the lockout has passed, the right password logs in; another failure locks for twice as long.
    l.clock.now += HTTP_LOGIN_LOCKOUT_MS_MIN;
    expect((await get(`${l.base}/status`, basic('admin', ADMIN))).status).toBe(200);
    expect((await get(`${l.base}/status`, basic('admin', 'guess-again'))).status).toBe(401);
    expect((await get(`${l.base}/status`, basic('admin', ADMIN))).headers.get('retry-after')).toBe(String((2 * HTTP_LOGIN_LOCKOUT_MS_MIN) / 1000));
    // A session already open is not a password check: it goes on working.
    l.clock.now += 2 * HTTP_LOGIN_LOCKOUT_MS_MIN;
    const cookie = { cookie: cookiePair((await login(l.base, 'alice', ALICE)).cookie!) };
    expect((await get(`${l.base}/status`, basic('admin', 'guess-more'))).status).toBe(401);
    expect((await get(`${l.base}/status`, basic('admin', ADMIN))).status).toBe(429);
    expect((await get(`${l.base}/api/whoami`, cookie)).status).toBe(200);
  });

  it('answers 503 LEADER_NOT_AVAILABLE with Retry-After, not 401, while the node cannot check passwords yet (it has just joined): nothing checked, counted or locked out, and a console session is kept', async () => {
    let problem: string | null = null;
    const l = await listener('sasl', { metadataProblem: () => problem });
    const cookie = { cookie: cookiePair((await login(l.base, 'alice', ALICE)).cookie!) };
    problem = 'its metadata replica has not yet caught up to the record of this node (it has just joined the cluster) and is receiving the metadata';
    const refused = [await get(`${l.base}/status`, basic('admin', ADMIN)), await get(`${l.base}/api/whoami`, cookie)];
    for (let i = 0; i <= HTTP_LOGIN_FAILURES_FREE; i++) refused.push(await get(`${l.base}/status`, basic('admin', `guess-${i}`)));
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe(String(HTTP_NOT_READY_RETRY_AFTER_S));
      expect(r.headers.get('www-authenticate')).toBeNull();
      expect(r.body.error).toEqual({ code: 'LEADER_NOT_AVAILABLE', message: `node n1 cannot check passwords yet: ${problem}; try another node, or retry shortly` });
    }
    const form = await login(l.base, 'admin', ADMIN);
    expect(form.status).toBe(503);
    expect(form.cookie).toBeNull();
    expect(l.failures).toEqual([]);
    // Once it has the metadata: the right password is let in (no lockout from the refusals), and the session goes on.
    problem = null;
    expect((await get(`${l.base}/status`, basic('admin', ADMIN))).status).toBe(200);
    expect((await get(`${l.base}/api/whoami`, cookie)).body).toEqual({ principal: 'User:alice', listener: 'http' });
  });

  it('sets the cookie Secure on a TLS listener', async () => {
    const ca = makeCa(tempDir());
    const l = await listener('sasl', { tls: ca.issue('n1') });
    const setCookie = await new Promise<string>((resolve, reject) => {
      const body = JSON.stringify({ username: 'alice', password: ALICE });
      const url = new URL(`${l.base}/auth/login`);
      const req = https.request({ host: url.hostname, port: Number(url.port), path: url.pathname, method: 'POST', ca: fs.readFileSync(ca.cert), headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(String(res.headers['set-cookie']?.[0] ?? ''));
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(setCookie).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
  });

  it('says in /status when it takes passwords in plaintext from other hosts', async () => {
    const l = await listener('sasl', { plaintextWarning: 'the HTTP listener 10.0.0.1:8080 is not loopback and takes no TLS' });
    expect(l.auth.status().warning).toMatch(/not loopback and takes no TLS/);
  });
});

describe('the HTTP listener of a node with --auth none', () => {
  it('is open, as before: /status, /metrics and added routes without credentials, and credentials sent are not looked at', async () => {
    const l = await listener('none');
    expect((await get(`${l.base}/status`)).status).toBe(200);
    expect((await get(`${l.base}/status`, basic('admin', 'wrong'))).status).toBe(200);
    expect((await get(`${l.base}/metrics`)).status).toBe(200);
    expect((await get(`${l.base}/api/whoami`, basic('alice', ALICE))).body).toEqual({ principal: 'User:ANONYMOUS', listener: 'http' });
    expect((await get(`${l.base}/auth/session`)).body).toEqual({ auth: 'none', principal: 'User:ANONYMOUS', via: 'none' });
    expect(l.failures).toEqual([]);
    expect(l.auth.status()).toEqual({ auth: 'none', metrics: 'open', sessions: 0 });
  });
});
