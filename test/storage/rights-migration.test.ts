import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate, schemaVersion } from '../../src/storage/migrations.ts';
import { hasRight, PRESETS, RIGHTS, UserRepository, type Right } from '../../src/web/auth/users.ts';

type OldRole = 'viewer' | 'live';
type OldUser = { username: string; admin: boolean; grants: Record<string, OldRole> };

/** Users as versions up to schema 3 stored them: one role per camera or '*'. */
const OLD_USERS: OldUser[] = [
  { username: 'ann', admin: false, grants: { '*': 'viewer' } },
  { username: 'ben', admin: false, grants: { porch: 'live' } },
  { username: 'cat', admin: false, grants: { garden: 'viewer' } },
  { username: 'dan', admin: false, grants: { '*': 'viewer', garden: 'live' } },
  { username: 'eve', admin: true, grants: {} },
  { username: 'fay', admin: false, grants: {} },
];
const CAMERAS = ['porch', 'garden', 'attic'];

/**
 * What the routes of schema 3 allowed (roleOn/canView/canWatchLive of that version): a camera's own
 * role replaced the '*' one; any role watched live; a viewer also saw recordings, exported (from the
 * command line) and worked the shutter.
 */
function oldAccess(user: OldUser, camera: string, right: Right): boolean {
  if (user.admin) return true;
  const role = user.grants[camera] ?? user.grants['*'];
  return right === 'live' ? role !== undefined : role === 'viewer';
}

function atVersion3(dir: string) {
  const db = new Database(join(dir, 'volet.db'));
  migrate(db, undefined, { target: 3 });
  const insert = db.prepare('INSERT INTO web_users (username, password_hash, admin, grants, created_at) VALUES (?, ?, ?, ?, ?)');
  for (const u of OLD_USERS) insert.run(u.username, 'x', u.admin ? 1 : 0, JSON.stringify(u.grants), 1764000000000);
  return db;
}

test('users of schema 3 keep exactly their access per camera and right after the migration to version 4', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-rights-'));
  try {
    const db = atVersion3(dir);
    migrate(db, undefined, { target: 4 });
    assert.equal(schemaVersion(db), 4);
    const users = new UserRepository(db);
    for (const old of OLD_USERS) {
      const user = users.byName(old.username)!;
      for (const camera of CAMERAS) {
        for (const right of RIGHTS) {
          assert.equal(hasRight(user, camera, right), oldAccess(old, camera, right), `${old.username} ${right} on ${camera}`);
        }
      }
    }
    assert.deepEqual(users.byName('dan')!.grants, { '*': [...PRESETS.viewer], garden: [...PRESETS.live] });
    assert.deepEqual(users.byName('fay')!.grants, {});
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the migration gives no right for an unknown role or unreadable grants, and keeps grants already in the new form', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-rights-'));
  try {
    const db = atVersion3(dir);
    const insert = db.prepare("INSERT INTO web_users (username, password_hash, admin, grants, created_at) VALUES (?, 'x', 0, ?, 1)");
    insert.run('odd', JSON.stringify({ porch: 'owner', garden: 7, '*': 'live' }));
    insert.run('broken', '{not json');
    insert.run('list', '[1,2]');
    insert.run('newer', JSON.stringify({ porch: ['export', 'live', 'export', 'fly'] }));
    migrate(db, undefined, { target: 4 });
    const users = new UserRepository(db);
    assert.deepEqual(users.byName('odd')!.grants, { porch: [], garden: [], '*': ['live'] });
    assert.deepEqual(users.byName('broken')!.grants, {});
    assert.deepEqual(users.byName('list')!.grants, {});
    assert.deepEqual(users.byName('newer')!.grants, { porch: ['export', 'live'] });
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
