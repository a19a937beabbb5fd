import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTarget } from '../../src/backup/create-target.ts';
import { DropboxTarget } from '../../src/backup/dropbox-target.ts';
import { FolderTarget } from '../../src/backup/folder-target.ts';
import { FtpTarget } from '../../src/backup/ftp-target.ts';
import { parseUnixListDate } from '../../src/backup/ftp-list-date.ts';
import { SftpTarget } from '../../src/backup/sftp-target.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { WebdavTarget } from '../../src/backup/webdav-target.ts';

test('each type builds its adapter', () => {
  assert.ok(createTarget('a', { type: 'folder', url: '/mnt/nas' }) instanceof FolderTarget);
  assert.ok(createTarget('b', { type: 'ftp', url: 'ftp://u:p@nas/volet' }) instanceof FtpTarget);
  assert.ok(createTarget('c', { type: 'ftps', url: 'ftp://u:p@nas/volet' }) instanceof FtpTarget);
  assert.ok(createTarget('d', { type: 'sftp', url: 'sftp://u@nas/volet', password: 'p' }) instanceof SftpTarget);
  assert.ok(createTarget('e', { type: 'webdav', url: 'webdavs://u:p@nas/dav' }) instanceof WebdavTarget);
  assert.ok(createTarget('f', { type: 'dropbox', url: 'dropbox:///Volet', appKey: 'k', refreshToken: 't' }) instanceof DropboxTarget);
});

test('a bad configuration names the target and the key, never the secret', () => {
  assert.throws(
    () => createTarget('box', { type: 'dropbox', url: 'dropbox:///', appKey: '', refreshToken: 'very-secret-token' }),
    (error: unknown) =>
      error instanceof BackupTargetError &&
      /^Backup target "box": invalid configuration: appKey/.test(error.message) &&
      !error.message.includes('very-secret-token'),
  );
  assert.throws(
    () => createTarget('nas', { type: 'ftp', url: 'ftp://user:hunter22@[bad' }),
    (error: unknown) => error instanceof BackupTargetError && !error.message.includes('hunter22'),
  );
  assert.throws(() => createTarget('nas', { type: 'sftp', url: 'ftp://u@nas/x' }), /expected an sftp:\/\/ URL/);
});

test('FTP LIST dates: recent ones carry a time and belong to the last six months', () => {
  const now = Date.UTC(2026, 0, 10, 12, 0);
  assert.equal(parseUnixListDate('Jan  9 08:30', now), Date.UTC(2026, 0, 9, 8, 30));
  assert.equal(parseUnixListDate('Dec 30 23:59', now), Date.UTC(2025, 11, 30, 23, 59));
  assert.equal(parseUnixListDate('Nov 22  2024', now), Date.UTC(2024, 10, 22));
  assert.equal(parseUnixListDate('2026-01-09 08:30', now), undefined);
});
