/**
 * Checks every backup target must pass, whatever its protocol. Each *-target.test.ts starts its
 * real server on 127.0.0.1 and runs these against the adapter.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { openDatabase } from '../../src/storage/database.ts';
import { BackupQueue } from '../../src/backup/queue.ts';
import { InvalidRemoteNameError } from '../../src/backup/remote-name.ts';
import { BackupRunner } from '../../src/backup/runner.ts';
import { BackupTargetError, type BackupTarget } from '../../src/backup/target.ts';
import { TokenBucket } from '../../src/backup/throttle.ts';
import { waitFor } from '../support/backup-servers/wait.ts';

export const SAMPLE_FILES: Record<string, number> = {
  'porch/2026-11-22/segment-1795330000000-1795330004000.volet': 150_000,
  'porch/2026-11-22/segment-1795330004000-1795330008000.volet': 1,
  'porch/2026-11-23/segment-1795416400000-1795416404000.volet': 70_001,
  'porch/2026-11-23/empty.volet': 0,
  'garden/2026-11-22/segment-1795330000000-1795330004000.volet': 320_000,
};

export async function writeLocalFile(path: string, size: number): Promise<Buffer> {
  const bytes = randomBytes(size);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return bytes;
}

/** put/list/stat/get/remove with a few files in nested folders; bytes must come back identical. */
export async function checkRoundTrip(target: BackupTarget, scratch: string): Promise<void> {
  const originals = new Map<string, Buffer>();
  for (const [name, size] of Object.entries(SAMPLE_FILES)) {
    const local = join(scratch, 'outbox', name);
    originals.set(name, await writeLocalFile(local, size));
    await target.put(name, local);
  }

  const listed = await target.list();
  assert.deepEqual(
    listed.map((file) => [file.name, file.size]),
    Object.entries(SAMPLE_FILES).sort(([a], [b]) => a.localeCompare(b)),
    'list() shows every file with its size and no .part leftovers',
  );
  assert.deepEqual(
    (await target.list('porch/')).map((file) => file.name),
    Object.keys(SAMPLE_FILES).filter((name) => name.startsWith('porch/')).sort(),
  );
  assert.deepEqual(
    (await target.list('porch/2026-11-2')).map((file) => file.name),
    Object.keys(SAMPLE_FILES).filter((name) => name.startsWith('porch/')).sort(),
    'a prefix may end inside a folder name',
  );
  assert.deepEqual(await target.list('nothing-here/'), []);

  const first = 'porch/2026-11-22/segment-1795330000000-1795330004000.volet';
  const info = await target.stat(first);
  assert.equal(info?.name, first);
  assert.equal(info?.size, SAMPLE_FILES[first]);
  assert.equal(await target.stat('porch/2026-11-22/missing.volet'), undefined);
  assert.equal(await target.stat('porch/2026-11-22'), undefined, 'a folder is not a file');

  for (const [name, bytes] of originals) {
    const copy = join(scratch, 'inbox', name);
    await target.get(name, copy);
    assert.ok((await readFile(copy)).equals(bytes), `${name} comes back byte for byte`);
  }

  const replacement = join(scratch, 'outbox', 'replacement.volet');
  const newBytes = await writeLocalFile(replacement, 42_000);
  await target.put(first, replacement);
  await target.get(first, join(scratch, 'inbox', 'replaced.volet'));
  assert.ok((await readFile(join(scratch, 'inbox', 'replaced.volet'))).equals(newBytes), 'a second put replaces the file');

  await target.remove(first);
  await target.remove(first);
  assert.equal(await target.stat(first), undefined);
  assert.equal((await target.list()).length, Object.keys(SAMPLE_FILES).length - 1);
}

/** Names that could leave the base folder or break a line-based protocol never reach the server. */
export async function checkUnsafeNamesRejected(target: BackupTarget, localFile: string): Promise<void> {
  const unsafe = ['../escape.volet', 'porch/../../escape.volet', '/etc/passwd', 'porch\\x.volet', 'porch//x.volet', './x.volet', 'x\r\nDELE y', ''];
  for (const name of unsafe) {
    await assert.rejects(target.put(name, localFile), InvalidRemoteNameError, `put(${JSON.stringify(name)})`);
    await assert.rejects(target.get(name, `${localFile}.copy`), InvalidRemoteNameError);
    await assert.rejects(target.stat(name), InvalidRemoteNameError);
    await assert.rejects(target.remove(name), InvalidRemoteNameError);
  }
  await assert.rejects(target.list('../'), InvalidRemoteNameError);
}

