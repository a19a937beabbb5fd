import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FolderTarget } from '../../src/backup/folder-target.ts';
import { BackupQueue } from '../../src/backup/queue.ts';
import { BackupRunner, recordedAtMsFromName } from '../../src/backup/runner.ts';
import type { BackupTarget, PutOptions, RemoteFile } from '../../src/backup/target.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { fileSize, waitFor } from '../support/backup-servers/wait.ts';
import { writeLocalFile } from './target-contract.ts';

let scratch: string;
let counter = 0;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'volet-queue-test-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh folder for each test: a share, an outbox of local files and a database. */
async function workspace() {
  const dir = join(scratch, `case-${++counter}`);
  const share = join(dir, 'share');
  await mkdir(share, { recursive: true });
  return {
    dir,
    share,
    database: join(dir, 'volet.sqlite'),
    async local(name: string, size = 1000) {
      const path = join(dir, 'outbox', name);
      await writeLocalFile(path, size);
      return path;
    },
  };
}

/** Wraps a real target to hold uploads until released and to count how many run at once. */
class GatedTarget implements BackupTarget {
  active = 0;
  maxActive = 0;
  private waiting: Array<() => void> = [];
  constructor(private readonly inner: BackupTarget) {}
  get name() {
    return this.inner.name;
  }
  get held() {
    return this.waiting.length;
  }
  release(): void {
    for (const resume of this.waiting.splice(0)) resume();
  }
  async put(remoteName: string, localPath: string, options?: PutOptions): Promise<void> {
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      await this.inner.put(remoteName, localPath, options);
    } finally {
      this.active -= 1;
    }
  }
  get(remoteName: string, localPath: string) {
    return this.inner.get(remoteName, localPath);
  }
  list(prefix?: string) {
    return this.inner.list(prefix);
  }
  stat(remoteName: string) {
    return this.inner.stat(remoteName);
  }
  remove(remoteName: string) {
    return this.inner.remove(remoteName);
  }
  close() {
    return this.inner.close();
  }
}

test('enqueue records size and SHA-256, and queuing the same file twice is one row', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const local = await ws.local('a.volet', 1234);
  const first = await queue.enqueue('nas', local, 'porch/a.volet');
  const second = await queue.enqueue('nas', local, 'porch/a.volet');
  assert.equal(first.id, second.id);
  assert.equal(first.size, 1234);
  assert.match(first.sha256, /^[0-9a-f]{64}$/);
  assert.equal(first.state, 'queued');
  assert.equal(queue.items().length, 1);
  db.close();
});

test('a missing file or an unsafe name becomes a failed row with the reason, not an exception', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const missing = await queue.enqueue('nas', join(ws.dir, 'nope.volet'), 'porch/nope.volet');
  assert.equal(missing.state, 'failed');
  assert.match(missing.lastError ?? '', /nope\.volet/);
  const unsafe = await queue.enqueue('nas', await ws.local('b.volet'), '../b.volet');
  assert.equal(unsafe.state, 'failed');
  assert.match(unsafe.lastError ?? '', /not allowed/);
  db.close();
});

test('the queue survives a restart: a new runner on the same SQLite file uploads what the old one could not', async () => {
  const ws = await workspace();
  const unmounted = join(ws.dir, 'not-yet-mounted');
  let db: Db = openDatabase(ws.database);
  const first = new BackupRunner({
    queue: new BackupQueue(db),
    targets: [{ target: new FolderTarget('nas', { url: unmounted }) }],
    backoff: { initialMs: 50, maxMs: 50 },
  });
  first.start();
  const item = await first.enqueue('nas', await ws.local('c.volet', 5000), 'porch/c.volet');
  assert.ok(item);
  await waitFor('the failed attempt', () => (new BackupQueue(db).item(item.id)?.attempts ?? 0) >= 1);
  await first.stop();
  const [status] = first.status();
  assert.equal(status.healthy, false);
  assert.match(status.lastError ?? '', /is the share mounted/);
  db.close();

  await mkdir(unmounted);
  db = openDatabase(ws.database);
  const second = new BackupRunner({
    queue: new BackupQueue(db),
    targets: [{ target: new FolderTarget('nas', { url: unmounted }) }],
    backoff: { initialMs: 50, maxMs: 50 },
  });
  try {
    second.start();
    second.wake();
    await waitFor('the upload after the restart', () => new BackupQueue(db).item(item.id)?.state === 'done');
    assert.equal(await fileSize(join(unmounted, 'porch/c.volet')), 5000);
    assert.equal(second.status()[0].healthy, true);
  } finally {
    await second.stop();
    db.close();
  }
});

