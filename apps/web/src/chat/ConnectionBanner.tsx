import { useEffect, useState } from 'react';
import type { Status } from './store.ts';

const BACK_SHOWN_MS = 4000;

/** Says when the connection is down (and that sends will wait), and briefly when it is back. */
export function ConnectionBanner({ status, backAt }: { status: Status; backAt: number | null }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!backAt) return;
    const t = setTimeout(() => tick((n) => n + 1), Math.max(0, backAt + BACK_SHOWN_MS - Date.now()));
    return () => clearTimeout(t);
  }, [backAt]);
  let text = '';
  let tone = '';
  if (status === 'reconnecting') {
    text = 'Connection lost — reconnecting… Messages you send now go out when it is back.';
    tone = 'warn';
  } else if (status === 'connecting') {
    text = 'Connecting…';
  } else if (status === 'offline') {
    text = 'Offline';
    tone = 'warn';
  } else if (backAt && Date.now() - backAt < BACK_SHOWN_MS) {
    text = 'Back online';
    tone = 'ok';
  }
  return (
    <div role="status" className={`conn ${tone}`}>
      {text}
    </div>
  );
}
