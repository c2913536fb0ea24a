/** Small text helpers for what the page says. */

export function typingLine(users: readonly string[], me: string | undefined): string {
  const others = users.filter((u) => u !== me);
  if (others.length === 0) return '';
  if (others.length === 1) return `${others[0]} is typing…`;
  if (others.length === 2) return `${others[0]} and ${others[1]} are typing…`;
  if (others.length === 3) return `${others[0]}, ${others[1]} and ${others[2]} are typing…`;
  return 'Several people are typing…';
}

/** "1 member", "3 members". */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s` : ''}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ''}`.trim();
  return `${Math.floor(h / 24)} days`;
}

export const timeOf = (ts: number): string => new Date(ts).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
export const fullTime = (ts: number): string => new Date(ts).toLocaleString();
