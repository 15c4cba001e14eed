/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) and SCRAM-SHA-512 (RFC 5802 with SHA-512, as Kafka names it):
 * the credential a node keeps of a user, and both sides of the exchange, socket-free. One
 * implementation for both: the mechanism names the hash H (and HMAC's), and so the length of
 * StoredKey, ServerKey, a proof and a signature (32 bytes for SHA-256, 64 for SHA-512). Randomness
 * comes in (each side's nonce is given to it), so RFC 7677's test vector runs as it is written.
 *
 *   client-first   gs2-header client-first-bare        gs2-header: "n,," or "y,," (no channel
 *                                                      binding), or "n,a=<authzid>," naming the user
 *   client-first-bare   n=<saslname>,r=<client nonce>[,<extension>...]
 *   server-first   r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
 *   client-final   c=<base64 gs2-header>,r=<nonce>,p=<base64 ClientProof>   (r ends with the nonce, as Kafka takes it)
 *   server-final   v=<base64 ServerSignature>
 *
 *   SaltedPassword = PBKDF2-HMAC-H(password, salt, iterations), as long as H's output
 *   ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey)
 *   ServerKey = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 *
 * A node keeps salt, iterations, StoredKey and ServerKey, per mechanism (a credential of one does
 * not serve the other: its keys come from another hash): enough to check a proof and to prove
 * itself, never enough to log in. A saslname writes ',' as "=2C" and '=' as "=3D". The password is
 * taken as its UTF-8 bytes, without SASLprep, as Kafka, kafkajs and librdkafka take it, so that a
 * user created here logs in from any of them.
 *
 * A user that does not exist, or has no credential of the exchange's mechanism, gets the same
 * exchange as one that does, with a salt made from its name (ScramServer's `unknownSalt`), and
 * fails only at the proof: the answers do not tell which names exist, nor which mechanisms a user
 * has.
 */
import { createHash, createHmac, pbkdf2, timingSafeEqual } from 'node:crypto';

export const SCRAM_SHA_256 = 'SCRAM-SHA-256';
export const SCRAM_SHA_512 = 'SCRAM-SHA-512';
export type ScramMechanism = typeof SCRAM_SHA_256 | typeof SCRAM_SHA_512;
/** The SCRAM mechanisms served, in the order a node offers them and a new user gets credentials of them. */
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = [SCRAM_SHA_256, SCRAM_SHA_512];
/** Iterations of a credential, at least (RFC 7677 §4: 4096) and at most (Kafka's limit: a client does this work at every login). */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16_384;
/** Iterations of a credential made here. */
export const SCRAM_ITERATIONS_DEFAULT = 4096;
/** Bytes of a credential's salt: made here, and the least and most one may have. */
export const SCRAM_SALT_BYTES = 32;
export const SCRAM_SALT_BYTES_MIN = 16;
export const SCRAM_SALT_BYTES_MAX = 64;
/** Bytes of StoredKey, ServerKey, a salted password, a proof and a signature: SHA-256's output, and SHA-512's. */
export const SCRAM_SHA_256_KEY_BYTES = 32;
export const SCRAM_SHA_512_KEY_BYTES = 64;
/** Random bytes of a nonce made here (base64 of them is its text). */
export const SCRAM_NONCE_BYTES = 24;
/** Characters of a nonce either side sends, at most. */
export const SCRAM_NONCE_LENGTH_MAX = 256;

/** What a node keeps of a user's password for one mechanism (RFC 5802 §3): never the password. */
export interface ScramCredential {
  /** The mechanism whose hash made the keys; absent: SCRAM-SHA-256 (the only one before SCRAM-SHA-512). */
  readonly mechanism?: ScramMechanism;
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
}

/** A SCRAM message that does not follow the RFC ('format'), a proof that does not match ('credentials'), a server that cannot be trusted. */
export class ScramError extends Error {
  override readonly name = 'ScramError';
  constructor(
    message: string,
    readonly kind: 'format' | 'credentials' = 'format',
  ) {
    super(message);
  }
}

const GS2_NO_BINDING = /^([ny]),(a=[^,]*)?,/;

/** Whether `m` names a SCRAM mechanism served here (as a handshake spells it: upper case). */
export function isScramMechanism(m: unknown): m is ScramMechanism {
  return m === SCRAM_SHA_256 || m === SCRAM_SHA_512;
}

/** The mechanism of `cred` (SCRAM-SHA-256 when it names none). */
export function mechanismOf(cred: ScramCredential): ScramMechanism {
  return cred.mechanism ?? SCRAM_SHA_256;
}

/** H and HMAC of one mechanism (node:crypto's name of its hash), and the length of their output. */
class Hash {
  constructor(
    readonly mechanism: ScramMechanism,
    private readonly name: 'sha256' | 'sha512',
    readonly keyBytes: number,
  ) {}

  hmac(key: Uint8Array, text: string | Uint8Array): Buffer {
    return createHmac(this.name, key).update(text).digest();
  }

  h(data: Uint8Array): Buffer {
    return createHash(this.name).update(data).digest();
  }

  /** PBKDF2 of the password (its UTF-8 bytes), as long as the hash's output, off the event loop. */
  salt(password: string, salt: Uint8Array, iterations: number): Promise<Buffer> {
    return new Promise((resolve, reject) => pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, this.keyBytes, this.name, (err, key) => (err ? reject(err) : resolve(key))));
  }
}

const HASH: Readonly<Record<ScramMechanism, Hash>> = {
  [SCRAM_SHA_256]: new Hash(SCRAM_SHA_256, 'sha256', SCRAM_SHA_256_KEY_BYTES),
  [SCRAM_SHA_512]: new Hash(SCRAM_SHA_512, 'sha512', SCRAM_SHA_512_KEY_BYTES),
};

/** Bytes of `mechanism`'s StoredKey, ServerKey, proof and signature. */
export function scramKeyBytes(mechanism: ScramMechanism): number {
  return HASH[mechanism].keyBytes;
}

/** The hash of `cred`, its keys' length checked (an invariant: validate.ts admits no other). */
function hashOf(cred: ScramCredential): Hash {
  const hash = HASH[mechanismOf(cred)];
  if (cred.storedKey.length !== hash.keyBytes || cred.serverKey.length !== hash.keyBytes) {
    throw new Error(`the keys of a ${hash.mechanism} credential are ${hash.keyBytes} bytes, not ${cred.storedKey.length} and ${cred.serverKey.length}`);
  }
  return hash;
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** PBKDF2 of the password (its UTF-8 bytes) with `mechanism`'s hash, off the event loop. */
export function saltPassword(password: string, salt: Uint8Array, iterations: number, mechanism: ScramMechanism = SCRAM_SHA_256): Promise<Buffer> {
  return HASH[mechanism].salt(password, salt, iterations);
}

/** StoredKey and ServerKey of a salted password. */
export function credentialOf(salted: Uint8Array, salt: Uint8Array, iterations: number, mechanism: ScramMechanism = SCRAM_SHA_256): Required<ScramCredential> {
  const hash = HASH[mechanism];
  const clientKey = hash.hmac(salted, 'Client Key');
  return { mechanism, salt, iterations, storedKey: hash.h(clientKey), serverKey: hash.hmac(salted, 'Server Key') };
}

/** The `mechanism` credential a node keeps for `password` with this salt and iteration count. */
export async function scramCredential(password: string, salt: Uint8Array, iterations: number = SCRAM_ITERATIONS_DEFAULT, mechanism: ScramMechanism = SCRAM_SHA_256): Promise<Required<ScramCredential>> {
  return credentialOf(await saltPassword(password, salt, iterations, mechanism), salt, iterations, mechanism);
}

/**
 * Whether `password` is the one `cred` (of either mechanism) was made from (what PLAIN and HTTP
 * Basic check): one PBKDF2 with the credential's hash, salt and iterations, then StoredKey and
 * ServerKey derived and both compared in constant time (both always, so the time does not tell
 * which differs).
 */
export async function passwordMatches(cred: ScramCredential, password: string): Promise<boolean> {
  const hash = hashOf(cred);
  const salted = await hash.salt(password, cred.salt, cred.iterations);
  const stored = keysEqual(hash.h(hash.hmac(salted, 'Client Key')), cred.storedKey);
  const server = keysEqual(hash.hmac(salted, 'Server Key'), cred.serverKey);
  return stored && server;
}

function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A user name as SCRAM writes it. */
export function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** A saslname read back; null when it holds an '=' that is not =2C or =3D. */
export function fromSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** The attributes of a message, `k=value` separated by ',' (the RFC's keys are one letter; Kafka's extensions, as `tokenauth=true`, are words). */
function attributes(msg: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of msg.split(',')) {
    const eq = /^[a-zA-Z]+=/.exec(part);
    if (eq === null) throw new ScramError(`${what}: '${part.slice(0, 40)}' is not an attribute (k=value)`);
    const k = eq[0].slice(0, -1);
    // RFC 5802 §5.1: a mandatory extension this side does not know ends the exchange.
    if (k === 'm') throw new ScramError(`${what}: a mandatory extension (m=) is not supported`);
    if (!out.has(k)) out.set(k, part.slice(eq[0].length));
  }
  return out;
}

function required(a: Map<string, string>, k: string, what: string): string {
  const v = a.get(k);
  if (v === undefined) throw new ScramError(`${what}: no '${k}=' attribute`);
  return v;
}

/** A nonce: printable ASCII but ',' (RFC 5802 §7), not empty, bounded. */
function checkNonce(n: string, what: string): void {
  if (n.length === 0 || n.length > SCRAM_NONCE_LENGTH_MAX || !/^[\x21-\x2b\x2d-\x7e]+$/.test(n)) throw new ScramError(`${what}: the nonce is not 1 to ${SCRAM_NONCE_LENGTH_MAX} printable characters without ','`);
}

function base64(s: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new ScramError(`${what}: not base64`);
  return Buffer.from(s, 'base64');
}

/** The client's side: first, final, then the server's signature checked. */
export class ScramClient {
  private bare = '';
  private expectedSignature: Buffer | null = null;
  private readonly hash: Hash;

  /** `nonce`: this exchange's client nonce (printable, no ','): random in production. */
  constructor(
    private readonly username: string,
    private readonly password: string,
    private readonly nonce: string,
    mechanism: ScramMechanism = SCRAM_SHA_256,
    private readonly iterationsMax = SCRAM_ITERATIONS_MAX,
  ) {
    checkNonce(nonce, 'client nonce');
    this.hash = HASH[mechanism];
  }

  first(): string {
    this.bare = `n=${saslName(this.username)},r=${this.nonce}`;
    return `n,,${this.bare}`;
  }

  /** The client-final message answering `serverFirst`. */
  async final(serverFirst: string): Promise<string> {
    const a = attributes(serverFirst, 'server-first');
    const nonce = required(a, 'r', 'server-first');
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) throw new ScramError('server-first: its nonce does not extend the client nonce');
    checkNonce(nonce, 'server-first');
    const salt = base64(required(a, 's', 'server-first'), 'server-first salt');
    const iterations = Number(required(a, 'i', 'server-first'));
    if (!Number.isSafeInteger(iterations) || iterations < SCRAM_ITERATIONS_MIN || iterations > this.iterationsMax) {
      throw new ScramError(`server-first: ${a.get('i')} iterations is outside ${SCRAM_ITERATIONS_MIN}..${this.iterationsMax}`);
    }
    const h = this.hash;
    const salted = await h.salt(this.password, salt, iterations);
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${nonce}`;
    const auth = `${this.bare},${serverFirst},${withoutProof}`;
    const clientKey = h.hmac(salted, 'Client Key');
    const proof = xor(clientKey, h.hmac(h.h(clientKey), auth));
    this.expectedSignature = h.hmac(h.hmac(salted, 'Server Key'), auth);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks the server-final message: the server proves it holds this user's ServerKey. Throws a ScramError otherwise. */
  verify(serverFinal: string): void {
    if (this.expectedSignature === null) throw new ScramError('server-final before client-final');
    const a = attributes(serverFinal, 'server-final');
    const e = a.get('e');
    if (e !== undefined) throw new ScramError(`the server refused: ${e}`);
    if (!keysEqual(base64(required(a, 'v', 'server-final'), 'server-final signature'), this.expectedSignature)) throw new ScramError("the server's signature does not match: it does not know this user's credential");
  }
}

/** The server's side of one exchange: first, then final, which names the user proven. */
export class ScramServer {
  private state: { readonly user: string; readonly cred: ScramCredential | null; readonly gs2: string; readonly bare: string; readonly serverFirst: string; readonly nonce: string } | null = null;
  private readonly hash: Hash;

  /**
   * `lookup` finds a user's credential of `mechanism` (null: no such user, or none of this
   * mechanism); `nonce` is this exchange's server nonce; `unknownSalt` the salt to show for a name
   * with no credential (the same every time for one name, and on every node, so that it looks
   * like a user's).
   */
  constructor(
    private readonly lookup: (user: string) => ScramCredential | null,
    private readonly nonce: string,
    private readonly unknownSalt: (user: string) => Uint8Array,
    readonly mechanism: ScramMechanism = SCRAM_SHA_256,
  ) {
    checkNonce(nonce, 'server nonce');
    this.hash = HASH[mechanism];
  }

  /** The user the client named (known once `first` has read it). */
  get user(): string | null {
    return this.state?.user ?? null;
  }

  /** Reads client-first and answers server-first. Throws a ScramError for a message that is not one. */
  first(clientFirst: string): string {
    if (this.state !== null) throw new ScramError('client-first twice');
    const gs2 = GS2_NO_BINDING.exec(clientFirst);
    if (gs2 === null) throw new ScramError(clientFirst.startsWith('p=') ? 'channel binding is not supported' : 'client-first: no gs2 header (n,,)');
    const bare = clientFirst.slice(gs2[0].length);
    const a = attributes(bare, 'client-first');
    const user = fromSaslName(required(a, 'n', 'client-first'));
    if (user === null || user.length === 0) throw new ScramError('client-first: the user name is not a saslname');
    const authzid = gs2[2] === undefined ? null : fromSaslName(gs2[2].slice(2));
    if (authzid !== null && authzid !== '' && authzid !== user) throw new ScramError(`client-first: user '${user}' may not act as '${authzid}'`);
    const clientNonce = required(a, 'r', 'client-first');
    checkNonce(clientNonce, 'client-first');
    const cred = this.lookup(user);
    if (cred !== null && hashOf(cred) !== this.hash) throw new Error(`a ${mechanismOf(cred)} credential looked up for a ${this.mechanism} exchange`);
    const salt = cred?.salt ?? this.unknownSalt(user);
    const iterations = cred?.iterations ?? SCRAM_ITERATIONS_DEFAULT;
    const nonce = clientNonce + this.nonce;
    const serverFirst = `r=${nonce},s=${Buffer.from(salt).toString('base64')},i=${iterations}`;
    this.state = { user, cred, gs2: gs2[0], bare, serverFirst, nonce };
    return serverFirst;
  }

  /**
   * Reads client-final; answers server-final when the proof matches the user's credential. Throws
   * a ScramError otherwise (a user with no credential never matches).
   */
  final(clientFinal: string): string {
    const s = this.state;
    if (s === null) throw new ScramError('client-final before client-first');
    const at = clientFinal.lastIndexOf(',p=');
    if (at < 0) throw new ScramError('client-final: no proof (p=)');
    const withoutProof = clientFinal.slice(0, at);
    const a = attributes(withoutProof, 'client-final');
    const binding = base64(required(a, 'c', 'client-final'), 'client-final channel binding').toString('latin1');
    if (binding !== s.gs2) throw new ScramError('client-final: the channel binding is not the gs2 header of client-first');
    // Kafka's broker takes a nonce that ends with this exchange's (ScramSaslServer): librdkafka
    // (2.0.2 at least) sends its own nonce again before the one the server answered.
    if (!required(a, 'r', 'client-final').endsWith(s.nonce)) throw new ScramError('client-final: the nonce is not the one of this exchange');
    const proof = base64(clientFinal.slice(at + 3), 'client-final proof');
    const h = this.hash;
    if (proof.length !== h.keyBytes) throw new ScramError(`client-final: a proof of ${proof.length} bytes, not ${h.keyBytes} (${this.mechanism})`);
    if (s.cred === null) throw new ScramError(`no ${this.mechanism} credential for user '${s.user}'`, 'credentials');
    const auth = `${s.bare},${s.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, h.hmac(s.cred.storedKey, auth));
    if (!keysEqual(h.h(clientKey), s.cred.storedKey)) throw new ScramError(`wrong password for user '${s.user}'`, 'credentials');
    return `v=${h.hmac(s.cred.serverKey, auth).toString('base64')}`;
  }
}
