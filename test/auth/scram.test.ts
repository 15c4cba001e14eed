/**
 * SCRAM-SHA-256 (src/auth/scram.ts) against RFC 7677 §3's test vector, both sides, and the
 * exchanges a server must refuse: a wrong password, a user that does not exist (refused only at
 * the proof, with a salt that looks like a user's), a replayed or altered message. SCRAM-SHA-512,
 * the same code with another hash, against the same exchange computed with SHA-512 by another
 * implementation (no RFC publishes one; see SHA512 below), and a credential of one mechanism
 * serving no exchange of the other.
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScramClient, ScramError, ScramServer, fromSaslName, passwordMatches, saltPassword, saslName, scramCredential, type ScramCredential } from '../../src/auth/scram.js';

// RFC 7677 §3: user "user", password "pencil".
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

const unknownSalt = (user: string): Uint8Array => Buffer.from(`salt of ${user}`.padEnd(16, '.'));

async function server(users: Record<string, ScramCredential>, nonce = SERVER_NONCE): Promise<ScramServer> {
  return new ScramServer((u) => users[u] ?? null, nonce, unknownSalt);
}

describe('SCRAM-SHA-256, RFC 7677 §3', () => {
  it('the client sends the RFC\'s messages, given its nonce, and accepts its server-final', async () => {
    const c = new ScramClient('user', 'pencil', CLIENT_NONCE);
    expect(c.first()).toBe(CLIENT_FIRST);
    expect(await c.final(SERVER_FIRST)).toBe(CLIENT_FINAL);
    expect(() => c.verify(SERVER_FINAL)).not.toThrow();
  });

  it("the server, holding only the credential (salt, iterations, StoredKey, ServerKey), answers the RFC's messages", async () => {
    const cred = await scramCredential('pencil', SALT, 4096);
    const s = await server({ user: cred });
    expect(s.first(CLIENT_FIRST)).toBe(SERVER_FIRST);
    expect(s.final(CLIENT_FINAL)).toBe(SERVER_FINAL);
    expect(s.user).toBe('user');
  });

  it('a wrong password fails at the proof, and the client refuses a server that does not hold the credential', async () => {
    const cred = await scramCredential('pencil', SALT, 4096);
    const s = await server({ user: cred });
    const c = new ScramClient('user', 'crayon', CLIENT_NONCE);
    expect(s.first(c.first())).toBe(SERVER_FIRST);
    const final = await c.final(SERVER_FIRST);
    expect(() => s.final(final)).toThrow(/wrong password for user 'user'/);
    // A server that made up a salt (it has no credential) cannot sign.
    const honest = new ScramClient('user', 'pencil', CLIENT_NONCE);
    honest.first();
    await honest.final(SERVER_FIRST);
    expect(() => honest.verify('v=' + Buffer.alloc(32).toString('base64'))).toThrow(ScramError);
  });

  it('a user that does not exist gets a server-first like any user (a stable salt, the default iterations) and fails only at the proof', async () => {
    const s1 = await server({});
    const first = s1.first('n,,n=nobody,r=abc');
    expect(first).toBe(`r=abc${SERVER_NONCE},s=${Buffer.from(unknownSalt('nobody')).toString('base64')},i=4096`);
    const c = new ScramClient('nobody', 'whatever', 'abc');
    c.first();
    expect(() => s1.final(`c=biws,r=abc${SERVER_NONCE},p=${Buffer.alloc(32).toString('base64')}`)).toThrow(/no SCRAM-SHA-256 credential for user 'nobody'/);
    // The client cannot tell: it computes its proof as for any user.
    await expect(c.final(first)).resolves.toMatch(/^c=biws,r=abc/);
  });

  it('refuses a replayed client-final (another exchange has another nonce) and an altered one', async () => {
    const cred = await scramCredential('pencil', SALT, 4096);
    const other = await server({ user: cred }, 'another-server-nonce');
    other.first(CLIENT_FIRST);
    expect(() => other.final(CLIENT_FINAL)).toThrow(/nonce is not the one of this exchange/);
    const s = await server({ user: cred });
    s.first(CLIENT_FIRST);
    expect(() => s.final(CLIENT_FINAL.replace('c=biws', 'c=eSws'))).toThrow(/channel binding/);
  });

  it("takes librdkafka's client-final, whose nonce repeats the client nonce before the server's answer, as Kafka's broker does", async () => {
    const cred = await scramCredential('pencil', SALT, 4096);
    const s = await server({ user: cred });
    s.first(CLIENT_FIRST);
    const c = new ScramClient('user', 'pencil', CLIENT_NONCE);
    c.first();
    // What librdkafka 2.0.2 sends: r=<client nonce><client nonce><server nonce>, signed as it is sent.
    const doubled = SERVER_FIRST.replace(`r=${CLIENT_NONCE}`, `r=${CLIENT_NONCE}${CLIENT_NONCE}`);
    const final = (await c.final(doubled)).replace(/,p=.*/, '');
    const auth = `n=user,r=${CLIENT_NONCE},${SERVER_FIRST},${final}`;
    const salted = await saltPassword('pencil', SALT, 4096);
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const sig = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(auth).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!)).toString('base64');
    expect(s.final(`${final},p=${proof}`)).toMatch(/^v=/);
  });

  it('refuses what is not SCRAM: no gs2 header, channel binding, a mandatory extension, an authzid of another user', async () => {
    const s = (): Promise<ScramServer> => server({});
    await expect(s().then((x) => x.first('n=user,r=abc'))).rejects.toThrow(/gs2 header/);
    await expect(s().then((x) => x.first('p=tls-unique,,n=user,r=abc'))).rejects.toThrow(/channel binding is not supported/);
    await expect(s().then((x) => x.first('n,,m=ext,n=user,r=abc'))).rejects.toThrow(/mandatory extension/);
    await expect(s().then((x) => x.first('n,a=admin,n=user,r=abc'))).rejects.toThrow(/may not act as 'admin'/);
    // Kafka's extensions (words as keys) are read and left alone.
    await expect(s().then((x) => x.first('n,,n=user,r=abc,tokenauth=true'))).resolves.toMatch(/^r=abc/);
  });

  it("the client refuses a server-first whose nonce does not extend its own, or whose iterations are below RFC 7677's 4096", async () => {
    const c = new ScramClient('user', 'pencil', CLIENT_NONCE);
    c.first();
    await expect(c.final('r=someone-else,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')).rejects.toThrow(/does not extend the client nonce/);
    await expect(c.final(SERVER_FIRST.replace('i=4096', 'i=1'))).rejects.toThrow(/outside 4096/);
  });

  it("writes ',' and '=' of a name as SCRAM does, and reads them back", () => {
    expect(saslName('a,b=c')).toBe('a=2Cb=3Dc');
    expect(fromSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(fromSaslName('a=b')).toBeNull();
  });
});

