import { ErrorCode, encodeControl, encodeEvent, ModAction, Op, Role } from '@parley/protocol';
import type { ChannelStore } from '../ports/channel-store.js';
import { QuotaExceededError } from '../ports/limits.js';
import { UnknownChannelError } from '../ports/message-store.js';
import type { ModChange, ModContext, ModerationStore } from '../ports/moderation-store.js';
import type { UserStore } from '../ports/user-store.js';
import type { Chat } from './chat.js';
import { type Command, HELP_TEXT, parseCommand } from './commands.js';
import type { Conn } from './conn.js';
import { RequestError } from './outbox.js';

const ACTION = {
  kick: ModAction.Kick,
  mute: ModAction.Mute,
  unmute: ModAction.Unmute,
  ban: ModAction.Ban,
  unban: ModAction.Unban,
  delete: ModAction.Delete,
  mod: ModAction.Mod,
  unmod: ModAction.Unmod,
  transfer: ModAction.Transfer,
};

type Action = Exclude<Command['name'], 'help'>;
/** Only the owner may change roles or hand the channel on. */
const OWNER_ONLY = new Set<Action>(['mod', 'unmod', 'transfer']);

export interface ModerationLimits {
  /** Most channels one user may own: a transfer to a user who owns that many is refused. */
  maxChannelsPerUser: number;
}

/**
 * Slash commands: each action is role-checked, applied and audited in ONE store transaction
 * (ModerationStore.act: the roles are read inside it, never cached), and only after it committed
 * come its live effects: the moderation event and the control messages every node applies.
 * A failure anywhere before the commit leaves nothing changed and nothing announced.
 */
export class Moderation {
  constructor(
    private readonly chat: Chat,
    private readonly channels: ChannelStore,
    private readonly users: UserStore,
    private readonly store: ModerationStore,
    private readonly limits: ModerationLimits = { maxChannelsPerUser: Number.MAX_SAFE_INTEGER },
    private readonly now: () => number = Date.now,
  ) {}

  async run(actor: Conn, cid: number, text: string): Promise<string> {
    const parsed = parseCommand(text);
    if (!parsed.ok) throw new RequestError(ErrorCode.UnknownCommand, parsed.error);
    const cmd = parsed.command;
    if (cmd.name === 'help') return HELP_TEXT;
    if (actor.guest) throw new RequestError(ErrorCode.GuestNotAllowed, `guests cannot /${cmd.name}: sign up`);
    // A quick refusal for plain members before anything else; the check that counts is in `act`.
    authorizeActor(cmd.name, (await this.channels.role(cid, actor.userId)) ?? Role.Guest);
    const target = await this.users.byName(cmd.target);
    if (!target) throw new RequestError(ErrorCode.NotFound, `no user "${cmd.target}"`);
    if (target.id === actor.userId) throw new RequestError(ErrorCode.Forbidden, `you cannot /${cmd.name} yourself`);
    if ((cmd.name === 'mod' || cmd.name === 'transfer') && target.guest) {
      throw new RequestError(ErrorCode.GuestNotAllowed, cmd.name === 'mod' ? 'guests cannot be moderators' : 'guests cannot own channels');
    }
    const until = 'durationMs' in cmd && cmd.durationMs !== null ? this.now() + cmd.durationMs : null;
    const { changed } = await this.store
      .act(
        { cid, actorId: actor.userId, actor: actor.user, targetId: target.id, target: target.name, change: this.change(cmd, until) },
        (ctx) => authorize(cmd.name, ctx, target.name),
      )
      .catch((err: unknown) => Promise.reject(storeError(err)));
    // Committed: from here on, only the live effects.
    return this.announce(actor, cid, cmd, target.id, target.name, until, changed);
  }

  private change(cmd: Exclude<Command, { name: 'help' }>, until: number | null): ModChange {
    switch (cmd.name) {
      case 'kick':
        return { kind: 'kick', reason: cmd.reason };
      case 'mute':
      case 'ban':
        return { kind: cmd.name, until, durationMs: cmd.durationMs, reason: cmd.reason };
      case 'transfer':
        return { kind: 'transfer', maxOwned: this.limits.maxChannelsPerUser };
      default:
        return { kind: cmd.name };
    }
  }

