import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { RetentionRunner } from '../../src/storage/retention-runner.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { VaultStore } from '../../src/storage/vault-store.ts';
import { initTestVault } from '../support/volet-fixture.ts';

const silent = createLogger('error', new Writable({ write: (_c, _e, done) => done() }));

test('with a tiny byte budget, the oldest continuous footage goes first and events outlive it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-retention-'));
  try {
    const vault = await initTestVault(dir);
    const index = new StorageIndex(openDatabase(join(dir, 'volet.db')));
    const store = new VaultStore({ dir, index, publicKey: vault.publicKey, logger: silent });
    const now = Date.now();
    const segment = Buffer.alloc(100_000, 7);
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      const startMs = now - (10 - i) * 60_000;
      const row = await store.storeBuffer(segment, { camera: 'porch', kind: 'segment', startMs, endMs: startMs + 4000 });
      names.push(row!.name);
    }
    // The second-oldest segment belongs to an event.
    const eventStart = now - 9 * 60_000 + 1000;
    index.upsertEvent({ id: 'e1', camera: 'porch', startMs: eventStart, endMs: eventStart + 2000 });
    await store.storeBuffer(Buffer.from('{}'), { camera: 'porch', kind: 'metadata', startMs: eventStart, endMs: eventStart + 2000, eventId: 'e1' });

    const sizeOfOne = index.file(names[0])!.size;
    const runner = new RetentionRunner({
      store,
      index,
      retention: { continuousDays: 7, eventDays: 30, minFreeGb: 0, minFreePercent: 0, maxSizeGb: (sizeOfOne * 6.5) / 1e9 },
      eventPaddingMs: { before: 0, after: 0 },
      logger: silent,
    });
    const before = index.allFiles();
    const report = await runner.runOnce();

    const left = index.allFiles().filter((f) => f.kind === 'segment').map((f) => f.name);
    assert.ok(left.includes(names[1]), 'the event segment survives');
    assert.ok(!left.includes(names[0]), 'the oldest continuous segment is gone');
    assert.deepEqual(left, [names[1], ...names.slice(names.length - (left.length - 1))], 'the newest continuous footage is kept');
    const deleted = before.filter((f) => !index.file(f.name));
    assert.equal(report.deletedFiles, deleted.length);
    assert.ok(deleted.length > 0);
    for (const file of deleted) assert.equal(existsSync(join(dir, file.name)), false, `${file.name} deleted from disk`);
    for (const file of index.allFiles()) assert.equal(existsSync(join(dir, file.name)), true, `${file.name} still on disk`);
    assert.ok(index.usage().bytes <= sizeOfOne * 6.5);
    assert.ok(index.event('e1'), 'the event is still indexed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
