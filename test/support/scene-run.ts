/**
 * Plays evaluation scenes (scenes.ts) through Volet's real detection pipeline, as Volet runs a
 * camera: the config comes from parseConfig (every default applies), each scene is a camera whose
 * main URL is its clip as file:/// (played in real time, in a loop), one detector and one
 * DetectScheduler are shared by the cameras, and each camera is a CameraPipeline on its own
 * EventBus. Also runs the raw detector on every frame of a clip, and matches events to the truth.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { detectorOptions } from '../../src/app/start.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { VoletConfig } from '../../src/config/schema.ts';
import { createDetector, type Detection, type ObjectDetector } from '../../src/detect/detector.ts';
import { EventBus } from '../../src/events/bus.ts';
import { iou, type Box } from '../../src/geometry/box.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { CameraPipeline } from '../../src/pipeline/camera-pipeline.ts';
import { DetectScheduler } from '../../src/pipeline/detect-scheduler.ts';
import { boxInFrame, visibleShare, type EvalScene, type ObjectTruth, type SceneObject } from './scenes.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCENE_MODEL = resolve(repoRoot, '..', 'shared', 'models', 'yolox_nano_dynamic.onnx');

/** An event as seen during one play, in clip seconds. */
export interface PlayedEvent {
  id: string;
  label: string;
  score: number;
  /** The first detection of its track. */
  start: number;
  /** The clip time of the newest frame when event:start was emitted (what a notification waits for). */
  emittedAt: number;
  /** Last detection of its track (the end of the play when it was still tracked). */
  end: number;
  startBox: Box;
  endBox: Box;
}

export interface ScenePlay {
  scene: EvalScene;
  events: PlayedEvent[];
  /** The tracks the pipeline showed its observer (face recognition's view), by id, with their label. */
  observed: Map<string, string>;
  framesRead: number;
  framesDropped: number;
  wallSeconds: number;
}

/** The scenes as Volet cameras: every default, the dynamic model, the clips as file:/// main URLs. */
export function scenesConfig(scenes: EvalScene[], modelPath = SCENE_MODEL): VoletConfig {
  const cameras = scenes.map((s) => `  ${s.name}:\n    main: ${JSON.stringify(pathToFileURL(s.clip.path).href)}\n`).join('');
  return parseConfig(`detector: { model: ${JSON.stringify(modelPath)} }\ncameras:\n${cameras}`, 'scenes.yml', {});
}

export class ScenePlayer {
  private constructor(
    readonly config: VoletConfig,
    readonly detector: ObjectDetector,
    private readonly scheduler: DetectScheduler,
    private readonly logger: Logger,
  ) {}

  /** One detector and scheduler for all the scenes, as Volet has for all its cameras. */
  static async open(scenes: EvalScene[], modelPath = SCENE_MODEL): Promise<ScenePlayer> {
    const config = scenesConfig(scenes, modelPath);
    const logger = createLogger('error', process.stderr);
    const detector = await createDetector(detectorOptions(config, {}));
    const scheduler = new DetectScheduler(detector, (camera, err) => logger.error({ camera, err: (err as Error).message }, 'detection failed'));
    return new ScenePlayer(config, detector, scheduler, logger);
  }

