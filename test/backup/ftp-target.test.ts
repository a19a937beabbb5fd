import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import { createTarget } from '../../src/backup/create-target.ts';
import { BackupQueue } from '../../src/backup/queue.ts';
import { BackupRunner } from '../../src/backup/runner.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { fileSize, waitFor } from '../support/backup-servers/wait.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { startFtpServer, type FtpTestServer } from '../support/backup-servers/ftp-server.ts';
import { checkAbortedUploadLeavesNoFinalName, checkInterruptedUploadCompletesLater, checkRoundTrip, checkUnsafeNamesRejected, checkWrongCredentials } from './target-contract.ts';

const PASSWORD = 'p@ss:w/rd secret';
const userInfo = `volet:${encodeURIComponent(PASSWORD)}`;

describe('FTP', () => {
  let scratch: string;
  let root: string;
  let server: FtpTestServer;
  const target = (password = PASSWORD) =>
    createTarget('nas', { type: 'ftp', url: `ftp://volet:${encodeURIComponent(password)}@127.0.0.1:${server.port}/volet` });

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'volet-ftp-test-'));
    root = join(scratch, 'server');
    await mkdir(root);
    server = await startFtpServer({ root, username: 'volet', password: PASSWORD });
  });
  after(async () => {
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test('files round-trip through nested folders byte for byte on one reused connection', async () => {
    const ftp = target();
    try {
      await checkRoundTrip(ftp, join(scratch, 'round-trip'));
    } finally {
      await ftp.close();
    }
  });

  test('unsafe remote names (traversal, CR/LF command injection) are rejected', async () => {
    const ftp = target();
    const local = join(scratch, 'unsafe.volet');
    await writeFile(local, 'x');
    try {
      await checkUnsafeNamesRejected(ftp, local);
    } finally {
      await ftp.close();
    }
  });

  test('a wrong password is refused with the target named and the password nowhere', async () => {
    await checkWrongCredentials(target('wrong-ftp-password'), 'wrong-ftp-password');
  });

  test('a refused login reaches the log, the row and the status, never with the password', async () => {
    const wrong = 'wrong-but-secret-pw';
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('debug', sink);
    const db = openDatabase(join(scratch, 'log-check.sqlite'));
    const queue = new BackupQueue(db);
    const runner = new BackupRunner({ queue, targets: [{ target: target(wrong) }], logger, backoff: { initialMs: 60_000 } });
    try {
      runner.start();
      const local = join(scratch, 'log-check.volet');
      await writeFile(local, 'x');
      const item = await runner.enqueue('nas', local, 'porch/log-check.volet');
      await waitFor('the refused attempt', () => (queue.item(item?.id ?? 0)?.attempts ?? 0) >= 1);
      const row = queue.item(item?.id ?? 0);
      const [status] = runner.status();
      assert.match(row?.lastError ?? '', /530 Login incorrect/);
      assert.match(status.lastError ?? '', /^Backup target "nas"/);
      assert.ok(lines.some((line) => line.includes('530 Login incorrect')));
      for (const text of [...lines, row?.lastError ?? '', status.lastError ?? '']) {
        assert.ok(!text.includes(wrong) && !text.includes(encodeURIComponent(wrong)), text);
      }
      assert.equal(status.retryAtMs !== null && status.retryAtMs - Date.now() > 30 * 60_000, true, 'a refused login waits the longest');
    } finally {
      await runner.stop();
      db.close();
    }
  });

  test('an aborted upload rejects as aborted, leaves no final name, and the next upload reconnects', async () => {
    const ftp = target();
    try {
      await checkAbortedUploadLeavesNoFinalName({
        target: ftp,
        scratch: join(scratch, 'aborted'),
        uploadStarted: async (name) => (await fileSize(join(root, 'volet', `${name}.part`))) > 0,
        finalExists: async (name) => (await fileSize(join(root, 'volet', name))) >= 0,
      });
    } finally {
      await ftp.close();
    }
  });

  test('an upload cut off by a server crash is never marked done and completes after restart', async () => {
    await checkInterruptedUploadCompletesLater({
      target: target(),
      scratch: join(scratch, 'interrupted'),
      uploadStarted: async (name) => (await fileSize(join(root, 'volet', `${name}.part`))) > 256 * 1024,
      finalExists: async (name) => (await fileSize(join(root, 'volet', name))) >= 0,
      stopServer: () => server.stop(),
      restartServer: () => server.restart(),
    });
  });
});

describe('FTPS (explicit TLS)', () => {
  let scratch: string;
  let server: FtpTestServer;
  const url = () => `ftp://${userInfo}@127.0.0.1:${server.port}/volet`;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'volet-ftps-test-'));
    await mkdir(join(scratch, 'server'));
    server = await startFtpServer({ root: join(scratch, 'server'), username: 'volet', password: PASSWORD, tls: true });
  });
  after(async () => {
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  test('a self-signed certificate pinned by fingerprint is accepted and files round-trip', async () => {
    const ftps = createTarget('nas', { type: 'ftps', url: url(), certificateSha256: server.certificateSha256 });
    try {
      await checkRoundTrip(ftps, join(scratch, 'round-trip'));
    } finally {
      await ftps.close();
    }
  });

  test('an untrusted certificate is refused before the password is sent, with its fingerprint to pin', async () => {
    const ftps = createTarget('nas', { type: 'ftps', url: url() });
    const error = await ftps.list().catch((caught: unknown) => caught);
    assert.ok(error instanceof BackupTargetError);
    assert.equal(error.kind, 'tls');
    assert.ok(error.message.includes(`certificateSha256: "${server.certificateSha256}"`), error.message);
    assert.ok(!error.message.includes(PASSWORD));
    await ftps.close();
  });

  test('a certificate other than the pinned one is refused', async () => {
    const wrongPin = 'AB:'.repeat(31) + 'AB';
    const ftps = createTarget('nas', { type: 'ftps', url: url(), certificateSha256: wrongPin });
    await assert.rejects(ftps.list(), (error: unknown) => error instanceof BackupTargetError && error.kind === 'tls');
    await ftps.close();
  });

  test('insecure accepts any certificate', async () => {
    const ftps = createTarget('nas', { type: 'ftps', url: url(), insecure: true });
    try {
      assert.ok(Array.isArray(await ftps.list()));
    } finally {
      await ftps.close();
    }
  });
});
