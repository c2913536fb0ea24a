import type { AuditEntry, ModerationStore, ModKind, Sanction } from '../../ports/moderation-store.js';
import type { SqlDb } from './db.js';

export const AUDIT_MAX_LIMIT = 1000;

const AUDIT_COLUMNS = `id, cid, action, actor, target, reason, duration_ms AS "durationMs", at`;

/**
 * ModerationStore on SQL. `apply` and `lift` are each ONE statement (data-modifying CTEs), which
 * makes the sanction change and its audit row atomic without an explicit transaction.
 */
export class SqlModerationStore implements ModerationStore {
  constructor(
    private readonly db: SqlDb,
    private readonly now: () => number = Date.now,
  ) {}

  async apply(input: {
    cid: number;
    targetId: number;
    target: string;
    kind: 'mute' | 'ban';
    until: number | null;
    durationMs: number | null;
    reason: string | null;
    actor: string;
  }): Promise<void> {
    await this.db.query(
      `WITH s AS (
         INSERT INTO sanctions (cid, user_id, kind, until, reason, actor) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (cid, user_id, kind) DO UPDATE
           SET until = EXCLUDED.until, reason = EXCLUDED.reason, actor = EXCLUDED.actor, created_at = now()
       )
       INSERT INTO moderation_audit (cid, action, actor, target, reason, duration_ms)
       VALUES ($1, $3, $6, $7, $5, $8)`,
      [input.cid, input.targetId, input.kind, input.until, input.reason, input.actor, input.target, input.durationMs],
    );
  }

  /** True when a sanction of that kind was in force; the audit row is written either way. */
  async lift(input: { cid: number; targetId: number; target: string; kind: 'mute' | 'ban'; actor: string }): Promise<boolean> {
    const action: ModKind = input.kind === 'mute' ? 'unmute' : 'unban';
    const rows = await this.db.query<{ n: number }>(
      `WITH d AS (
         DELETE FROM sanctions WHERE cid = $1 AND user_id = $2 AND kind = $3 RETURNING until
       ), a AS (
         INSERT INTO moderation_audit (cid, action, actor, target) VALUES ($1, $4, $5, $6)
       )
       SELECT count(*) AS n FROM d WHERE until IS NULL OR until > $7`,
      [input.cid, input.targetId, input.kind, action, input.actor, input.target, this.now()],
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  async audit(input: { cid: number; action: ModKind; actor: string; target: string; reason: string | null }): Promise<void> {
    await this.db.query('INSERT INTO moderation_audit (cid, action, actor, target, reason) VALUES ($1, $2, $3, $4, $5)', [
      input.cid,
      input.action,
      input.actor,
      input.target,
      input.reason,
    ]);
  }

  /** Expired rows are simply ignored here; nothing needs to delete them for expiry to work. */
  active(cid: number, userId: number, now: number): Promise<Sanction[]> {
    return this.db.query<Sanction>(
      `SELECT kind, until, reason, actor FROM sanctions
       WHERE cid = $1 AND user_id = $2 AND (until IS NULL OR until > $3) ORDER BY kind`,
      [cid, userId, now],
    );
  }

  /** Newest first; `cid` null = every channel. */
  auditLog(cid: number | null, limit: number): Promise<AuditEntry[]> {
    const n = Math.max(1, Math.min(AUDIT_MAX_LIMIT, Math.floor(limit) || 1));
    // Two texts rather than `$1 IS NULL OR cid = $1`, which a generic prepared plan cannot index.
    return cid === null
      ? this.db.query<AuditEntry>(`SELECT ${AUDIT_COLUMNS} FROM moderation_audit ORDER BY id DESC LIMIT $1`, [n])
      : this.db.query<AuditEntry>(`SELECT ${AUDIT_COLUMNS} FROM moderation_audit WHERE cid = $1 ORDER BY id DESC LIMIT $2`, [cid, n]);
  }
}
