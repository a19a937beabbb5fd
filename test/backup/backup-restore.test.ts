import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { restoreFromTarget } from '../../src/app/restore.ts';
import { startVolet } from '../../src/app/start.ts';
import { createTarget } from '../../src/backup/create-target.ts';
import { exportClip } from '../../src/record/export.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { Vault } from '../../src/vault/vault.ts';
import { startDropboxServer } from '../support/backup-servers/dropbox-server.ts';
import { startFtpServer } from '../support/backup-servers/ftp-server.ts';
import { startSftpServer } from '../support/backup-servers/sftp-server.ts';
import { startWebdavServer } from '../support/backup-servers/webdav-server.ts';
import { mainAndSub, personWalkClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { filesUnder, initTestVault, scanForPlaintext, tempVoletConfig, TEST_PASSPHRASE, waitFor } from '../support/volet-fixture.ts';

const run = promisify(execFile);

test('record → back up to FTP, SFTP, WebDAV and Dropbox → wipe → restore from each → the export plays; targets hold only ciphertext', async () => {
  const roots = Object.fromEntries(['ftp', 'sftp', 'webdav', 'dropbox'].map((k) => [k, mkdtempSync(join(tmpdir(), `volet-${k}-`))]));
  for (const root of Object.values(roots)) mkdirSync(join(root, 'volet'), { recursive: true });
  const ftp = await startFtpServer({ root: roots.ftp, username: 'volet', password: 'ftp-pass' });
  const sftp = await startSftpServer({ root: roots.sftp, username: 'volet', password: 'sftp-pass' });
  const webdav = await startWebdavServer({ root: roots.webdav, username: 'volet', password: 'dav-pass' });
  const dropbox = await startDropboxServer({ root: roots.dropbox, appKey: 'app-key', refreshToken: 'refresh-token' });
  const targets = {
    ftp: { type: 'ftp' as const, url: `ftp://volet@127.0.0.1:${ftp.port}/volet`, password: 'ftp-pass' },
    sftp: { type: 'sftp' as const, url: `sftp://volet@127.0.0.1:${sftp.port}/volet`, password: 'sftp-pass', hostKeySha256: sftp.hostKeySha256 },
    webdav: { type: 'webdav' as const, url: `http://127.0.0.1:${webdav.port}/volet`, username: 'volet', password: 'dav-pass' },
    dropbox: { type: 'dropbox' as const, url: 'dropbox:///volet', appKey: 'app-key', refreshToken: 'refresh-token', apiBaseUrl: dropbox.apiBaseUrl, contentBaseUrl: dropbox.contentBaseUrl },
  };
  const { main, sub } = await mainAndSub(personWalkClip, { audio: true, emptySeconds: 2, walkSeconds: 4, tailSeconds: 2 }, { main: { width: 640, height: 360 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const t = tempVoletConfig(`cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`);
  const config = {
    ...t.config,
    backup: {
      indexExportMinutes: 60,
      targets: Object.fromEntries(
        Object.entries(targets).map(([name, cfg], i) => [name, { ...cfg, what: i % 2 === 0 ? ('everything' as const) : ('events' as const), retentionDays: 90, concurrency: 1, bytesPerSecond: 0, verifyByDownload: false }]),
      ),
    },
  } as typeof t.config;
  await initTestVault(t.storageDir);
  const volet = await startVolet(config, t.logger, { web: false });
  let segments: number;
  try {
    await waitFor('an ended event and 5 segments', () => volet.storage.index.allFiles().filter((f) => f.kind === 'segment').length >= 5 && volet.storage.index.events().some((e) => e.endMs !== null), 90_000);
    await waitFor('the event files', () => volet.storage.index.allFiles().some((f) => f.kind === 'snapshot'), 20_000);
    await volet.backup!.shipKeyAndIndex();
    await waitFor('every upload', async () => {
      await volet.backup!.runner.whenIdle();
      return volet.backup!.status().every((s) => s.backlogCount === 0);
    }, 60_000);
    segments = volet.storage.index.allFiles().filter((f) => f.kind === 'segment').length;
  } finally {
    await volet.stop();
    await camera.stop();
  }
  try {
    for (const [name, root] of Object.entries(roots)) {
      assert.ok(filesUnder(root).length > 3, `${name} received files`);
      assert.deepEqual(scanForPlaintext(root), [], `${name} holds only ciphertext`);
    }
    rmSync(t.storageDir, { recursive: true, force: true });

    for (const [name, cfg] of Object.entries(targets)) {
      const target = createTarget(name, cfg);
      const dir = join(t.dir, `restored-${name}`);
      try {
        const report = await restoreFromTarget(target, dir, TEST_PASSPHRASE);
        assert.deepEqual(report.quarantined, [], `${name}: every file authenticates`);
        assert.ok(report.events >= 1, `${name}: the event is back`);
      } finally {
        await target.close();
      }
      const index = new StorageIndex(openDatabase(join(dir, 'volet.db')));
      const restored = index.allFiles().filter((f) => f.kind === 'segment');
      if (config.backup.targets[name].what === 'everything') assert.ok(restored.length >= segments - 1, `${name}: all segments restored (${restored.length}/${segments})`);
      assert.ok(restored.length > 0, `${name}: segments restored`);
      const vault = await Vault.open(dir);
      await vault.unlock(TEST_PASSPHRASE);
      const out = join(t.dir, `${name}.mp4`);
      await exportClip(dir, index, vault, { camera: 'porch', fromMs: restored[0].startMs, toMs: restored.at(-1)!.endMs, out });
      vault.lock();
      const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', out]);
      assert.match(stdout, /h264/, `${name}: the restored export plays`);
    }
  } finally {
    await Promise.all([ftp.stop(), sftp.stop(), webdav.stop(), dropbox.stop()]);
    t.cleanup();
    for (const root of Object.values(roots)) rmSync(root, { recursive: true, force: true });
  }
});