  /** Plays the scene's clip once through a CameraPipeline and collects its events. */
  async play(scene: EvalScene): Promise<ScenePlay> {
    const camera = this.config.cameras[scene.name];
    if (!camera) throw new Error(`scene "${scene.name}" is not one of the player's cameras`);
    const bus = new EventBus();
    const input = this.detector.inputSizeFor(camera.detect.width, camera.detect.height);
    const observed = new Map<string, string>();
    const pipeline = new CameraPipeline({
      name: scene.name,
      camera,
      defaultObjects: this.config.detector.labels,
      scheduler: this.scheduler,
      regionMinSide: Math.max(input.width, input.height),
      bus,
      logger: this.logger,
      observer: {
        seen: (sighting) => {
          if (collecting) observed.set(sighting.trackId, sighting.label);
        },
        ended: async () => undefined,
      },
    });
    const fps = camera.detect.fps;
    const totalFrames = Math.round(scene.seconds * fps);
    const clock = new FrameClock(fps, scene.seconds);
    const events = new Map<string, PlayedEvent>();
    let collecting = true;
    let playedOnce!: () => void;
    const done = new Promise<void>((r) => (playedOnce = r));
    // Before the pipeline's own listener: the frame that starts the second loop is not counted.
    pipeline.supervisor.prependListener('frame', (frame) => {
      if (clock.frames < totalFrames) clock.add(frame.timestamp);
      else if (collecting) {
        collecting = false;
        playedOnce();
      }
    });
    bus.on('event:start', (e) => {
      if (!collecting) return;
      const emittedAt = clock.now();
      events.set(e.id, { id: e.id, label: e.label, score: e.score, start: clock.at(e.start), emittedAt, end: emittedAt, startBox: e.box, endBox: e.box });
    });
    bus.on('event:end', (e) => {
      const played = events.get(e.id);
      if (!played) return;
      played.end = clock.at(e.end);
      played.endBox = e.box;
      played.score = e.score;
    });
    const began = Date.now();
    pipeline.start();
    const limitMs = (scene.seconds + 60) * 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const { state, lastError, framesRead } = pipeline.supervisor.status;
            reject(new Error(`scene "${scene.name}" did not play once in ${limitMs / 1000} s (camera ${state}, ${framesRead} frames, ${lastError ?? 'no error'})`));
          }, limitMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await pipeline.stop();
    }
    const { framesDropped } = pipeline.supervisor.status;
    return { scene, events: [...events.values()], observed, framesRead: clock.frames, framesDropped, wallSeconds: (Date.now() - began) / 1000 };
  }

  async close(): Promise<void> {
    await this.scheduler.close();
    await this.detector.close();
  }
}

/** Clip time of the pipeline's frames: frame i of the decoded stream is clip second i / fps. */
class FrameClock {
  private readonly arrivals: number[] = [];
  private readonly indexOf = new Map<number, number>();

  constructor(
    private readonly fps: number,
    private readonly seconds: number,
  ) {}

  get frames(): number {
    return this.arrivals.length;
  }

  add(timestamp: number): void {
    if (!this.indexOf.has(timestamp)) this.indexOf.set(timestamp, this.arrivals.length);
    this.arrivals.push(timestamp);
  }

  /** The newest frame's clip time. */
  now(): number {
    return Math.max(0, this.arrivals.length - 1) / this.fps;
  }

  /** The clip time of a frame timestamp (the nearest frame's for a time that is none). */
  at(timestamp: number): number {
    let index = this.indexOf.get(timestamp);
    if (index === undefined) {
      index = 0;
      for (let i = 0; i < this.arrivals.length; i++) if (Math.abs(this.arrivals[i] - timestamp) < Math.abs(this.arrivals[index] - timestamp)) index = i;
    }
    return Math.min(index / this.fps, this.seconds);
  }
}

/** Detections of the raw detector on one decoded frame. */
export interface RawFrame {
  t: number;
  detections: Detection[];
}

/** The raw detector (whole frame, no motion, no tracking) on every frame of the clip at `fps`. */
export async function detectEveryFrame(scene: EvalScene, detector: ObjectDetector, fps: number): Promise<RawFrame[]> {
  const { width, height, path } = scene.clip;
  const size = (width * height * 3) / 2;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', path, '-vf', `fps=${fps}`, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'];
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  const frames: RawFrame[] = [];
  let pending = Buffer.alloc(0);
  try {
    for await (const chunk of child.stdout) {
      pending = Buffer.concat([pending, chunk as Buffer]);
      while (pending.length >= size) {
        const data = pending.subarray(0, size);
        pending = pending.subarray(size);
        frames.push({ t: frames.length / fps, detections: await detector.detectYuv420({ data, width, height }) });
      }
    }
  } finally {
    child.kill('SIGKILL');
  }
  const code = await exited;
  if (code !== 0 && code !== null) throw new Error(`ffmpeg could not decode ${path}: ${stderr}`);
  return frames;
}

