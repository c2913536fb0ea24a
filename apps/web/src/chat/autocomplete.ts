import { COMMANDS, type CommandSpec } from '@parley/protocol';

/**
 * Slash-command suggestions for what is in the composer: only while the first word is being
 * typed (`/mu` → /mute), from the protocol's single list of commands (the same one /help prints).
 */
export function suggestCommands(input: string, commands: readonly CommandSpec[] = COMMANDS): CommandSpec[] {
  if (!input.startsWith('/') || /\s/.test(input)) return [];
  const typed = input.slice(1).toLowerCase();
  return commands.filter((c) => c.name.startsWith(typed));
}

/** What the composer holds after picking a suggestion: the command and a space for its argument. */
export const completeCommand = (c: CommandSpec): string => `/${c.name} `;

/** Members whose name starts with the partial word after a command (`/mute bo` → bob). */
export function suggestUsers(input: string, users: readonly string[]): string[] {
  const m = /^\/\w+\s+(\S*)$/.exec(input);
  if (!m) return [];
  const typed = (m[1] ?? '').toLowerCase();
  return users.filter((u) => u.toLowerCase().startsWith(typed) && u.toLowerCase() !== typed).slice(0, 8);
}
