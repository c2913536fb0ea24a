import { type FormEvent, useState } from 'react';
import { AuditLog } from './AuditLog.tsx';
import { AdminApi, AdminError } from './api.ts';
import { ChannelsPanel } from './ChannelsPanel.tsx';
import { UsersPanel } from './UsersPanel.tsx';

const KEY = 'parley.adminToken';
type Tab = 'users' | 'channels' | 'audit';

/**
 * The operators' dashboard over the admin HTTP API. The token is kept for this tab only
 * (sessionStorage): closing the tab forgets it.
 */
export default function AdminPage() {
  const [api, setApi] = useState<AdminApi | null>(() => {
    const t = sessionStorage.getItem(KEY);
    return t ? new AdminApi(t) : null;
  });
  const [tab, setTab] = useState<Tab>('users');
  if (!api) return <TokenForm onToken={(t) => setApi(new AdminApi(t))} />;
  const tabs: [Tab, string][] = [
    ['users', 'Users'],
    ['channels', 'Channels'],
    ['audit', 'Audit log'],
  ];
  return (
    <div className="admin">
      <header className="topbar">
        <span className="brand">Parley · Operators</span>
        <nav aria-label="Dashboard sections" className="tabs">
          {tabs.map(([id, label]) => (
            <button key={id} type="button" aria-pressed={tab === id} onClick={() => setTab(id)}>
              {label}
            </button>
          ))}
        </nav>
        <span className="spacer" />
        <a href="/">Open the chat</a>
        <button
          type="button"
          onClick={() => {
            sessionStorage.removeItem(KEY);
            setApi(null);
          }}
        >
          Forget token
        </button>
      </header>
      <main className="admin-main" aria-label={tabs.find(([id]) => id === tab)?.[1]}>
        {tab === 'users' && <UsersPanel api={api} />}
        {tab === 'channels' && <ChannelsPanel api={api} />}
        {tab === 'audit' && <AuditLog api={api} />}
      </main>
    </div>
  );
}

function TokenForm({ onToken }: { onToken(token: string): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Checked once here so a wrong token is refused on this screen, not on every table.
      await new AdminApi(token.trim()).users({});
      sessionStorage.setItem(KEY, token.trim());
      onToken(token.trim());
    } catch (err) {
      setError(err instanceof AdminError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login" aria-labelledby="admin-title">
      <div className="login-card">
        <h1 id="admin-title">Operators’ dashboard</h1>
        <p className="tagline">Enter the server’s admin token (PARLEY_ADMIN_TOKEN). It is kept for this tab only.</p>
        <form onSubmit={submit}>
          <label>
            Admin token
            <input type="password" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} />
          </label>
          {error && (
            <p className="alert" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={busy}>
            Open dashboard
          </button>
        </form>
      </div>
    </main>
  );
}
