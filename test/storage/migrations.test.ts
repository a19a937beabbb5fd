import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { BackupQueue } from '../../src/backup/queue.ts';
import { createLogger } from '../../src/log/logger.ts';
import { NotifyRepository } from '../../src/notify/repository.ts';
import { LabelMaskRepository } from '../../src/objects/label-masks.ts';
import { ShutterRepository } from '../../src/privacy/repository.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { LATEST_VERSION, MIGRATIONS, NewerSchemaError, migrate, schemaVersion, type Migration } from '../../src/storage/migrations.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { AuditLog } from '../../src/web/audit.ts';
import { SessionRepository } from '../../src/web/auth/sessions.ts';
import { UserRepository } from '../../src/web/auth/users.ts';

const BEFORE_MIGRATIONS = readFileSync(new URL('./fixtures/volet-db-before-migrations.sql', import.meta.url), 'utf8');

/**
 * Rows valid at each schema version, inserted before upgrading from that version. A new migration
 * adds its version here (the upgrade test fails until it does), with rows for the tables it touches.
 */
const ROWS_BEFORE_MIGRATIONS =
  BEFORE_MIGRATIONS.split('\n')
    .filter((line) => line.startsWith('INSERT INTO') && !line.startsWith('INSERT INTO sqlite_sequence'))
    .join('\n') + '\nINSERT INTO health_probe VALUES (1, 1764000000000);';
const ROWS_AT_VERSION = new Map<number, string>([
  [1, ROWS_BEFORE_MIGRATIONS],
  [2, `${ROWS_BEFORE_MIGRATIONS}\nINSERT INTO storage_state VALUES (1, 1764000000000);`],
  [
    3,
    `${ROWS_BEFORE_MIGRATIONS}\nINSERT INTO storage_state VALUES (1, 1764000000000);\n` +
      `INSERT INTO label_masks VALUES ('m1', 'front', 'dog', '[[10,20],[60,20],[60,90],[10,90]]', NULL, 'alice', 1764000000000);`,
  ],
  [
    4,
    `${ROWS_BEFORE_MIGRATIONS}\nINSERT INTO storage_state VALUES (1, 1764000000000);\n` +
      `INSERT INTO label_masks VALUES ('m1', 'front', 'dog', '[[10,20],[60,20],[60,90],[10,90]]', NULL, 'alice', 1764000000000);\n` +
      `INSERT INTO web_users (id, username, password_hash, admin, grants, created_at) VALUES (2, 'bob', 'x', 0, '{"front":["live","recordings"],"*":["live"]}', 1764000000000);`,
  ],
  [
    5,
    `${ROWS_BEFORE_MIGRATIONS}\nINSERT INTO storage_state VALUES (1, 1764000000000);\n` +
      `INSERT INTO label_masks VALUES ('m1', 'front', 'dog', '[[10,20],[60,20],[60,90],[10,90]]', NULL, 'alice', 1764000000000);\n` +
      `INSERT INTO web_users (id, username, password_hash, admin, grants, created_at) VALUES (2, 'bob', 'x', 0, '{"front":["live","recordings"],"*":["live"]}', 1764000000000);\n` +
      `INSERT INTO segment_motion VALUES ('front/2025/11/24/16/front-20251124T160000000Z-segment.vlt', 'front', 1764000000000, 1764000004000, 0.25);`,
  ],
  [
    6,
    `${ROWS_BEFORE_MIGRATIONS}\nINSERT INTO storage_state VALUES (1, 1764000000000);\n` +
      `INSERT INTO label_masks VALUES ('m1', 'front', 'dog', '[[10,20],[60,20],[60,90],[10,90]]', NULL, 'alice', 1764000000000);\n` +
      `INSERT INTO web_users (id, username, password_hash, admin, grants, created_at) VALUES (2, 'bob', 'x', 0, '{"front":["live","recordings"],"*":["live"]}', 1764000000000);\n` +
      `INSERT INTO segment_motion VALUES ('front/2025/11/24/16/front-20251124T160000000Z-segment.vlt', 'front', 1764000000000, 1764000004000, 0.25);\n` +
      `INSERT INTO residents VALUES ('r1', 'Alice', 'admin', 1764000000000);\n` +
      `INSERT INTO resident_faces VALUES ('f1', 'r1', 'upload', NULL, 1764000000000);`,
  ],
]);