test('rows left uploading by a crash go back to the queue on start-up and complete', async () => {
  const ws = await workspace();
  let db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const item = await queue.enqueue('nas', await ws.local('d.volet'), 'porch/d.volet');
  assert.equal(queue.claimNext('nas')?.id, item.id);
  assert.equal(queue.item(item.id)?.state, 'uploading');
  db.close(); // the process "crashed" here

  db = openDatabase(ws.database);
  const runner = new BackupRunner({ queue: new BackupQueue(db), targets: [{ target: new FolderTarget('nas', { url: ws.share }) }] });
  try {
    runner.start();
    await runner.whenIdle();
    assert.equal(new BackupQueue(db).item(item.id)?.state, 'done');
  } finally {
    await runner.stop();
    db.close();
  }
});

test('retry delays double after each failure up to the cap, and a target that is down is probed, not hammered', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  let now = 1_000_000;
  const queue = new BackupQueue(db, () => now);
  const runner = new BackupRunner({
    queue,
    targets: [{ target: new FolderTarget('nas', { url: join(ws.dir, 'down-for-days') }) }],
    backoff: { initialMs: 1000, maxMs: 8000 },
    now: () => now,
  });
  try {
    runner.start();
    const first = await runner.enqueue('nas', await ws.local('e.volet'), 'porch/e.volet');
    assert.ok(first);
    const delays: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      if (round > 0) now = queue.item(first.id)?.nextAttemptMs ?? now;
      await runner.whenIdle();
      const row = queue.item(first.id);
      assert.equal(row?.state, 'queued', 'a target that is down loses nothing');
      delays.push((row?.nextAttemptMs ?? 0) - now);
      assert.equal(runner.status()[0].retryAtMs, row?.nextAttemptMs);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000]);

    // More files while the target is down: one probe per retry period, not one failure per file.
    await runner.enqueue('nas', await ws.local('f.volet'), 'porch/f.volet');
    await runner.enqueue('nas', await ws.local('g.volet'), 'porch/g.volet');
    await runner.whenIdle();
    const attempts = () => queue.items().reduce((sum, row) => sum + row.attempts, 0);
    assert.equal(attempts(), 5);
    now = runner.status()[0].retryAtMs ?? now;
    await runner.whenIdle();
    assert.equal(attempts(), 6);
    const [status] = runner.status();
    assert.equal(status.consecutiveFailures, 6);
    assert.equal(status.backlogCount, 3);
    assert.equal(status.healthy, false);

    // The user fixed the target: wake() retries at once instead of after the backoff.
    await mkdir(join(ws.dir, 'down-for-days'));
    runner.wake();
    await runner.whenIdle();
    assert.equal(queue.items({ state: 'done' }).length, 3);
    assert.equal(runner.status()[0].healthy, true);
  } finally {
    await runner.stop();
    db.close();
  }
});

test('per-target concurrency is respected', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const gated = new GatedTarget(new FolderTarget('nas', { url: ws.share }));
  const runner = new BackupRunner({ queue, targets: [{ target: gated, concurrency: 2 }] });
  try {
    runner.start();
    for (let index = 0; index < 5; index += 1) await runner.enqueue('nas', await ws.local(`g${index}.volet`), `porch/g${index}.volet`);
    await waitFor('two uploads in flight', () => gated.held === 2);
    assert.equal(runner.status()[0].uploading, 2);
    assert.equal(queue.items({ state: 'uploading' }).length, 2);
    while (queue.items({ state: 'done' }).length < 5) {
      gated.release();
      await waitFor('progress', () => gated.held > 0 || queue.items({ state: 'done' }).length === 5);
    }
    assert.equal(gated.maxActive, 2);
    assert.equal(runner.status()[0].backlogCount, 0);
  } finally {
    gated.release();
    await runner.stop();
    db.close();
  }
});

