import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../storage/database.ts';

/** What a grant on a camera may allow: each checked separately by the routes. */
export const RIGHTS = ['live', 'recordings', 'export', 'shutter'] as const;
export type Right = (typeof RIGHTS)[number];

/** The roles of earlier versions, kept as named sets of rights (the API accepts their names). */
export const PRESETS = { viewer: ['live', 'recordings', 'export', 'shutter'], live: ['live'] } as const satisfies Record<string, readonly Right[]>;
export type Preset = keyof typeof PRESETS;

/**
 * Camera name, or '*' for every camera without an entry of its own, to the rights on it: a camera's
 * own entry replaces the '*' one (an empty list shuts one camera out). Admins implicitly have everything.
 */
export type Grants = Record<string, Right[]>;

type Grantee = Pick<User, 'admin' | 'grants'>;

export interface User {
  id: number;
  username: string;
  admin: boolean;
  grants: Grants;
  totpEnabled: boolean;
  createdAt: number;
}

interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  admin: number;
  grants: string;
  totp_secret: string | null;
  totp_pending: string | null;
  totp_last_step: number;
  created_at: number;
}

const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  admin: row.admin === 1,
  grants: JSON.parse(row.grants) as Grants,
  totpEnabled: row.totp_secret !== null,
  createdAt: row.created_at,
});

/** The rights a user has on a camera, in RIGHTS order (all of them for an admin). */
export function rightsOn(user: Grantee, camera: string): Right[] {
  if (user.admin) return [...RIGHTS];
  const granted = user.grants[camera] ?? user.grants['*'] ?? [];
  return RIGHTS.filter((r) => granted.includes(r));
}

export function hasRight(user: Grantee, camera: string, right: Right): boolean {
  return user.admin || (user.grants[camera] ?? user.grants['*'] ?? []).includes(right);
}

/** True when the user has `right` on at least one camera (admins always). */
export function hasRightAnywhere(user: Grantee, right: Right): boolean {
  return user.admin || Object.values(user.grants).some((rights) => rights.includes(right));
}

const RECOVERY_CODES = 10;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** 16 characters from a 31-letter alphabet (~79 bits), shown as xxxx-xxxx-xxxx-xxxx. */
function newRecoveryCode(): string {
  const bytes = randomBytes(32);
  let code = '';
  for (const byte of bytes) {
    if (byte >= 248) continue; // 248 = 31 * 8: reject to stay uniform
    code += RECOVERY_ALPHABET[byte % 31];
    if (code.length === 16) break;
  }
  if (code.length < 16) return newRecoveryCode();
  return code.match(/.{4}/g)!.join('-');
}

const normaliseRecoveryCode = (code: string) => code.toLowerCase().replace(/[^a-z0-9]/g, '');
const hashRecoveryCode = (code: string) => createHash('sha256').update(normaliseRecoveryCode(code)).digest('hex');

export class UserRepository {
  constructor(private readonly db: Db) {}

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM web_users').get() as { n: number }).n;
  }

  countAdmins(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM web_users WHERE admin = 1').get() as { n: number }).n;
  }

  list(): User[] {
    return (this.db.prepare('SELECT * FROM web_users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  byId(id: number): User | undefined {
    const row = this.db.prepare('SELECT * FROM web_users WHERE id = ?').get(id) as UserRow | undefined;
    return row && toUser(row);
  }

  byName(username: string): User | undefined {
    const row = this.db.prepare('SELECT * FROM web_users WHERE username = ?').get(username) as UserRow | undefined;
    return row && toUser(row);
  }

  passwordHash(id: number): string | undefined {
    return (this.db.prepare('SELECT password_hash FROM web_users WHERE id = ?').get(id) as { password_hash: string } | undefined)
      ?.password_hash;
  }

  /** Inserts a user; `onlyIfEmpty` makes first-run setup race-free (returns undefined when someone won). */
  create(input: { username: string; passwordHash: string; admin: boolean; grants: Grants }, onlyIfEmpty = false): User | undefined {
    const insert = this.db.transaction(() => {
      if (onlyIfEmpty && this.count() > 0) return undefined;
      const info = this.db
        .prepare('INSERT INTO web_users (username, password_hash, admin, grants, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(input.username, input.passwordHash, input.admin ? 1 : 0, JSON.stringify(input.grants), Date.now());
      return this.byId(Number(info.lastInsertRowid));
    });
    return insert.immediate();
  }

  update(id: number, change: { admin?: boolean; grants?: Grants; passwordHash?: string }): void {
    if (change.admin !== undefined) this.db.prepare('UPDATE web_users SET admin = ? WHERE id = ?').run(change.admin ? 1 : 0, id);
    if (change.grants !== undefined) this.db.prepare('UPDATE web_users SET grants = ? WHERE id = ?').run(JSON.stringify(change.grants), id);
    if (change.passwordHash !== undefined) this.db.prepare('UPDATE web_users SET password_hash = ? WHERE id = ?').run(change.passwordHash, id);
  }

  remove(id: number): void {
    this.db.prepare('DELETE FROM web_users WHERE id = ?').run(id);
  }

  // --- TOTP -------------------------------------------------------------------------------------

  totpSecret(id: number): { secret: string | null; pending: string | null; lastStep: number } {
    const row = this.db.prepare('SELECT totp_secret, totp_pending, totp_last_step FROM web_users WHERE id = ?').get(id) as
      | Pick<UserRow, 'totp_secret' | 'totp_pending' | 'totp_last_step'>
      | undefined;
    return { secret: row?.totp_secret ?? null, pending: row?.totp_pending ?? null, lastStep: row?.totp_last_step ?? 0 };
  }

  setPendingTotp(id: number, secret: string): void {
    this.db.prepare('UPDATE web_users SET totp_pending = ? WHERE id = ?').run(secret, id);
  }

  /** Enables the pending secret and returns 10 fresh recovery codes (only their hashes are stored). */
  enableTotp(id: number, secret: string, step: number): string[] {
    return this.db.transaction(() => {
      this.db.prepare('UPDATE web_users SET totp_secret = ?, totp_pending = NULL, totp_last_step = ? WHERE id = ?').run(secret, step, id);
      return this.replaceRecoveryCodes(id);
    })();
  }

  disableTotp(id: number): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE web_users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = 0 WHERE id = ?').run(id);
      this.db.prepare('DELETE FROM web_recovery_codes WHERE user_id = ?').run(id);
    })();
  }

  /** Records the last accepted time step so the same code cannot be replayed. */
  setTotpLastStep(id: number, step: number): void {
    this.db.prepare('UPDATE web_users SET totp_last_step = ? WHERE id = ?').run(step, id);
  }

  replaceRecoveryCodes(id: number): string[] {
    const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM web_recovery_codes WHERE user_id = ?').run(id);
      const insert = this.db.prepare('INSERT INTO web_recovery_codes (user_id, code_hash) VALUES (?, ?)');
      for (const code of codes) insert.run(id, hashRecoveryCode(code));
    })();
    return codes;
  }

  /** Consumes a recovery code: true once, false for an unknown or already used code. */
  useRecoveryCode(id: number, code: string): boolean {
    const info = this.db
      .prepare('UPDATE web_recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL')
      .run(Date.now(), id, hashRecoveryCode(code));
    return info.changes === 1;
  }

  recoveryCodesLeft(id: number): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM web_recovery_codes WHERE user_id = ? AND used_at IS NULL').get(id) as { n: number }
    ).n;
  }
}
