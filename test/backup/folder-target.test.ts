import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTarget } from '../../src/backup/create-target.ts';
import { BackupQueue } from '../../src/backup/queue.ts';
import { BackupRunner } from '../../src/backup/runner.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { fileSize, waitFor } from '../support/backup-servers/wait.ts';
import { checkRoundTrip, checkUnsafeNamesRejected, writeLocalFile } from './target-contract.ts';

let scratch: string;
let share: string;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'volet-folder-test-'));
  share = join(scratch, 'mnt', 'nas');
  await mkdir(share, { recursive: true });
});

after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('Folder: files round-trip through nested folders byte for byte', async () => {
  await checkRoundTrip(createTarget('nas', { type: 'folder', url: share }), join(scratch, 'round-trip'));
});

test('Folder: a file:// URL works like a path', async () => {
  const folder = createTarget('nas', { type: 'folder', url: `file://${share}` });
  assert.ok(Array.isArray(await folder.list()));
});

test('Folder: unsafe remote names are rejected and nothing is written outside the share', async () => {
  const local = join(scratch, 'unsafe.volet');
  await writeFile(local, 'x');
  await checkUnsafeNamesRejected(createTarget('nas', { type: 'folder', url: share }), local);
  assert.deepEqual((await readdir(join(scratch, 'mnt'))).sort(), ['nas']);
});

test('Folder: an unmounted share is refused instead of filling the empty mount point', async () => {
  const unmounted = join(scratch, 'mnt', 'usb');
  const folder = createTarget('usb', { type: 'folder', url: unmounted });
  const local = join(scratch, 'lonely.volet');
  await writeFile(local, 'x');
  const error = await folder.put('porch/x.volet', local).catch((caught: unknown) => caught);
  assert.ok(error instanceof BackupTargetError);
  assert.equal(error.kind, 'unavailable');
  assert.match(error.message, /^Backup target "usb": folder .* does not exist .* is the share mounted\?/);
  assert.equal(await fileSize(unmounted), -1, 'the mount point was not created');
});

test('Folder: an upload interrupted by shutdown is not done, leaves no final name, and the next runner completes it', async () => {
  const database = join(scratch, 'interrupted', 'volet.sqlite');
  const local = join(scratch, 'interrupted', 'big.volet');
  await writeLocalFile(local, 3 * 1024 * 1024);
  const remoteName = 'porch/2026-11-22/segment-1795330008000-1795330012000.volet';
  const part = join(share, `${remoteName}.part`);

  let db = openDatabase(database);
  const slow = new BackupRunner({
    queue: new BackupQueue(db),
    targets: [{ target: createTarget('nas', { type: 'folder', url: share }), bytesPerSecond: 1024 * 1024 }],
  });
  slow.start();
  const item = await slow.enqueue('nas', local, remoteName);
  assert.ok(item);
  await waitFor('the upload to start', async () => (await fileSize(part)) > 0);
  await slow.stop();
  const queue = new BackupQueue(db);
  assert.equal(queue.item(item.id)?.state, 'queued');
  assert.equal(queue.item(item.id)?.attempts, 0, 'a shutdown is not a failed attempt');
  assert.equal(await fileSize(join(share, remoteName)), -1);
  db.close();

  db = openDatabase(database);
  const next = new BackupRunner({ queue: new BackupQueue(db), targets: [{ target: createTarget('nas', { type: 'folder', url: share }) }] });
  try {
    next.start();
    await waitFor('the upload to complete', () => new BackupQueue(db).item(item.id)?.state === 'done');
    assert.equal(await fileSize(join(share, remoteName)), 3 * 1024 * 1024);
    assert.equal(await fileSize(part), -1);
  } finally {
    await next.stop();
    db.close();
  }
});
