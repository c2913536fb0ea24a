import { Role } from '@parley/protocol';
import { UnknownChannelError } from '../../ports/message-store.js';
import type { AuditEntry, ModContext, ModerationStore, ModInput, ModKind, Sanction, Standing } from '../../ports/moderation-store.js';
import type { SqlDb, SqlQueryable } from './db.js';
import { checkOwnedQuota, deleteChannelRows, effectiveRole } from './sql-channel-store.js';

export const AUDIT_MAX_LIMIT = 1000;

/** The actions that take someone's right to send: each bumps the channel's restriction generation. */
const RESTRICTING = new Set<ModKind>(['kick', 'mute', 'ban']);

const SANCTIONS_JSON = `COALESCE((SELECT json_agg(json_build_object('kind', s.kind, 'until', s.until, 'reason', s.reason, 'actor', s.actor) ORDER BY s.kind)
    FROM sanctions s WHERE s.cid = $1 AND s.user_id = $2 AND (s.until IS NULL OR s.until > $3)), '[]'::json)`;
/** A user's standing in one snapshot: the channel's restriction generation, the sanctions in force, the membership. */
const STANDING = `SELECT c.restrict_gen AS gen, ${SANCTIONS_JSON} AS sanctions,
    EXISTS (SELECT 1 FROM memberships m WHERE m.cid = $1 AND m.user_id = $2) AS member
  FROM channels c WHERE c.id = $1`;

const AUDIT_COLUMNS = `id, cid, action, actor, target, reason, duration_ms AS "durationMs", at`;

/**
 * ModerationStore on SQL. Each action is one transaction that starts by locking the channel row
 * (FOR NO KEY UPDATE): moderation of one channel runs one action at a time, so the roles it read
 * hold until it commits, and two actions never deadlock over the same membership rows. Joins are
 * not held up (their foreign-key check takes KEY SHARE, which does not conflict); appends to the
 * channel wait for the few statements of an action.
 */
