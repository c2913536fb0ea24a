/** 'delete': an operator deleted the channel (the audit row's target is the channel's name). */
export type ModKind = 'kick' | 'mute' | 'unmute' | 'ban' | 'unban' | 'mod' | 'unmod' | 'delete';

export interface Sanction {
  kind: 'mute' | 'ban';
  /** Epoch ms when it ends by itself; null = until lifted. */
  until: number | null;
  reason: string | null;
  actor: string;
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
 * ModerationStore: the record of mutes and bans and the audit log of every action.
 *
 * Contract:
 * - `apply` writes the sanction (replacing an earlier one of the same kind) AND its audit row in
 *   one transaction. `lift` ends the sanction of that kind (if any) and writes an audit row.
 *   `audit` records actions with no lasting state (kick).
 * - `active` returns the sanctions in force at `now` (expired ones are ignored; expiry needs no
 *   actor).
 */
export interface ModerationStore {
  apply(input: {
    cid: number;
    targetId: number;
    target: string;
    kind: 'mute' | 'ban';
    until: number | null;
    durationMs: number | null;
    reason: string | null;
    actor: string;
  }): Promise<void>;
  lift(input: { cid: number; targetId: number; target: string; kind: 'mute' | 'ban'; actor: string }): Promise<boolean>;
  audit(input: { cid: number; action: ModKind; actor: string; target: string; reason: string | null }): Promise<void>;
  active(cid: number, userId: number, now: number): Promise<Sanction[]>;
  auditLog(cid: number | null, limit: number): Promise<AuditEntry[]>;
}
