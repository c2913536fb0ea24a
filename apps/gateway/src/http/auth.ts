import { hash, verify } from '@node-rs/argon2';
import { jwtVerify, SignJWT } from 'jose';
import type { User, UserStore } from '../ports/user-store.js';

/** The only JWT algorithm accepted: tokens with any other `alg` (incl. "none") are refused. */
const ALG = 'HS256';
/** @node-rs/argon2's Algorithm.Argon2id (a const enum, which isolatedModules cannot import). */
const ARGON2ID = 2;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{1,31}$/;

export class AuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Identity {
  userId: number;
  user: string;
  guest: boolean;
}

export class AuthService {
  private readonly key: Uint8Array;

  constructor(
    private readonly users: UserStore,
    secret: string,
    private readonly ttlS: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  static validName(name: unknown): name is string {
    return typeof name === 'string' && NAME.test(name);
  }

  /** An argon2id hash of an acceptable password (8–256 characters), or a 400. */
  static async hashPassword(password: unknown): Promise<string> {
    if (typeof password !== 'string' || password.length < 8 || password.length > 256) {
      throw new AuthError(400, 'password: 8–256 characters');
    }
    return hash(password, { algorithm: ARGON2ID });
  }

  async signup(name: unknown, password: unknown): Promise<{ accessToken: string; user: User }> {
    if (!AuthService.validName(name)) {
      throw new AuthError(400, 'username: 2–32 characters, letters, digits, _ . - (not starting with . or -)');
    }
    const passwordHash = await AuthService.hashPassword(password);
    const user = await this.users.createAccount(name, passwordHash);
    if (!user) throw new AuthError(409, `username "${name}" is taken`);
    return { accessToken: await this.issue(user), user };
  }

  async login(name: unknown, password: unknown): Promise<{ accessToken: string; user: User }> {
    if (!AuthService.validName(name) || typeof password !== 'string') {
      throw new AuthError(401, 'wrong username or password');
    }
    const found = await this.users.byName(name);
    // Same answer whether the user is missing or the password is wrong.
    if (!found?.passwordHash || !(await verify(found.passwordHash, password))) {
      throw new AuthError(401, 'wrong username or password');
    }
    return { accessToken: await this.issue(found), user: found };
  }

  /** A connection with an access token: the token's account, its session opened. */
  async account(token: string): Promise<Identity> {
    const invalid = () => new AuthError(401, 'invalid or expired token');
    const payload = await jwtVerify(token, this.key, { algorithms: [ALG] }).then(
      (r) => r.payload,
      () => Promise.reject(invalid()),
    );
    // One round trip finds the account and records the connection. A database failure is not
    // the token's fault: it propagates (the socket is closed 1013, "try again later"), where a
    // 401 would sign the user out.
    const user = await this.users.openAccount(Number(payload.sub));
    // Renamed (the token names the old name) or tokens revoked (a password reset bumps the epoch).
    if (!user || user.name !== payload.name || user.tokenEpoch !== (payload.ep ?? 0)) throw invalid();
    return { userId: user.id, user: user.name, guest: false };
  }

  /**
   * A guest connects with a name (or gets one) and is that guest from then on: the same name
   * later is the same guest (a reconnect). Names held by accounts are refused.
   */
  async guest(name: string | null): Promise<Identity> {
    const wanted = name ?? `guest-${Math.random().toString(36).slice(2, 8)}`;
    if (!AuthService.validName(wanted)) throw new AuthError(400, 'guest name: 2–32 characters, letters, digits, _ . -');
    const user = await this.users.openGuest(wanted);
    if (!user) throw new AuthError(409, `"${wanted}" is a registered user: log in instead`);
    return { userId: user.id, user: user.name, guest: true };
  }

  private issue(user: User): Promise<string> {
    return new SignJWT({ name: user.name, ...(user.tokenEpoch ? { ep: user.tokenEpoch } : {}) })
      .setProtectedHeader({ alg: ALG })
      .setSubject(String(user.id))
      .setIssuedAt()
      .setExpirationTime(`${this.ttlS}s`)
      .sign(this.key);
  }
}
