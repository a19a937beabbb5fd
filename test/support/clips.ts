/**
 * Test clips for Volet's integration tests and benchmarks, made with ffmpeg
 * from the shared COCO test images and cached by recipe.
 *
 * Every clip is H.264 (Main profile, yuv420p, no B-frames, one keyframe per
 * second) in Matroska, optionally with a mono AAC track. Clips are written to
 * `os.tmpdir()/volet-test-clips/`, named after a hash of their recipe, so a
 * second run (or a second test file running in parallel) reuses them.
 *
 * The scene is a still bedroom (COCO 000000000632, no people in it). The
 * person is a rectangular crop of the man in `person.jpg`, fully inside the
 * frame whenever it is shown.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when the way clips are made changes, so stale cached clips are not reused. */
const RECIPE_VERSION = 2;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared COCO test images: `<repo>/../shared/testdata/images`. */
export const testImagesDir = resolve(repoRoot, '..', 'shared', 'testdata', 'images');

/** Where generated clips are cached. */
export const clipCacheDir = join(tmpdir(), 'volet-test-clips');

export const BACKGROUND_IMAGE = '000000000632.jpg'; // bedroom, no people
export const PERSON_IMAGE = 'person.jpg';
/** The man in person.jpg (640×424): ffmpeg crop=w:h:x:y. */
export const PERSON_CROP = { width: 88, height: 286, x: 190, y: 92 };

export interface SceneOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** Add a mono 16 kHz AAC track (a quiet 440 Hz tone). Default false. */
  audio?: boolean;
}

export interface Clip {
  path: string;
  width: number;
  height: number;
  fps: number;
  durationSeconds: number;
  audio: boolean;
}

export interface PersonWalkOptions extends SceneOptions {
  /** Seconds of empty room before the person appears. Default 4. */
  emptySeconds?: number;
  /** Seconds the person is in view, moving left to right. Default 6. */
  walkSeconds?: number;
  /** Seconds of empty room after the person has gone. Default 4. */
  tailSeconds?: number;
}

export interface PersonWalkClip extends Clip {
  /** The person is in every frame with start <= t < end (clip time, seconds). */
  personWindow: { start: number; end: number };
  /** The person's size in pixels (the box moves, its size does not). */
  personSize: { width: number; height: number };
}

export interface LightingChangeOptions extends SceneOptions {
  /** Clip length in seconds. Default 8. */
  seconds?: number;
  /** When the brightness jumps, in seconds. Default 3. */
  changeAt?: number;
  /** ffmpeg eq brightness added from changeAt on (-1..1). Default 0.3. */
  brightness?: number;
}

export interface LightingChangeClip extends Clip {
  changeAt: number;
}

export interface StaticOptions extends SceneOptions {
  /** Clip length in seconds. Default 6. */
  seconds?: number;
}

/**
 * An empty room, then a person who appears and slides across it, then the
 * empty room again. Defaults: 640×360 at 10 fps, 4 s + 6 s + 4 s.
 */
export async function personWalkClip(options: PersonWalkOptions = {}): Promise<PersonWalkClip> {
  const scene = sceneDefaults(options);
  const emptySeconds = options.emptySeconds ?? 4;
  const walkSeconds = options.walkSeconds ?? 6;
  const tailSeconds = options.tailSeconds ?? 4;
  const durationSeconds = emptySeconds + walkSeconds + tailSeconds;
  const { width, height } = scene;
  // The person is about two thirds of the frame tall, feet near the bottom.
  const personHeight = even(height * 0.65);
  const personWidth = even((PERSON_CROP.width * personHeight) / PERSON_CROP.height);
  const margin = even(width * 0.05);
  const y = height - personHeight - even(height * 0.04);
  const start = emptySeconds;
  const end = emptySeconds + walkSeconds;
  const travel = width - 2 * margin - personWidth;
  const crop = `crop=${PERSON_CROP.width}:${PERSON_CROP.height}:${PERSON_CROP.x}:${PERSON_CROP.y}`;
  const filter =
    `${backgroundFilter('0:v', width, height)}[bg];` +
    `[1:v]${crop},scale=${personWidth}:${personHeight},setsar=1[person];` +
    `[bg][person]overlay=x='${margin}+${travel}*(t-${start})/${walkSeconds}':y=${y}` +
    `:enable='gte(t,${start})*lt(t,${end})',format=yuv420p[v]`;
  const clip = await makeClip('person-walk', scene, durationSeconds, [BACKGROUND_IMAGE, PERSON_IMAGE], filter);
  return { ...clip, personWindow: { start, end }, personSize: { width: personWidth, height: personHeight } };
}

