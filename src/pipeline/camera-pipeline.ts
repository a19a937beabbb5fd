import { randomUUID } from 'node:crypto';
import type { HwAccel } from '../camera/ffmpeg.ts';
import { CameraSupervisor, type Frame, type SupervisorOptions } from '../camera/supervisor.ts';
import type { CameraConfig } from '../config/schema.ts';
import type { Detection } from '../detect/detector.ts';
import type { EventBus, ObjectEvent } from '../events/bus.ts';
import type { Box } from '../geometry/box.ts';
import type { Logger } from '../log/logger.ts';
import type { Polygon } from '../geometry/polygon.ts';
import { MotionDetector } from '../motion/detector.ts';
import { EventGate } from '../objects/event-gate.ts';
import { rejectDetection, resolveLabelFilters, type LabelFilter, type LabelSetting } from '../objects/label-filters.ts';
import { ObjectTracker, type TrackerUpdate } from '../track/tracker.ts';
import type { Track } from '../track/track.ts';
import type { DetectScheduler } from './detect-scheduler.ts';
import { detectionRegions } from './regions.ts';
import { encodeSnapshot, type Yuv420Image } from './snapshot.ts';

export interface CameraPipelineOptions {
  name: string;
  camera: CameraConfig;
  /** Labels to track when the camera does not list its own objects. */
  defaultObjects: Record<string, LabelSetting>;
  /** Masks users added from the viewer ("not a dog"), per label, beside the configured ones. */
  labelMasks?: { masksFor(camera: string): ReadonlyMap<string, readonly Polygon[]> };
  scheduler: DetectScheduler;
  /** The detector's input side: detection regions are never smaller. */
  regionMinSide: number;
  bus: EventBus;
  logger: Logger;
  /** Where frames come from (default: the sub stream, else the main stream, by URL). */
  source?: SupervisorOptions['source'];
  /** Hardware decoding and extra input options for this camera's decoder. */
  ffmpeg?: { hwaccel?: HwAccel; inputArgs?: string[] };
  /** The sub stream's live view, from the decoder's connection (see CameraSupervisor). */
  liveSocket?: string;
  /** While objects are tracked, the whole frame is searched at least this often (stationary objects). */
  fullFrameIntervalMs?: number;
  /** Detections needed before a track becomes an event. */
  minHits?: number;
  maxLostMs?: number;
  /** Another module looking closer at tracked objects (face recognition); the pipeline knows nothing of what it does. */
  observer?: TrackObserver;
}

/** An event's track detected in a frame. `frame.data` is the camera's buffer: reused once `seen` returns. */
export interface TrackSighting {
  camera: string;
  trackId: string;
  label: string;
  box: Box;
  frame: Yuv420Image;
  at: number;
}

export interface TrackObserver {
  /**
   * Called synchronously for every track that is an event (it passed the event gate), in each frame
   * it is detected in: a face on a statue or a poster is never looked at.
   */
  seen(sighting: TrackSighting): void;
  /** The track ended: what to add to its event (awaited with the snapshot; undefined for a track that made no event). */
  ended(trackId: string): Promise<Pick<ObjectEvent, 'face'> | undefined>;
}

/** A track's best view so far: its own copy, as the camera's frame buffers are reused. */
interface BestFrame {
  frame: Yuv420Image;
  box: Box;
  score: number;
}

/**
 * One camera: frames → motion → detection regions → shared detector → label filters → tracker →
 * event gate → events on the bus.
 */
export class CameraPipeline {
  readonly supervisor: CameraSupervisor;
  private readonly motion: MotionDetector;
  private readonly tracker: ObjectTracker;
  private readonly gate: EventGate;
  private readonly filters: Record<string, LabelFilter>;
  private readonly best = new Map<string, BestFrame>();
  private lastFullFrameAt = 0;
  private lastFrameAt = 0;
  /** The tracker needs non-decreasing time; a late detection result for an older frame is ignored. */
  private trackerClock = 0;
  private pendingSnapshots = new Set<Promise<void>>();

  constructor(private readonly opts: CameraPipelineOptions) {
    const { camera, name } = opts;
    this.filters = resolveLabelFilters(camera.objects ?? opts.defaultObjects);
    this.gate = new EventGate({ threshold: (label) => this.filters[label]?.threshold });
    this.supervisor = new CameraSupervisor({
      camera: name,
      source: opts.source ?? (() => camera.sub ?? camera.main),
      hwaccel: opts.ffmpeg?.hwaccel,
      inputArgs: opts.ffmpeg?.inputArgs,
      liveSocket: opts.liveSocket,
      fps: camera.detect.fps,
      width: camera.detect.width,
      height: camera.detect.height,
      stallSeconds: camera.detect.stallSeconds,
      logger: opts.logger,
    });
    // Motion runs on a frame at most 160 px wide (as Frigate does at ~100 px high): cheap enough to run on every frame.
    this.motion = new MotionDetector({ threshold: camera.motion.threshold, minArea: camera.motion.minArea, masks: camera.motion.masks, maxWidth: 160 });
    this.tracker = new ObjectTracker({
      minHits: opts.minHits ?? 2,
      maxLostMs: opts.maxLostMs ?? 5000,
      zones: Object.entries(camera.zones).map(([zoneName, polygon]) => ({ name: zoneName, polygon })),
      createId: () => randomUUID(),
    });
    this.supervisor.on('frame', (frame) => this.onFrame(frame));
    this.supervisor.on('status', (status) => {
      opts.bus.emit('camera:status', status);
      if (status.state !== 'streaming' && status.state !== 'connecting') this.endAll();
    });
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
    this.endAll();
    await Promise.all(this.pendingSnapshots);
  }

