import { randomUUID } from 'node:crypto';
import { CONTENT, type EventName, type Stamp } from './bytes-events.js';

/**
 * The seed app's (JustChat) verbose JSON for the same events. The seed README
 * (shared/seed/justchat-README.md) describes its protocol but shows no message; these are the
 * shapes docs/protocol.md §8 documents (and packages/protocol/src/size.test.ts measures): the
 * envelope {type, timestamp, id (UUID v4), payload} with snake_case payload keys and
 * `sender: {username}`. The seed had no presence diff: those rows use the same envelope with
 * `presence_diff {joins: [{username, is_guest}], leaves: [{username}]}`, one entry each.
 * Built as objects and JSON.stringify'd, as the seed sends them (no seed server runs here).
 */
export function seedMessages(stamp: Stamp): Record<EventName, string> {
  const channel_id = CONTENT.channel;
  const sender = { username: CONTENT.sender };
  const envelope = (type: string, payload: object) => JSON.stringify({ type, timestamp: stamp.ts, id: randomUUID(), payload });
  return {
    'chat message': envelope('chat_send', { channel_id, sender, content: CONTENT.text }),
    typing: envelope('typing_start', { channel_id, sender }),
    reaction: envelope('reaction_add', { channel_id, message_id: randomUUID(), emoji: CONTENT.emoji, sender }),
    'presence join': envelope('presence_diff', { channel_id, joins: [{ username: CONTENT.joiner, is_guest: true }], leaves: [] }),
    'presence leave': envelope('presence_diff', { channel_id, joins: [], leaves: [{ username: CONTENT.joiner }] }),
  };
}
