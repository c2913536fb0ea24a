/**
 * Who is signed in, kept in localStorage so a reload keeps the session: a registered user's
 * access token, or a guest's name and guest token (the server's generated name and the token it
 * hands out are stored once known: a guest's name is only theirs with the token).
 */
export type Session = { kind: 'user'; token: string; user: string } | { kind: 'guest'; name: string; guestToken?: string };

const KEY = 'parley.session';

export function loadSession(storage: Storage = localStorage): Session | null {
  try {
    const raw = storage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (s.kind === 'user' && typeof s.token === 'string' && typeof s.user === 'string') return s;
    if (s.kind === 'guest' && typeof s.name === 'string' && (s.guestToken === undefined || typeof s.guestToken === 'string')) return s;
  } catch {
    // A corrupt entry is the same as none.
  }
  return null;
}

export function saveSession(s: Session, storage: Storage = localStorage): void {
  storage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(storage: Storage = localStorage): void {
  storage.removeItem(KEY);
}

/** Per-user small state (joined channels, read positions) under one key each. */
export function userKey(user: string, what: string): string {
  return `parley.${what}.${user}`;
}
