import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startVolet } from '../src/app/start.ts';
import { decodeToRawFrames, recordSegments, type FfmpegCommand } from '../src/camera/ffmpeg.ts';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log/logger.ts';
import { Vault } from '../src/vault/vault.ts';
import { mainAndSub, personWalkClip, staticClip } from '../test/support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../test/support/rtsp-camera.ts';
import { measureTree, percentile, processTree } from './proc-usage.ts';

const FPS = 5;
const WARMUP_S = 8;

/** `npm run bench -- pipeline [--cameras 1,4,8|none] [--seconds 30] [--latency-cameras 4] [--latency-seconds 70]` */
export async function benchPipeline(args: string[]): Promise<void> {
  const opt = (name: string, fallback: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  const cameraList = opt('cameras', '1,4,8');
  const counts = cameraList === 'none' ? [] : cameraList.split(',').map(Number);
  const seconds = Number(opt('seconds', '30'));
  const models = join(import.meta.dirname, '../../shared/models');
  const idle = await mainAndSub(staticClip, { seconds: 10, audio: true }, { main: { fps: 15 }, sub: { fps: 15 } });
  const walk = await mainAndSub(personWalkClip, { emptySeconds: 3, walkSeconds: 4, tailSeconds: 7 }, { main: { fps: 15 }, sub: { fps: 15 } });

  if (counts.length > 0) {
    process.stdout.write(`Idle scene, 1920×1080 main + 640×360 sub at 15 fps, detect at ${FPS} fps, record mode events. ${seconds} s windows after ${WARMUP_S} s warm-up.\n\n`);
    process.stdout.write(
      '| cameras | RTSP sessions per camera | Volet CPU % | floor CPU % | ratio | Volet RSS MB | per camera MB | Volet PSS MB | Node MB | ffmpeg MB each | frames read | dropped |\n' +
        '|---|---|---|---|---|---|---|---|---|---|---|---|\n',
    );
  }
  for (const n of counts) {
    const camera = await startRtspCamera({ mounts: mountsFor(n, idle.main.path, idle.sub.path), loop: true });
    try {
      const volet = await runVolet(camera, n, models, seconds);
      const floor = await runFloor(camera, n, seconds);
      process.stdout.write(
        `| ${n} | ${volet.sessionsPerCamera} | ${volet.cpuPercent.toFixed(1)} | ${floor.toFixed(1)} | ${(volet.cpuPercent / floor).toFixed(2)} | ` +
          `${mb(volet.rssBytes)} | ${mb(volet.rssBytes / n)} | ${mb(volet.rss.voletPss)} | ${mb(volet.rss.node)} | ${mb(volet.rss.ffmpegEach)} | ` +
          `${volet.framesRead} | ${volet.framesDropped} |\n`,
      );
    } finally {
      await camera.stop();
    }
  }

  const latencyCameras = Number(opt('latency-cameras', '4'));
  if (latencyCameras === 0) return;
  const latencySeconds = Number(opt('latency-seconds', '70'));
  const camera = await startRtspCamera({ mounts: mountsFor(latencyCameras, walk.main.path, walk.sub.path), loop: true });
  try {
    const latencies = await measureLatency(camera, latencyCameras, models, latencySeconds);
    process.stdout.write(
      `\nMotion → event:start latency, ${latencyCameras} cameras with a person walking in every ${walk.sub.durationSeconds} s, ${latencies.length} events: ` +
        `p50 ${percentile(latencies, 50).toFixed(0)} ms, p95 ${percentile(latencies, 95).toFixed(0)} ms\n`,
    );
  } finally {
    await camera.stop();
  }
}

function mountsFor(n: number, main: string, sub: string): Record<string, string> {
  const mounts: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    mounts[`/c${i}/main`] = main;
    mounts[`/c${i}/sub`] = sub;
  }
  return mounts;
}

function benchConfig(camera: RtspCamera, n: number, models: string, dir: string, cache: string) {
  const cameras = Array.from({ length: n }, (_, i) => `  c${i}:\n    main: ${camera.url(`/c${i}/main`)}\n    sub: ${camera.url(`/c${i}/sub`)}\n    detect: { fps: ${FPS} }\n`).join('');
  return parseConfig(
    `storage: { path: ${dir}, cachePath: ${cache}, retention: { minFreeGb: 0, minFreePercent: 0 } }\n` +
      `detector: { model: ${join(models, 'yolox_nano_dynamic.onnx')}, threads: 1 }\ncameras:\n${cameras}`,
    'bench.yml',
    {},
  );
}

