import { useCallback, useEffect, useState } from 'react';
import { type AdminApi, type AdminChannel, when } from './api.ts';
import { Confirm } from './Confirm.tsx';

/** Channels: members, last seq, who is online now, an "active now" filter, delete with confirmation. */
export function ChannelsPanel({ api }: { api: AdminApi }) {
  const [active, setActive] = useState(false);
  const [rows, setRows] = useState<AdminChannel[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<AdminChannel | null>(null);

  const load = useCallback(
    async (after: string | null) => {
      setError(null);
      try {
        const p = await api.channels({ active: active ? true : null, after });
        setRows((r) => (after ? [...r, ...p.items] : p.items));
        setNext(p.next);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    [api, active],
  );
  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section aria-labelledby="channels-title">
      <h1 id="channels-title">Channels</h1>
      <div className="filters">
        <label className="check">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
          Only channels with someone online
        </label>
        <button type="button" onClick={() => void load(null)}>
          Refresh
        </button>
      </div>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      {confirm && (
        <Confirm
          text={`Delete #${confirm.name}? Its history, memberships and sanctions go (the audit log stays); everyone in it is told and taken out.`}
          action={`Delete #${confirm.name}`}
          onYes={() => {
            const c = confirm;
            setConfirm(null);
            api.deleteChannel(c.cid).then(
              () => setRows((r) => r.filter((x) => x.cid !== c.cid)),
              (err: Error) => setError(err.message),
            );
          }}
          onNo={() => setConfirm(null)}
        />
      )}
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Owner</th>
            <th scope="col">Members</th>
            <th scope="col">Online now</th>
            <th scope="col">Last seq</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={c.cid}>
              <th scope="row">#{c.name}</th>
              <td>{c.owner ?? '—'}</td>
              <td>{c.members}</td>
              <td>{c.online}</td>
              <td>{c.lastSeq}</td>
              <td>{when(c.createdAt)}</td>
              <td>
                <button type="button" className="danger" aria-label={`Delete #${c.name}`} onClick={() => setConfirm(c)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !error && <p>No channels{active ? ' with anyone online' : ''}.</p>}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Load more channels
        </button>
      )}
    </section>
  );
}
