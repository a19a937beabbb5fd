import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTarget } from '../../src/backup/create-target.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { startWebdavServer, type WebdavTestServer } from '../support/backup-servers/webdav-server.ts';
import { fileSize } from '../support/backup-servers/wait.ts';
import { checkAbortedUploadLeavesNoFinalName, checkInterruptedUploadCompletesLater, checkRoundTrip, checkUnsafeNamesRejected, checkWrongCredentials } from './target-contract.ts';

const PASSWORD = 'dav-secret-Ünïcode';
let scratch: string;
let root: string;
let server: WebdavTestServer;

const target = (password = PASSWORD, path = '/volet%20backups') =>
  createTarget('cloud', { type: 'webdav', url: `webdav://volet@127.0.0.1:${server.port}${path}`, password });

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'volet-webdav-test-'));
  root = join(scratch, 'server');
  await mkdir(join(root, 'volet backups'), { recursive: true });
  server = await startWebdavServer({ root, username: 'volet', password: PASSWORD });
});

after(async () => {
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
});

test('WebDAV: files round-trip through nested folders byte for byte (PUT, MOVE, PROPFIND, GET, DELETE)', async () => {
  await checkRoundTrip(target(), join(scratch, 'round-trip'));
});

test('WebDAV: http(s):// URLs with credentials in them work too', async () => {
  const dav = createTarget('cloud', {
    type: 'webdav',
    url: `http://volet:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}/volet%20backups/`,
  });
  assert.ok(Array.isArray(await dav.list()));
});

test('WebDAV: unsafe remote names are rejected', async () => {
  const local = join(scratch, 'unsafe.volet');
  await writeFile(local, 'x');
  await checkUnsafeNamesRejected(target(), local);
});

test('WebDAV: a wrong password is refused with the target named and the password nowhere', async () => {
  await checkWrongCredentials(target('wrong-dav-password'), 'wrong-dav-password');
});

test('WebDAV: a base collection that does not exist is reported as such', async () => {
  const local = join(scratch, 'lonely.volet');
  await writeFile(local, 'x');
  const error = await target(PASSWORD, '/missing').put('porch/x.volet', local).catch((caught: unknown) => caught);
  assert.ok(error instanceof BackupTargetError);
  assert.match(error.message, /does not exist on the server/);
});

test('WebDAV: an aborted upload rejects as aborted and leaves no final name', async () => {
  const base = join(root, 'volet backups');
  await checkAbortedUploadLeavesNoFinalName({
    target: target(),
    scratch: join(scratch, 'aborted'),
    uploadStarted: async (name) => (await fileSize(join(base, `${name}.part`))) > 0,
    finalExists: async (name) => (await fileSize(join(base, name))) >= 0,
  });
});

test('WebDAV: an upload cut off by a server crash is never marked done and completes after restart', async () => {
  const base = join(root, 'volet backups');
  await checkInterruptedUploadCompletesLater({
    target: target(),
    scratch: join(scratch, 'interrupted'),
    uploadStarted: async (name) => (await fileSize(join(base, `${name}.part`))) > 256 * 1024,
    finalExists: async (name) => (await fileSize(join(base, name))) >= 0,
    stopServer: () => server.stop(),
    restartServer: () => server.restart(),
  });
});
