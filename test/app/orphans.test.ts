import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { GUARDED_FFMPEG } from '../../src/process/child-lifetime.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { PasswordHasher } from '../../src/web/auth/password.ts';
import { UserRepository } from '../../src/web/auth/users.ts';
import { staticClip } from '../support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../support/rtsp-camera.ts';
import { filesUnder, initTestVault, repoRoot, sharedModelsDir, waitFor } from '../support/volet-fixture.ts';
import { Client } from '../web/support.ts';

const ADMIN = { username: 'owner', password: 'owner password 123' };

let camera: RtspCamera;
before(async () => {
  const clip = await staticClip({ seconds: 6 });
  camera = await startRtspCamera({ mounts: { '/main': clip.path, '/sub': clip.path }, loop: true });
});
after(() => camera.stop());

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  startTime: string;
  argv: string[];
}

/** Every process on the machine, read from /proc (independently of src/process/). */
function processes(): Proc[] {
  const procs: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
      procs.push({ pid: Number(name), state: fields[0], ppid: Number(fields[1]), startTime: fields[19], argv });
    } catch {
      // exited while we looked
    }
  }
  return procs;
}

const isFfmpeg = (p: Proc) => p.state !== 'Z' && p.argv[0] !== undefined && /(^|\/)ffmpeg$/.test(p.argv[0]);

function ffmpegDescendantsOf(root: number): Proc[] {
  const all = processes();
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!tree.has(p.ppid) || tree.has(p.pid)) continue;
      tree.add(p.pid);
      grew = true;
    }
  }
  return all.filter((p) => tree.has(p.pid) && isFfmpeg(p));
}

/** ffmpeg processes that read this test's camera or write into this instance's RAM cache, whoever their parent is now. */
function ffmpegsOfInstance(cacheDir: string, known: Proc[]): Proc[] {
  const cameraAddress = `127.0.0.1:${camera.port}/`;
  return processes().filter(
    (p) =>
      isFfmpeg(p) &&
      (known.some((k) => k.pid === p.pid && k.startTime === p.startTime) || p.argv.some((a) => a.includes(cameraAddress) || a.startsWith(cacheDir))),
  );
}

/** Paths and sizes of everything in the RAM cache. */
function cacheContents(cacheDir: string): string[] {
  return filesUnder(cacheDir)
    .map((f) => {
      try {
        return `${f} ${statSync(f).size}`;
      } catch {
        return `${f} gone`;
      }
    })
    .sort();
}

interface Instance {
  dir: string;
  storageDir: string;
  cacheDir: string;
  configPath: string;
  cleanup(): void;
}

/** A storage dir with a vault and an administrator, and a volet.yml recording the test camera continuously. */
async function prepareInstance(): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), 'volet-orphans-'));
  const cacheDir = mkdtempSync('/dev/shm/volet-orphans-');
  const storageDir = join(dir, 'storage');
  await initTestVault(storageDir);
  const db = openDatabase(join(storageDir, 'volet.db'));
  new UserRepository(db).create({ ...ADMIN, passwordHash: await new PasswordHasher('minimum').hash(ADMIN.password), admin: true, grants: {} });
  db.close();
  const configPath = join(dir, 'volet.yml');
  writeFileSync(
    configPath,
    `storage:\n  path: ${storageDir}\n  cachePath: ${cacheDir}\n  segmentSeconds: 2\n  retention: { minFreeGb: 0, minFreePercent: 0 }\n` +
      `detector:\n  model: ${join(sharedModelsDir, 'yolox_nano_dynamic.onnx')}\n  threads: 1\n` +
      `web: { host: 127.0.0.1, port: 0, https: false }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`,
  );
  return {
    dir,
    storageDir,
    cacheDir,
    configPath,
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
      rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}

