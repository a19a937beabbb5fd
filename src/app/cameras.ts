import { join } from 'node:path';
import type { CameraConfig, VoletConfig } from '../config/schema.ts';
import type { ObjectDetector } from '../detect/detector.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { CameraPipeline, type CameraPipelineOptions } from '../pipeline/camera-pipeline.ts';
import type { DetectScheduler } from '../pipeline/detect-scheduler.ts';
import type { ShutterController } from '../privacy/controller.ts';
import type { ShutterChange } from '../privacy/types.ts';
import { EventRecorder } from '../record/event-recorder.ts';
import { Recorder } from '../record/recorder.ts';
import { SocketFeed } from '../restream/socket-feed.ts';
import { TapReader } from '../restream/tap-reader.ts';
import { LiveTap } from '../restream/tap.ts';
import type { OpenStorage } from './storage.ts';
import type { Module } from './lifecycle.ts';

export interface CamerasDeps {
  config: VoletConfig;
  bus: EventBus;
  logger: Logger;
  detector: ObjectDetector;
  scheduler: DetectScheduler;
  storage: OpenStorage;
  shutter: ShutterController;
  labelMasks?: CameraPipelineOptions['labelMasks'];
  /** Face recognition's view of tracked objects (absent while faces are off). */
  observer?: CameraPipelineOptions['observer'];
}

/**
 * Every enabled camera: its detection pipeline and, once the vault exists, its recorder. A camera
 * runs while its privacy shutter is open; the shutter's `change` opens and closes it.
 *
 * Each camera stream is read by one connection: the recorder's reads the main stream (segments,
 * and fragmented MP4 for the live view's tap), the detector's reads the sub stream (raw frames,
 * and fragmented MP4 for the sub tap through a unix socket). A camera without a sub stream is
 * decoded from the recorder's tap once it records. Everything else (MSE viewers, the MPEG-1
 * transcoder) reads the taps.
 */
export class Cameras implements Module {
  readonly name = 'cameras';
  readonly pipelines = new Map<string, CameraPipeline>();
  readonly recorders = new Map<string, Recorder>();
  /** Each recorder's connection to the main stream, as seen by the live view. */
  readonly liveTaps = new Map<string, LiveTap>();
  /** Each detector's connection to the sub stream, as seen by the live view. */
  readonly subTaps = new Map<string, LiveTap>();
  private readonly subFeeds = new Map<string, SocketFeed>();
  private eventRecorder?: EventRecorder;
  private started = false;
  private readonly onShutter = (change: ShutterChange) => void (change.state === 'closed' ? this.close(change.camera) : this.open(change.camera));

  constructor(private readonly deps: CamerasDeps) {
    const { config, detector, scheduler, bus, logger, labelMasks } = deps;
    for (const [name, camera] of enabledCameras(config)) {
      const input = detector.inputSizeFor(camera.detect.width, camera.detect.height);
      let liveSocket: string | undefined;
      if (camera.sub) {
        const feed = new SocketFeed(join(config.storage.cachePath, '.live', `${name}-sub.sock`));
        this.subFeeds.set(name, feed);
        this.subTaps.set(name, new LiveTap(`${name}/sub`, feed, logger));
        liveSocket = feed.path;
      }
      this.pipelines.set(
        name,
        new CameraPipeline({
          name,
          camera,
          defaultObjects: config.detector.labels,
          labelMasks,
          scheduler,
          regionMinSide: Math.max(input.width, input.height),
          bus,
          logger,
          source: () => this.detectSource(name, camera),
          ffmpeg: { hwaccel: camera.ffmpeg?.hwaccel ?? config.ffmpeg.hwaccel, inputArgs: camera.ffmpeg?.inputArgs ?? config.ffmpeg.inputArgs },
          liveSocket,
          observer: deps.observer,
        }),
      );
    }
  }

  /** Starts recording (when the vault exists) and detection of every camera whose shutter is open. */
  async start(): Promise<void> {
    try {
      this.deps.shutter.on('change', this.onShutter);
      for (const feed of this.subFeeds.values()) await feed.listen();
      this.started = true;
      await this.startRecording();
      for (const [name, pipeline] of this.pipelines) if (this.deps.shutter.state(name) === 'open') pipeline.start();
      this.started = true;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Creates the recorders once the vault exists (at start, or when the web setup creates it). */
  async startRecording(): Promise<void> {
    const { config, storage, bus, logger, shutter } = this.deps;
    const store = storage.store;
    if (!store || this.eventRecorder) return;
    for (const [name, camera] of enabledCameras(config)) {
      const recorder = new Recorder({
        camera: name,
        url: camera.main,
        mode: camera.record.mode,
        preRollSeconds: camera.record.preRollSeconds,
        postRollSeconds: camera.record.postRollSeconds,
        segmentSeconds: config.storage.segmentSeconds,
        cacheDir: config.storage.cachePath,
        store,
        bus,
        logger,
      });
      this.recorders.set(name, recorder);
      if (camera.record.mode !== 'off') this.liveTaps.set(name, new LiveTap(name, recorder.live, logger));
      if (shutter.state(name) === 'open') await recorder.start();
    }
    this.eventRecorder = new EventRecorder({ bus, index: storage.index, store, logger, cameras: new Set(this.recorders.keys()) });
    // Cameras without a sub stream were decoding their own connection to the main stream: move them onto the recorder's.
    for (const [name, camera] of enabledCameras(config)) {
      const pipeline = this.pipelines.get(name);
      if (!this.started || camera.sub || !this.liveTaps.has(name) || !pipeline || shutter.state(name) !== 'open') continue;
      await pipeline.stop();
      pipeline.start();
    }
  }

  async stop(): Promise<void> {
    this.deps.shutter.off('change', this.onShutter);
    this.started = false;
    await Promise.all([...[...this.pipelines.values()].map((p) => p.stop()), ...[...this.recorders.values()].map((r) => r.stop())]);
    await this.eventRecorder?.stop();
    for (const feed of this.subFeeds.values()) await feed.close();
  }

  /** The detector reads the sub stream, else the recorder's connection to the main stream, else the main stream itself. */
  private detectSource(name: string, camera: CameraConfig) {
    if (camera.sub) return camera.sub;
    const tap = this.liveTaps.get(name);
    return tap ? new TapReader(tap) : camera.main;
  }

  private async open(name: string): Promise<void> {
    this.pipelines.get(name)?.start();
    await this.recorders.get(name)?.start();
  }

  private async close(name: string): Promise<void> {
    await Promise.all([this.pipelines.get(name)?.stop(), this.recorders.get(name)?.stop()]);
  }
}

export function enabledCameras(config: VoletConfig): [string, VoletConfig['cameras'][string]][] {
  return Object.entries(config.cameras).filter(([, camera]) => camera.enabled);
}
