import type { VoletConfig } from '../config/schema.ts';
import { createDetector, type ObjectDetector } from '../detect/detector.ts';
import { defaultModelsDir, resolveModelPath } from '../detect/models.ts';
import { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { CameraPipeline } from '../pipeline/camera-pipeline.ts';
import { DetectScheduler } from '../pipeline/detect-scheduler.ts';
import { openStorage, type OpenStorage } from './storage.ts';
import { EventRecorder } from '../record/event-recorder.ts';
import { Recorder } from '../record/recorder.ts';

export interface RunningVolet {
  bus: EventBus;
  pipelines: Map<string, CameraPipeline>;
  recorders: Map<string, Recorder>;
  detector: ObjectDetector;
  storage: OpenStorage;
  stop(): Promise<void>;
}

export interface StartOptions {
  modelsDir?: string;
}

/** Builds the whole system from a validated config. Nothing starts unless everything could be built. */
export async function startVolet(config: VoletConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningVolet> {
  const bus = new EventBus();
  const detector = await createDetector({
    modelPath: resolveModelPath(config.detector.model, opts.modelsDir ?? defaultModelsDir()),
    threads: config.detector.threads,
    providers: config.detector.providers,
    scoreThreshold: config.detector.scoreThreshold,
    nmsThreshold: config.detector.nmsThreshold,
    labels: allTrackedLabels(config),
  });
  const cameras = Object.entries(config.cameras).filter(([, camera]) => camera.enabled);
  let storage: OpenStorage;
  try {
    storage = await openStorage(config, logger);
  } catch (err) {
    await detector.close();
    throw err;
  }
  const scheduler = new DetectScheduler(detector, (camera, err) =>
    logger.error({ camera, err: (err as Error).message }, 'detection failed'),
  );
  const pipelines = new Map<string, CameraPipeline>();
  const recorders = new Map<string, Recorder>();
  for (const [name, camera] of cameras) {
    const input = detector.inputSizeFor(camera.detect.width, camera.detect.height);
    pipelines.set(
      name,
      new CameraPipeline({
        name,
        camera,
        defaultObjects: config.detector.labels,
        scheduler,
        regionMinSide: Math.max(input.width, input.height),
        bus,
        logger,
      }),
    );
    if (storage.store) {
      recorders.set(
        name,
        new Recorder({
          camera: name,
          url: camera.main,
          mode: camera.record.mode,
          preRollSeconds: camera.record.preRollSeconds,
          postRollSeconds: camera.record.postRollSeconds,
          segmentSeconds: config.storage.segmentSeconds,
          cacheDir: config.storage.cachePath,
          store: storage.store,
          bus,
          logger,
        }),
      );
    }
  }
  const eventRecorder = storage.store
    ? new EventRecorder({ bus, index: storage.index, store: storage.store, logger, cameras: new Set(recorders.keys()) })
    : undefined;
  for (const recorder of recorders.values()) await recorder.start();
  for (const pipeline of pipelines.values()) pipeline.start();

  return {
    bus,
    pipelines,
    recorders,
    detector,
    storage,
    async stop() {
      await Promise.all([...pipelines.values()].map((p) => p.stop()));
      await Promise.all([...recorders.values()].map((r) => r.stop()));
      await eventRecorder?.stop();
      await scheduler.close();
      await detector.close();
      storage.close();
    },
  };
}

/** The detector reports every label some camera tracks, each at the lowest score any camera wants. */
function allTrackedLabels(config: VoletConfig): Record<string, number> {
  const labels: Record<string, number> = { ...config.detector.labels };
  for (const camera of Object.values(config.cameras)) {
    for (const [label, score] of Object.entries(camera.objects ?? {})) {
      labels[label] = Math.min(labels[label] ?? 1, score);
    }
  }
  return labels;
}
