import type { Logger } from '../log/logger.ts';
import type { Db } from './database.ts';

/**
 * One step of Volet's schema. Versions are 1, 2, 3… with no gaps; a released migration is never
 * edited, only followed by a new one. `up` runs inside a transaction that also sets user_version,
 * with foreign_keys ON (it cannot be switched off there: a table rebuild uses PRAGMA defer_foreign_keys).
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Db): void;
}

/**
 * The schema every module had before migrations existed (tables used to be created by each
 * repository's constructor). IF NOT EXISTS lets a database written by that code (user_version 0,
 * tables present) be adopted as version 1 unchanged.
 */
const initialSchema: Migration = {
  version: 1,
  name: 'initial schema',
  up(db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS files (
        name TEXT PRIMARY KEY,
        camera TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('segment', 'snapshot', 'metadata')),
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        event_id TEXT
      );
      CREATE INDEX IF NOT EXISTS files_by_time ON files (camera, start_ms);
      CREATE INDEX IF NOT EXISTS files_by_event ON files (event_id);
      CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY,
        camera TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        kept INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS events_by_time ON events (camera, start_ms);

      CREATE TABLE IF NOT EXISTS web_users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        admin INTEGER NOT NULL DEFAULT 0,
        grants TEXT NOT NULL DEFAULT '{}',
        totp_secret TEXT,
        totp_pending TEXT,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS web_recovery_codes (
        user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL,
        used_at INTEGER,
        PRIMARY KEY (user_id, code_hash)
      );
      CREATE TABLE IF NOT EXISTS web_sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        ip TEXT NOT NULL,
        user_agent TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions(user_id);
      CREATE TABLE IF NOT EXISTS web_audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        action TEXT NOT NULL,
        actor TEXT,
        ip TEXT,
        target TEXT,
        detail TEXT
      );
      CREATE INDEX IF NOT EXISTS web_audit_at ON web_audit(at);

      CREATE TABLE IF NOT EXISTS notify_vapid (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        public_key TEXT NOT NULL,
        private_key TEXT NOT NULL,
        created INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS push_subscriptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        endpoint TEXT NOT NULL UNIQUE,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        user_agent TEXT,
        created INTEGER NOT NULL,
        last_success INTEGER,
        failures INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS push_subscriptions_user ON push_subscriptions (user_id);
      CREATE TABLE IF NOT EXISTS notify_rules (
        user_id INTEGER NOT NULL,
        camera TEXT NOT NULL,
        rule TEXT NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, camera)
      );
      CREATE TABLE IF NOT EXISTS notify_targets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('ntfy', 'gotify')),
        url TEXT NOT NULL,
        token TEXT,
        created INTEGER NOT NULL,
        last_success INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        UNIQUE (user_id, kind, url)
      );

      CREATE TABLE IF NOT EXISTS backup_queue (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        local_path TEXT NOT NULL,
        remote_name TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'uploading', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_error TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        done_ms INTEGER,
        UNIQUE (target, remote_name)
      );
      CREATE INDEX IF NOT EXISTS backup_queue_due ON backup_queue (target, state, next_attempt_ms);
      CREATE TABLE IF NOT EXISTS backup_target_health (
        target TEXT PRIMARY KEY,
        last_success_ms INTEGER,
        last_error TEXT,
        last_error_ms INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        paused_until_ms INTEGER NOT NULL DEFAULT 0
      );

      CREATE TABLE IF NOT EXISTS shutter_state (
        camera TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        reason TEXT NOT NULL,
        changed_by TEXT NOT NULL,
        since INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS shutter_overrides (
        camera TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        reason TEXT NOT NULL CHECK (reason IN ('manual', 'startup')),
        changed_by TEXT NOT NULL,
        at INTEGER NOT NULL,
        ctx_presence TEXT NOT NULL,
        ctx_schedule TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS shutter_requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        camera TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('open', 'closed')),
        requested_by TEXT NOT NULL,
        requested_at INTEGER NOT NULL,
        applied_at INTEGER,
        result TEXT,
        note TEXT
      );
      CREATE INDEX IF NOT EXISTS shutter_requests_pending ON shutter_requests (id) WHERE applied_at IS NULL;
      CREATE TABLE IF NOT EXISTS shutter_presence (
        resident TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('home', 'away')),
        source TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS shutter_intrusion (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        armed INTEGER NOT NULL,
        triggered INTEGER NOT NULL,
        changed_by TEXT NOT NULL,
        at INTEGER NOT NULL
      );

      CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
    `);
  },
};

/**
 * What batched retention and start-up without a directory walk need: indexes to read files and
 * events oldest first and to find the events near a file, per-camera totals kept by triggers (so
 * space checks never SUM a million rows), and the clean-shutdown marker.
 */
const retentionAndStartup: Migration = {
  version: 2,
  name: 'retention indexes, usage totals, clean-shutdown marker',
  up(db) {
    db.exec(`
      CREATE INDEX files_by_end ON files (end_ms, name);
      CREATE INDEX files_span ON files ((end_ms - start_ms));
      CREATE INDEX events_by_start ON events (start_ms, id);
      CREATE INDEX events_span ON events ((end_ms - start_ms));
      CREATE INDEX events_running ON events (camera, start_ms) WHERE end_ms IS NULL;

      CREATE TABLE camera_usage (camera TEXT PRIMARY KEY, files INTEGER NOT NULL, bytes INTEGER NOT NULL);
      INSERT INTO camera_usage (camera, files, bytes) SELECT camera, COUNT(*), SUM(size) FROM files GROUP BY camera;
      CREATE TRIGGER camera_usage_insert AFTER INSERT ON files BEGIN
        INSERT INTO camera_usage (camera, files, bytes) VALUES (NEW.camera, 1, NEW.size)
          ON CONFLICT (camera) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
      END;
      CREATE TRIGGER camera_usage_delete AFTER DELETE ON files BEGIN
        UPDATE camera_usage SET files = files - 1, bytes = bytes - OLD.size WHERE camera = OLD.camera;
      END;
      CREATE TRIGGER camera_usage_update AFTER UPDATE OF camera, size ON files BEGIN
        UPDATE camera_usage SET files = files - 1, bytes = bytes - OLD.size WHERE camera = OLD.camera;
        INSERT INTO camera_usage (camera, files, bytes) VALUES (NEW.camera, 1, NEW.size)
          ON CONFLICT (camera) DO UPDATE SET files = files + 1, bytes = bytes + excluded.bytes;
      END;

      CREATE TABLE storage_state (id INTEGER PRIMARY KEY CHECK (id = 1), clean_shutdown_ms INTEGER);
    `);
  },
};

/**
 * Per-label masks users draw from the viewer ("not a dog" around a fire hydrant): polygons in
 * detect-size pixels (JSON [[x, y], …], as zones and motion masks in the config) where that label
 * never makes an event on that camera. `event_id` names the event the mask was proposed from.
 */
const labelMasks: Migration = {
  version: 3,
  name: 'label masks',
  up(db) {
    db.exec(`
      CREATE TABLE label_masks (
        id TEXT PRIMARY KEY,
        camera TEXT NOT NULL,
        label TEXT NOT NULL,
        polygon TEXT NOT NULL,
        event_id TEXT,
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE INDEX label_masks_by_camera ON label_masks (camera);
    `);
  },
};

/**
 * Grants per camera become sets of rights instead of roles: web_users.grants goes from
 * {"front": "viewer", "*": "live"} to {"front": ["live", "recordings", "export", "shutter"], "*": ["live"]}.
 * The presets are written out here (not imported from the web layer) so this step never changes.
 * A grant already in the new form is kept; an unknown role or unreadable JSON gives no right.
 */
const rightsPerAction: Migration = {
  version: 4,
  name: 'rights per action in web_users.grants',
  up(db) {
    const presets: Record<string, string[]> = { viewer: ['live', 'recordings', 'export', 'shutter'], live: ['live'] };
    const rights = new Set(presets.viewer);
    const convert = (json: string): string => {
      let old: unknown;
      try {
        old = JSON.parse(json);
      } catch {
        return '{}';
      }
      if (typeof old !== 'object' || old === null || Array.isArray(old)) return '{}';
      const grants: Record<string, string[]> = {};
      for (const [camera, grant] of Object.entries(old)) {
        if (Array.isArray(grant)) grants[camera] = [...new Set(grant.filter((r): r is string => typeof r === 'string' && rights.has(r)))];
        else grants[camera] = typeof grant === 'string' ? (presets[grant] ?? []) : [];
      }
      return JSON.stringify(grants);
    };
    const update = db.prepare('UPDATE web_users SET grants = ? WHERE id = ?');
    for (const row of db.prepare('SELECT id, grants FROM web_users').all() as Array<{ id: number; grants: string }>) {
      const grants = convert(row.grants);
      if (grants !== row.grants) update.run(grants, row.id);
    }
  },
};

/**
 * The timeline (24/7 review) from index reads only. Motion activity per stored segment, at low
 * resolution: the share of the segment's seconds in which the camera saw motion (0 < level ≤ 1; a
 * segment without a row had none); times and a level only, like the rest of the index, and the row
 * goes with its segment. Both indexes cover their timeline query, so a day of a camera is read
 * from the index alone, without a lookup per segment.
 */
const timeline: Migration = {
  version: 5,
  name: 'timeline: segment times index, motion activity per segment',
  up(db) {
    db.exec(`
      CREATE INDEX segments_by_time ON files (camera, start_ms, end_ms) WHERE kind = 'segment';
      CREATE TABLE segment_motion (
        name TEXT PRIMARY KEY REFERENCES files (name) ON DELETE CASCADE,
        camera TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        level REAL NOT NULL CHECK (level > 0 AND level <= 1)
      );
      CREATE INDEX segment_motion_by_time ON segment_motion (camera, start_ms, end_ms, level);
    `);
  },
};

/**
 * Residents known by their face, and their enrolled faces. Only a name, ids and times are in the
 * index; each face's photo and embedding are sealed vault files under residents.sealed/ (named by
 * the face id), which go with the row. Deleting a resident deletes its faces.
 */
const residents: Migration = {
  version: 6,
  name: 'residents and their enrolled faces',
  up(db) {
    db.exec(`
      CREATE TABLE residents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_by TEXT NOT NULL,
        created_ms INTEGER NOT NULL
      );
      CREATE TABLE resident_faces (
        id TEXT PRIMARY KEY,
        resident_id TEXT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
        source TEXT NOT NULL CHECK (source IN ('upload', 'event')),
        event_id TEXT,
        created_ms INTEGER NOT NULL
      );
      CREATE INDEX resident_faces_by_resident ON resident_faces (resident_id);
    `);
  },
};

/**
 * Every migration, in order. Append new ones at the end with the next version number, and give
 * test/storage/migrations.test.ts rows valid at the new version (ROWS_AT_VERSION).
 */
export const MIGRATIONS: readonly Migration[] = [initialSchema, retentionAndStartup, labelMasks, rightsPerAction, timeline, residents];

export const LATEST_VERSION = MIGRATIONS.length;

export class NewerSchemaError extends Error {
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`volet.db was written by a newer Volet (schema ${found}, this one knows ${known}); upgrade Volet or restore a backup`);
    this.name = 'NewerSchemaError';
  }
}

export const schemaVersion = (db: Db): number => db.pragma('user_version', { simple: true }) as number;

/**
 * Brings the database to the latest schema (or to `target`), each pending migration in its own
 * IMMEDIATE transaction together with its user_version, so a failing step leaves the database at
 * the previous version and a second process opening the file at the same time waits, then skips
 * what the first applied. Refuses, without writing, a database newer than this code knows.
 */
export function migrate(
  db: Db,
  logger?: Pick<Logger, 'info'>,
  { migrations = MIGRATIONS, target = migrations.length }: { migrations?: readonly Migration[]; target?: number } = {},
): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" is numbered ${m.version}, expected ${i + 1}`);
  });
  const known = migrations.length;
  const from = schemaVersion(db);
  if (from > known) throw new NewerSchemaError(from, known);
  let to = from;
  while (to < target) {
    const applied = db
      .transaction((): Migration | undefined => {
        const current = schemaVersion(db);
        if (current > known) throw new NewerSchemaError(current, known);
        if (current >= target) return undefined;
        const migration = migrations[current]!;
        migration.up(db);
        db.pragma(`user_version = ${migration.version}`);
        return migration;
      })
      .immediate();
    if (!applied) break;
    to = applied.version;
    logger?.info({ version: applied.version, migration: applied.name }, 'storage: schema migration applied');
  }
  return { from, to: Math.max(to, schemaVersion(db)) };
}
