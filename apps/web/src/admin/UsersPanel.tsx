import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { count } from '../chat/words.ts';
import { type AdminApi, type AdminMessage, type AdminUser, type UserCounts, when } from './api.ts';
import { Confirm } from './Confirm.tsx';

type GuestFilter = 'all' | 'registered' | 'guests';

/** Users: prefix search, guest filter, cursor paging; per user: messages, rename, password reset, delete. */
export function UsersPanel({ api }: { api: AdminApi }) {
  const [prefix, setPrefix] = useState('');
  const [filter, setFilter] = useState<GuestFilter>('all');
  const [users, setUsers] = useState<AdminUser[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [counts, setCounts] = useState<UserCounts | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setError(null);
      try {
        const guest = filter === 'all' ? null : filter === 'guests';
        const page = await api.users({ prefix, guest, after });
        setUsers((u) => (after ? [...u, ...page.items] : page.items));
        setNext(page.next);
        setCounts(page.counts);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    [api, prefix, filter],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  const replace = (u: AdminUser) => setUsers((all) => all.map((x) => (x.id === u.id ? { ...x, ...u } : x)));
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <div className="filters">
        <label>
          Name starts with
          <input type="search" value={prefix} onChange={(e) => setPrefix(e.target.value)} />
        </label>
        <label>
          Show
          <select value={filter} onChange={(e) => setFilter(e.target.value as GuestFilter)}>
            <option value="all">everyone</option>
            <option value="registered">registered users</option>
            <option value="guests">guests</option>
          </select>
        </label>
        <span className="muted-text">
          {counts ? `${count(counts.registered, 'registered user')}, ${count(counts.guests, 'guest')} in all; ` : ''}
          {users.length} shown
        </span>
      </div>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Created</th>
            <th scope="col">Last seen</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <UserRow
              key={u.id}
              api={api}
              user={u}
              open={open === u.id}
              onToggle={() => setOpen(open === u.id ? null : u.id)}
              onChanged={replace}
              onDeleted={() => setUsers((all) => all.filter((x) => x.id !== u.id))}
            />
          ))}
        </tbody>
      </table>
      {users.length === 0 && !error && <p>No users match.</p>}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Load more users
        </button>
      )}
    </section>
  );
}

interface RowProps {
  api: AdminApi;
  user: AdminUser;
  open: boolean;
  onToggle(): void;
  onChanged(u: AdminUser): void;
  onDeleted(): void;
}

function UserRow({ api, user, open, onToggle, onChanged, onDeleted }: RowProps) {
  const [mode, setMode] = useState<'none' | 'rename' | 'password' | 'delete'>('none');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
      setMode('none');
      setValue('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      onChanged(await api.update(user.id, mode === 'rename' ? { name: value.trim() } : { password: value }));
    });
  };
  return (
    <>
      <tr>
        <th scope="row">{user.name}</th>
        <td>{user.guest ? 'guest' : 'registered'}</td>
        <td>{when(user.createdAt)}</td>
        <td>{when(user.lastSeenAt)}</td>
        <td className="actions">
          <button type="button" aria-expanded={open} onClick={onToggle} aria-label={`Messages of ${user.name}`}>
            Messages
          </button>
          <button type="button" onClick={() => setMode('rename')} aria-label={`Rename ${user.name}`}>
            Rename
          </button>
          {!user.guest && (
            <button type="button" onClick={() => setMode('password')} aria-label={`Reset the password of ${user.name}`}>
              Reset password
            </button>
          )}
          <button type="button" className="danger" onClick={() => setMode('delete')} aria-label={`Delete ${user.name}`}>
            Delete
          </button>
        </td>
      </tr>
      {(mode !== 'none' || error) && (
        <tr>
          <td colSpan={5}>
            {mode === 'delete' ? (
              <Confirm
                text={`Delete ${user.name}? Their connections close, their memberships and reactions go; their messages stay under the name they were sent with.`}
                action={`Delete ${user.name}`}
                onYes={() =>
                  void run(async () => {
                    await api.deleteUser(user.id);
                    onDeleted();
                  })
                }
                onNo={() => setMode('none')}
              />
            ) : mode !== 'none' ? (
              <form
                className="inline-form"
                onSubmit={submit}
                aria-label={mode === 'rename' ? `Rename ${user.name}` : `New password for ${user.name}`}
              >
                <label>
                  {mode === 'rename' ? 'New name' : 'New password'}
                  <input
                    type={mode === 'password' ? 'password' : 'text'}
                    value={value}
                    required
                    onChange={(e) => setValue(e.target.value)}
                    // biome-ignore lint/a11y/noAutofocus: the field the operator just asked for
                    autoFocus
                  />
                </label>
                <button type="submit" className="primary">
                  {mode === 'rename' ? 'Save name' : 'Set password'}
                </button>
                <button type="button" onClick={() => setMode('none')}>
                  Cancel
                </button>
                <span className="hint">Their sessions end at once; they must sign in again.</span>
              </form>
            ) : null}
            {error && (
              <p className="alert" role="alert">
                {error}
              </p>
            )}
          </td>
        </tr>
      )}
      {open && (
        <tr>
          <td colSpan={5}>
            <UserMessages api={api} user={user} />
          </td>
        </tr>
      )}
    </>
  );
}

function UserMessages({ api, user }: { api: AdminApi; user: AdminUser }) {
  const [items, setItems] = useState<AdminMessage[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const load = useCallback(
    async (before: string | null) => {
      try {
        const p = await api.messages(user.id, before);
        setItems((m) => (before ? [...m, ...p.items] : p.items));
        setNext(p.next);
        setLoaded(true);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    [api, user.id],
  );
  useEffect(() => {
    void load(null);
  }, [load]);
  return (
    <section aria-label={`Messages of ${user.name}`} className="user-messages">
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      {loaded && items.length === 0 && <p>No messages.</p>}
      <ul>
        {items.map((m) => (
          <li key={`${m.cid}.${m.seq}`}>
            <span className="muted-text">
              #{m.channel} · {when(m.ts)}
            </span>{' '}
            <span className="text">{m.text}</span>
          </li>
        ))}
      </ul>
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Older messages
        </button>
      )}
    </section>
  );
}
