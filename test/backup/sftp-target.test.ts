import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { createTarget } from '../../src/backup/create-target.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { startSftpServer, type SftpTestServer } from '../support/backup-servers/sftp-server.ts';
import { fileSize } from '../support/backup-servers/wait.ts';
import { checkAbortedUploadLeavesNoFinalName, checkInterruptedUploadCompletesLater, checkRoundTrip, checkUnsafeNamesRejected, checkWrongCredentials } from './target-contract.ts';

const PASSWORD = 'correct horse battery staple';
let scratch: string;
let root: string;
let server: SftpTestServer;
const clientKey = ssh2.utils.generateKeyPairSync('ed25519');

const target = (overrides: Record<string, unknown> = {}) =>
  createTarget('offsite', {
    type: 'sftp',
    url: `sftp://volet@127.0.0.1:${server.port}/backups`,
    password: PASSWORD,
    hostKeySha256: server.hostKeySha256,
    ...overrides,
  });

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'volet-sftp-test-'));
  root = join(scratch, 'server');
  await mkdir(root);
  server = await startSftpServer({ root, username: 'volet', password: PASSWORD, authorizedKey: clientKey.public });
});

after(async () => {
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
});

test('SFTP: files round-trip through nested folders byte for byte', async () => {
  const sftp = target();
  try {
    await checkRoundTrip(sftp, join(scratch, 'round-trip'));
  } finally {
    await sftp.close();
  }
});

test('SFTP: unsafe remote names are rejected before anything is sent', async () => {
  const sftp = target();
  const local = join(scratch, 'unsafe.volet');
  await writeFile(local, 'x');
  try {
    await checkUnsafeNamesRejected(sftp, local);
  } finally {
    await sftp.close();
  }
});

test('SFTP: a wrong password is refused with the target named and the password nowhere', async () => {
  await checkWrongCredentials(target({ password: 'not-the-password' }), 'not-the-password');
});

test('SFTP: a private key file logs in without a password', async () => {
  const keyPath = join(scratch, 'id_ed25519');
  await writeFile(keyPath, clientKey.private, { mode: 0o600 });
  const sftp = target({ password: undefined, privateKeyPath: keyPath });
  const local = join(scratch, 'keyed.volet');
  await writeFile(local, 'signed in with a key');
  try {
    await sftp.put('keyed/keyed.volet', local);
    assert.equal((await sftp.stat('keyed/keyed.volet'))?.size, 20);
  } finally {
    await sftp.close();
  }
});

test('SFTP: a private key file that cannot be read is reported with its path', async () => {
  const sftp = target({ password: undefined, privateKeyPath: join(scratch, 'no-such-key') });
  await assert.rejects(sftp.list(), (error: unknown) => error instanceof BackupTargetError && error.kind === 'auth' && /no-such-key/.test(error.message));
});

test('SFTP: a host key that does not match the pinned one is refused before logging in', async () => {
  const wrongPin = 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU';
  const sftp = target({ hostKeySha256: wrongPin });
  const error = await sftp.list().catch((caught: unknown) => caught);
  assert.ok(error instanceof BackupTargetError);
  assert.equal(error.kind, 'host-key');
  assert.match(error.message, /^Backup target "offsite": refusing to connect .* host key mismatch/);
  assert.ok(error.message.includes(server.hostKeySha256), 'the presented fingerprint is shown');
  assert.ok(!error.message.includes(PASSWORD));
  await sftp.close();
});

test('SFTP: without a pinned host key nothing connects, and the fingerprint to pin is printed', async () => {
  const sftp = target({ hostKeySha256: undefined });
  const error = await sftp.list().catch((caught: unknown) => caught);
  assert.ok(error instanceof BackupTargetError);
  assert.equal(error.kind, 'host-key');
  assert.ok(error.message.includes(`hostKeySha256: "${server.hostKeySha256}"`), error.message);
  await sftp.close();
});

test('SFTP: a pinned key is accepted with or without the SHA256: prefix and padding', async () => {
  const sftp = target({ hostKeySha256: `${server.hostKeySha256.replace('SHA256:', '')}=` });
  try {
    assert.ok(Array.isArray(await sftp.list()));
  } finally {
    await sftp.close();
  }
});

test('SFTP: an aborted upload rejects as aborted and leaves no final name', async () => {
  const sftp = target();
  try {
    await checkAbortedUploadLeavesNoFinalName({
      target: sftp,
      scratch: join(scratch, 'aborted'),
      uploadStarted: async (name) => (await fileSize(join(root, 'backups', `${name}.part`))) > 0,
      finalExists: async (name) => (await fileSize(join(root, 'backups', name))) >= 0,
    });
  } finally {
    await sftp.close();
  }
});

test('SFTP: an upload cut off by a server crash is never marked done and completes after restart', async () => {
  await checkInterruptedUploadCompletesLater({
    target: target(),
    scratch: join(scratch, 'interrupted'),
    uploadStarted: async (name) => (await fileSize(join(root, 'backups', `${name}.part`))) > 256 * 1024,
    finalExists: async (name) => (await fileSize(join(root, 'backups', name))) >= 0,
    stopServer: () => server.stop(),
    restartServer: () => server.restart(),
  });
});