/** The empty room whose brightness jumps at `changeAt` (a light switched on). No person. */
export async function lightingChangeClip(options: LightingChangeOptions = {}): Promise<LightingChangeClip> {
  const scene = sceneDefaults(options);
  const seconds = options.seconds ?? 8;
  const changeAt = options.changeAt ?? 3;
  const brightness = options.brightness ?? 0.3;
  const filter =
    `${backgroundFilter('0:v', scene.width, scene.height)},` +
    `eq=brightness=${brightness}:enable='gte(t,${changeAt})',format=yuv420p[v]`;
  const clip = await makeClip('lighting-change', scene, seconds, [BACKGROUND_IMAGE], filter);
  return { ...clip, changeAt };
}

/** The empty room, nothing happening (an idle scene). Any size, e.g. 1920×1080 for benchmarks. */
export async function staticClip(options: StaticOptions = {}): Promise<Clip> {
  const scene = sceneDefaults(options);
  const seconds = options.seconds ?? 6;
  const filter = `${backgroundFilter('0:v', scene.width, scene.height)},format=yuv420p[v]`;
  return makeClip('static', scene, seconds, [BACKGROUND_IMAGE], filter);
}

export interface MainAndSubSizes {
  main?: { width?: number; height?: number; fps?: number };
  sub?: { width?: number; height?: number; fps?: number };
}

/**
 * The same scene twice, as a camera's main stream (1920×1080) and sub stream
 * (640×360), both at the recipe's fps unless `sizes` says otherwise. Timing
 * (person window, lighting change) is the same in both. `audio` in the
 * options applies to the main clip only; the sub clip has no audio.
 *
 *   const { main, sub } = await mainAndSub(personWalkClip, { audio: true });
 */
export async function mainAndSub<R extends (options: never) => Promise<Clip>>(
  recipe: R,
  options: Omit<NonNullable<Parameters<R>[0]>, 'width' | 'height'> = {} as Omit<NonNullable<Parameters<R>[0]>, 'width' | 'height'>,
  sizes: MainAndSubSizes = {},
): Promise<{ main: Awaited<ReturnType<R>>; sub: Awaited<ReturnType<R>> }> {
  const run = recipe as unknown as (o: SceneOptions) => Promise<Awaited<ReturnType<R>>>;
  const mainOptions = { ...options, width: 1920, height: 1080, ...sizes.main };
  const subOptions = { ...options, width: 640, height: 360, audio: false, ...sizes.sub };
  // One after the other: the machine is shared, and the sub clip is quick.
  const main = await run(mainOptions);
  const sub = await run(subOptions);
  return { main, sub };
}

