import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawn } from 'node:child_process';
import { startVolet } from '../../src/app/start.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { StorageIndex } from '../../src/storage/storage-index.ts';
import { recoverStorage } from '../../src/storage/recovery.ts';
import { exportClip } from '../../src/record/export.ts';
import { decryptFileToBuffer } from '../../src/vault/files.ts';
import { Vault } from '../../src/vault/vault.ts';
import { mainAndSub, personWalkClip, staticClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { filesUnder, initTestVault, repoRoot, scanForPlaintext, tempVoletConfig, TEST_PASSPHRASE, waitFor } from '../support/volet-fixture.ts';

const run = promisify(execFile);

async function ffprobe(path: string): Promise<{ duration: number; codecs: string[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=codec_name', '-of', 'json', path]);
  const info = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_name: string }[] };
  return { duration: Number(info.format.duration), codecs: info.streams.map((s) => s.codec_name) };
}

test('recording round trip: encrypted segments and event files, exported to a playable MP4, nothing readable at rest', async () => {
  const { main, sub } = await mainAndSub(personWalkClip, { audio: true, emptySeconds: 3, walkSeconds: 5, tailSeconds: 3 }, { main: { width: 1280, height: 720 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const t = tempVoletConfig(
    `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { web: false });
  try {
    await waitFor('an event and 6 stored segments', () => volet.storage.index.allFiles().filter((f) => f.kind === 'segment').length >= 6 && volet.storage.index.events().some((e) => e.endMs !== null), 90_000);
    await waitFor('the event files', () => volet.storage.index.allFiles().some((f) => f.kind === 'snapshot'), 20_000);
  } finally {
    await volet.stop();
    await camera.stop();
  }
  try {
    assert.deepEqual(filesUnder(t.cacheDir), [], 'no plaintext is left in the RAM cache');
    const leaks = scanForPlaintext(t.storageDir);
    assert.deepEqual(leaks, [], 'the storage directory holds no readable footage, image or label');

    const index = new StorageIndex(openDatabase(join(t.storageDir, 'volet.db')));
    const segments = index.allFiles().filter((f) => f.kind === 'segment');
    const vault = await Vault.open(t.storageDir);
    await vault.unlock(TEST_PASSPHRASE);
    const out = join(t.dir, 'clip.mp4');
    const result = await exportClip(t.storageDir, index, vault, { camera: 'porch', fromMs: segments[0].startMs, toMs: segments.at(-1)!.endMs, out });
    assert.equal(result.segments, segments.length);
    const probe = await ffprobe(out);
    assert.deepEqual(probe.codecs.sort(), ['aac', 'h264'], 'video is stream-copied and audio kept');
    const recorded = (segments.at(-1)!.endMs - segments[0].startMs) / 1000;
    assert.ok(Math.abs(probe.duration - recorded) < 2.5, `MP4 lasts ${probe.duration} s for ${recorded} s of segments`);

    const [event] = index.events();
    const metadata = index.filesOfEvent(event.id).find((f) => f.kind === 'metadata');
    assert.ok(metadata, 'the event has sealed metadata');
    const meta = JSON.parse((await decryptFileToBuffer(join(t.storageDir, metadata.name), vault)).toString('utf8'));
    assert.equal(meta.label, 'person');
    const snapshot = index.filesOfEvent(event.id).find((f) => f.kind === 'snapshot');
    assert.ok(snapshot, 'the event has a sealed snapshot');
    const jpeg = await decryptFileToBuffer(join(t.storageDir, snapshot.name), vault);
    assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    vault.lock();
  } finally {
    t.cleanup();
  }
});

test('kill -9 while recording: every finished segment survives, decrypts and is indexed; no temp file remains', async () => {
  const clip = await staticClip({ seconds: 6, audio: true });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true });
  const t = tempVoletConfig(`cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: continuous }\n`);
  await initTestVault(t.storageDir);
  const configPath = join(t.dir, 'volet.yml');
  writeFileSync(
    configPath,
    `storage: { path: ${t.storageDir}, cachePath: ${t.cacheDir}, segmentSeconds: 2, retention: { minFreeGb: 0, minFreePercent: 0 } }\n` +
      `detector: { model: ${t.config.detector.model}, threads: 1 }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: continuous }\n`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), '-c', configPath, 'run'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const stored = () => filesUnder(t.storageDir).filter((f) => f.endsWith('.volet'));
  try {
    await waitFor('3 stored segments', () => stored().length >= 3, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; volet stderr: ${stderr}`);
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const finished = stored();

    const index = new StorageIndex(openDatabase(join(t.storageDir, 'volet.db')));
    const report = await recoverStorage(t.storageDir, index);
    assert.deepEqual(report.quarantined, []);
    assert.ok(!filesUnder(t.storageDir).some((f) => f.endsWith('.tmp')), 'no orphan temp files remain');
    const vault = await Vault.open(t.storageDir);
    await vault.unlock(TEST_PASSPHRASE);
    for (const file of finished) {
      const name = file.slice(t.storageDir.length + 1);
      assert.ok(index.file(name), `${name} is indexed`);
      const plaintext = await decryptFileToBuffer(file, vault);
      assert.equal(plaintext[0], 0x47, `${name} decrypts to MPEG-TS`);
    }
    vault.lock();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await camera.stop();
    t.cleanup();
  }
});

