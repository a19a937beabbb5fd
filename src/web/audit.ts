import type { Db } from '../storage/database.ts';

export type AuditAction =
  | 'setup'
  | 'login_ok'
  | 'login_failed'
  | 'lockout'
  | 'logout'
  | 'logout_everywhere'
  | 'password_changed'
  | 'totp_enabled'
  | 'totp_disabled'
  | 'recovery_code_used'
  | 'recovery_codes_replaced'
  | 'user_created'
  | 'user_deleted'
  | 'user_changed'
  | 'role_changed'
  | 'vault_unlock'
  | 'vault_unlock_failed'
  | 'vault_lock'
  | 'shutter_changed'
  | 'event_kept'
  | 'recording_exported'
  | 'label_mask_added'
  | 'label_mask_removed'
  | 'settings_changed';

export interface AuditEntry {
  id: number;
  at: number;
  action: AuditAction;
  /** Username acting, or the name tried on a failed login. */
  actor: string | null;
  ip: string | null;
  target: string | null;
  detail: Record<string, unknown> | null;
}

/** An entry as stored: detail is JSON text. */
type AuditRow = Omit<AuditEntry, 'detail'> & { detail: string | null };

/** Who did what, when, from where. Never holds a secret: callers pass names and outcomes only. */
export class AuditLog {
  constructor(private readonly db: Db) {}

  record(action: AuditAction, who: { actor?: string | null; ip?: string | null }, target?: string | null, detail?: Record<string, unknown>): void {
    this.db
      .prepare('INSERT INTO web_audit (at, action, actor, ip, target, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(Date.now(), action, who.actor ?? null, who.ip ?? null, target ?? null, detail ? JSON.stringify(detail) : null);
  }

  list(filter: { limit: number; before?: number; action?: string }): AuditEntry[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM web_audit WHERE (@before IS NULL OR id < @before) AND (@action IS NULL OR action = @action)
         ORDER BY id DESC LIMIT @limit`,
      )
      .all({ before: filter.before ?? null, action: filter.action ?? null, limit: filter.limit }) as AuditRow[];
    return rows.map((r) => ({ ...r, detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : null }));
  }
}
