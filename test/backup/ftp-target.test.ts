import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTarget } from '../../src/backup/create-target.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { startFtpServer, type FtpTestServer } from '../support/backup-servers/ftp-server.ts';
import { fileSize } from '../support/backup-servers/wait.ts';
import { checkInterruptedUploadCompletesLater, checkRoundTrip, checkUnsafeNamesRejected, checkWrongCredentials } from './target-contract.ts';

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

  test('an upload cut off by a server crash is never marked done and completes after restart', async () => {
    const remoteName = 'porch/2026-11-22/segment-1795330008000-1795330012000.volet';
    await checkInterruptedUploadCompletesLater({
      target: target(),
      scratch: join(scratch, 'interrupted'),
      uploadStarted: async () => (await fileSize(join(root, 'volet', `${remoteName}.part`))) > 256 * 1024,
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
