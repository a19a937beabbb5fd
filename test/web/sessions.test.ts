import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/storage/database.ts';
import { SessionRepository } from '../../src/web/auth/sessions.ts';
import { LoginThrottle } from '../../src/web/auth/throttle.ts';
import { UserRepository } from '../../src/web/auth/users.ts';

const HOUR = 3_600_000;

function withDb(fn: (db: ReturnType<typeof openDatabase>) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'volet-sessions-'));
  const db = openDatabase(join(dir, 'volet.db'));
  try {
    fn(db);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a session ends after the idle limit without use, and is kept alive by use', () => {
  withDb((db) => {
    let now = 1_000_000;
    const users = new UserRepository(db);
    const user = users.create({ username: 'a', passwordHash: 'x', admin: true, grants: {} })!;
    const sessions = new SessionRepository(db, { idleMs: 2 * HOUR, absoluteMs: 24 * HOUR }, () => now);
    const { id } = sessions.create(user.id, '127.0.0.1', 'test');
    now += 1.5 * HOUR;
    assert.ok(sessions.resolve(id), 'used within the idle limit');
    now += 1.5 * HOUR;
    assert.ok(sessions.resolve(id), 'still alive: the last use refreshed it');
    now += 2 * HOUR + 1;
    assert.equal(sessions.resolve(id), undefined);
    assert.equal(sessions.listForUser(user.id).length, 0, 'an expired session is deleted');
  });
});

test('a session ends at the absolute limit however much it is used', () => {
  withDb((db) => {
    let now = 1_000_000;
    const users = new UserRepository(db);
    const user = users.create({ username: 'a', passwordHash: 'x', admin: true, grants: {} })!;
    const sessions = new SessionRepository(db, { idleMs: 2 * HOUR, absoluteMs: 5 * HOUR }, () => now);
    const { id } = sessions.create(user.id, '127.0.0.1', 'test');
    for (let i = 0; i < 5; i++) {
      now += HOUR;
      assert.ok(sessions.resolve(id));
    }
    now += 1;
    assert.equal(sessions.resolve(id), undefined);
  });
});

test('an unknown or oversized cookie value resolves to nothing', () => {
  withDb((db) => {
    const sessions = new SessionRepository(db, { idleMs: HOUR, absoluteMs: HOUR });
    assert.equal(sessions.resolve(undefined), undefined);
    assert.equal(sessions.resolve('nope'), undefined);
    assert.equal(sessions.resolve('x'.repeat(10_000)), undefined);
  });
});

test('a lockout lasts its time and then lifts; a success clears the user count', () => {
  let now = 0;
  const throttle = new LoginThrottle({ perIp: 100, perUser: 3, windowMs: 10_000, lockoutMs: 60_000 }, () => now);
  throttle.fail('1.2.3.4', 'bob');
  throttle.fail('1.2.3.4', 'bob');
  throttle.succeed('bob');
  assert.equal(throttle.fail('1.2.3.4', 'bob').lockedUser, false, 'the success reset the count');
  throttle.fail('1.2.3.4', 'bob');
  assert.equal(throttle.fail('1.2.3.4', 'BOB').lockedUser, true, 'names are counted case-insensitively');
  assert.equal(throttle.lockedFor('5.6.7.8', 'bob'), 60_000);
  now += 59_999;
  assert.ok(throttle.lockedFor('5.6.7.8', 'bob') > 0);
  now += 1;
  assert.equal(throttle.lockedFor('5.6.7.8', 'bob'), 0);
  assert.equal(throttle.lockedFor('1.2.3.4'), 0, 'the address was never over its own limit');
});

test('failures older than the window do not count', () => {
  let now = 0;
  const throttle = new LoginThrottle({ perIp: 100, perUser: 3, windowMs: 10_000, lockoutMs: 60_000 }, () => now);
  throttle.fail('ip', 'bob');
  throttle.fail('ip', 'bob');
  now += 10_001;
  assert.equal(throttle.fail('ip', 'bob').lockedUser, false);
});
