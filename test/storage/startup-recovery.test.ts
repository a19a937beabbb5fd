import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { openStorage } from '../../src/app/storage.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { vaultFileName } from '../../src/storage/file-names.ts';
import { reconcileStorage } from '../../src/storage/recovery.ts';
import { StorageIndex, type FileRow } from '../../src/storage/storage-index.ts';
import { VaultStore } from '../../src/storage/vault-store.ts';
import { initTestVault, tempVoletConfig } from '../support/volet-fixture.ts';

const silent = createLogger('error', new Writable({ write: (_c, _e, done) => done() }));
const DAY = 86_400_000;

/** What a crash can leave in today's directory: a temp file, a vault file without its row, a row without its file. */
function leaveCrashDebris(storageDir: string, index: StorageIndex, stored: FileRow, nowMs: number) {
  const lost = vaultFileName({ camera: 'porch', kind: 'segment', startMs: nowMs - 60_000, endMs: nowMs - 56_000 });
  copyFileSync(join(storageDir, stored.name), join(storageDir, lost));
  const tmp = `${vaultFileName({ camera: 'porch', kind: 'segment', startMs: nowMs - 50_000, endMs: nowMs - 46_000 })}.tmp`;
  writeFileSync(join(storageDir, tmp), 'half a file');
  const stale = vaultFileName({ camera: 'porch', kind: 'segment', startMs: nowMs - 40_000, endMs: nowMs - 36_000 });
  index.addFile({ ...stored, name: stale, startMs: nowMs - 40_000, endMs: nowMs - 36_000 });
  return { lost, tmp, stale };
}

/** A crash: the process ends without close(), so the clean-shutdown marker cleared at open stays cleared. */
async function dieWithoutClosing(storage: Awaited<ReturnType<typeof openStorage>>): Promise<void> {
  storage.retention?.stop();
  await storage.retention?.idle();
  storage.db.close();
}

test('after a clean shutdown the directory is not read; after a crash it is reconciled in the background while files are stored', async () => {
  const t = tempVoletConfig('');
  try {
    await initTestVault(t.storageDir);
    const now = Date.now();
    let storage = await openStorage(t.config, silent);
    await storage.reconciliation;
    const stored = (await storage.store!.storeBuffer(Buffer.alloc(1000, 1), { camera: 'porch', kind: 'segment', startMs: now - 70_000, endMs: now - 66_000 }))!;
    const debris = leaveCrashDebris(t.storageDir, storage.index, stored, now);
    await storage.close();

    storage = await openStorage(t.config, silent);
    assert.equal(storage.reconciliation, undefined, 'a clean start does not reconcile');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(existsSync(join(t.storageDir, debris.tmp)), 'the temp file was not seen');
    assert.equal(storage.index.file(debris.lost), undefined, 'the unindexed file was not seen');
    assert.ok(storage.index.file(debris.stale), 'the stale row was not checked');
    await dieWithoutClosing(storage);

    storage = await openStorage(t.config, silent);
    assert.ok(storage.reconciliation, 'an unclean start reconciles');
    let settled = false;
    void storage.reconciliation.then(() => (settled = true));
    assert.equal(settled, false, 'openStorage returned before the reconciliation ended');
    const during = await storage.store!.storeBuffer(Buffer.alloc(1000, 2), { camera: 'porch', kind: 'segment', startMs: Date.now(), endMs: Date.now() + 4000 });
    const report = await storage.reconciliation;
    assert.deepEqual(report.tempRemoved, [debris.tmp]);
    assert.deepEqual(report.reindexed, [debris.lost]);
    assert.deepEqual(report.droppedRows, [debris.stale]);
    assert.equal(existsSync(join(t.storageDir, debris.tmp)), false);
    assert.equal(storage.index.file(debris.lost)?.size, stored.size);
    assert.ok(storage.index.file(during!.name), 'a file stored during reconciliation is kept');
    await storage.close();
  } finally {
    t.cleanup();
  }
});

