import { describe, expect, it } from 'vitest';
import { parseCommand } from './commands.js';

describe('parseCommand: durations', () => {
  it('takes valid durations, and a reason after them', () => {
    expect(parseCommand('/mute bob 10m spam')).toEqual({
      ok: true,
      command: { name: 'mute', target: 'bob', durationMs: 600_000, reason: 'spam' },
    });
    expect(parseCommand('/ban bob 90')).toMatchObject({ ok: true, command: { durationMs: 90_000, reason: null } });
    expect(parseCommand('/mute bob spamming links')).toMatchObject({ ok: true, command: { durationMs: null, reason: 'spamming links' } });
  });

  // Each of these once made the sanction permanent, the duration read as the reason's first word.
  it.each([
    '-1',
    '-5m',
    '+3',
    '\u22121h',
    'Infinity',
    'inf',
    '-Infinity',
    '\u0663m',
    '\u0967\u0966',
    '.5h',
    '0',
    '0s',
    '1e309',
    '366d',
    '99999999999d',
  ])('refuses "%s" as a bad duration', (d) => {
    for (const name of ['mute', 'ban']) {
      const r = parseCommand(`/${name} bob ${d} spam`);
      expect(r.ok, `${name} ${d}`).toBe(false);
      if (!r.ok) expect(r.error).toContain('bad duration');
    }
  });

  it('a reason may still start with a word like "info" or a dash on its own', () => {
    expect(parseCommand('/mute bob information spam')).toMatchObject({
      ok: true,
      command: { durationMs: null, reason: 'information spam' },
    });
    expect(parseCommand('/mute bob - flooding')).toMatchObject({ ok: true, command: { durationMs: null, reason: '- flooding' } });
  });
});
