import type { Logger } from './logger.js';

/**
 * Warnings for protections that fire (malformed-frame and rate closes, budget refusals, slow
 * consumers, decoder bombs): each names the connection's id and address, and each kind is logged
 * at most `perKindPerS` times a second — a flood must not turn into a log flood. What was held back
 * is counted and reported with the next line of that kind.
 */
export class ProtectionLog {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly perKindPerS = 5,
    private readonly now: () => number = Date.now,
  ) {}

  warn(event: string, conn: { connId: number; user?: string }, address: string, detail?: Record<string, unknown>): void {
    const t = this.now();
    let w = this.windows.get(event);
    if (!w || t - w.start >= 1000) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: t, logged: 0, suppressed: 0 };
      this.windows.set(event, w);
      if (suppressed) detail = { ...detail, suppressedBefore: suppressed };
    }
    if (w.logged >= this.perKindPerS) {
      w.suppressed += 1;
      return;
    }
    w.logged += 1;
    this.logger.warn({ conn: conn.connId, user: conn.user || undefined, address, ...detail }, event);
  }
}