const EVERY_TABLE = [
  'backup_queue',
  'backup_target_health',
  'camera_usage',
  'events',
  'files',
  'health_probe',
  'label_masks',
  'notify_rules',
  'notify_targets',
  'notify_vapid',
  'push_subscriptions',
  'resident_faces',
  'residents',
  'segment_motion',
  'shutter_intrusion',
  'shutter_overrides',
  'shutter_presence',
  'shutter_requests',
  'shutter_state',
  'storage_state',
  'web_audit',
  'web_recovery_codes',
  'web_sessions',
  'web_users',
];

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'volet-migrations-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function capturingLogger() {
  const lines: Array<{ msg: string; version?: number; migration?: string }> = [];
  const logger = createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  return { logger, applied: () => lines.filter((l) => l.msg === 'storage: schema migration applied') };
}

/** Every table, index and trigger with its definition (whitespace folded): two equal schemas give equal lists. */
const schemaOf = (db: Db) =>
  (db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as Array<{ sql: string | null }>).map(
    (row) => ({ ...row, sql: row.sql?.replace(/\s+/g, ' ') ?? null }),
  );

const tablesOf = (db: Db) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);

const rowsOf = (db: Db) => Object.fromEntries(tablesOf(db).map((table) => [table, db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all()]));

function freshSchema(dir: string) {
  const db = openDatabase(join(dir, 'fresh.db'));
  try {
    return schemaOf(db);
  } finally {
    db.close();
  }
}

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('a fresh database ends at the latest version with every table, and each repository works on it', () => {
  withDir((dir) => {
    const { logger, applied } = capturingLogger();
    const db = openDatabase(join(dir, 'volet.db'), logger);
    assert.equal(schemaVersion(db), LATEST_VERSION);
    assert.deepEqual(tablesOf(db), EVERY_TABLE);
    assert.deepEqual(
      applied().map((l) => l.version),
      MIGRATIONS.map((m) => m.version),
    );

    const index = new StorageIndex(db);
    index.upsertEvent({ id: 'e1', camera: 'porch', startMs: 1, endMs: 2 });
    const users = new UserRepository(db);
    assert.equal(users.count(), 0);
    new SessionRepository(db, { idleMs: 60_000, absoluteMs: 3_600_000 });
    new AuditLog(db).record('login_ok', { actor: 'alice', ip: '127.0.0.1' });
    assert.equal(new NotifyRepository(db).vapidKeys(1).publicKey.length > 0, true);
    assert.equal(new ShutterRepository(db).states().size, 0);
    new BackupQueue(db);
    assert.deepEqual(new LabelMaskRepository(db).list(), []);
    db.close();

    const reopened = openDatabase(join(dir, 'volet.db'), logger);
    assert.equal(applied().length, MIGRATIONS.length, 'nothing is applied twice');
    assert.equal(reopened.prepare('SELECT COUNT(*) AS n FROM events').pluck().get(), 1);
    reopened.close();
  });
});

for (const [written, extra] of [
  ['c174e83 (before the health monitor)', ''],
  ['8491c60 (the last without migrations)', 'CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL); INSERT INTO health_probe VALUES (1, 1764000000000);'],
] as const) {
  test(`a database written by ${written} is adopted as version 1 and keeps every row`, () => {
    withDir((dir) => {
      const path = join(dir, 'volet.db');
      const legacy = new Database(path);
      legacy.exec(BEFORE_MIGRATIONS);
      legacy.exec(extra);
      const before = rowsOf(legacy);
      assert.equal(schemaVersion(legacy), 0);
      legacy.close();

      const db = openDatabase(path);
      assert.equal(schemaVersion(db), LATEST_VERSION);
      assert.deepEqual(schemaOf(db), freshSchema(dir), 'same schema as a database created from scratch');
      const after = rowsOf(db);
      for (const [table, rows] of Object.entries(before)) assert.deepEqual(after[table], rows, `rows of ${table}`);
      assert.equal(new UserRepository(db).byName('ALICE')?.username, 'alice');
      assert.equal(new StorageIndex(db).file('front/2025/11/24/16/front-20251124T160000000Z-segment.vlt')?.size, 123456);
      db.close();
    });
  });
}

