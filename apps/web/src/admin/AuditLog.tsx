import { useCallback, useEffect, useState } from 'react';
import { type AdminApi, type AuditEntry, when } from './api.ts';

/** The moderation audit log, newest first, 25 entries a page by cursor. */
export function AuditLog({ api }: { api: AdminApi }) {
  const [rows, setRows] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(
    (before: string | null) =>
      api.audit(before).then(
        (page) => {
          setRows((r) => (before ? [...r, ...page.items] : page.items));
          setNext(page.next);
        },
        (err: Error) => setError(err.message),
      ),
    [api],
  );
  useEffect(() => {
    void load(null);
  }, [load]);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Moderation audit log</h1>
      {error && (
        <p className="alert" role="alert">
          {error}
        </p>
      )}
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Action</th>
            <th scope="col">By</th>
            <th scope="col">Target</th>
            <th scope="col">Channel id</th>
            <th scope="col">Duration</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id}>
              <td>{when(e.at)}</td>
              <td>{e.action}</td>
              <td>{e.actor}</td>
              <td>{e.target || '—'}</td>
              <td>{e.cid}</td>
              <td>{e.durationMs ? `${Math.round(e.durationMs / 1000)} s` : '—'}</td>
              <td>{e.reason ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && !error && <p>Nothing moderated yet.</p>}
      {next && (
        <button type="button" onClick={() => void load(next)}>
          Older entries
        </button>
      )}
    </section>
  );
}