/**
 * RFC 7677 §3's exchange (user "user", password "pencil", its nonces, salt and iterations) with
 * SHA-512 for H and HMAC, as SCRAM-SHA-512 is RFC 5802 with SHA-512 (draft-melnikov-scram-sha-512
 * gives no example exchange). Computed outside this code, by Python's hashlib and hmac following
 * RFC 5802 §3 step by step (a script that gives RFC 7677's own ClientProof and ServerSignature
 * with SHA-256): SaltedPassword = pbkdf2_hmac('sha512', 'pencil', salt, 4096, 64), ClientKey,
 * StoredKey, ServerKey, AuthMessage, ClientProof, ServerSignature. kafkajs's SCRAM-SHA-512 logs in
 * against the server too (test/kafka/sasl.test.ts), and librdkafka's (test/cluster/auth.test.ts).
 */
const SHA512 = {
  storedKey: '6AAub3065EYRmyFpM2RNwqK+eGnrkYuEWbXn19LsEmBqzu8QaCXNc1FwpnX9NhH2hK/60dzj9DoO5DvVkOHbvg==',
  serverKey: 'jZHbYjC1aHh0/hKbxyBuGFjDrgjgKTT1esA7awWiKcRZ0o/0b1yWEebBeSVkkCFewf91nLDfKF24mvD5nmE6rA==',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ==',
  serverFinal: 'v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==',
};

describe('SCRAM-SHA-512', () => {
  it('makes the credential of the vector: StoredKey and ServerKey of 64 bytes', async () => {
    const cred = await scramCredential('pencil', SALT, 4096, 'SCRAM-SHA-512');
    expect(cred.mechanism).toBe('SCRAM-SHA-512');
    expect(Buffer.from(cred.storedKey).toString('base64')).toBe(SHA512.storedKey);
    expect(Buffer.from(cred.serverKey).toString('base64')).toBe(SHA512.serverKey);
  });

  it("the client sends the vector's client-final, given its nonce, and accepts its server-final", async () => {
    const c = new ScramClient('user', 'pencil', CLIENT_NONCE, 'SCRAM-SHA-512');
    expect(c.first()).toBe(CLIENT_FIRST);
    expect(await c.final(SERVER_FIRST)).toBe(SHA512.clientFinal);
    expect(() => c.verify(SHA512.serverFinal)).not.toThrow();
    // The SCRAM-SHA-256 signature of the same exchange is not this one's.
    expect(() => c.verify(SERVER_FINAL)).toThrow(/signature does not match/);
  });

  it("the server, holding only the credential, answers the vector's messages", async () => {
    const cred = await scramCredential('pencil', SALT, 4096, 'SCRAM-SHA-512');
    const s = new ScramServer((u) => (u === 'user' ? cred : null), SERVER_NONCE, unknownSalt, 'SCRAM-SHA-512');
    expect(s.first(CLIENT_FIRST)).toBe(SERVER_FIRST);
    expect(s.final(SHA512.clientFinal)).toBe(SHA512.serverFinal);
  });

  it("refuses a SCRAM-SHA-256 client-final (a proof of 32 bytes), and a wrong password at the proof", async () => {
    const cred = await scramCredential('pencil', SALT, 4096, 'SCRAM-SHA-512');
    const s = (): ScramServer => new ScramServer(() => cred, SERVER_NONCE, unknownSalt, 'SCRAM-SHA-512');
    const a = s();
    a.first(CLIENT_FIRST);
    expect(() => a.final(CLIENT_FINAL)).toThrow(/a proof of 32 bytes, not 64/);
    const b = s();
    const wrong = new ScramClient('user', 'crayon', CLIENT_NONCE, 'SCRAM-SHA-512');
    b.first(wrong.first());
    const final = await wrong.final(SERVER_FIRST);
    expect(() => b.final(final)).toThrow(expect.objectContaining({ kind: 'credentials', message: "wrong password for user 'user'" }) as unknown as Error);
  });

  it('PLAIN checks a password against a credential of either mechanism; one that names none is SCRAM-SHA-256', async () => {
    const sha512 = await scramCredential('pencil', SALT, 4096, 'SCRAM-SHA-512');
    const sha256 = await scramCredential('pencil', SALT, 4096);
    expect([await passwordMatches(sha512, 'pencil'), await passwordMatches(sha512, 'crayon')]).toEqual([true, false]);
    expect([await passwordMatches(sha256, 'pencil'), await passwordMatches(sha256, 'crayon')]).toEqual([true, false]);
    const { mechanism: _, ...unnamed } = sha256;
    expect(await passwordMatches(unnamed, 'pencil')).toBe(true);
  });
});