export class SqlModerationStore implements ModerationStore {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number = Date.now,
  ) {}

  act(input: ModInput, authorize: (ctx: ModContext) => void): Promise<{ changed: boolean }> {
    const { cid, actorId, targetId, change } = input;
    const now = this.now();
    return this.db.tx(async (q) => {
      const [ch] = await q.query<{ owner_id: number | null }>('SELECT owner_id FROM channels WHERE id = $1 FOR NO KEY UPDATE', [cid]);
      if (!ch) throw new UnknownChannelError([cid]);
      const rows = await q.query<{ user_id: number; role: Role }>(
        'SELECT user_id, role FROM memberships WHERE cid = $1 AND user_id = ANY($2::bigint[])',
        [cid, [actorId, targetId]],
      );
      const memberRole = (uid: number) => rows.find((r) => r.user_id === uid)?.role ?? null;
      const sanctions = await q.query<{ kind: 'mute' | 'ban' }>(
        'SELECT kind FROM sanctions WHERE cid = $1 AND user_id = $2 AND (until IS NULL OR until > $3) ORDER BY kind',
        [cid, targetId, now],
      );
      authorize({
        actorRole: effectiveRole(ch.owner_id, actorId, memberRole(actorId)),
        targetRole: effectiveRole(ch.owner_id, targetId, memberRole(targetId)),
        targetMember: memberRole(targetId) !== null,
        targetSanctions: sanctions.map((s) => s.kind),
      });

      let changed = true;
      let reason: string | null = null;
      let durationMs: number | null = null;
      switch (change.kind) {
        case 'kick':
          reason = change.reason;
          await leave(q, cid, targetId);
          break;
        case 'mute':
        case 'ban':
          ({ reason, durationMs } = change);
          await q.query(
            `INSERT INTO sanctions (cid, user_id, kind, until, reason, actor) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (cid, user_id, kind) DO UPDATE
               SET until = EXCLUDED.until, reason = EXCLUDED.reason, actor = EXCLUDED.actor, created_at = now()`,
            [cid, targetId, change.kind, change.until, change.reason, input.actor],
          );
          if (change.kind === 'ban') await leave(q, cid, targetId);
          break;
        case 'unmute':
        case 'unban': {
          const kind = change.kind === 'unmute' ? 'mute' : 'ban';
          const lifted = await q.query<{ until: number | null }>(
            'DELETE FROM sanctions WHERE cid = $1 AND user_id = $2 AND kind = $3 RETURNING until',
            [cid, targetId, kind],
          );
          changed = lifted.some((s) => s.until === null || s.until > now);
          break;
        }
        case 'mod':
        case 'unmod':
          await q.query('UPDATE memberships SET role = $3 WHERE cid = $1 AND user_id = $2', [
            cid,
            targetId,
            change.kind === 'mod' ? Role.Moderator : Role.Member,
          ]);
          break;
        case 'transfer':
          await checkOwnedQuota(q, targetId, change.maxOwned);
          await q.query('UPDATE channels SET owner_id = $2 WHERE id = $1', [cid, targetId]);
          // The previous owner keeps moderating (if still a member).
          if (ch.owner_id !== null) {
            await q.query('UPDATE memberships SET role = $3 WHERE cid = $1 AND user_id = $2', [cid, ch.owner_id, Role.Moderator]);
          }
          break;
      }
      // The send fence (infra/migrations/011_send_fence.sql): appends checked before this commit fail.
      if (RESTRICTING.has(change.kind)) await q.query('UPDATE channels SET restrict_gen = restrict_gen + 1 WHERE id = $1', [cid]);
      // Last, in the same transaction: a row the database refuses (a text it cannot store) undoes the change.
      await audit(q, { cid, action: change.kind, actor: input.actor, target: input.target, reason, durationMs });
      return { changed };
    });
  }

  deleteChannel(cid: number, actor: string): Promise<string | null> {
    return this.db.tx(async (q) => {
      const name = await deleteChannelRows(q, cid);
      if (name === null) return null;
      await audit(q, { cid, action: 'delete', actor, target: name, reason: null, durationMs: null });
      return name;
    });
  }

  /**
   * Expired rows are simply ignored here; nothing needs to delete them for expiry to work. One
   * statement, so the generation and the sanctions come from one snapshot.
   */
  async active(cid: number, userId: number, now: number): Promise<Standing> {
    const { gen, sanctions } = await this.standing(cid, userId, now);
    return { gen, sanctions };
  }

  async standing(cid: number, userId: number, now: number): Promise<Standing & { member: boolean }> {
    const [row] = await this.db.query<{ gen: number; sanctions: Sanction[]; member: boolean }>(STANDING, [cid, userId, now]);
    return { gen: row?.gen ?? 0, sanctions: row?.sanctions ?? [], member: row?.member ?? false };
  }

  /** Newest first; `cid` null = every channel. */
  auditLog(cid: number | null, limit: number, before: number | null = null): Promise<AuditEntry[]> {
    const n = Math.max(1, Math.min(AUDIT_MAX_LIMIT, Math.floor(limit) || 1));
    const below = before ?? Number.MAX_SAFE_INTEGER;
    // Two texts rather than `$1 IS NULL OR cid = $1`, which a generic prepared plan cannot index.
    return cid === null
      ? this.db.query<AuditEntry>(`SELECT ${AUDIT_COLUMNS} FROM moderation_audit WHERE id < $1 ORDER BY id DESC LIMIT $2`, [below, n])
      : this.db.query<AuditEntry>(`SELECT ${AUDIT_COLUMNS} FROM moderation_audit WHERE cid = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [
          cid,
          below,
          n,
        ]);
  }
}

async function leave(q: SqlQueryable, cid: number, userId: number): Promise<void> {
  await q.query('DELETE FROM memberships WHERE cid = $1 AND user_id = $2', [cid, userId]);
}

interface AuditRow {
  cid: number;
  action: ModKind;
  actor: string;
  target: string;
  reason: string | null;
  durationMs: number | null;
}

async function audit(q: SqlQueryable, e: AuditRow): Promise<void> {
  await q.query('INSERT INTO moderation_audit (cid, action, actor, target, reason, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)', [
    e.cid,
    e.action,
    e.actor,
    e.target,
    e.reason,
    e.durationMs,
  ]);
}
