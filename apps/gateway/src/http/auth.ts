import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { MemoryAllowances } from '../adapters/memory/memory-allowances.js';
import { NAME_RULE, nameKey, normalizeName } from '../core/names.js';
import { waitText } from '../core/rate-limit.js';
import type { AllowanceKind, AllowanceStore } from '../ports/allowances.js';
import { GUEST_TOKEN_TTL_S, type User, type UserStore } from '../ports/user-store.js';
import { allowanceKey } from './address.js';
import { HashGate, HashGateFull } from './hash-gate.js';

/** The only JWT algorithm accepted: tokens with any other `alg` (incl. "none") are refused. */
const ALG = 'HS256';
/** @node-rs/argon2's Algorithm.Argon2id (a const enum, which isolatedModules cannot import). */
const ARGON2ID = 2;
/** An access token's subject: the account id, a positive integer. */
const ACCOUNT_SUB = /^[1-9][0-9]{0,15}$/;
/**
 * A guest token's lifetime. Every connection hands the guest a fresh one (Hello), so it only runs
 * out for a guest gone this long; its name is protected only while its row lives anyway
 * (PARLEY_GUEST_TTL_S after its last connection), after which the token can take it back if free.
 */
/** Login throttling: the failure allowances refill evenly over this window. */
const THROTTLE_WINDOW_MS = 5 * 60_000;
/** Sign-ups per address refill over an hour. */
const SIGNUP_WINDOW_MS = 60 * 60_000;

export class AuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** With 429: seconds until the next attempt can succeed (the Retry-After header). */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export interface Identity {
  /** 0 for a guest that has no row yet (created on its first join: Chat.join). */
  userId: number;
  user: string;
  guest: boolean;
  /** Guests: the id in their guest token (their row is theirs only with it), and a fresh token for the Hello. */
  guestTid?: string;
  guestToken?: string;
}

export interface AuthOptions {
  /** Failed logins per username / per source address in a burst (refilled over 5 minutes). */
  loginFailsPerUser?: number;
  loginFailsPerAddr?: number;
  /** Account sign-ups per source address in a burst (refilled over an hour). */
  signupsPerAddr?: number;
  /** Password hashes (sign-ups, logins) in progress at once; HASH_QUEUE_PER_SLOT × this more may wait. */
  passwordHashes?: number;
  /** Where the allowances are counted: shared by the cluster (Redis), or this node's memory (the default). */
  allowances?: AllowanceStore;
}

/** How many sign-ups and logins may wait for a hash per slot before the rest are refused (503). */
const HASH_QUEUE_PER_SLOT = 32;