test('crash reconciliation reads the newest days until one matches and the oldest day, not the days between', async () => {
  const t = tempVoletConfig('');
  try {
    const vault = await initTestVault(t.storageDir);
    const db = openDatabase(join(t.storageDir, 'volet.db'));
    const index = new StorageIndex(db);
    const store = new VaultStore({ dir: t.storageDir, index, publicKey: vault.publicKey, logger: silent });
    const today = Math.floor(Date.now() / DAY) * DAY;
    const rows: FileRow[] = [];
    for (let d = 9; d >= 0; d--) rows.push((await store.storeBuffer(Buffer.from('x'), { camera: 'porch', kind: 'segment', startMs: today - d * DAY + 1000, endMs: today - d * DAY + 5000 }))!);
    // The two newest days each lost a row; a temp file sits in a middle day, which a crash cannot have left.
    index.removeFile(rows[9].name);
    index.removeFile(rows[8].name);
    const middleTmp = `${vaultFileName({ camera: 'porch', kind: 'segment', startMs: today - 5 * DAY, endMs: today - 5 * DAY + 4000 })}.tmp`;
    mkdirSync(join(t.storageDir, 'porch', new Date(today - 5 * DAY).toISOString().slice(0, 10)), { recursive: true });
    writeFileSync(join(t.storageDir, middleTmp), '');

    const read: string[] = [];
    const report = await reconcileStorage(t.storageDir, index, {
      scope: 'crash',
      readdir: async (path) => (read.push(path.slice(t.storageDir.length + 1)), (await import('node:fs/promises')).readdir(path)),
    });
    assert.deepEqual(report.reindexed.sort(), [rows[8].name, rows[9].name].sort());
    const days = read.filter((p) => p.split('/').length === 2).map((p) => p.split('/')[1]);
    const dayOf = (d: number) => new Date(today - d * DAY).toISOString().slice(0, 10);
    assert.deepEqual(days, [dayOf(0), dayOf(1), dayOf(2), dayOf(9)], 'three newest (until one matched) and the oldest');
    assert.ok(existsSync(join(t.storageDir, middleTmp)), 'the middle days are not read');

    const all = await reconcileStorage(t.storageDir, index, { scope: 'all' });
    assert.deepEqual(all.tempRemoved, [middleTmp], 'the full reconciliation (restore) reads every day');
    db.close();
  } finally {
    t.cleanup();
  }
});

test('events a crashed run left open are ended at their last file at the next start, so retention can reach later footage', async () => {
  const t = tempVoletConfig('');
  try {
    await initTestVault(t.storageDir);
    const now = Date.now();
    let storage = await openStorage(t.config, silent);
    await storage.reconciliation;
    storage.index.upsertEvent({ id: 'ev-open', camera: 'porch', startMs: now - 60_000, endMs: null });
    await storage.store!.storeBuffer(Buffer.alloc(100, 1), { camera: 'porch', kind: 'snapshot', startMs: now - 58_000, endMs: now - 50_000, eventId: 'ev-open' });
    storage.index.upsertEvent({ id: 'ev-bare', camera: 'porch', startMs: now - 30_000, endMs: null });
    storage.index.upsertEvent({ id: 'ev-done', camera: 'porch', startMs: now - 20_000, endMs: now - 10_000 });
    await dieWithoutClosing(storage); // while both events run

    storage = await openStorage(t.config, silent);
    assert.equal(storage.index.event('ev-open')!.endMs, now - 50_000, 'ended at the end of its last file');
    assert.equal(storage.index.event('ev-bare')!.endMs, now - 30_000, 'no file: ended at its start');
    assert.equal(storage.index.event('ev-done')!.endMs, now - 10_000, 'a finished event is unchanged');
    await storage.close();
  } finally {
    t.cleanup();
  }
});

test('a vault file whose index row cannot be written is removed, never left unindexed', async () => {
  const t = tempVoletConfig('');
  try {
    await initTestVault(t.storageDir);
    const storage = await openStorage(t.config, silent);
    await storage.reconciliation;
    const addFile = storage.index.addFile.bind(storage.index);
    storage.index.addFile = () => {
      throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    };
    const startMs = Date.now() - 10_000;
    const row = await storage.store!.storeBuffer(Buffer.alloc(100, 3), { camera: 'porch', kind: 'segment', startMs, endMs: startMs + 4000 });
    storage.index.addFile = addFile;
    assert.equal(row, undefined);
    const name = vaultFileName({ camera: 'porch', kind: 'segment', startMs, endMs: startMs + 4000 });
    assert.equal(existsSync(join(t.storageDir, name)), false, 'no unindexed vault file');
    await storage.close();
  } finally {
    t.cleanup();
  }
});
