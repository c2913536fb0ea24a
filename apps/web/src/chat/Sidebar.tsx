import { type FormEvent, useState } from 'react';
import type { ChatStore, Snapshot } from './store.ts';
import { unreadCount, unreadLabel } from './unread.ts';
import { count } from './words.ts';

/** Joined channels with unread counts; browse and join public ones; create one (registered users); leave. */
export function Sidebar({ snap, store, onPick }: { snap: Snapshot; store: ChatStore; onPick(name: string): void }) {
  const [browsing, setBrowsing] = useState(false);
  const [newName, setNewName] = useState('');
  const [createError, setCreateError] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    const name = newName.trim().toLowerCase();
    if (!name) return;
    const err = await store.create(name);
    setCreateError(err);
    if (!err) {
      setNewName('');
      onPick(name);
    }
  };

  return (
    <nav className="sidebar" aria-label="Channels">
      <h2 id="joined-title">Your channels</h2>
      <ul aria-labelledby="joined-title" className="channel-list">
        {snap.order.map((name) => {
          const ch = snap.channels[name];
          if (!ch) return null;
          const n = name === snap.active ? 0 : unreadCount(ch);
          return (
            <li key={name} className={name === snap.active ? 'current' : ''}>
              <a
                href={`/c/${name}`}
                aria-current={name === snap.active ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  onPick(name);
                }}
              >
                <span className="hash" aria-hidden="true">
                  #
                </span>
                {name}
                {n > 0 && (
                  <span className="unread">
                    <span aria-hidden="true">{unreadLabel(n)}</span>
                    <span className="sr-only">, {n} unread</span>
                  </span>
                )}
              </a>
              <button
                type="button"
                className="icon leave"
                aria-label={`Leave #${name}`}
                title={`Leave #${name}`}
                onClick={() => void store.leave(name)}
              >
                ×
              </button>
            </li>
          );
        })}
      </ul>
      <button
        type="button"
        aria-expanded={browsing}
        onClick={() => {
          setBrowsing(!browsing);
          if (!browsing) void store.refreshDirectory();
        }}
      >
        {browsing ? 'Hide public channels' : 'Browse channels'}
      </button>
      {browsing && (
        <section aria-label="Public channels" className="directory">
          {snap.directory === null ? (
            <p>Loading…</p>
          ) : snap.directory.length === 0 ? (
            <p>No public channels yet.</p>
          ) : (
            <ul>
              {snap.directory.map((c) => (
                <li key={c.name}>
                  <span>
                    #{c.name} <span className="muted-text">{count(c.members, 'member')}</span>
                  </span>
                  {snap.channels[c.name] ? (
                    <span className="muted-text">joined</span>
                  ) : (
                    <button type="button" aria-label={`Join #${c.name}`} onClick={() => onPick(c.name)}>
                      Join
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      {snap.me && !snap.me.guest ? (
        <form className="create" onSubmit={create} aria-label="Create a channel">
          <label>
            New channel
            <input
              value={newName}
              onChange={(e) => setNewName(e.target.value)}
              placeholder="e.g. random"
              pattern="[a-z0-9][a-z0-9_\-]*"
              maxLength={64}
              title="lowercase letters, digits, - and _"
            />
          </label>
          <button type="submit">Create</button>
          {createError && (
            <p className="alert" role="alert">
              {createError}
            </p>
          )}
        </form>
      ) : (
        <p className="hint">Guests can join channels; sign up to create one.</p>
      )}
    </nav>
  );
}
