import type { ChannelState } from './store.ts';

const RANK = { owner: 0, moderator: 1, member: 2, guest: 3 } as const;

/**
 * Who is in the channel: online first (from presence), with their role. The offline list holds
 * the roster pages loaded so far; "Show more" asks for the next one (`onMore`).
 */
export function MembersPanel({ channel, onMore }: { channel: ChannelState; onMore: () => void }) {
  const online = new Set(channel.online);
  const roster = new Map(channel.members.map((m) => [m.user, m.role] as const));
  // Someone present who is not on the loaded roster pages still shows, as presence describes them.
  const guests = new Set(channel.onlineGuests);
  for (const u of channel.online) if (!roster.has(u)) roster.set(u, guests.has(u) ? 'guest' : 'member');
  const people = [...roster].sort(([a, ra], [b, rb]) => RANK[ra] - RANK[rb] || a.localeCompare(b));
  const on = people.filter(([u]) => online.has(u));
  const off = people.filter(([u]) => !online.has(u));
  // In a crowded channel the server lists only some of who is online (`onlineCount` counts all):
  // the rest cannot be told online from offline, so they are "Others", not "Offline".
  const capped = channel.onlineCount > channel.online.length;
  const onlineShown = Math.max(on.length, channel.onlineCount);
  // With roster pages not loaded yet, or a capped online list, the count comes from the channel's total.
  const partial = (channel.membersMore || capped) && channel.memberTotal !== null;
  const rest = partial ? Math.max(off.length, (channel.memberTotal ?? 0) - (capped ? on.length : onlineShown)) : off.length;
  const list = (title: string, rows: typeof people, isOnline: boolean, shown = rows.length) => (
    <section aria-label={`${title} ${shown}`}>
      <h3>
        {title} — {shown}
      </h3>
      <ul>
        {rows.map(([user, role]) => (
          <li key={user} className={isOnline ? 'online' : capped ? 'other' : 'offline'}>
            <span className="dot" aria-hidden="true" />
            <span className="name">{user}</span>
            {role !== 'member' && <span className={`badge role-${role}`}>{role}</span>}
            <span className="sr-only">{isOnline ? ', online' : capped ? '' : ', offline'}</span>
          </li>
        ))}
      </ul>
    </section>
  );
  return (
    <aside className="members" aria-label="Members">
      <h2>Members</h2>
      {list('Online', on, true, onlineShown)}
      {list(capped ? 'Others' : 'Offline', off, false, rest)}
      {channel.membersMore && (
        <button type="button" className="more-members" onClick={onMore}>
          Show more members
        </button>
      )}
    </aside>
  );
}
