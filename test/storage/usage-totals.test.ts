import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { migrate } from '../../src/storage/migrations.ts';
import { StorageIndex, type FileRow } from '../../src/storage/storage-index.ts';

const row = (name: string, camera: string, size: number): FileRow => ({ name, camera, kind: 'segment', startMs: 1000, endMs: 5000, size, eventId: null });
const summed = (db: Database.Database) =>
  Object.fromEntries((db.prepare('SELECT camera, SUM(size) AS bytes FROM files GROUP BY camera ORDER BY camera').all() as { camera: string; bytes: number }[]).map((r) => [r.camera, r.bytes]));

test('migration 2 computes the per-camera totals of an existing index, and triggers keep them equal to SUM(size)', () => {
  const db = new Database(':memory:');
  migrate(db, undefined, { target: 1 });
  const insert = db.prepare('INSERT INTO files (name, camera, kind, start_ms, end_ms, size, event_id) VALUES (@name, @camera, @kind, @startMs, @endMs, @size, @eventId)');
  for (let i = 0; i < 50; i++) insert.run(row(`f${i}`, i % 3 === 0 ? 'porch' : 'garden', 100 + i));
  migrate(db);
  const index = new StorageIndex(db);
  assert.deepEqual(index.bytesPerCamera(), summed(db));

  index.addFile(row('new', 'porch', 7));
  index.addFile(row('f1', 'porch', 1)); // replaced: moves camera and size
  index.removeFiles(['f2', 'f3', 'missing']);
  index.removeFile('f4');
  assert.deepEqual(index.bytesPerCamera(), summed(db));
  assert.deepEqual(index.usage(), db.prepare('SELECT COUNT(*) AS files, SUM(size) AS bytes FROM files').get());
  assert.deepEqual(index.cameras(), ['garden', 'porch']);
});

test('the clean-shutdown marker is read once: taking it clears it', () => {
  const db = new Database(':memory:');
  migrate(db);
  const index = new StorageIndex(db);
  assert.equal(index.takeCleanShutdown(), false, 'a new index was never shut down cleanly');
  index.markCleanShutdown();
  assert.equal(index.takeCleanShutdown(), true);
  assert.equal(index.takeCleanShutdown(), false, 'a crash after this start is not mistaken for a clean stop');
});