interface RunningCli {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The real `volet run`, as its own process (node itself, no shell in between). */
function startVoletRun(configPath: string): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--config', configPath, 'run'], {
    cwd: repoRoot,
    env: { ...process.env, VOLET_MODELS_DIR: sharedModelsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

const isRunning = (p: Proc) => processes().some((q) => q.pid === p.pid && q.startTime === p.startTime && q.state !== 'Z');

test('after kill -9 of Volet, none of its ffmpeg processes (detection, recording, MPEG-1 live view) survives 5 s, and nothing new reaches its RAM cache', async (t) => {
  const instance = await prepareInstance();
  const volet = startVoletRun(instance.configPath);
  let live: WebSocket | undefined;
  try {
    await waitFor('the viewer URL', () => /Viewer: (http:\/\/\S+)/.test(volet.output()), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${volet.output().slice(-3000)}`);
    });
    const url = /Viewer: (http:\/\/\S+)/.exec(volet.output())![1];
    const client = new Client(url);
    assert.equal((await client.login(ADMIN.username, ADMIN.password)).status, 200);
    // The fMP4 live view shares the recording's connection; the MPEG-1 fallback has an ffmpeg of its own.
    live = new WebSocket(`${url.replace('http', 'ws')}/ws/mpeg1/porch`, { headers: { cookie: client.cookie!, origin: url } });
    let liveBytes = 0;
    live.on('message', (data, isBinary) => isBinary && (liveBytes += (data as Buffer).length));
    live.on('error', () => {});

    await waitFor('live video', () => liveBytes > 0, 60_000);
    await waitFor('a segment in the RAM cache', () => filesUnder(instance.cacheDir).some((f) => f.endsWith('.ts')), 60_000);
    await waitFor('three ffmpeg children (detection, recording, MPEG-1 live view)', () => ffmpegDescendantsOf(volet.child.pid!).length >= 3, 30_000);
    const children = ffmpegDescendantsOf(volet.child.pid!);
    assert.ok(children.some((p) => p.argv.some((a) => a.startsWith(instance.cacheDir))), 'the recording ffmpeg is among them');

    volet.child.kill('SIGKILL');
    await volet.exited;
    const killedAt = Date.now();
    const survivors = () => ffmpegsOfInstance(instance.cacheDir, children);
    await waitFor('no ffmpeg of the killed Volet left', () => survivors().length === 0, 5000).catch(() => {
      const left = survivors().map((p) => `${p.pid} (parent ${p.ppid}, state ${processes().find((q) => q.pid === p.pid)?.state}): ${p.argv.join(' ')}`);
      assert.fail(`still running ${((Date.now() - killedAt) / 1000).toFixed(1)} s after kill -9:\n${left.join('\n')}`);
    });
    t.diagnostic(`${children.length} ffmpeg processes gone ${Date.now() - killedAt} ms after kill -9`);

    const cacheAfterKill = cacheContents(instance.cacheDir);
    await new Promise((r) => setTimeout(r, 5000)); // more than two segment lengths
    assert.deepEqual(cacheContents(instance.cacheDir), cacheAfterKill, 'nothing new was written into the RAM cache');
  } finally {
    live?.terminate();
    if (volet.child.exitCode === null && volet.child.signalCode === null) volet.child.kill('SIGKILL');
    for (const p of ffmpegsOfInstance(instance.cacheDir, [])) process.kill(p.pid, 'SIGKILL'); // only when the test failed
    instance.cleanup();
  }
});

test('a fresh start kills the ffmpeg a previous instance left running (its death signal could not fire) before any camera starts, and removes its plaintext segments', async () => {
  const instance = await prepareInstance();
  // The previous instance: it claims the storage directory as Volet does, then starts a recording
  // ffmpeg directly, as an older Volet without the death-signal guard did. Then it is killed.
  const script = `
    import { spawn } from 'node:child_process';
    import { Writable } from 'node:stream';
    import { claimInstance } from './src/process/instance.ts';
    import { createLogger } from './src/log/logger.ts';
    await claimInstance(${JSON.stringify(instance.storageDir)}, createLogger('info', new Writable({ write: (_c, _e, done) => done() })));
    const ffmpeg = spawn('ffmpeg', ['-nostdin', '-loglevel', 'error', '-rtsp_transport', 'tcp', '-i', ${JSON.stringify(camera.url('/main'))},
      '-c', 'copy', '-f', 'segment', '-segment_time', '1', '-segment_format', 'mpegts', '-reset_timestamps', '1',
      ${JSON.stringify(join(instance.cacheDir, 'oldcam', `${Date.now()}-%06d.ts`))}], { stdio: 'ignore' });
    console.log('FFMPEG', ffmpeg.pid);
    setInterval(() => {}, 1000);
  `;
  mkdirSync(join(instance.cacheDir, 'oldcam'));
  const previous = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let previousOut = '';
  previous.stdout!.on('data', (d) => (previousOut += d));
  previous.stderr!.on('data', (d) => (previousOut += d));
  let volet: RunningCli | undefined;
  let leftover: Proc | undefined;
  try {
    await waitFor('the previous instance to start ffmpeg', () => /FFMPEG (\d+)/.test(previousOut), 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${previousOut}`);
    });
    const pid = Number(/FFMPEG (\d+)/.exec(previousOut)![1]);
    leftover = processes().find((p) => p.pid === pid);
    assert.ok(leftover && isFfmpeg(leftover), 'the previous instance runs ffmpeg');
    await waitFor('its segments in the RAM cache', () => readdirSync(join(instance.cacheDir, 'oldcam')).length >= 2, 30_000);
    previous.kill('SIGKILL');
    await new Promise((r) => previous.once('exit', r));
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(isRunning(leftover), 'the simulation is honest: the leftover ffmpeg outlived its Volet');

    volet = startVoletRun(instance.configPath);
    await waitFor('volet started', () => volet!.output().includes('"msg":"volet started"'), 90_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${volet!.output().slice(-3000)}`);
    });
    assert.ok(!isRunning(leftover), 'the leftover ffmpeg was killed');
    const lines = volet.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const reaped = lines.findIndex((l) => l.msg === 'killed a process left running by a previous Volet' && l.pid === pid);
    const firstCamera = lines.findIndex((l) => l.msg === 'camera:status');
    assert.ok(reaped >= 0, `the kill is logged\n${volet.output().slice(-3000)}`);
    assert.ok(firstCamera > reaped, 'the leftover was killed before any camera started');
    assert.ok(lines.some((l) => l.msg === 'removed plaintext segments left in the RAM cache' && Number(l.count) >= 2), 'its segments were counted and removed');
    assert.deepEqual(filesUnder(instance.cacheDir).filter((f) => f.includes('/oldcam/')), [], 'no plaintext of the previous instance is left in RAM');

    volet.child.kill('SIGTERM');
    assert.equal(await volet.exited, 0, volet.output().slice(-2000));
  } finally {
    if (previous.exitCode === null && previous.signalCode === null) previous.kill('SIGKILL');
    if (leftover && isRunning(leftover)) process.kill(leftover.pid, 'SIGKILL');
    if (volet && volet.child.exitCode === null && volet.child.signalCode === null) volet.child.kill('SIGKILL');
    instance.cleanup();
  }
});

test('the guarded ffmpeg never starts once the Volet that spawned it is gone (a death before the signal was armed)', async () => {
  // A Volet that dies between fork and the arming of the death signal leaves its child to another
  // parent: the guard then sees a parent that is not the Volet named in VOLET_OWNER.
  const gone = spawn('true');
  await new Promise((r) => gone.once('exit', r));
  const child = spawn(GUARDED_FFMPEG, ['-nostdin', '-f', 'lavfi', '-i', 'testsrc=rate=5', '-f', 'null', '-'], {
    env: { ...process.env, VOLET_OWNER: `${gone.pid}:1` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const endless = setTimeout(() => child.kill('SIGKILL'), 3000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(endless);
  assert.equal(code, 1, 'it exits at once instead of running the endless input');
  assert.match(stderr, /Volet \(pid \d+\) is gone: not starting ffmpeg/);

  const armed = spawn(GUARDED_FFMPEG, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let version = '';
  armed.stdout!.on('data', (d) => (version += d));
  assert.equal(await new Promise((resolve) => armed.once('exit', resolve)), 0, 'with its real parent it runs ffmpeg');
  assert.match(version, /^ffmpeg version/);
});
