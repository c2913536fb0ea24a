import type { ModerationEvent } from '@parley/client';
import { duration } from './words.ts';

/** A moderation event as the line everyone in the channel reads. */
export function moderationLine(e: ModerationEvent, now = Date.now()): string {
  const why = e.reason ? `: ${e.reason}` : '';
  const span = e.until ? ` for ${duration(e.until - now)}` : '';
  switch (e.action) {
    case 'kick':
      return `${e.actor} removed ${e.target} from #${e.channel}${why}`;
    case 'mute':
      return `${e.actor} muted ${e.target}${span || ' until unmuted'}${why}`;
    case 'unmute':
      return `${e.actor} unmuted ${e.target}`;
    case 'ban':
      return `${e.actor} banned ${e.target}${span || ' permanently'}${why}`;
    case 'unban':
      return `${e.actor} lifted the ban on ${e.target}`;
    case 'delete':
      return `#${e.channel} was deleted by an operator`;
    case 'mod':
      return `${e.actor} made ${e.target} a moderator`;
    case 'unmod':
      return `${e.actor} removed ${e.target} as a moderator`;
    case 'transfer':
      return `${e.actor} handed #${e.channel} over to ${e.target}: ${e.target} owns it now`;
  }
}

/** What the person it happened to is told (kick, ban, delete end their membership). */
export function moderationNotice(e: ModerationEvent, now = Date.now()): string | null {
  const why = e.reason ? ` Reason: ${e.reason}` : '';
  switch (e.action) {
    case 'kick':
      return `You were removed from #${e.channel} by ${e.actor}.${why}`;
    case 'ban':
      return `You were banned from #${e.channel} by ${e.actor}${e.until ? ` for ${duration(e.until - now)}` : ''}.${why}`;
    case 'delete':
      return `#${e.channel} was deleted by an operator.`;
    default:
      return null;
  }
}
