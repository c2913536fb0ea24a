import { ErrorCode, encodeControl, encodeEvent, ModAction, Op, Role } from '@parley/protocol';
import type { ChannelStore } from '../ports/channel-store.js';
import type { ModerationStore } from '../ports/moderation-store.js';
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
};

/**
 * Slash commands: role checks against the store (never a cached role), the sanction + audit
 * write, then the cluster-wide effect through control messages and a moderation event.
 */
export class Moderation {
  constructor(
    private readonly chat: Chat,
    private readonly channels: ChannelStore,
    private readonly users: UserStore,
    private readonly store: ModerationStore,
    private readonly now: () => number = Date.now,
  ) {}

  async run(actor: Conn, cid: number, text: string): Promise<string> {
    const parsed = parseCommand(text);
    if (!parsed.ok) throw new RequestError(ErrorCode.UnknownCommand, parsed.error);
    const cmd = parsed.command;
    if (cmd.name === 'help') return HELP_TEXT;
    if (actor.guest) throw new RequestError(ErrorCode.GuestNotAllowed, `guests cannot /${cmd.name}: sign up`);
    const actorRole = (await this.channels.role(cid, actor.userId)) ?? Role.Guest;
    const needed = cmd.name === 'mod' || cmd.name === 'unmod' ? Role.Owner : Role.Moderator;
    if (actorRole < needed) {
      throw new RequestError(ErrorCode.Forbidden, `/${cmd.name} needs the ${needed === Role.Owner ? 'owner' : 'moderator'} role`);
    }
    const target = await this.users.byName(cmd.target);
    if (!target) throw new RequestError(ErrorCode.NotFound, `no user "${cmd.target}"`);
    if (target.id === actor.userId) throw new RequestError(ErrorCode.Forbidden, `you cannot /${cmd.name} yourself`);
    const targetRole = (await this.channels.role(cid, target.id)) ?? Role.Member;
    if (targetRole >= actorRole) throw new RequestError(ErrorCode.Forbidden, `${target.name} has an equal or higher role`);
    return this.apply(actor, cid, cmd, target.id, target.name, target.guest);
  }

  private async apply(actor: Conn, cid: number, cmd: Command, targetId: number, target: string, targetGuest: boolean): Promise<string> {
    switch (cmd.name) {
      case 'help':
        return HELP_TEXT;
      case 'mod':
      case 'unmod': {
        if (cmd.name === 'mod' && targetGuest) throw new RequestError(ErrorCode.GuestNotAllowed, 'guests cannot be moderators');
        const role = await this.channels.role(cid, targetId);
        if (role === null) throw new RequestError(ErrorCode.NotMember, `${target} is not a member of this channel`);
        await this.channels.setRole(cid, targetId, cmd.name === 'mod' ? Role.Moderator : Role.Member);
        await this.store.audit({ cid, action: cmd.name === 'mod' ? 'mod' : 'unmod', actor: actor.user, target, reason: null });
        await this.chat.publishControl(encodeControl({ t: 'changed', cid, uid: targetId }));
        return cmd.name === 'mod' ? `${target} is now a moderator` : `${target} is no longer a moderator`;
      }
      case 'kick': {
        await this.channels.leave(cid, targetId);
        await this.store.audit({ cid, action: 'kick', actor: actor.user, target, reason: cmd.reason });
        this.event(cid, 'kick', target, actor.user, null, cmd.reason);
        this.chat.hub.flush(); // the target must see the event before it is removed
        await this.chat.kickEverywhere(cid, targetId);
        return `kicked ${target}${cmd.reason ? ` (${cmd.reason})` : ''}`;
      }
      case 'mute':
      case 'ban': {
        const until = cmd.durationMs === null ? null : this.now() + cmd.durationMs;
        await this.store.apply({
          cid,
          targetId,
          target,
          kind: cmd.name,
          until,
          durationMs: cmd.durationMs,
          reason: cmd.reason,
          actor: actor.user,
        });
        if (cmd.name === 'ban') await this.channels.leave(cid, targetId);
        this.event(cid, cmd.name, target, actor.user, until, cmd.reason);
        await this.chat.publishControl(encodeControl({ t: 'changed', cid, uid: targetId }));
        if (cmd.name === 'ban') {
          this.chat.hub.flush(); // the target must see the event before it is removed
          await this.chat.kickEverywhere(cid, targetId);
        }
        const span = cmd.durationMs === null ? 'until lifted' : `for ${fmt(cmd.durationMs)}`;
        return `${cmd.name === 'mute' ? 'muted' : 'banned'} ${target} ${span}${cmd.reason ? ` (${cmd.reason})` : ''}`;
      }
      case 'unmute':
      case 'unban': {
        const kind = cmd.name === 'unmute' ? 'mute' : 'ban';
        const lifted = await this.store.lift({ cid, targetId, target, kind, actor: actor.user });
        if (!lifted) return `${target} was not ${kind === 'mute' ? 'muted' : 'banned'}`;
        this.event(cid, cmd.name, target, actor.user, null, null);
        await this.chat.publishControl(encodeControl({ t: 'changed', cid, uid: targetId }));
        return `${cmd.name === 'unmute' ? 'unmuted' : 'unbanned'} ${target}`;
      }
    }
  }

  /**
   * An operator deletes a channel: its history and memberships go (one transaction, under the
   * channel row lock appenders take), every member on every node gets a Moderation "delete" event,
   * then every node takes its sockets out of the channel. Sends racing it fail (unknown channel),
   * joins racing it undo themselves. Returns false when there is no such channel.
   */
  async deleteChannel(cid: number, actor: string): Promise<boolean> {
    const ch = await this.channels.byId(cid);
    if (!ch) return false;
    await this.channels.delete(cid);
    await this.chat.forgetChannel(cid);
    await this.store.audit({ cid, action: 'delete', actor, target: ch.name, reason: null });
    this.event(cid, 'delete', '', actor, null, null);
    this.chat.hub.flush(); // members must see the event before they are taken out
    await this.chat.publishControl(encodeControl({ t: 'gone', cid, uid: 0 }));
    return true;
  }

  private event(cid: number, action: keyof typeof ACTION, target: string, actor: string, until: number | null, reason: string | null) {
    this.chat.hub.publishDirect(cid, encodeEvent({ op: Op.Moderation, cid, action: ACTION[action], target, actor, until, reason }));
  }
}

function fmt(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