test('from every earlier version, upgrading keeps every row and ends with the same schema as a fresh database', () => {
  withDir((dir) => {
    const fresh = freshSchema(dir);
    for (let version = 1; version <= LATEST_VERSION; version++) {
      const rows = ROWS_AT_VERSION.get(version);
      assert.ok(rows, `ROWS_AT_VERSION has no rows for version ${version}: add rows valid at that schema`);
      const path = join(dir, `at-${version}.db`);
      const old = new Database(path);
      migrate(old, undefined, { target: version });
      assert.equal(schemaVersion(old), version);
      old.exec(rows);
      const before = rowsOf(old);
      old.close();

      const db = openDatabase(path);
      assert.equal(schemaVersion(db), LATEST_VERSION, `from version ${version}`);
      assert.deepEqual(schemaOf(db), fresh, `from version ${version}`);
      const after = rowsOf(db);
      for (const [table, kept] of Object.entries(before)) {
        assert.equal(after[table]?.length, kept.length, `from version ${version}: rows of ${table}`);
      }
      db.close();
    }
  });
});

test('a database written by a newer Volet is refused and left untouched', () => {
  withDir((dir) => {
    const path = join(dir, 'volet.db');
    const newer = openDatabase(path);
    newer.pragma(`user_version = ${LATEST_VERSION + 1}`);
    newer.exec('CREATE TABLE from_the_future (x TEXT); INSERT INTO from_the_future VALUES (1)');
    newer.close();
    const hash = fileHash(path);

    assert.throws(
      () => openDatabase(path),
      (err: unknown) =>
        err instanceof NewerSchemaError &&
        err.message.startsWith(`volet.db was written by a newer Volet (schema ${LATEST_VERSION + 1}, this one knows ${LATEST_VERSION})`),
    );
    assert.equal(fileHash(path), hash);
    const check = new Database(path, { readonly: true });
    assert.equal(schemaVersion(check), LATEST_VERSION + 1);
    assert.equal(check.prepare('SELECT COUNT(*) FROM from_the_future').pluck().get(), 1);
    check.close();
  });
});

test('a migration that throws is rolled back and leaves user_version at the last one that succeeded', () => {
  withDir((dir) => {
    const db = openDatabase(join(dir, 'volet.db'));
    const tablesBefore = tablesOf(db);
    const good: Migration = { version: LATEST_VERSION + 1, name: 'good', up: (d) => d.exec('CREATE TABLE good (x)') };
    const broken: Migration = {
      version: LATEST_VERSION + 2,
      name: 'broken',
      up(d) {
        d.exec("CREATE TABLE half_done (x); INSERT INTO half_done VALUES (1); UPDATE web_users SET username = 'x'");
        d.exec('INSERT INTO files (name) VALUES (NULL)'); // NOT NULL constraint: throws
      },
    };
    assert.throws(() => migrate(db, undefined, { migrations: [...MIGRATIONS, good, broken] }), /NOT NULL constraint failed/);
    assert.equal(schemaVersion(db), LATEST_VERSION + 1);
    assert.deepEqual(
      tablesOf(db).filter((t) => !tablesBefore.includes(t)),
      ['good'],
    );
    db.close();
  });
});

test('migrations are numbered 1, 2, 3… without gaps', () => {
  assert.deepEqual(
    MIGRATIONS.map((m) => m.version),
    MIGRATIONS.map((_, i) => i + 1),
  );
  withDir((dir) => {
    const db = openDatabase(join(dir, 'volet.db'));
    const skipping: Migration = { version: LATEST_VERSION + 2, name: 'skips a number', up: () => {} };
    assert.throws(() => migrate(db, undefined, { migrations: [...MIGRATIONS, skipping] }), /numbered/);
    assert.equal(schemaVersion(db), LATEST_VERSION);
    db.close();
  });
});
