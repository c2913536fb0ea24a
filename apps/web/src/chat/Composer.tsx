import { Limits } from '@parley/client';
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { completeCommand, suggestCommands, suggestUsers } from './autocomplete.ts';
import { lengthProblem } from './pending.ts';
import type { ChannelState, ChatStore } from './store.ts';
import { duration } from './words.ts';

/**
 * Enter sends, Shift+Enter is a new line. `/` opens the command list (usage + one line each,
 * from the protocol's shared list); after a command, member names are offered.
 */
export function Composer({ channel, store }: { channel: ChannelState; store: ChatStore }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState(0);
  const [closed, setClosed] = useState(false);
  const [now, setNow] = useState(Date.now());
  const ref = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const hintId = useId();

  const muted = channel.mutedUntil !== null && channel.mutedUntil > now;
  useEffect(() => {
    if (channel.mutedUntil === null) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [channel.mutedUntil]);
  // A new channel starts with an empty composer and focus in it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset on channel change only
  useEffect(() => {
    setText('');
    setError(null);
    ref.current?.focus();
  }, [channel.name]);

  const commands = closed ? [] : suggestCommands(text);
  const users = closed ? [] : suggestUsers(text, [...new Set([...channel.members.map((m) => m.user), ...channel.online])]);
  const options = commands.length
    ? commands.map((c) => ({ key: c.name, label: c.usage, detail: c.description, value: completeCommand(c) }))
    : users.map((u) => ({ key: u, label: u, detail: '', value: `${text.replace(/\S*$/, '')}${u} ` }));
  const open = options.length > 0;
  const active = Math.min(pick, options.length - 1);

  const choose = (value: string) => {
    setText(value);
    setPick(0);
    ref.current?.focus();
  };
  const submit = () => {
    const body = text.trim();
    if (!body) return;
    const refused = store.submit(body);
    if (refused) setError(refused);
    else {
      setText('');
      setError(null);
    }
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setPick((active + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && options[active] && options[active].value.trim() !== text.trim())) {
        e.preventDefault();
        choose(options[active]?.value ?? text);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setClosed(true);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };

  const over = lengthProblem(text);
  const placeholder = muted
    ? `You are muted${channel.mutedUntil === Number.POSITIVE_INFINITY ? ' until a moderator unmutes you' : ` — ${duration((channel.mutedUntil ?? 0) - now)} left`}`
    : `Message #${channel.name}`;
  return (
    <form
      className="composer"
      aria-label="Send a message"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      {open && (
        <div className="suggestions" id={listId} role="listbox" aria-label={commands.length ? 'Commands' : 'Members'}>
          {options.map((o, i) => (
            <div
              key={o.key}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : ''}
              tabIndex={-1}
              onMouseDown={(e) => {
                e.preventDefault();
                choose(o.value);
              }}
            >
              <code>{o.label}</code>
              {o.detail && <span className="detail">{o.detail}</span>}
            </div>
          ))}
        </div>
      )}
      {muted && (
        <p className="muted-banner" role="status">
          {placeholder}
        </p>
      )}
      <div className="composer-row">
        <textarea
          ref={ref}
          rows={1}
          value={text}
          disabled={muted}
          aria-label={`Message #${channel.name}`}
          placeholder={placeholder}
          role="combobox"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-autocomplete="list"
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          aria-describedby={hintId}
          aria-invalid={over ? true : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setClosed(false);
            setPick(0);
            if (error) setError(null);
            if (e.target.value && !e.target.value.startsWith('/')) store.typing();
          }}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="primary" disabled={muted || !text.trim()}>
          Send
        </button>
      </div>
      <p id={hintId} className={`composer-hint ${over || error ? 'alert' : ''}`} role={over || error ? 'alert' : undefined}>
        {error ?? over ?? (text.length > Limits.text * 0.9 ? `${Limits.text - text.length} characters left` : '')}
      </p>
    </form>
  );
}