test('events mode keeps only the footage around events, with pre-roll from RAM', async () => {
  const { main, sub } = await mainAndSub(personWalkClip, { emptySeconds: 8, walkSeconds: 4, tailSeconds: 8 }, { main: { width: 640, height: 360 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path } });
  const t = tempVoletConfig(
    `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: events, preRollSeconds: 2, postRollSeconds: 1 }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { web: false });
  try {
    await waitFor('the event to end', () => volet.storage.index.events().some((e) => e.endMs !== null), 60_000);
    await waitFor('the clip to end', () => volet.pipelines.get('porch')!.supervisor.status.state === 'backoff', 30_000);
  } finally {
    await volet.stop();
    await camera.stop();
  }
  try {
    const index = new StorageIndex(openDatabase(join(t.storageDir, 'volet.db')));
    const [event] = index.events();
    const segments = index.allFiles().filter((f) => f.kind === 'segment');
    assert.ok(segments.length > 0, 'segments around the event were stored');
    // Segment times come from ffmpeg's segment list anchored on the wall clock: about a second exact.
    assert.ok(segments[0].startMs <= event.startMs + 1000, `pre-roll: stored footage covers the event's start: ${JSON.stringify({ event: [event.startMs, event.endMs], segments: segments.map((x) => [x.startMs - event.startMs, x.endMs - event.startMs]) })}`);
    const stored = (segments.at(-1)!.endMs - segments[0].startMs) / 1000;
    assert.ok(stored < 14, `only the event's footage is stored (${stored} s of a 20 s clip)`);
    assert.ok(segments.every((s) => s.endMs >= event.startMs - 2000 - 2000 && s.startMs <= event.endMs! + 1000 + 2000));
  } finally {
    t.cleanup();
  }
});

test('a plaintext cache on a disk is refused before anything records', async () => {
  const t = tempVoletConfig(`cameras:\n  porch:\n    main: rtsp://127.0.0.1:9/none\n`);
  await initTestVault(t.storageDir);
  const config = { ...t.config, storage: { ...t.config.storage, cachePath: join(t.dir, 'cache-on-disk') } };
  try {
    await assert.rejects(startVolet(config, t.logger, { web: false }), /not a RAM filesystem/);
    assert.equal(existsSync(join(t.dir, 'cache-on-disk')), true);
    assert.deepEqual(filesUnder(join(t.dir, 'cache-on-disk')), []);
  } finally {
    t.cleanup();
  }
});