export class AuthService {
  private readonly key: Uint8Array;
  private readonly allowances: AllowanceStore;
  private readonly perUser: AllowanceKind;
  private readonly perAddr: AllowanceKind;
  private readonly signups: AllowanceKind;
  private readonly hashes: HashGate;
  /** Unknown users and guests cost the same argon2 verify as a wrong password (no enumeration by timing). */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly users: UserStore,
    secret: string,
    private readonly ttlS: number,
    opts: AuthOptions = {},
  ) {
    this.key = new TextEncoder().encode(secret);
    this.allowances = opts.allowances ?? new MemoryAllowances();
    this.perUser = { name: 'login-user', burst: opts.loginFailsPerUser ?? 10, windowMs: THROTTLE_WINDOW_MS };
    this.perAddr = { name: 'login-addr', burst: opts.loginFailsPerAddr ?? 50, windowMs: THROTTLE_WINDOW_MS };
    this.signups = { name: 'signup-addr', burst: opts.signupsPerAddr ?? 20, windowMs: SIGNUP_WINDOW_MS };
    const slots = opts.passwordHashes ?? 1;
    this.hashes = new HashGate(slots, HASH_QUEUE_PER_SLOT * slots);
    this.dummyHash = hash(randomBytes(16).toString('hex'), { algorithm: ARGON2ID });
    this.dummyHash.catch(() => {}); // awaited by the first login; no unhandled rejection before
  }

  /** The stored form of an acceptable user name (NFKC), or null (core/names.ts). */
  static validName(name: unknown): string | null {
    return normalizeName(name);
  }

  /** An argon2id hash of an acceptable password (8–256 characters), or a 400. */
  static async hashPassword(password: unknown): Promise<string> {
    return hash(AuthService.checkedPassword(password), { algorithm: ARGON2ID });
  }

  private static checkedPassword(password: unknown): string {
    if (typeof password !== 'string' || password.length < 8 || password.length > 256) {
      throw new AuthError(400, 'password: 8–256 characters');
    }
    return password;
  }

  /** A 429 naming the wait, when an allowance's take says to wait. */
  private static refuseIfThrottled(waitMs: number, what: string): void {
    if (waitMs <= 0) return;
    const s = Math.ceil(waitMs / 1000);
    throw new AuthError(429, `${what}: try again in ${waitText(s)}`, s);
  }

  /**
   * Runs one argon2 operation through the node's HashGate. A full queue is a 503 with Retry-After;
   * `refused` first gives back what the request took from its allowances (nothing was checked).
   */
  private async hashing<T>(fn: () => Promise<T>, refused: () => Promise<unknown>): Promise<T> {
    try {
      return await this.hashes.run(fn);
    } catch (e) {
      if (!(e instanceof HashGateFull)) throw e;
      await refused();
      throw new AuthError(503, 'the server is busy checking passwords: try again in 1 s', 1);
    }
  }

  /**
   * Throttled per source address (an IPv6 /64: address.ts): a request that passes validation takes
   * one sign-up from the address's allowance, taken or not (either way it cost an argon2 hash); a
   * malformed one costs nothing and takes nothing.
   */
  async signup(rawName: unknown, password: unknown, addr = ''): Promise<{ accessToken: string; user: User }> {
    const name = normalizeName(rawName);
    if (!name) throw new AuthError(400, `user${NAME_RULE}`);
    AuthService.checkedPassword(password);
    const addrKey = allowanceKey(addr);
    AuthService.refuseIfThrottled(await this.allowances.take(this.signups, addrKey), 'too many sign-ups from this address');
    const passwordHash = await this.hashing(
      () => AuthService.hashPassword(password),
      () => this.allowances.give(this.signups, addrKey),
    );
    const user = await this.users.createAccount(name, passwordHash);
    if (!user) throw new AuthError(409, `username "${name}" is taken (or too like a name that is)`);
    return { accessToken: await this.issue(user), user };
  }

  /**
   * Throttled per username (its look-alike class) and per source address: each attempt takes one
   * from both allowances and a success gives them back, so only failures count, and parallel
   * guesses cannot all start before the first failure is counted.
   */
  async login(rawName: unknown, password: unknown, addr = ''): Promise<{ accessToken: string; user: User }> {
    // A body that is not a login at all is the client's mistake, told as such (as sign-up does);
    // it says nothing about any account, so it costs no hash and takes no allowance.
    if (typeof rawName !== 'string' || typeof password !== 'string') {
      throw new AuthError(400, 'username and password (strings) are required');
    }
    const name = normalizeName(rawName);
    const userKey = name ? nameKey(name) : '';
    const addrKey = allowanceKey(addr);
    const giveBack = () =>
      Promise.all([this.allowances.give(this.perAddr, addrKey), name ? this.allowances.give(this.perUser, userKey) : undefined]);
    AuthService.refuseIfThrottled(await this.allowances.take(this.perAddr, addrKey), 'too many failed logins');
    const userWait = name ? await this.allowances.take(this.perUser, userKey) : 0;
    if (userWait > 0) await this.allowances.give(this.perAddr, addrKey);
    AuthService.refuseIfThrottled(userWait, 'too many failed logins');
    const found = name ? await this.users.byName(name) : null;
    // Same answer, and the same argon2 cost, whether the user is missing, a guest, or the password wrong.
    const stored = found?.passwordHash ?? (await this.dummyHash);
    const ok = await this.hashing(() => verify(stored, password).catch(() => false), giveBack);
    if (!found?.passwordHash || !ok) throw new AuthError(401, 'wrong username or password');
    await giveBack();
    return { accessToken: await this.issue(found), user: found };
  }

  /** A connection with an access token: the token's account, its session opened. */
  async account(token: string): Promise<Identity> {
    const invalid = () => new AuthError(401, 'invalid or expired token');
    const payload = await this.verifyJwt(token, invalid);
    // Signed by us but not an access token (a guest token, or a malformed subject): the token's
    // fault, a 4001, never a database error.
    if (typeof payload.sub !== 'string' || !ACCOUNT_SUB.test(payload.sub) || payload.gst !== undefined) throw invalid();
    // One round trip finds the account and records the connection. A database failure is not
    // the token's fault: it propagates (the socket is closed 1013, "try again later"), where a
    // 401 would sign the user out.
    const user = await this.users.openAccount(Number(payload.sub));
    // Renamed (the token names the old name) or tokens revoked (a password reset bumps the epoch).
    if (!user || user.name !== payload.name || user.tokenEpoch !== (payload.ep ?? 0)) throw invalid();
    return { userId: user.id, user: user.name, guest: false };
  }

  /**
   * A guest connects with its guest token (a reconnect: it is that guest again, on any node), or
   * with a wanted name, or with neither (a generated name). A name held by an account, or by a
   * guest row created with another token, is refused; a new guest gets a new token. No row is
   * created here: idle sockets cost no database row (the first join creates it: claimGuest).
   */
  async guest(wantedName: string | null, guestToken: string | null): Promise<Identity> {
    let name: string;
    let tid: string;
    if (guestToken) {
      const p = await this.verifyJwt(
        guestToken,
        () => new AuthError(401, 'invalid or expired guest token: connect without it as a new guest'),
      );
      const n = normalizeName(p.name);
      if (typeof p.gst !== 'string' || !n) throw new AuthError(401, 'not a guest token');
      name = n;
      tid = p.gst;
    } else {
      const n = wantedName ? normalizeName(wantedName) : `guest-${randomBytes(6).toString('base64url').replace(/[-_]/g, 'x')}`;
      if (!n) throw new AuthError(400, `guest ${NAME_RULE}`);
      name = n;
      tid = randomBytes(16).toString('base64url');
    }
    // A generated name is random enough not to be held (claimGuest refuses it at the first join if it ever is).
    const held = guestToken || wantedName ? await this.users.openGuest(name, tid) : 'free';
    if (held === 'revoked') throw new AuthError(401, 'this guest was removed by an operator: connect as a new guest');
    if (held === 'account') throw new AuthError(409, `"${name}" is a registered user: log in instead`);
    if (held === 'taken') throw new AuthError(409, `"${name}" is taken`);
    const userId = held === 'free' ? 0 : held.id;
    return { userId, user: held === 'free' ? name : held.name, guest: true, guestTid: tid, guestToken: await this.issueGuest(name, tid) };
  }

  private verifyJwt(token: string, invalid: () => AuthError): Promise<JWTPayload> {
    // Every token this service issues expires; one without `exp` (signed with the secret, but not
    // by this code) would be valid forever.
    return jwtVerify(token, this.key, { algorithms: [ALG], requiredClaims: ['exp'] }).then(
      (r) => r.payload,
      () => Promise.reject(invalid()),
    );
  }

  private issue(user: User): Promise<string> {
    return new SignJWT({ name: user.name, ...(user.tokenEpoch ? { ep: user.tokenEpoch } : {}) })
      .setProtectedHeader({ alg: ALG })
      .setSubject(String(user.id))
      .setIssuedAt()
      .setExpirationTime(`${this.ttlS}s`)
      .sign(this.key);
  }

  /** A guest token: the name and the guest's id (`gst`), no subject (so it is never an access token). */
  private issueGuest(name: string, tid: string): Promise<string> {
    return new SignJWT({ name, gst: tid })
      .setProtectedHeader({ alg: ALG })
      .setIssuedAt()
      .setExpirationTime(`${GUEST_TOKEN_TTL_S}s`)
      .sign(this.key);
  }
}