/** A refused login names the target and never quotes the secret. */
export async function checkWrongCredentials(target: BackupTarget, secret: string, kind: BackupTargetError['kind'] = 'auth'): Promise<void> {
  const error = await target.list().then(
    () => assert.fail('listing with wrong credentials succeeded'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof BackupTargetError, `expected a BackupTargetError, got ${String(error)}`);
  assert.equal(error.kind, kind);
  assert.match(error.message, new RegExp(`^Backup target "${target.name}"`));
  assert.ok(!error.message.includes(secret), `the message quotes the secret: ${error.message}`);
  await target.close();
}

export interface InterruptionSetup {
  target: BackupTarget;
  scratch: string;
  /** True once the server has received part of this upload (its .part file on disk, a session chunk …). */
  uploadStarted(remoteName: string): Promise<boolean>;
  /** True if the final name exists on the server's storage. */
  finalExists(remoteName: string): Promise<boolean>;
  stopServer(): Promise<void>;
  restartServer(): Promise<void>;
}

/**
 * The server dies in the middle of a multi-MB upload: nothing is marked done and no file has its
 * final name (a .part at most). Once the server is back, the queue completes by itself.
 */
export async function checkInterruptedUploadCompletesLater(setup: InterruptionSetup): Promise<void> {
  const { target, scratch } = setup;
  const remoteName = 'porch/2026-11-22/segment-1795330008000-1795330012000.volet';
  const local = join(scratch, 'outbox', 'big.volet');
  const bytes = await writeLocalFile(local, 3 * 1024 * 1024);
  const db = openDatabase(join(scratch, 'volet.sqlite'));
  const queue = new BackupQueue(db);
  const runner = new BackupRunner({
    queue,
    targets: [{ target, bytesPerSecond: 1024 * 1024 }],
    backoff: { initialMs: 100, maxMs: 300 },
    pollIntervalMs: 200,
  });
  try {
    runner.start();
    const item = await runner.enqueue(target.name, local, remoteName);
    assert.ok(item);
    await waitFor('the upload to reach the server', () => setup.uploadStarted(remoteName));
    await setup.stopServer();
    await waitFor('the failed attempt to be recorded', () => (queue.item(item.id)?.attempts ?? 0) >= 1);

    const failed = queue.item(item.id);
    assert.notEqual(failed?.state, 'done');
    assert.ok(failed?.lastError, 'the failure is recorded on the row');
    assert.equal(await setup.finalExists(remoteName), false, 'no file has its final name after an interrupted upload');
    const [status] = runner.status();
    assert.equal(status.healthy, false);
    assert.equal(status.backlogCount, 1);
    assert.equal(status.backlogBytes, bytes.length);

    await setup.restartServer();
    await waitFor('the queue to complete after the server came back', () => queue.item(item.id)?.state === 'done', 60_000);
    const copy = join(scratch, 'inbox', 'big.volet');
    await target.get(remoteName, copy);
    assert.ok((await readFile(copy)).equals(bytes));
    assert.equal(runner.status()[0].healthy, true);
    assert.equal(runner.status()[0].backlogCount, 0);
  } finally {
    await runner.stop();
    await target.close();
    db.close();
  }
}

/**
 * An upload aborted through its signal (Volet shutting down) rejects as `aborted`, leaves no final
 * name, and the target stays usable for the next upload.
 */
export async function checkAbortedUploadLeavesNoFinalName(
  setup: Pick<InterruptionSetup, 'target' | 'scratch' | 'uploadStarted' | 'finalExists'>,
): Promise<void> {
  const { target, scratch } = setup;
  const remoteName = 'porch/2026-11-22/aborted-1795330012000.volet';
  const local = join(scratch, 'outbox', 'aborted.volet');
  await writeLocalFile(local, 2 * 1024 * 1024);
  const controller = new AbortController();
  const upload = target.put(remoteName, local, { throttle: new TokenBucket(512 * 1024), signal: controller.signal });
  await waitFor('the upload to reach the server', () => setup.uploadStarted(remoteName));
  controller.abort();
  await assert.rejects(upload, (error: unknown) => error instanceof BackupTargetError && error.kind === 'aborted');
  assert.equal(await setup.finalExists(remoteName), false);
  const small = join(scratch, 'outbox', 'after-abort.volet');
  await writeLocalFile(small, 10);
  await target.put('porch/after-abort.volet', small);
  assert.equal((await target.stat('porch/after-abort.volet'))?.size, 10);
  await target.remove('porch/after-abort.volet');
}
