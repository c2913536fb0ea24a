import { memo, useState } from 'react';
import { EmojiPicker } from './EmojiPicker.tsx';
import { linkify } from './links.ts';
import type { ChatStore } from './store.ts';
import { type Reaction, type Row, reactionCount } from './timeline.ts';
import { fullTime, timeOf } from './words.ts';

interface Props {
  row: Row;
  me: string;
  channel: string;
  store: ChatStore;
}

/** One row of the log. Every text is rendered as text; links are http(s) only. */
export const MessageRow = memo(
  function MessageRow({ row, me, channel, store }: Props) {
    if (row.kind === 'day') {
      return (
        <div className="day">
          <span>{row.label}</span>
        </div>
      );
    }
    if (row.kind === 'system') {
      return (
        <div className={`system tone-${row.item.tone}`} data-system="">
          <span className="sys-text">{row.item.text}</span>{' '}
          <time dateTime={new Date(row.item.ts).toISOString()}>{timeOf(row.item.ts)}</time>
        </div>
      );
    }
    if (row.kind === 'pending') {
      const p = row.item;
      return (
        <div className={`msg pending ${p.state} ${row.grouped ? 'grouped' : ''}`} data-pending={p.state}>
          {!row.grouped && <Header user={p.user} ts={p.ts} />}
          <p className="text">
            <Text text={p.text} />
          </p>
          {p.state === 'sending' ? (
            <span className="state">Sending…</span>
          ) : (
            <span className="state failed" role="alert">
              {p.error}{' '}
              <button type="button" onClick={() => store.retry(channel, p.cmid)}>
                Retry
              </button>{' '}
              <button type="button" onClick={() => store.discard(channel, p.cmid)}>
                Discard
              </button>
            </span>
          )}
        </div>
      );
    }
    const m = row.item;
    return (
      // Focusable by a tap (not by Tab): on touch screens a tapped message shows its add-reaction button.
      <div className={`msg ${row.grouped ? 'grouped' : ''}`} data-seq={m.seq} tabIndex={-1}>
        {!row.grouped && <Header user={m.user} ts={m.ts} />}
        <p className="text">
          <Text text={m.text} />
        </p>
        <Reactions reactions={m.reactions} me={me} onToggle={(emoji) => void store.toggleReaction(channel, m.seq, emoji)} author={m.user} />
      </div>
    );
  },
  // Rows are rebuilt on every change; a row whose content did not change is not re-rendered.
  (a, b) =>
    a.row.key === b.row.key &&
    ('item' in a.row ? a.row.item : a.row.label) === ('item' in b.row ? b.row.item : b.row.label) &&
    ('grouped' in a.row ? a.row.grouped : null) === ('grouped' in b.row ? b.row.grouped : null) &&
    a.me === b.me &&
    a.channel === b.channel &&
    a.store === b.store,
);

function Header({ user, ts }: { user: string; ts: number }) {
  return (
    <div className="head">
      <span className="author">{user}</span>
      <time dateTime={new Date(ts).toISOString()} title={fullTime(ts)}>
        {timeOf(ts)}
      </time>
    </div>
  );
}

function Text({ text }: { text: string }) {
  return (
    <>
      {linkify(text).map((p, i) =>
        p.kind === 'link' ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable text
          <a key={i} href={p.href} target="_blank" rel="noopener noreferrer nofollow">
            {p.text}
          </a>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one immutable text
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

function Reactions({
  reactions,
  me,
  author,
  onToggle,
}: {
  reactions: Reaction[];
  me: string;
  author: string;
  onToggle(emoji: string): void;
}) {
  const [picking, setPicking] = useState(false);
  return (
    <div className={`reactions ${reactions.length ? '' : 'none'}`}>
      {reactions.map((r) => {
        const mine = r.users.includes(me);
        const n = reactionCount(r);
        const who = n > r.users.length ? `${r.users.join(', ')} and ${n - r.users.length} more` : r.users.join(', ');
        return (
          <button
            key={r.emoji}
            type="button"
            className={`reaction ${mine ? 'mine' : ''}`}
            aria-pressed={mine}
            aria-label={`${r.emoji} ${n}, reacted by ${who}`}
            title={who}
            data-who={who}
            onClick={() => onToggle(r.emoji)}
          >
            <span aria-hidden="true">{r.emoji}</span> <span aria-hidden="true">{n}</span>
          </button>
        );
      })}
      <span className="picker-anchor">
        <button
          type="button"
          className="add-reaction"
          aria-label={`Add a reaction to ${author}'s message`}
          aria-expanded={picking}
          onClick={() => setPicking(!picking)}
        >
          ☺+
        </button>
        {picking && (
          <EmojiPicker
            onPick={(e) => {
              setPicking(false);
              onToggle(e);
            }}
            onClose={() => setPicking(false)}
          />
        )}
      </span>
    </div>
  );
}
