import { ErrorCode, ParleyError } from '@parley/client';
import { COMMANDS } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { completeCommand, suggestCommands, suggestUsers } from './autocomplete.ts';
import { linkify, safeHref } from './links.ts';
import { moderationLine, moderationNotice } from './moderation-text.ts';
import { countAfterDiff } from './online-count.ts';
import { lengthProblem, markFailed, markSending, removePending, sendErrorText } from './pending.ts';
import type { PendingItem } from './timeline.ts';
import { newSince, unreadCount, unreadLabel } from './unread.ts';
import { count, duration, typingLine } from './words.ts';

describe('unread counts', () => {
  it('counts what arrived after the last read seq, not your own messages', () => {
    expect(unreadCount({ lastSeq: 10, lastRead: 4, ownAfterRead: 0 })).toBe(6);
    expect(unreadCount({ lastSeq: 10, lastRead: 4, ownAfterRead: 2 })).toBe(4);
    expect(unreadCount({ lastSeq: 3, lastRead: 9, ownAfterRead: 0 })).toBe(0);
    expect(unreadLabel(150)).toBe('99+');
    expect(newSince([1, 2, 5, 9], 2)).toBe(2);
    expect(newSince([], 2)).toBe(0);
  });
});

describe('slash-command autocomplete', () => {
  it('offers the shared list, filtered by what is typed', () => {
    expect(suggestCommands('/')).toHaveLength(COMMANDS.length);
    expect(suggestCommands('/mu').map((c) => c.usage)).toEqual(['/mute <user> [duration] [reason]']);
    expect(suggestCommands('/MU').map((c) => c.name)).toEqual(['mute']);
    expect(suggestCommands('/un').map((c) => c.name)).toEqual(['unmute', 'unban', 'unmod']);
    expect(suggestCommands('/mute bob')).toEqual([]);
    expect(suggestCommands('hello /mu')).toEqual([]);
    expect(completeCommand(suggestCommands('/mu')[0] as (typeof COMMANDS)[number])).toBe('/mute ');
  });
  it('offers member names after a command', () => {
    expect(suggestUsers('/mute b', ['alice', 'bob', 'Bea'])).toEqual(['bob', 'Bea']);
    expect(suggestUsers('/mute bob', ['bob'])).toEqual([]);
    expect(suggestUsers('/mute bob 60', ['bob'])).toEqual([]);
    expect(suggestUsers('hello b', ['bob'])).toEqual([]);
  });
});

describe('pending sends', () => {
  const p: PendingItem = { cmid: 'a', user: 'me', text: 'hi', ts: 1, state: 'sending', error: null };
  it('moves between sending and failed, and goes away on ack', () => {
    const failed = markFailed([p], 'a', 'not sent: x');
    expect(failed[0]).toMatchObject({ state: 'failed', error: 'not sent: x' });
    expect(markSending(failed, 'a')[0]).toMatchObject({ state: 'sending', error: null });
    expect(removePending(failed, 'a')).toEqual([]);
  });
  it('explains refusals in words', () => {
    expect(sendErrorText(new ParleyError(ErrorCode.Muted, 'muted until 12:00')).text).toContain('you are muted');
    const rate = sendErrorText(new ParleyError(ErrorCode.RateLimited, 'slow down', 2500));
    expect(rate).toEqual({ text: 'not sent: you are sending too fast; try again in 3 s', retryable: true });
    expect(sendErrorText(new Error('boom')).retryable).toBe(true);
    expect(lengthProblem('x'.repeat(4000))).toBeNull();
    expect(lengthProblem('x'.repeat(4001))).toBe('Too long: 4,001 characters, the limit is 4,000. Shorten it by 1.');
  });
});

describe('links', () => {
  it('links http(s) only; everything else stays text', () => {
    expect(linkify('see https://example.com/a?b=1, ok')).toEqual([
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
      { kind: 'text', text: ', ok' },
    ]);
    expect(linkify('javascript:alert(1) data:text/html,x')).toEqual([{ kind: 'text', text: 'javascript:alert(1) data:text/html,x' }]);
    expect(linkify('<img src=x onerror=alert(1)>')).toEqual([{ kind: 'text', text: '<img src=x onerror=alert(1)>' }]);
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('https://x.test/"><script>')).toBe('https://x.test/%22%3E%3Cscript%3E');
  });
});

describe('words', () => {
  it('typing line names up to three people and never yourself', () => {
    expect(typingLine(['me'], 'me')).toBe('');
    expect(typingLine(['alice', 'me'], 'me')).toBe('alice is typing…');
    expect(typingLine(['alice', 'bob'], 'me')).toBe('alice and bob are typing…');
    expect(typingLine(['a', 'b', 'c', 'd'], 'me')).toBe('Several people are typing…');
    expect(count(1, 'member')).toBe('1 member');
    expect(count(0, 'member')).toBe('0 members');
    expect(count(2, 'member')).toBe('2 members');
    expect(duration(58_500)).toBe('59 s');
    expect(duration(61_000)).toBe('1 min 1 s');
  });
  it('moderation lines say who did what to whom, for how long and why', () => {
    const base = { channel: 'general', target: 'bob', actor: 'alice', reason: 'spam', until: null };
    expect(moderationLine({ ...base, action: 'mute', until: 1_060_000 }, 1_000_000)).toBe('alice muted bob for 1 min: spam');
    expect(moderationLine({ ...base, action: 'ban' })).toBe('alice banned bob permanently: spam');
    expect(moderationLine({ ...base, action: 'unmute', reason: null })).toBe('alice unmuted bob');
    expect(moderationNotice({ ...base, action: 'kick' })).toBe('You were removed from #general by alice. Reason: spam');
    expect(moderationNotice({ ...base, action: 'mute' })).toBeNull();
  });
});

describe('countAfterDiff', () => {
  it('counts joins and listed leaves; with a capped list every leave counts', () => {
    const whole = { onlineCount: 2, online: ['a', 'b'] };
    expect(countAfterDiff(whole, [{ user: 'c' }], ['a'])).toBe(2);
    expect(countAfterDiff(whole, [{ user: 'a' }], ['zed'])).toBe(2); // already listed; not listed
    const capped = { onlineCount: 1000, online: ['a', 'b'] };
    expect(countAfterDiff(capped, [{ user: 'c' }], ['zed', 'a'])).toBe(999);
    expect(countAfterDiff({ onlineCount: 0, online: [] }, [], ['x'])).toBe(0);
  });
});
