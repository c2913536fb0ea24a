import { Decoder, Encoder } from '@msgpack/msgpack';

/**
 * Node-to-node control messages (never sent to clients), carried by the broker on the control
 * topic. Every node applies them to its own local connections, the origin included.
 */
export type Control =
  /** Remove user `uid` from channel `cid` on every node (kick, ban). */
  | { t: 'kick'; cid: number; uid: number }
  /** User `uid` left channel `cid` (membership is the user's): its other connections leave it too. */
  | { t: 'left'; cid: number; uid: number }
  /** Sanctions or role of `uid` in `cid` changed: drop caches, re-read roles. */
  | { t: 'changed'; cid: number; uid: number }
  /** An operator deleted or renamed user `uid`: close its connections on every node (cid is 0). */
  | { t: 'drop'; cid: 0; uid: number }
  /** An operator deleted channel `cid`: every node takes its sockets out of it (uid is 0). */
  | { t: 'gone'; cid: number; uid: 0 };

const enc = new Encoder();
const dec = new Decoder();
const KICK = 1;
const CHANGED = 2;
const DROP = 3;
const GONE = 4;
const LEFT = 5;
const TYPES = { kick: KICK, changed: CHANGED, drop: DROP, gone: GONE, left: LEFT } as const;

export function encodeControl(c: Control): Uint8Array {
  return enc.encode([TYPES[c.t], c.cid, c.uid]);
}

export function decodeControl(bytes: Uint8Array): Control | null {
  try {
    const v = dec.decode(bytes);
    if (!Array.isArray(v) || typeof v[1] !== 'number' || typeof v[2] !== 'number') return null;
    if (v[0] === KICK) return { t: 'kick', cid: v[1], uid: v[2] };
    if (v[0] === CHANGED) return { t: 'changed', cid: v[1], uid: v[2] };
    // Nodes of an older version return null for a type they do not know, and ignore it.
    if (v[0] === DROP) return { t: 'drop', cid: 0, uid: v[2] };
    if (v[0] === GONE) return { t: 'gone', cid: v[1], uid: 0 };
    if (v[0] === LEFT) return { t: 'left', cid: v[1], uid: v[2] };
    return null;
  } catch {
    return null;
  }
}
