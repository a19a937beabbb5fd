import type { VoletConfig } from '../config/schema.ts';
import type { ObjectDetector } from '../detect/detector.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { CameraPipeline, type CameraPipelineOptions } from '../pipeline/camera-pipeline.ts';
import type { DetectScheduler } from '../pipeline/detect-scheduler.ts';
import type { ShutterController } from '../privacy/controller.ts';
import type { ShutterChange } from '../privacy/types.ts';
import { EventRecorder } from '../record/event-recorder.ts';
import { Recorder } from '../record/recorder.ts';
import { LiveTap } from '../web/live/tap.ts';
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
}

/**
 * Every enabled camera: its detection pipeline and, once the vault exists, its recorder. A camera
 * runs while its privacy shutter is open; the shutter's `change` opens and closes it.
 */
export class Cameras implements Module {
  readonly name = 'cameras';
  readonly pipelines = new Map<string, CameraPipeline>();
  readonly recorders = new Map<string, Recorder>();
  /** The live view's side of each recorder's connection (fMP4 viewers share it). */
  readonly liveTaps = new Map<string, LiveTap>();
  private eventRecorder?: EventRecorder;
  private readonly onShutter = (change: ShutterChange) => void (change.state === 'closed' ? this.close(change.camera) : this.open(change.camera));

  constructor(private readonly deps: CamerasDeps) {
    const { config, detector, scheduler, bus, logger, labelMasks } = deps;
    for (const [name, camera] of enabledCameras(config)) {
      const input = detector.inputSizeFor(camera.detect.width, camera.detect.height);
      this.pipelines.set(
        name,
        new CameraPipeline({ name, camera, defaultObjects: config.detector.labels, labelMasks, scheduler, regionMinSide: Math.max(input.width, input.height), bus, logger }),
      );
    }
  }

  /** Starts recording (when the vault exists) and detection of every camera whose shutter is open. */
  async start(): Promise<void> {
    try {
      this.deps.shutter.on('change', this.onShutter);
      await this.startRecording();
      for (const [name, pipeline] of this.pipelines) if (this.deps.shutter.state(name) === 'open') pipeline.start();
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
  }

  async stop(): Promise<void> {
    this.deps.shutter.off('change', this.onShutter);
    await Promise.all([...[...this.pipelines.values()].map((p) => p.stop()), ...[...this.recorders.values()].map((r) => r.stop())]);
    await this.eventRecorder?.stop();
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
