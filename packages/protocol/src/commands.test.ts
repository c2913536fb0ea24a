import { describe, expect, it } from 'vitest';
import { COMMANDS, HELP_TEXT } from './commands.js';

describe('COMMANDS, the one list of slash commands', () => {
  it('/help mentions every command, one line each, usage first', () => {
    for (const c of COMMANDS) expect(HELP_TEXT).toContain(`/${c.name}`);
    expect(HELP_TEXT.split('\n')[0]).toBe('/kick <user> [reason] — remove a user from the channel');
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
    for (const c of COMMANDS) expect(c.usage.startsWith(`/${c.name}`)).toBe(true);
  });
});
