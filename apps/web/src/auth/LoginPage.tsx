import { type FormEvent, useState } from 'react';
import { authRequest } from './api.ts';
import type { Session } from './session.ts';

/** Sign in, create an account, or continue as a guest (a name of your choice, or one the server picks). */
export function LoginPage({ message, onSession }: { message: string | null; onSession: (s: Session) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [guestName, setGuestName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const account = async (kind: 'login' | 'signup') => {
    setBusy(true);
    setError(null);
    try {
      const r = await authRequest(kind, username.trim(), password);
      onSession({ kind: 'user', token: r.accessToken, user: r.user });
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const submitter = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    void account(submitter?.value === 'signup' ? 'signup' : 'login');
  };

  return (
    <main className="login" aria-labelledby="login-title">
      <div className="login-card">
        <h1 id="login-title">Parley</h1>
        <p className="tagline">Real-time chat. Sign in, create an account, or just start talking as a guest.</p>
        {message && (
          <p className="alert" role="alert">
            {message}
          </p>
        )}
        <form onSubmit={onSubmit} aria-label="Sign in or create an account">
          <label>
            Username
            <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          {error && (
            <p className="alert" role="alert">
              {error}
            </p>
          )}
          <div className="row">
            <button type="submit" value="login" className="primary" disabled={busy}>
              Sign in
            </button>
            <button type="submit" value="signup" disabled={busy}>
              Create account
            </button>
          </div>
        </form>
        <div className="divider" aria-hidden="true">
          <span>or</span>
        </div>
        <form
          aria-label="Continue as a guest"
          onSubmit={(e) => {
            e.preventDefault();
            onSession({ kind: 'guest', name: guestName.trim() });
          }}
        >
          <label>
            Guest name <span className="hint">(optional — we pick one if empty)</span>
            <input name="guest" value={guestName} maxLength={24} onChange={(e) => setGuestName(e.target.value)} />
          </label>
          <button type="submit">Continue as guest</button>
        </form>
      </div>
    </main>
  );
}