/** How the raw detector sees one scene object on the frames where at least 90 % of it shows. */
export interface RawObjectReport {
  object: SceneObject;
  frames: number;
  /** Frames with a detection on it (IoU ≥ MATCH_IOU): of its own label for an event, of any label for a distractor. */
  hits: number;
  scores: number[];
  labels: Record<string, number>;
}

export const MATCH_IOU = 0.3;

export function rawReport(scene: EvalScene, frames: RawFrame[]): RawObjectReport[] {
  return scene.objects.map((object) => {
    const report: RawObjectReport = { object, frames: 0, hits: 0, scores: [], labels: {} };
    for (const { t, detections } of frames) {
      if (visibleShare(scene, object, t) < 0.9) continue;
      report.frames++;
      const box = boxInFrame(object, t);
      const on = detections
        .filter((d) => (object.kind === 'event' ? d.label === object.label : true) && iou(toBox(d.box), box) >= MATCH_IOU)
        .sort((a, b) => b.score - a.score)[0];
      if (!on) continue;
      report.hits++;
      report.scores.push(on.score);
      report.labels[on.label] = (report.labels[on.label] ?? 0) + 1;
    }
    return report;
  });
}

export type Verdict =
  /** The first event on a real object of its label. */
  | 'true'
  /** A further event on a real object that already had one (a split track). */
  | 'split'
  /** On a distractor, on nothing, or with the wrong label. */
  | 'false';

export interface JudgedEvent {
  event: PlayedEvent;
  verdict: Verdict;
  /** The object it is on (any label), if any. */
  on?: ObjectTruth;
}

export interface SceneJudgement {
  events: JudgedEvent[];
  missed: ObjectTruth[];
}

/**
 * Matches each event to the scene object of the same label whose box it overlaps best (IoU ≥ 0.3,
 * see overlapDuring) while the object is in view.
 * The first event on a real object is true, later ones on it are splits; any other event is false.
 */
export function judgeEvents(scene: EvalScene, events: PlayedEvent[]): SceneJudgement {
  const found = new Set<ObjectTruth>();
  const judged = [...events]
    .sort((a, b) => a.emittedAt - b.emittedAt)
    .map((event): JudgedEvent => {
      const overlaps = scene.truth
        .map((truth) => ({ truth, overlap: overlapDuring(truth, event) }))
        .filter((o) => o.overlap >= MATCH_IOU)
        .sort((a, b) => b.overlap - a.overlap);
      const best = overlaps.find((o) => o.truth.object.label === event.label) ?? overlaps[0];
      if (!best || best.truth.object.label !== event.label || best.truth.object.kind !== 'event') return { event, verdict: 'false', on: best?.truth };
      const verdict = found.has(best.truth) ? 'split' : 'true';
      found.add(best.truth);
      return { event, verdict, on: best.truth };
    });
  const missed = scene.truth.filter((t) => t.object.kind === 'event' && !found.has(t));
  return { events: judged, missed };
}

/**
 * Best IoU of the event's boxes with the object at the frames they come from: its first box (the
 * one at event:start) with the object between the track's first detection and event:start, its
 * last box with the object at the track's last detection.
 */
function overlapDuring(truth: ObjectTruth, event: PlayedEvent): number {
  const atStart = bestIou(truth, event.startBox, event.start, event.emittedAt);
  const atEnd = bestIou(truth, event.endBox, event.end - 0.2, event.end);
  return Math.max(atStart, atEnd);
}

function bestIou(truth: ObjectTruth, box: Box, from: number, to: number): number {
  let best = 0;
  for (let t = Math.max(from, truth.inView.start); t <= Math.min(to, truth.inView.end) + 1e-9; t += 0.1) best = Math.max(best, iou(box, boxInFrame(truth.object, t)));
  return best;
}

function toBox(box: Detection['box']): Box {
  return { x: box[0], y: box[1], width: box[2] - box[0], height: box[3] - box[1] };
}
