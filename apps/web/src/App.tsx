import { lazy, Suspense, useState } from 'react';
import { Route, Switch, useLocation } from 'wouter';
import { LoginPage } from './auth/LoginPage.tsx';
import { clearSession, loadSession, type Session, saveSession } from './auth/session.ts';
import { ChatPage } from './chat/ChatPage.tsx';

// The dashboard is its own chunk: chat users never download it.
const AdminPage = lazy(() => import('./admin/AdminPage.tsx'));

export function App() {
  return (
    <Switch>
      <Route path="/admin">
        <Suspense fallback={<p className="loading">Loading the dashboard…</p>}>
          <AdminPage />
        </Suspense>
      </Route>
      <Route>
        <ChatApp />
      </Route>
    </Switch>
  );
}

function ChatApp() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [message, setMessage] = useState<string | null>(null);
  const [location] = useLocation();
  const wanted = /^\/c\/([^/]+)$/.exec(location)?.[1];
  if (!session) {
    return (
      <LoginPage
        message={message}
        onSession={(s) => {
          saveSession(s);
          setMessage(null);
          setSession(s);
        }}
      />
    );
  }
  return (
    <ChatPage
      key={session.kind === 'user' ? session.token : `guest:${session.name}`}
      session={session}
      wanted={wanted ? decodeURIComponent(wanted) : null}
      onGuestName={(name) => {
        const s: Session = { kind: 'guest', name };
        saveSession(s);
      }}
      onEnded={(why) => {
        clearSession();
        setMessage(why);
        setSession(null);
      }}
    />
  );
}
