/**
 * Slash commands as a person types them. Parsing is pure; execution lives in moderation.ts.
 *
 *   /kick <user> [reason]
 *   /mute <user> [duration] [reason]     duration: 90, 90s, 10m, 2h, 7d (bare number = seconds)
 *   /unmute <user>
 *   /ban <user> [duration] [reason]
 *   /unban <user>
 *   /mod <user> | /unmod <user>           owner names / removes moderators
 *   /transfer <user>                      owner hands the channel to a member (and stays a moderator)
 *   /help
 */
export type Command =
  | { name: 'kick'; target: string; reason: string | null }
  | { name: 'mute' | 'ban'; target: string; durationMs: number | null; reason: string | null }
  | { name: 'unmute' | 'unban' | 'mod' | 'unmod' | 'transfer'; target: string }
  | { name: 'help' };

// The list of commands lives in @parley/protocol (COMMANDS) so clients' autocomplete matches /help.
export { HELP_TEXT } from '@parley/protocol';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_DURATION_MS = 365 * 86_400_000;

export function parseDuration(token: string): number | null {
  const m = /^(\d{1,9})([smhd]?)$/.exec(token);
  if (!m) return null;
  const ms = Number(m[1]) * (UNITS[m[2] || 's'] ?? 1000);
  return ms > 0 && ms <= MAX_DURATION_MS ? ms : null;
}

/**
 * A second word meant as a duration that is not a valid one: refused rather than read as the start
 * of the reason, which would make the sanction permanent — the opposite of what was typed
 * ("/mute bob -1", "/mute bob Infinity", digits of another script: "٣m").
 */
const LOOKS_LIKE_DURATION = /^(?:[-+\u2212]?[\p{Nd}.]|[-+\u2212]?inf(?:inity)?$)/iu;

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

export function parseCommand(input: string): ParseResult {
  const text = input.trim();
  if (!text.startsWith('/')) return { ok: false, error: 'commands start with /; try /help' };
  const [head = '', ...rest] = text.slice(1).split(/\s+/);
  const name = head.toLowerCase();
  const target = rest[0];
  const needTarget = (): ParseResult => ({ ok: false, error: `usage: /${name} <user>; try /help` });
  switch (name) {
    case 'help':
      return { ok: true, command: { name: 'help' } };
    case 'kick':
      if (!target) return needTarget();
      return { ok: true, command: { name, target, reason: rest.slice(1).join(' ') || null } };
    case 'mute':
    case 'ban': {
      if (!target) return needTarget();
      const maybe = rest[1];
      const durationMs = maybe !== undefined ? parseDuration(maybe) : null;
      if (maybe !== undefined && durationMs === null && LOOKS_LIKE_DURATION.test(maybe)) {
        return { ok: false, error: `bad duration "${maybe}": use e.g. 30s, 10m, 2h, 7d (max 365d)` };
      }
      const reason = rest.slice(durationMs !== null ? 2 : 1).join(' ') || null;
      return { ok: true, command: { name, target, durationMs, reason } };
    }
    case 'unmute':
    case 'unban':
    case 'mod':
    case 'unmod':
    case 'transfer':
      if (!target) return needTarget();
      return { ok: true, command: { name, target } };
    default:
      return { ok: false, error: `unknown command /${name}; try /help` };
  }
}
