import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { waitText } from '../src/core/rate-limit.js';
import { AuthError, AuthService } from '../src/http/auth.js';
import type { User, UserStore } from '../src/ports/user-store.js';

// AuthService's own decisions, against a UserStore fake (the SQL UserStore is tested on Postgres and
// PGlite in contracts/user-store.contract.ts): which failures are the token's fault (401, the SDK
// signs out) and which are not (anything else: the socket closes 1013, the SDK retries).
class Users implements UserStore {
  down = false;
  private readonly rows = new Map<number, User & { passwordHash: string | null }>();
  private next = 1;
  private check(): void {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
  }
  async createAccount(name: string, passwordHash: string): Promise<User | null> {
    this.check();
    if ([...this.rows.values()].some((u) => u.name === name)) return null;
    const u = { id: this.next++, name, guest: false, passwordHash, tokenEpoch: 0 };
    this.rows.set(u.id, u);
    return { id: u.id, name, guest: false, tokenEpoch: 0 };
  }
  async openGuest(): Promise<'free'> {
    this.check();
    return 'free';
  }
  async claimGuest(): Promise<User | null> {
    this.check();
    return null;
  }
  async openAccount(id: number): Promise<User | null> {
    this.check();
    const u = this.rows.get(id);
    return u && !u.guest ? { id: u.id, name: u.name, guest: false, tokenEpoch: u.tokenEpoch } : null;
  }
  /** What an operator's password reset does to the row. */
  revoke(id: number): void {
    const u = this.rows.get(id);
    if (u) u.tokenEpoch += 1;
  }
  async byName(name: string) {
    this.check();
    return [...this.rows.values()].find((u) => u.name === name) ?? null;
  }
  async touch(): Promise<void> {}
  async reapGuests(): Promise<number> {
    return 0;
  }
}

describe('AuthService.account (a WebSocket connecting with a token)', () => {
  it('returns the account for a valid token, 401 for a bad or foreign token', async () => {
    const users = new Users();
    const auth = new AuthService(users, 'secret-1', 3600);
    const { accessToken, user } = await auth.signup('alice', 'long enough password');
    await expect(auth.account(accessToken)).resolves.toEqual({ userId: user.id, user: 'alice', guest: false });
    await expect(auth.account(`${accessToken}x`)).rejects.toMatchObject({ status: 401 });
    const other = new AuthService(users, 'secret-2', 3600);
    await expect(other.account(accessToken)).rejects.toBeInstanceOf(AuthError);
  });

  it('a token without an expiry is refused, even signed with the secret', async () => {
    const users = new Users();
    const auth = new AuthService(users, 'secret-1', 3600);
    const { user } = await auth.signup('dora', 'long enough password');
    const key = new TextEncoder().encode('secret-1');
    const forever = await new SignJWT({ name: 'dora' }).setProtectedHeader({ alg: 'HS256' }).setSubject(String(user.id)).sign(key);
    await expect(auth.account(forever)).rejects.toMatchObject({ status: 401 });
    const guestForever = await new SignJWT({ name: 'dora2', gst: 'tid' }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    await expect(auth.guest(null, guestForever)).rejects.toMatchObject({ status: 401 });
  });

  it('tokens issued before a revocation (epoch bump) are refused; the next login works', async () => {
    const users = new Users();
    const auth = new AuthService(users, 'secret-1', 3600);
    const { accessToken, user } = await auth.signup('carol', 'long enough password');
    users.revoke(user.id);
    await expect(auth.account(accessToken)).rejects.toMatchObject({ status: 401 });
    const fresh = await auth.login('carol', 'long enough password');
    await expect(auth.account(fresh.accessToken)).resolves.toMatchObject({ user: 'carol' });
    users.revoke(user.id);
    await expect(auth.account(fresh.accessToken)).rejects.toMatchObject({ status: 401 });
  });

  it('a database failure is not a bad token: it is not an AuthError (no sign-out)', async () => {
    const users = new Users();
    const auth = new AuthService(users, 'secret-1', 3600);
    const { accessToken } = await auth.signup('bob', 'long enough password');
    users.down = true;
    const err = await auth.account(accessToken).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(AuthError);
    expect(String(err)).toContain('ECONNREFUSED');
  });
});

describe('AuthService: tokens signed with the right secret but not access tokens', () => {
  const sign = (claims: Record<string, unknown>, sub?: string) => {
    const j = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h');
    return (sub === undefined ? j : j.setSubject(sub)).sign(new TextEncoder().encode('secret-1'));
  };

  it("a malformed subject is the token's fault (401 → close 4001), never a database error (1013)", async () => {
    const users = new Users();
    const auth = new AuthService(users, 'secret-1', 3600);
    for (const sub of [undefined, 'abc', '1e3', '-1', '0', '1.5', '99999999999999999999', ' 1', '']) {
      const err = await auth.account(await sign({ name: 'alice' }, sub)).catch((e: unknown) => e);
      expect(err, String(sub)).toBeInstanceOf(AuthError);
      expect(err).toMatchObject({ status: 401 });
    }
  });

  it('a guest token is not an access token, and an access token is not a guest token', async () => {
    const users = new Users();
    const auth = new AuthService(users, 'secret-1', 3600);
    const g = await auth.guest('zoe', null);
    expect(g).toMatchObject({ userId: 0, user: 'zoe', guest: true });
    await expect(auth.account(g.guestToken!)).rejects.toMatchObject({ status: 401 });
    const { accessToken } = await auth.signup('alice', 'long enough password');
    await expect(auth.guest(null, accessToken)).rejects.toMatchObject({ status: 401 });
    // Reconnecting with its token is the same guest (same name, same token id), with a fresh token.
    const again = await auth.guest('someone-else', g.guestToken!);
    expect(again).toMatchObject({ user: 'zoe', guest: true, guestTid: g.guestTid });
    // A forged one (another secret) is refused.
    const forged = await new AuthService(users, 'secret-2', 3600).guest('zoe', null);
    await expect(auth.guest(null, forged.guestToken!)).rejects.toMatchObject({ status: 401 });
  });
});

describe('waitText (the wait in a 429 message)', () => {
  it('reads in seconds up to a minute and a half, then in whole minutes rounded up', () => {
    expect(waitText(1)).toBe('1 s');
    expect(waitText(89)).toBe('89 s');
    expect(waitText(90)).toBe('2 min');
    expect(waitText(175)).toBe('3 min');
    expect(waitText(3600)).toBe('60 min');
  });
});
