import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Db } from '../../storage/database.ts';

export interface Session {
  /** SHA-256 of the cookie value: the only form of the id that is stored. */
  idHash: string;
  userId: number;
  csrfToken: string;
  createdAt: number;
  lastSeen: number;
  ip: string;
  userAgent: string;
}

interface SessionRow {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  created_at: number;
  last_seen: number;
  ip: string;
  user_agent: string;
}

export interface SessionLimits {
  idleMs: number;
  absoluteMs: number;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');
const toSession = (r: SessionRow): Session => ({
  idHash: r.id_hash,
  userId: r.user_id,
  csrfToken: r.csrf_token,
  createdAt: r.created_at,
  lastSeen: r.last_seen,
  ip: r.ip,
  userAgent: r.user_agent,
});

/** Touching last_seen on every request would write constantly; once a minute is precise enough. */
const TOUCH_EVERY_MS = 60_000;

/** Server-side sessions in SQLite. Emits 'revoked' (idHashes) so open WebSockets can close at once. */
export class SessionRepository extends EventEmitter<{ revoked: [string[]] }> {
  constructor(
    private readonly db: Db,
    readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  /** Returns the cookie value (32 random bytes, base64url); only its hash is stored. */
  create(userId: number, ip: string, userAgent: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const row: SessionRow = {
      id_hash: hashId(id),
      user_id: userId,
      csrf_token: randomBytes(32).toString('base64url'),
      created_at: now,
      last_seen: now,
      ip,
      user_agent: userAgent.slice(0, 200),
    };
    this.db
      .prepare('INSERT INTO web_sessions VALUES (@id_hash, @user_id, @csrf_token, @created_at, @last_seen, @ip, @user_agent)')
      .run(row);
    return { id, session: toSession(row) };
  }

  /** The live session for a cookie value, refreshed; undefined when unknown or expired (then deleted). */
  resolve(id: string | undefined): Session | undefined {
    if (!id || id.length > 128) return undefined;
    const idHash = hashId(id);
    const row = this.db.prepare('SELECT * FROM web_sessions WHERE id_hash = ?').get(idHash) as SessionRow | undefined;
    if (!row) return undefined;
    const now = this.now();
    if (now - row.last_seen > this.limits.idleMs || now - row.created_at > this.limits.absoluteMs) {
      this.revoke([idHash]);
      return undefined;
    }
    if (now - row.last_seen > TOUCH_EVERY_MS) {
      this.db.prepare('UPDATE web_sessions SET last_seen = ? WHERE id_hash = ?').run(now, idHash);
      row.last_seen = now;
    }
    return toSession(row);
  }

  /** Still valid, without refreshing it (for long-lived WebSockets). */
  isAlive(idHash: string): boolean {
    const row = this.db.prepare('SELECT created_at, last_seen FROM web_sessions WHERE id_hash = ?').get(idHash) as
      | Pick<SessionRow, 'created_at' | 'last_seen'>
      | undefined;
    if (!row) return false;
    return this.now() - row.created_at <= this.limits.absoluteMs;
  }

  /** Keeps a session alive while a person is watching live video. */
  touch(idHash: string): void {
    this.db.prepare('UPDATE web_sessions SET last_seen = ? WHERE id_hash = ?').run(this.now(), idHash);
  }

  listForUser(userId: number): Session[] {
    return (this.db.prepare('SELECT * FROM web_sessions WHERE user_id = ? ORDER BY last_seen DESC').all(userId) as SessionRow[]).map(
      toSession,
    );
  }

  revoke(idHashes: string[]): void {
    if (idHashes.length === 0) return;
    const del = this.db.prepare('DELETE FROM web_sessions WHERE id_hash = ?');
    this.db.transaction(() => idHashes.forEach((h) => del.run(h)))();
    this.emit('revoked', idHashes);
  }

  /** Every session of the user, optionally except one (e.g. the one changing its password). */
  revokeUser(userId: number, except?: string): number {
    const hashes = this.listForUser(userId)
      .map((s) => s.idHash)
      .filter((h) => h !== except);
    this.revoke(hashes);
    return hashes.length;
  }

  purgeExpired(): void {
    const now = this.now();
    const rows = this.db
      .prepare('SELECT id_hash FROM web_sessions WHERE last_seen < ? OR created_at < ?')
      .all(now - this.limits.idleMs, now - this.limits.absoluteMs) as { id_hash: string }[];
    this.revoke(rows.map((r) => r.id_hash));
  }
}
