import { describe, expect, it } from 'vitest';
import { applyReaction, buildRows, GROUP_WINDOW_MS, type MsgItem, mergeMessages } from './timeline.ts';

const day = new Date(2026, 10, 30, 12, 0, 0).getTime();
const msg = (seq: number, user: string, ts: number, text = `m${seq}`): MsgItem => ({ seq, user, text, ts, reactions: [] });

describe('buildRows', () => {
  it('groups consecutive messages of one author within the window, with one day separator per day', () => {
    const rows = buildRows(
      [
        msg(1, 'alice', day),
        msg(2, 'alice', day + 60_000),
        msg(3, 'bob', day + 120_000),
        msg(4, 'bob', day + 120_000 + GROUP_WINDOW_MS + 1),
        msg(5, 'bob', day + 86_400_000),
      ],
      [],
      [],
      day + 86_400_000,
    );
    expect(rows.map((r) => (r.kind === 'msg' ? `${r.item.seq}${r.grouped ? 'g' : ''}` : r.kind === 'day' ? r.label : r.kind))).toEqual([
      'Yesterday',
      '1',
      '2g',
      '3',
      '4',
      'Today',
      '5',
    ]);
  });

  it('places system lines after the seq they followed and breaks grouping; pending sends come last', () => {
    const rows = buildRows(
      [msg(1, 'alice', day), msg(2, 'alice', day + 1000)],
      [{ id: 1, afterSeq: 1, ts: day + 500, text: 'bob muted alice', tone: 'moderation' }],
      [{ cmid: 'c1', user: 'alice', text: 'later', ts: day + 2000, state: 'sending', error: null }],
      day,
    );
    expect(rows.map((r) => `${r.kind}${'grouped' in r && r.grouped ? '+g' : ''}`)).toEqual(['day', 'msg', 'system', 'msg', 'pending+g']);
  });

  it('keys are stable per seq, system id and cmid (the virtualiser keeps measurements across updates)', () => {
    const rows = buildRows([msg(7, 'a', day)], [{ id: 3, afterSeq: 0, ts: day, text: 'x', tone: 'info' }], [], day);
    expect(rows.map((r) => r.key)).toEqual([expect.stringMatching(/^day:/), 'sys:3', 'm:7h']);
  });
});

describe('mergeMessages', () => {
  it('appends a newer message, dedups by seq, and sorts an older page in front', () => {
    const a = [msg(5, 'a', day)];
    const b = mergeMessages(a, [msg(6, 'a', day)]);
    expect(b.map((m) => m.seq)).toEqual([5, 6]);
    expect(mergeMessages(b, [msg(6, 'a', day)])).toBe(b);
    expect(mergeMessages(b, [msg(3, 'a', day), msg(4, 'a', day), msg(5, 'a', day)]).map((m) => m.seq)).toEqual([3, 4, 5, 6]);
  });
});

describe('applyReaction', () => {
  it('adds, counts, removes and drops an emoji nobody uses any more', () => {
    let r = applyReaction([], '👍', 'alice', true);
    r = applyReaction(r, '👍', 'bob', true);
    r = applyReaction(r, '👍', 'bob', true);
    expect(r).toEqual([{ emoji: '👍', users: ['alice', 'bob'] }]);
    r = applyReaction(r, '👍', 'alice', false);
    expect(r).toEqual([{ emoji: '👍', users: ['bob'] }]);
    expect(applyReaction(r, '👍', 'bob', false)).toEqual([]);
  });

  it('keeps the count of who reacted when a History page named only some of them', () => {
    const page = [{ emoji: '🔥', users: ['a', 'b'], count: 30 }];
    expect(applyReaction(page, '🔥', 'c', true)).toEqual([{ emoji: '🔥', users: ['a', 'b', 'c'], count: 31 }]);
    expect(applyReaction(page, '🔥', 'a', true)).toEqual(page); // listed already: counted
    expect(applyReaction(page, '🔥', 'a', false)).toEqual([{ emoji: '🔥', users: ['b'], count: 29 }]);
    expect(applyReaction(page, '🔥', 'zed', false)).toEqual([{ emoji: '🔥', users: ['a', 'b'], count: 29 }]); // one not listed
    // Down to the names listed: no count any more; a removal of someone unknown changes nothing.
    const few = [{ emoji: '🔥', users: ['a', 'b'], count: 3 }];
    expect(applyReaction(few, '🔥', 'zed', false)).toEqual([{ emoji: '🔥', users: ['a', 'b'] }]);
    expect(applyReaction([{ emoji: '🔥', users: ['a', 'b'] }], '🔥', 'zed', false)).toEqual([{ emoji: '🔥', users: ['a', 'b'] }]);
    expect(applyReaction([{ emoji: '🔥', users: [], count: 1 }], '🔥', 'zed', false)).toEqual([]);
  });
});
