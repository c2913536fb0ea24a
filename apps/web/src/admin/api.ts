/** The admin HTTP API (docs/admin-api.md) with the operator's bearer token. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface AdminUser {
  id: number;
  name: string;
  guest: boolean;
  createdAt: number;
  lastSeenAt: number;
}
export interface AdminMessage {
  cid: number;
  channel: string;
  seq: number;
  text: string;
  ts: number;
}
export interface AdminChannel {
  cid: number;
  name: string;
  owner: string | null;
  members: number;
  lastSeq: number;
  createdAt: number;
  online: number;
}
export interface AuditEntry {
  id: number;
  cid: number;
  action: string;
  actor: string;
  target: string;
  reason: string | null;
  durationMs: number | null;
  at: number;
}
export interface Page<T> {
  items: T[];
  next: string | null;
}
export interface UserCounts {
  registered: number;
  guests: number;
}

export class AdminApi {
  constructor(private readonly token: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new AdminError(0, 'The server cannot be reached.');
    }
    if (res.status === 204) return undefined as T;
    const json = (await res.json().catch(() => ({}))) as { error?: string };
    if (!res.ok) {
      const why =
        res.status === 401
          ? 'The server refused this admin token.'
          : res.status === 403
            ? 'The admin API is turned off on this server (PARLEY_ADMIN_TOKEN is not set), or you are not on an operators’ network.'
            : (json.error ?? `request failed (${res.status})`);
      throw new AdminError(res.status, why);
    }
    return json as T;
  }

  async users(q: { prefix?: string; guest?: boolean | null; after?: string | null }): Promise<Page<AdminUser> & { counts: UserCounts }> {
    const p = new URLSearchParams({ limit: '50' });
    if (q.prefix) p.set('prefix', q.prefix);
    if (q.guest !== null && q.guest !== undefined) p.set('guest', String(q.guest));
    if (q.after) p.set('after', q.after);
    const r = await this.call<{ users: AdminUser[]; next: string | number | null; counts: UserCounts }>('GET', `/admin/users?${p}`);
    return { items: r.users, next: r.next === null ? null : String(r.next), counts: r.counts };
  }
  async messages(id: number, before: string | null): Promise<Page<AdminMessage>> {
    const p = new URLSearchParams({ limit: '20' });
    if (before) p.set('before', before);
    const r = await this.call<{ messages: AdminMessage[]; next: string | null }>('GET', `/admin/users/${id}/messages?${p}`);
    return { items: r.messages, next: r.next };
  }
  update(id: number, change: { name?: string; password?: string }): Promise<AdminUser> {
    return this.call('PATCH', `/admin/users/${id}`, change);
  }
  deleteUser(id: number): Promise<void> {
    return this.call('DELETE', `/admin/users/${id}`);
  }
  async channels(q: { active: boolean | null; after: string | null }): Promise<Page<AdminChannel>> {
    const p = new URLSearchParams({ limit: '50' });
    if (q.active !== null) p.set('active', String(q.active));
    if (q.after) p.set('after', q.after);
    const r = await this.call<{ channels: AdminChannel[]; next: string | number | null }>('GET', `/admin/channels?${p}`);
    return { items: r.channels, next: r.next === null ? null : String(r.next) };
  }
  deleteChannel(cid: number): Promise<void> {
    return this.call('DELETE', `/admin/channels/${cid}`);
  }
  async audit(before: string | null): Promise<Page<AuditEntry>> {
    const p = new URLSearchParams({ limit: '25' });
    if (before) p.set('before', before);
    const r = await this.call<{ entries: AuditEntry[]; next: number | null }>('GET', `/admin/audit?${p}`);
    return { items: r.entries, next: r.next === null ? null : String(r.next) };
  }
}

export const when = (ms: number | null | undefined): string => (ms ? new Date(ms).toLocaleString() : '—');
