import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { startInOrder, type Module } from '../../src/app/lifecycle.ts';
import { startVolet } from '../../src/app/start.ts';
import type { VoletConfig } from '../../src/config/schema.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { staticClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { initTestVault, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';

const silent = createLogger('silent');

/** Plain modules that write what happens to them into `log`; `failing` throws from its start (or stop). */
function modules(names: string[], log: string[], failing: { start?: string; stop?: string } = {}): Module[] {
  return names.map((name) => ({
    name,
    start() {
      log.push(`start ${name}`);
      if (name === failing.start) throw new Error(`${name} cannot start`);
    },
    async stop() {
      log.push(`stop ${name}`);
      if (name === failing.stop) throw new Error(`${name} cannot stop`);
    },
  }));
}

test('modules start in order and stop in reverse', async () => {
  const log: string[] = [];
  const running = await startInOrder(modules(['storage', 'cameras', 'web'], log), silent);
  assert.deepEqual(log, ['start storage', 'start cameras', 'start web']);
  await running.stop();
  assert.deepEqual(log.slice(3), ['stop web', 'stop cameras', 'stop storage']);
  await running.stop();
  assert.equal(log.length, 6, 'a second stop stops nothing twice');
});

test('when a module fails to start, exactly those already started are stopped, in reverse, and the original error is rethrown', async () => {
  const log: string[] = [];
  let thrown: unknown;
  await assert.rejects(
    startInOrder(modules(['detector', 'storage', 'cameras', 'web', 'never'], log, { start: 'web' }), silent).catch((err) => {
      thrown = err;
      throw err;
    }),
    /web cannot start/,
  );
  assert.ok(thrown instanceof Error && thrown.message === 'web cannot start');
  assert.deepEqual(log, ['start detector', 'start storage', 'start cameras', 'start web', 'stop cameras', 'stop storage', 'stop detector']);
});

test('a module that fails to stop during the rollback does not keep the others running, and the start error is still the one rethrown', async () => {
  const log: string[] = [];
  await assert.rejects(startInOrder(modules(['storage', 'cameras', 'web'], log, { start: 'web', stop: 'cameras' }), silent), /web cannot start/);
  assert.deepEqual(log, ['start storage', 'start cameras', 'start web', 'stop cameras', 'stop storage']);
});

/** Live ffmpeg processes below this test process (pid and arguments), read from /proc. */
function ffmpegDescendants(): { pid: number; argv: string[] }[] {
  const procs: { pid: number; ppid: number; ffmpeg: boolean; argv: string[] }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      procs.push({ pid: Number(name), ppid: Number(ppid), ffmpeg: state !== 'Z' && /(^|\/)ffmpeg$/.test(argv[0] ?? ''), argv });
    } catch {
      // exited while we looked
    }
  }
  const tree = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (tree.has(p.ppid) && !tree.has(p.pid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  return procs.filter((p) => p.ffmpeg && tree.has(p.pid)).map(({ pid, argv }) => ({ pid, argv }));
}

/** Files under `dir` this process holds open. */
function openFilesUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(dir));
}

/** Starts Volet, checks that the viewer answers and a segment is recorded, stops it. */
async function recordOnce(config: VoletConfig, logger: Logger): Promise<void> {
  const volet = await startVolet(config, logger, { webSecurity: { passwordStrength: 'minimum' } });
  try {
    const health = await fetch(`${volet.web!.url}/healthz`);
    assert.ok(health.status === 200 || health.status === 503, `healthz answers (${health.status})`);
    await waitFor('a recorded segment', () => volet.storage.index.allFiles().some((f) => f.camera === 'porch' && f.kind === 'segment'), 30_000);
  } finally {
    await volet.stop();
  }
}

test('when the web port is taken, startVolet rejects and leaves no recorder, ffmpeg or database open; with a free port it then starts', async () => {
  const clip = await staticClip({ seconds: 4 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path, '/sub': clip.path }, loop: true });
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const takenPort = (squatter.address() as AddressInfo).port;
  const t = tempVoletConfig(
    `web: { host: 127.0.0.1, port: ${takenPort}, https: false }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`,
  );
  try {
    await initTestVault(t.storageDir);
    const spawned: ChildProcess[] = [];
    const onSpawn = (message: unknown) => void spawned.push((message as { process: ChildProcess }).process);
    subscribe('child_process', onSpawn);
    try {
      await assert.rejects(startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } }), /EADDRINUSE/);
      // An ffmpeg spawned after the rollback (a retry timer, a late spawn) would show up meanwhile.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      unsubscribe('child_process', onSpawn);
    }
    assert.deepEqual(ffmpegDescendants(), [], 'no ffmpeg is left running');
    assert.ok(
      spawned.some((child) => child.spawnargs.some((arg) => arg.startsWith(join(t.cacheDir, 'porch')))),
      'the failed start did start the recorder (ffmpeg writing segments into the RAM cache)',
    );
    assert.deepEqual(openFilesUnder(t.storageDir), [], 'the database is closed');
    assert.equal(t.logLines.filter((l) => l.msg === 'stopping a module failed; stopping the others').length, 0);

    await recordOnce({ ...t.config, web: { ...t.config.web, port: 0 } }, t.logger);
    assert.deepEqual(ffmpegDescendants(), [], 'no ffmpeg is left running after a normal stop');
  } finally {
    squatter.close();
    await camera.stop();
    t.cleanup();
  }
});