test('an upload that fails verification is never marked done and its bad copy is removed', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const folder = new FolderTarget('nas', { url: ws.share });
  const lying: BackupTarget = {
    name: 'nas',
    put: (name, path, options) => folder.put(name, path, options),
    get: (name, path) => folder.get(name, path),
    list: (prefix) => folder.list(prefix),
    stat: async (name): Promise<RemoteFile | undefined> => {
      const real = await folder.stat(name);
      return real && { ...real, size: real.size - 1 };
    },
    remove: (name) => folder.remove(name),
    close: () => folder.close(),
  };
  const runner = new BackupRunner({ queue, targets: [{ target: lying }], backoff: { initialMs: 60_000 } });
  try {
    runner.start();
    const item = await runner.enqueue('nas', await ws.local('h.volet', 2000), 'porch/h.volet');
    assert.ok(item);
    await runner.whenIdle();
    const row = queue.item(item.id);
    assert.equal(row?.state, 'queued');
    assert.match(row?.lastError ?? '', /1999 bytes after upload, expected 2000/);
    assert.equal(await fileSize(join(ws.share, 'porch/h.volet')), -1);
  } finally {
    await runner.stop();
    db.close();
  }
});

test('verifyByDownload compares the SHA-256 of what the target gives back', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const runner = new BackupRunner({
    queue,
    targets: [{ target: new FolderTarget('nas', { url: ws.share }), verifyByDownload: true }],
    scratchDir: ws.dir,
  });
  try {
    runner.start();
    const item = await runner.enqueue('nas', await ws.local('i.volet', 3000), 'porch/i.volet');
    await runner.whenIdle();
    assert.equal(queue.item(item?.id ?? 0)?.state, 'done');
  } finally {
    await runner.stop();
    db.close();
  }
});

test('a local file deleted before its upload fails for good instead of retrying forever', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const queue = new BackupQueue(db);
  const local = await ws.local('j.volet');
  const item = await queue.enqueue('nas', local, 'porch/j.volet');
  await rm(local);
  const runner = new BackupRunner({ queue, targets: [{ target: new FolderTarget('nas', { url: ws.share }) }] });
  try {
    runner.start();
    await runner.whenIdle();
    assert.equal(queue.item(item.id)?.state, 'failed');
    assert.match(queue.item(item.id)?.lastError ?? '', /no longer exists/);
    assert.equal(runner.status()[0].failedCount, 1);
    assert.equal(runner.status()[0].backlogCount, 0);
  } finally {
    await runner.stop();
    db.close();
  }
});

test('remote retention removes files recorded before the cutoff and stale .part leftovers, and keeps the rest', async () => {
  const ws = await workspace();
  const db = openDatabase(ws.database);
  const now = 1_795_500_000_000;
  const day = 86_400_000;
  const names = {
    old: `porch/old/segment-${now - 40 * day}-${now - 40 * day + 4000}.volet`,
    oldPart: `porch/old/segment-${now - 35 * day}-${now - 35 * day + 4000}.volet.part`,
    recent: `porch/new/segment-${now - day}-${now - day + 4000}.volet`,
    undated: 'notes/readme.volet',
  };
  for (const name of Object.values(names)) {
    await mkdir(join(ws.share, name, '..'), { recursive: true });
    await writeFile(join(ws.share, name), 'x');
  }
  const runner = new BackupRunner({
    queue: new BackupQueue(db, () => now),
    targets: [{ target: new FolderTarget('nas', { url: ws.share }) }],
    now: () => now,
  });
  const result = await runner.pruneRemote('nas', 30 * day);
  assert.deepEqual(result.removed.sort(), [names.old, names.oldPart].sort());
  assert.equal(result.kept, 2, 'the recent file and the undated one (modified just now) stay');
  assert.deepEqual(result.errors, []);
  assert.deepEqual((await runner.pruneRemote('nope', day)).errors, ['no backup target named "nope" is configured']);
  db.close();
});

test('recording times come from the millisecond timestamps in segment names', () => {
  const now = 1_795_500_000_000;
  assert.equal(recordedAtMsFromName('porch/2026-11-22/segment-1795330000000-1795330004000.volet', now), 1_795_330_004_000);
  assert.equal(recordedAtMsFromName('porch/readme.volet', now), undefined);
  assert.equal(recordedAtMsFromName('porch/9999999999999.volet', now), undefined, 'a time in the future is not a recording time');
});