  private async announce(
    actor: Conn,
    cid: number,
    cmd: Exclude<Command, { name: 'help' }>,
    targetId: number,
    target: string,
    until: number | null,
    changed: boolean,
  ): Promise<string> {
    const changedCtl = (uid: number) => this.chat.publishControl(encodeControl({ t: 'changed', cid, uid }));
    switch (cmd.name) {
      case 'mod':
      case 'unmod':
        this.event(cid, cmd.name, target, actor.user, null, null);
        await changedCtl(targetId);
        return cmd.name === 'mod' ? `${target} is now a moderator` : `${target} is no longer a moderator`;
      case 'transfer':
        this.event(cid, 'transfer', target, actor.user, null, null);
        await Promise.all([changedCtl(targetId), changedCtl(actor.userId)]);
        return `${target} owns this channel now; you are a moderator`;
      case 'kick':
        this.event(cid, 'kick', target, actor.user, null, cmd.reason);
        this.chat.hub.flush(); // the target must see the event before it is removed
        await this.chat.kickEverywhere(cid, targetId);
        return `kicked ${target}${cmd.reason ? ` (${cmd.reason})` : ''}`;
      case 'mute':
      case 'ban': {
        this.event(cid, cmd.name, target, actor.user, until, cmd.reason);
        await changedCtl(targetId);
        if (cmd.name === 'ban') {
          this.chat.hub.flush(); // the target must see the event before it is removed
          await this.chat.kickEverywhere(cid, targetId);
        }
        const span = cmd.durationMs === null ? 'until lifted' : `for ${fmt(cmd.durationMs)}`;
        return `${cmd.name === 'mute' ? 'muted' : 'banned'} ${target} ${span}${cmd.reason ? ` (${cmd.reason})` : ''}`;
      }
      case 'unmute':
      case 'unban':
        if (!changed) return `${target} was not ${cmd.name === 'unmute' ? 'muted' : 'banned'}`;
        this.event(cid, cmd.name, target, actor.user, null, null);
        await changedCtl(targetId);
        return `${cmd.name === 'unmute' ? 'unmuted' : 'unbanned'} ${target}`;
    }
  }

  /**
   * An operator deletes a channel: its history and memberships go, with the audit row, in one
   * transaction under the channel row lock appenders take; then every member on every node gets
   * a Moderation "delete" event, then every node takes its sockets out of the channel. Sends
   * racing it fail (unknown channel), joins racing it undo themselves. Returns false when there
   * is no such channel.
   */
  async deleteChannel(cid: number, actor: string): Promise<boolean> {
    const name = await this.store.deleteChannel(cid, actor).catch((err: unknown) => Promise.reject(storeError(err)));
    if (name === null) return false;
    await this.chat.forgetChannel(cid);
    this.event(cid, 'delete', '', actor, null, null);
    this.chat.hub.flush(); // members must see the event before they are taken out
    await this.chat.publishControl(encodeControl({ t: 'gone', cid, uid: 0 }));
    return true;
  }

  private event(cid: number, action: keyof typeof ACTION, target: string, actor: string, until: number | null, reason: string | null) {
    this.chat.hub.publishDirect(cid, encodeEvent({ op: Op.Moderation, cid, action: ACTION[action], target, actor, until, reason }));
  }
}

function authorizeActor(action: Action, role: Role): void {
  const needed = OWNER_ONLY.has(action) ? Role.Owner : Role.Moderator;
  if (role < needed)
    throw new RequestError(ErrorCode.Forbidden, `/${action} needs the ${needed === Role.Owner ? 'owner' : 'moderator'} role`);
}

/** The policy, run inside the action's transaction: throwing here rolls it back. */
function authorize(action: Action, ctx: ModContext, target: string): void {
  const actorRole = ctx.actorRole ?? Role.Guest;
  authorizeActor(action, actorRole);
  // The owner outranks everyone, member or not: nobody can kick, mute or ban them.
  if ((ctx.targetRole ?? Role.Member) >= actorRole) throw new RequestError(ErrorCode.Forbidden, `${target} has an equal or higher role`);
  if (OWNER_ONLY.has(action) && !ctx.targetMember) throw new RequestError(ErrorCode.NotMember, `${target} is not a member of this channel`);
  if (action === 'transfer' && ctx.targetSanctions.length > 0) {
    const what = ctx.targetSanctions.includes('ban') ? 'banned' : 'muted';
    throw new RequestError(ErrorCode.Forbidden, `${target} is ${what} in this channel: lift that first`);
  }
}

/** Postgres SQLSTATEs for a text it cannot store (U+0000, an invalid byte sequence). */
const INVALID_TEXT = new Set(['22021', '22P05']);

/**
 * A store failure as the client should see it. A text the database refuses is the client's
 * invalid input (102), answered without a stack-trace log: normally the protocol's validation
 * refuses it before, this is the backstop (the transaction rolled back, nothing changed).
 */
function storeError(err: unknown): unknown {
  if (err instanceof RequestError) return err;
  if (err instanceof UnknownChannelError) return new RequestError(ErrorCode.NotFound, 'this channel was deleted');
  if (err instanceof QuotaExceededError) return new RequestError(ErrorCode.QuotaExceeded, err.message);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && INVALID_TEXT.has(code)) {
    return new RequestError(ErrorCode.InvalidFields, 'the command contains characters that cannot be stored (e.g. U+0000)');
  }
  return err;
}

function fmt(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