/** The same clip as H.265 (libx265 Main profile, same size, fps and keyframes; audio copied), cached beside it. */
export async function h265Clip(source: Clip): Promise<Clip> {
  const path = source.path.replace(/\.mkv$/, '-hevc.mkv');
  if (!(await isNonEmptyFile(path))) {
    const partial = `${path}.partial-${process.pid}-${Math.random().toString(36).slice(2)}.mkv`;
    const keyframeInterval = String(source.fps);
    try {
      await runFfmpeg([
        '-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', source.path,
        '-map', '0:v:0', '-map', '0:a:0?', '-c:a', 'copy',
        '-c:v', 'libx265', '-preset', 'ultrafast', '-profile:v', 'main', '-pix_fmt', 'yuv420p',
        '-x265-params', `log-level=error:keyint=${keyframeInterval}:min-keyint=${keyframeInterval}:scenecut=0:bframes=0`,
        '-f', 'matroska', partial,
      ]);
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }
  return { ...source, path };
}

// ---------------------------------------------------------------------------

/** A clip's format (scenes.ts builds its own filter graphs on it). */
export interface Scene {
  width: number;
  height: number;
  fps: number;
  audio: boolean;
}

export function sceneDefaults(options: SceneOptions): Scene {
  const scene = {
    width: options.width ?? 640,
    height: options.height ?? 360,
    fps: options.fps ?? 10,
    audio: options.audio ?? false,
  };
  if (scene.width % 2 || scene.height % 2) {
    throw new Error(`clip size must be even for yuv420p, got ${scene.width}×${scene.height}`);
  }
  if (!Number.isInteger(scene.fps) || scene.fps <= 0) {
    throw new Error(`clip fps must be a positive integer, got ${scene.fps}`);
  }
  return scene;
}

function even(value: number): number {
  return 2 * Math.round(value / 2);
}

/** A background photo scaled and centre-cropped to fill width×height. */
export function backgroundFilter(input: string, width: number, height: number): string {
  return `[${input}]scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},setsar=1`;
}

const inFlight = new Map<string, Promise<Clip>>();

export function makeClip(kind: string, scene: Scene, seconds: number, images: string[], filter: string): Promise<Clip> {
  const recipe = JSON.stringify({ RECIPE_VERSION, kind, scene, seconds, images, filter });
  const hash = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const name = `${kind}-${scene.width}x${scene.height}-${scene.fps}fps${scene.audio ? '-aac' : ''}-${hash}.mkv`;
  const path = join(clipCacheDir, name);
  const clip: Clip = { path, width: scene.width, height: scene.height, fps: scene.fps, durationSeconds: seconds, audio: scene.audio };
  let pending = inFlight.get(path);
  if (!pending) {
    pending = ensureClip(path, scene, seconds, images, filter).then(() => clip);
    inFlight.set(path, pending);
    pending.catch(() => inFlight.delete(path));
  }
  return pending;
}

async function ensureClip(path: string, scene: Scene, seconds: number, images: string[], filter: string): Promise<void> {
  if (await isNonEmptyFile(path)) return;
  if (!existsSync(testImagesDir)) {
    throw new Error(`test images not found at ${testImagesDir} (expected shared/ beside the repository)`);
  }
  await mkdir(clipCacheDir, { recursive: true });
  // Write under a private name, then rename: parallel test processes never
  // see a half-written clip, and the last one to finish simply wins.
  const partial = `${path}.partial-${process.pid}-${Math.random().toString(36).slice(2)}.mkv`;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  for (const image of images) {
    args.push('-loop', '1', '-framerate', String(scene.fps), '-t', String(seconds), '-i', join(testImagesDir, image));
  }
  if (scene.audio) {
    args.push('-f', 'lavfi', '-t', String(seconds), '-i', 'sine=frequency=440:sample_rate=16000,volume=0.1');
  }
  const keyframeInterval = String(scene.fps); // one keyframe per second
  args.push(
    '-filter_complex', filter,
    '-map', '[v]',
    '-c:v', 'libx264', '-preset', 'veryfast',
    '-profile:v', 'main', '-pix_fmt', 'yuv420p',
    '-g', keyframeInterval, '-keyint_min', keyframeInterval, '-sc_threshold', '0', '-bf', '0',
    '-crf', '26', '-maxrate', `${bitrateKbps(scene)}k`, '-bufsize', `${bitrateKbps(scene)}k`,
    '-r', String(scene.fps),
  );
  if (scene.audio) {
    args.push('-map', String(images.length) + ':a', '-c:a', 'aac', '-b:a', '32k', '-ac', '1');
  }
  args.push('-t', String(seconds), '-f', 'matroska', partial);
  try {
    await runFfmpeg(args);
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** A bit-rate cap that keeps clips small: ~400 kb/s at 640×360, ~2.5 Mb/s at 1080p. */
function bitrateKbps(scene: Scene): number {
  const pixels = scene.width * scene.height;
  return Math.max(200, Math.round((pixels / (640 * 360)) * 300));
}

async function isNonEmptyFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
    });
    child.on('error', (error) => reject(new Error(`cannot run ffmpeg: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`ffmpeg failed (${signal ?? `exit ${code}`}) making a test clip:\n${stderr}\nargs: ${args.join(' ')}`));
    });
  });
}
