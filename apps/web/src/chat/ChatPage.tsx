import { useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useLocation } from 'wouter';
import type { Session } from '../auth/session.ts';
import { Composer } from './Composer.tsx';
import { ConnectionBanner } from './ConnectionBanner.tsx';
import { MembersPanel } from './MembersPanel.tsx';
import { MessageList } from './MessageList.tsx';
import { Sidebar } from './Sidebar.tsx';
import { ChatStore } from './store.ts';
import { count, typingLine } from './words.ts';

interface Props {
  session: Session;
  wanted: string | null;
  onEnded(why: string): void;
  onGuestName(name: string): void;
}

export function ChatPage({ session, wanted, onEnded, onGuestName }: Props) {
  const [store] = useState(() => new ChatStore(session));
  const snap = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const [location, navigate] = useLocation();
  const [panel, setPanel] = useState<'none' | 'channels' | 'members'>('none');

  // biome-ignore lint/correctness/useExhaustiveDependencies: connect once per store; `wanted` is only the landing channel
  useEffect(() => {
    void store.start(wanted);
    return () => store.stop();
  }, [store]);
  // The address bar and the open channel follow each other: a new /c/<name> (link, back
  // button) opens that channel once; the store switching by itself (kicked, left) updates the URL.
  const handled = useRef<string | null>(null);
  useEffect(() => {
    if (!snap.me || !wanted || wanted === handled.current) return;
    handled.current = wanted;
    if (wanted !== snap.active) store.open(wanted);
  }, [wanted, snap.me, snap.active, store]);
  useEffect(() => {
    if (!snap.active || location === `/c/${snap.active}`) return;
    handled.current = snap.active;
    navigate(`/c/${snap.active}`, { replace: !wanted || !snap.channels[wanted] });
  }, [snap.active, location, navigate, wanted, snap.channels]);
  useEffect(() => {
    if (snap.ended) onEnded(snap.ended);
  }, [snap.ended, onEnded]);
  useEffect(() => {
    if (session.kind === 'guest' && snap.me?.guest && session.name !== snap.me.user) onGuestName(snap.me.user);
  }, [session, snap.me, onGuestName]);
  useEffect(() => {
    document.title = snap.active ? `#${snap.active} · Parley` : 'Parley';
  }, [snap.active]);

  const ch = snap.active ? snap.channels[snap.active] : undefined;
  const me = snap.me;
  return (
    <div className={`chat panel-${panel}`}>
      <header className="topbar">
        <button
          type="button"
          className="only-narrow"
          aria-expanded={panel === 'channels'}
          onClick={() => setPanel(panel === 'channels' ? 'none' : 'channels')}
        >
          Channels
        </button>
        <span className="brand" aria-hidden="true">
          Parley
        </span>
        <ConnectionBanner status={snap.status} backAt={snap.backAt} />
        <span className="spacer" />
        {me && (
          <span className="whoami" title={me.user}>
            {me.user}
            {me.guest && <span className="badge">guest</span>}
          </span>
        )}
        <button
          type="button"
          className="only-narrow"
          aria-expanded={panel === 'members'}
          onClick={() => setPanel(panel === 'members' ? 'none' : 'members')}
        >
          Members
        </button>
        <button
          type="button"
          onClick={() => {
            store.stop();
            onEnded('You signed out.');
          }}
        >
          Sign out
        </button>
      </header>
      {snap.notice && (
        <div className="notice" role="alert">
          <span>{snap.notice}</span>
          <button type="button" onClick={() => store.dismissNotice()}>
            Dismiss
          </button>
        </div>
      )}
      {snap.connectError && (
        <div className="notice" role="alert">
          <span>{snap.connectError}</span>
          <button type="button" onClick={() => void store.start(wanted)}>
            Try again
          </button>
        </div>
      )}
      <Sidebar
        snap={snap}
        store={store}
        onPick={(name) => {
          setPanel('none');
          navigate(`/c/${name}`);
        }}
      />
      <main className="channel" aria-label={ch ? `#${ch.name}` : 'No channel'}>
        {ch && me ? (
          <>
            <div className="channel-head">
              <h1>#{ch.name}</h1>
              <span className="muted-text">
                {ch.onlineCount} online · {ch.memberTotal !== null ? count(ch.memberTotal, 'member') : '… members'}
              </span>
            </div>
            {/* One list per channel: scroll state and row measurements are per channel. */}
            <MessageList key={ch.name} channel={ch} me={me.user} store={store} />
            <p className="typing" aria-live="polite">
              {typingLine(ch.typing, me.user)}
            </p>
            <Composer channel={ch} store={store} />
          </>
        ) : (
          <div className="empty">
            <h1>{snap.status === 'connecting' ? 'Connecting…' : 'Pick a channel'}</h1>
            {snap.status !== 'connecting' && <p>Join a channel from the list, or browse the public ones.</p>}
          </div>
        )}
      </main>
      {ch && me && <MembersPanel channel={ch} onMore={() => void store.loadMoreMembers(ch.name)} />}
    </div>
  );
}
