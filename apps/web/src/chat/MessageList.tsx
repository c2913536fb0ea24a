import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { MessageRow } from './MessageRow.tsx';
import type { ChannelState, ChatStore } from './store.ts';
import { buildRows, type Row } from './timeline.ts';
import { newSince } from './unread.ts';
import { count } from './words.ts';

/** Row heights before measuring, close to the real ones so that measuring moves little. */
const ESTIMATE = { day: 29.4, system: 36, msg: 55.5, grouped: 23.75 } as const;
const estimate = (r: Row | undefined): number =>
  !r ? ESTIMATE.msg : r.kind === 'msg' || r.kind === 'pending' ? (r.grouped ? ESTIMATE.grouped : ESTIMATE.msg) : ESTIMATE[r.kind];
/** Within this many px of the bottom counts as "reading the latest". */
const BOTTOM_SLACK = 48;
const EDGE_PX = 44;
/** Older history is fetched when the reader is this close to the top. */
const TOP_PREFETCH = 600;

/**
 * The channel's messages, virtualised (only the rows near the viewport are in the DOM, whatever
 * the channel's length). Sticks to the bottom while the reader is there; otherwise keeps their
 * place, counts what arrived below and offers to jump to it. Scrolling up loads older pages by
 * cursor and keeps the rows on screen where they were.
 */
export function MessageList({ channel, me, store }: { channel: ChannelState; me: string; store: ChatStore }) {
  const rows = useMemo(
    () => buildRows(channel.messages, channel.system, channel.pending),
    [channel.messages, channel.system, channel.pending],
  );
  const scrollRef = useRef<HTMLDivElement>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [seenSeq, setSeenSeq] = useState(0);
  const name = channel.name;

  const v = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: (i) => estimate(rows[i]),
    getItemKey: (i) => rows[i]?.key ?? i,
    overscan: 6,
    // The history edge ("Loading…", "the beginning") sits above the rows at a fixed height, so
    // its changes never move them.
    scrollMargin: EDGE_PX,
    // Chat semantics from the virtualiser itself: rows inserted above (older history) keep the
    // row at the top of the view where it was; rows appended while the reader is at the end are
    // followed. Both in one pass, without a forced layout per update.
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: BOTTOM_SLACK,
  });

  useEffect(() => store.setFollowing(name, atBottom), [store, name, atBottom]);
  // Opening a channel whose messages are already here: start at the latest one.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on mount
  useLayoutEffect(() => {
    if (rows.length > 0) v.scrollToIndex(rows.length - 1, { align: 'end' });
  }, []);
  // The store trims a followed channel from the top (see LIVE_MAX): the virtualiser reads that
  // as "rows removed above" and holds the view; the reader was following, so go on following.
  const firstSeq = channel.messages[0]?.seq ?? 0;
  const prevFirst = useRef(firstSeq);
  useLayoutEffect(() => {
    const trimmed = firstSeq > prevFirst.current && prevFirst.current > 0;
    prevFirst.current = firstSeq;
    if (trimmed && atBottom && rows.length > 0) v.scrollToIndex(rows.length - 1, { align: 'end' });
  }, [firstSeq, atBottom, rows.length, v]);

  const lastSeq = channel.messages[channel.messages.length - 1]?.seq ?? 0;
  useEffect(() => {
    if (atBottom && document.visibilityState === 'visible') {
      setSeenSeq(lastSeq);
      store.markRead(name);
    }
  }, [atBottom, lastSeq, name, store]);

  // Keep fetching older pages while the top is near (or the content does not fill the view).
  const maybeLoadOlder = useCallback(() => {
    const el = scrollRef.current;
    if (el && el.scrollTop < TOP_PREFETCH && channel.history === 'more') void store.loadOlder(name);
  }, [channel.history, name, store]);
  useEffect(maybeLoadOlder, [maybeLoadOlder]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
    if (bottom !== atBottom) setAtBottom(bottom);
    maybeLoadOlder();
  };

  const seqs = useMemo(() => channel.messages.map((m) => m.seq), [channel.messages]);
  const fresh = atBottom ? 0 : newSince(seqs, seenSeq);
  const jump = () => {
    setAtBottom(true);
    v.scrollToIndex(rows.length - 1, { align: 'end' });
  };

  return (
    <div className="list-wrap">
      <div ref={scrollRef} className="scroller" onScroll={onScroll} tabIndex={-1}>
        <div className="edge-slot" style={{ height: EDGE_PX }}>
          <HistoryEdge state={channel.history} />
        </div>
        <div role="log" aria-label={`Messages in #${name}`} aria-live="polite" className="rows" style={{ height: v.getTotalSize() }}>
          {v.getVirtualItems().map((vi) => {
            const row = rows[vi.index];
            if (!row) return null;
            return (
              <div
                key={vi.key}
                data-index={vi.index}
                ref={v.measureElement}
                className="vrow"
                style={{ transform: `translateY(${vi.start - EDGE_PX}px)` }}
              >
                <MessageRow row={row} me={me} channel={name} store={store} />
              </div>
            );
          })}
        </div>
      </div>
      {!atBottom && (
        <div className="jump">
          {fresh > 0 && (
            <span className="new-marker" role="status">
              {count(fresh, 'new message')}
            </span>
          )}
          <button type="button" onClick={jump}>
            Jump to latest
          </button>
        </div>
      )}
    </div>
  );
}

function HistoryEdge({ state }: { state: ChannelState['history'] }) {
  if (state === 'start') return <p className="edge">This is the beginning of the channel.</p>;
  if (state === 'loading' || state === 'unloaded') return <p className="edge">Loading older messages…</p>;
  return null;
}