async function withVolet<T>(camera: RtspCamera, n: number, models: string, body: (volet: Awaited<ReturnType<typeof startVolet>>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync('/tmp/volet-bench-');
  const cache = mkdtempSync('/dev/shm/volet-bench-');
  await Vault.init(dir, 'benchmark passphrase', { limits: { opslimit: 1, memlimit: 8 * 1024 * 1024 } });
  const silent = createLogger('error', new Writable({ write: (_c, _e, done) => done() }));
  const volet = await startVolet(benchConfig(camera, n, models, dir, cache), silent, { web: false });
  try {
    return await body(volet);
  } finally {
    await volet.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
}

async function runVolet(camera: RtspCamera, n: number, models: string, seconds: number) {
  return withVolet(camera, n, models, async (volet) => {
    await sleep(WARMUP_S * 1000);
    const before = totals(volet);
    const usage = await measureTree(process.pid, seconds, camera.pid);
    const rss = rssBreakdown(camera.pid);
    const after = totals(volet);
    const sessionsPerCamera = (sessionsOn(camera, '/main') + sessionsOn(camera, '/sub')) / n;
    return { ...usage, rss, sessionsPerCamera, framesRead: after.read - before.read, framesDropped: after.dropped - before.dropped };
  });
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Proportional set size: shared pages (ffmpeg's libraries) divided between the processes mapping them. */
function pssOf(pid: number): number {
  try {
    return Number(/Pss:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/**
 * Where Volet's RSS sits (the test RTSP server left out): Node itself, the mean ffmpeg, and
 * Volet's PSS (RSS counts the libraries every ffmpeg maps once per process).
 */
function rssBreakdown(serverPid: number) {
  const serverPids = new Set(processTree(serverPid));
  const voletPss = processTree(process.pid).filter((pid) => !serverPids.has(pid)).reduce((sum, pid) => sum + pssOf(pid), 0);
  const ffmpegs = processTree(process.pid).filter((pid) => commandOf(pid) === 'ffmpeg').map(rssOf);
  const ffmpegEach = ffmpegs.length > 0 ? ffmpegs.reduce((a, b) => a + b, 0) / ffmpegs.length : 0;
  return { node: rssOf(process.pid), ffmpegEach, voletPss };
}

function totals(volet: Awaited<ReturnType<typeof startVolet>>) {
  let read = 0;
  let dropped = 0;
  for (const p of volet.pipelines.values()) {
    read += p.supervisor.status.framesRead;
    dropped += p.supervisor.status.framesDropped;
  }
  return { read, dropped };
}

/** The ffmpeg work Volet cannot avoid, without Node: decode each sub stream, stream-copy each main stream. */
async function runFloor(camera: RtspCamera, n: number, seconds: number): Promise<number> {
  const cache = mkdtempSync('/dev/shm/volet-floor-');
  const builders: (() => FfmpegCommand)[] = [];
  for (let i = 0; i < n; i++) {
    builders.push(() => decodeToRawFrames(camera.url(`/c${i}/sub`), { fps: FPS, width: 640, height: 360, frames: discard() }));
    builders.push(() => recordSegments(camera.url(`/c${i}/main`), { segmentSeconds: 4, outputPattern: join(cache, `c${i}-${Date.now()}-%06d.ts`) }));
  }
  // Like Volet's supervisors, restart an ffmpeg that exits (the test server refuses some of many simultaneous connects).
  let stopping = false;
  const running = new Set<FfmpegCommand>();
  const keep = (build: () => FfmpegCommand) => {
    const command = build();
    running.add(command);
    const again = () => {
      running.delete(command);
      if (!stopping) setTimeout(() => keep(build), 1000);
    };
    command.on('error', again);
    command.on('end', again);
    command.run();
  };
  builders.forEach(keep);
  try {
    await sleep(WARMUP_S * 1000);
    return (await measureTree(process.pid, seconds, camera.pid)).cpuPercent;
  } finally {
    stopping = true;
    for (const c of running) c.kill('SIGKILL');
    await sleep(500);
    rmSync(cache, { recursive: true, force: true });
  }
}

async function measureLatency(camera: RtspCamera, n: number, models: string, seconds: number): Promise<number[]> {
  return withVolet(camera, n, models, async (volet) => {
    const latencies: number[] = [];
    const motionStart = new Map<string, number>();
    volet.bus.on('motion', (m) => {
      if (!motionStart.has(m.camera)) motionStart.set(m.camera, m.at);
    });
    volet.bus.on('event:start', (e) => {
      const start = motionStart.get(e.camera);
      if (start !== undefined) latencies.push(Date.now() - start);
    });
    volet.bus.on('event:end', (e) => motionStart.delete(e.camera));
    await sleep(seconds * 1000);
    return latencies;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** RTSP sessions the test server holds now on every mount ending in `suffix`, from its log. */
function sessionsOn(camera: RtspCamera, suffix: string): number {
  const active = new Map<string, number>();
  for (const line of camera.logs().split('\n')) {
    const m = /(\/\S+): client stream.*\((\d+) active\)/.exec(line);
    if (m && m[1].endsWith(suffix)) active.set(m[1], Number(m[2]));
  }
  return [...active.values()].reduce((a, b) => a + b, 0);
}

/** A sink for the floor's decoded frames. */
function discard(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