  private onFrame(frame: Frame): void {
    this.lastFrameAt = frame.timestamp;
    const result = this.motion.update(frame, frame.timestamp);
    if (result.boxes.length > 0) {
      this.opts.bus.emit('motion', { camera: this.opts.name, at: frame.timestamp, boxes: result.boxes });
    }
    const tracked = this.tracker.activeTracks();
    const fullFrameDue = tracked.length > 0 && frame.timestamp - this.lastFullFrameAt >= (this.opts.fullFrameIntervalMs ?? 2000);
    let regions: Box[];
    if (fullFrameDue) {
      regions = [{ x: 0, y: 0, width: frame.width, height: frame.height }];
    } else {
      const interesting = result.calibrating ? tracked.map((t) => t.box) : [...result.boxes, ...tracked.map((t) => t.box)];
      regions = detectionRegions(interesting, frame.width, frame.height, { minSide: this.opts.regionMinSide });
    }
    if (regions.length === 0) return;
    if (regions.length === 1 && regions[0].width === frame.width && regions[0].height === frame.height) {
      this.lastFullFrameAt = frame.timestamp;
    }
    this.opts.scheduler.submit({
      frame,
      regions,
      onResult: (detections) => this.onDetections(detections, frame, result.calibrating ? null : result.boxes),
      onDropped: () => this.supervisor.countDropped(),
    });
  }

  private onDetections(detections: Detection[], frame: Frame, motion: readonly Box[] | null): void {
    if (frame.timestamp < this.trackerClock) return;
    this.trackerClock = frame.timestamp;
    const userMasks = this.opts.labelMasks?.masksFor(this.opts.name);
    const wanted = detections
      .map((d) => ({ label: d.label, score: d.score, box: toBox(d.box) }))
      .filter((d) => {
        const filter = this.filters[d.label];
        return filter !== undefined && rejectDetection(d, filter, frame, userMasks?.get(d.label)) === undefined;
      });
    const update = this.tracker.update(wanted, frame.timestamp);
    this.keepBestViews(update, frame);
    const events = this.gate.update(update, motion);
    this.showObserver(events, frame);
    this.publish(events, update);
  }

  /** Every confirmed track's best view so far, kept until it ends (an event's snapshot comes from it). */
  private keepBestViews(update: TrackerUpdate, frame: Frame): void {
    for (const track of [...update.started, ...update.updated]) {
      const best = this.best.get(track.id);
      if (!best) this.best.set(track.id, { frame: copyOf(frame), box: track.bestBox, score: track.topScore });
      else if (track.topScore > best.score) {
        frame.data.copy(best.frame.data);
        best.box = track.bestBox;
        best.score = track.topScore;
      }
    }
  }

  private showObserver(update: TrackerUpdate, frame: Frame): void {
    const observer = this.opts.observer;
    if (!observer) return;
    for (const track of [...update.started, ...update.updated]) {
      if (track.lastSeen !== frame.timestamp) continue; // coasting, not seen in this frame
      observer.seen({ camera: this.opts.name, trackId: track.id, label: track.label, box: track.box, frame, at: frame.timestamp });
    }
  }

  private endAll(): void {
    this.trackerClock = Math.max(this.trackerClock, this.lastFrameAt);
    const update = this.tracker.flush(this.trackerClock);
    this.publish(this.gate.update(update, null), update);
  }

  /** `update`: the events; `tracked`: the tracker's update they came from (its ended tracks' views go). */
  private publish(update: TrackerUpdate, tracked: TrackerUpdate): void {
    for (const track of tracked.ended) {
      if (update.ended.some((e) => e.id === track.id)) continue;
      this.best.delete(track.id);
      void this.opts.observer?.ended(track.id).catch(() => undefined);
    }
    const { bus, logger, name } = this.opts;
    for (const track of update.started) {
      const event = this.toEvent(track);
      logger.info({ id: event.id, camera: name, label: event.label, score: event.score, start: iso(event.start), zones: event.zones }, 'event:start');
      bus.emit('event:start', event);
    }
    for (const track of update.updated) bus.emit('event:update', this.toEvent(track));
    for (const track of update.ended) {
      const event = { ...this.toEvent(track), end: track.lastSeen };
      const best = this.best.get(track.id);
      this.best.delete(track.id);
      logger.info(
        { id: event.id, camera: name, label: event.label, score: event.score, start: iso(event.start), end: iso(event.end), zones: event.zones },
        'event:end',
      );
      const snapshot = best
        ? encodeSnapshot(best.frame, best.box).catch((err: unknown) => {
            logger.error({ camera: name, id: event.id, err: (err as Error).message }, 'snapshot failed');
            return undefined;
          })
        : Promise.resolve(undefined);
      const details = (this.opts.observer?.ended(track.id) ?? Promise.resolve(undefined)).catch((err: unknown) => {
        logger.error({ camera: name, id: event.id, err: (err as Error).message }, 'track observer failed');
        return undefined;
      });
      const delivered = Promise.all([snapshot, details]).then(([jpegs, extra]) => {
        bus.emit('event:end', { ...event, ...extra }, jpegs);
      });
      this.pendingSnapshots.add(delivered);
      void delivered.finally(() => this.pendingSnapshots.delete(delivered));
    }
  }

  private toEvent(track: Track): ObjectEvent {
    return {
      id: track.id,
      camera: this.opts.name,
      label: track.label,
      score: round(track.topScore),
      start: track.firstSeen,
      zones: track.zones,
      box: track.box,
    };
  }
}

function copyOf(frame: Frame): Yuv420Image {
  return { data: Buffer.from(frame.data), width: frame.width, height: frame.height };
}

function toBox(box: Detection['box']): Box {
  return { x: box[0], y: box[1], width: box[2] - box[0], height: box[3] - box[1] };
}

function round(score: number): number {
  return Math.round(score * 1000) / 1000;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
