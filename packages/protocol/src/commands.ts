/**
 * The slash commands a person can type, as one list: the gateway's `/help` answer is built from
 * it and the web client's autocomplete reads it, so the two can never drift apart. Parsing and
 * execution stay in the gateway (apps/gateway/src/core/commands.ts, moderation.ts).
 */
export interface CommandSpec {
  name: string;
  /** As typed, with <required> and [optional] arguments. */
  usage: string;
  /** One line; empty when the usage says it all. */
  description: string;
  /** Who may run it, for the autocomplete's hint. */
  who: 'anyone' | 'moderator' | 'owner';
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'kick', usage: '/kick <user> [reason]', description: 'remove a user from the channel', who: 'moderator' },
  {
    name: 'mute',
    usage: '/mute <user> [duration] [reason]',
    description: 'stop a user sending (duration like 30s, 10m, 2h, 7d; none = until /unmute)',
    who: 'moderator',
  },
  { name: 'unmute', usage: '/unmute <user>', description: '', who: 'moderator' },
  { name: 'ban', usage: '/ban <user> [duration] [reason]', description: 'remove and keep out of the channel', who: 'moderator' },
  { name: 'unban', usage: '/unban <user>', description: '', who: 'moderator' },
  { name: 'mod', usage: '/mod <user>', description: 'owner only: make a member a moderator', who: 'owner' },
  { name: 'unmod', usage: '/unmod <user>', description: 'owner only: remove a moderator', who: 'owner' },
  {
    name: 'transfer',
    usage: '/transfer <user>',
    description: 'owner only: make a member the owner (you stay a moderator)',
    who: 'owner',
  },
  { name: 'help', usage: '/help', description: '', who: 'anyone' },
];

/** `/help`'s text: one line per command. */
export const HELP_TEXT = COMMANDS.map((c) => (c.description ? `${c.usage} — ${c.description}` : c.usage)).join('\n');
