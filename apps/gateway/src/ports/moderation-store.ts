import type { Role } from '@parley/protocol';

/**
 * What the audit log records. 'transfer': the channel's ownership moved from the actor to the
 * target. 'delete': an operator deleted the channel (the audit row's target is the channel's name).
 */
export type ModKind = 'kick' | 'mute' | 'unmute' | 'ban' | 'unban' | 'mod' | 'unmod' | 'transfer' | 'delete';

/** One moderation action on one user of one channel. */
export type ModChange =
  | { kind: 'kick'; reason: string | null }
  | { kind: 'mute' | 'ban'; until: number | null; durationMs: number | null; reason: string | null }
  | { kind: 'unmute' | 'unban' }
  | { kind: 'mod' | 'unmod' }
  /** The target becomes the owner, unless they already own `maxOwned` channels (QuotaExceededError). */
  | { kind: 'transfer'; maxOwned: number };

export interface ModInput {
  cid: number;
  actorId: number;
  actor: string;
  targetId: number;
  target: string;
  change: ModChange;
}

/** What a policy decides on, read inside the action's transaction. */
export interface ModContext {
  /** Effective roles (ChannelStore's rule: the owner is Owner, member or not); null = neither owner nor member. */
  actorRole: Role | null;
  targetRole: Role | null;
  /** Whether the target has a membership row. */
  targetMember: boolean;
  /** The target's sanctions in force now. */
  targetSanctions: ('mute' | 'ban')[];
}

export interface Sanction {
  kind: 'mute' | 'ban';
  /** Epoch ms when it ends by itself; null = until lifted. */
  until: number | null;
  reason: string | null;
  actor: string;
}
/**
 * A user's standing in a channel as of one snapshot of the record. `gen`: the channel's
 * restriction generation, which every kick, mute and ban bumps (0 when there is no such channel);
 * a check made on this answer is good for sends fenced with it (MessageStore `checked`).
 */
export interface Standing {
  sanctions: Sanction[];
  gen: number;
}

export interface AuditEntry {
  id: number;
  cid: number;
  action: ModKind;
  actor: string;
  target: string;
  reason: string | null;
  durationMs: number | null;
  at: number;
}

/**
 * ModerationStore: the record of mutes and bans, channel ownership changes, and the audit log of
 * every moderation action.
 *
 * Contract:
 * - `act` runs ONE action all or nothing: in one transaction it reads the roles and sanctions
 *   (`ModContext`) with the channel's moderation serialised (no other action on that channel, no
 *   ownership change, can commit in between), calls `authorize`, applies the change and writes
 *   its audit row. If `authorize` throws, or any write fails (the audit row included, e.g. a text
 *   the database refuses), nothing changed and the error is rethrown. Nothing outside the database
 *   happens here: callers publish events only after `act` resolved (= committed).
 *   - kick: removes the membership. mute/ban: writes the sanction (replacing an earlier one of the
 *     same kind); a ban also removes the membership. Kick, mute and ban bump the channel's
 *     restriction generation. unmute/unban: ends the sanction of that kind
 *     if any (audited either way). mod/unmod: the membership's role becomes Moderator/Member.
 *     transfer: the target owns the channel; the previous owner's membership (if any) becomes
 *     Moderator.
 *   - Resolves `{ changed }`: false only for an unmute/unban that found no sanction in force.
 *   - A channel that does not exist (deleted meanwhile): UnknownChannelError, nothing written.
 * - `deleteChannel` deletes the channel with its memberships, messages, reactions and sanctions
 *   AND writes its audit row (target = the channel's name), in one transaction, under the row
 *   lock appenders take. Returns the deleted channel's name, or null when there was none.
 * - `active` returns the sanctions in force at `now` (expired ones are ignored; expiry needs no
 *   actor) with the channel's restriction generation, read in one snapshot: a kick, mute or ban
 *   commits a larger `gen` than any read before it returned. A cache in front of the record may
 *   answer from an earlier read (with that read's `gen`).
 * - `standing` is `active` read from the record itself (through no cache), in the same snapshot as
 *   whether the user has a membership row.
 */
export interface ModerationStore {
  act(input: ModInput, authorize: (ctx: ModContext) => void): Promise<{ changed: boolean }>;
  deleteChannel(cid: number, actor: string): Promise<string | null>;
  active(cid: number, userId: number, now: number): Promise<Standing>;
  /** The record's answer, never a cache's, with whether the user is a member: a send refused by the fence is checked again with it. */
  standing(cid: number, userId: number, now: number): Promise<Standing & { member: boolean }>;
  /** Newest first; `before`: only entries with a smaller id (the previous page's last id). */
  auditLog(cid: number | null, limit: number, before?: number | null): Promise<AuditEntry[]>;
}
