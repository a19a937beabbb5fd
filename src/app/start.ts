import type { VoletConfig } from '../config/schema.ts';
import { createDetector, type ObjectDetector } from '../detect/detector.ts';
import { defaultModelsDir, resolveModelPath } from '../detect/models.ts';
import { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { CameraPipeline } from '../pipeline/camera-pipeline.ts';
import { DetectScheduler } from '../pipeline/detect-scheduler.ts';

export interface RunningVolet {
  bus: EventBus;
  pipelines: Map<string, CameraPipeline>;
  detector: ObjectDetector;
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
  const scheduler = new DetectScheduler(detector, (camera, err) =>
    logger.error({ camera, err: (err as Error).message }, 'detection failed'),
  );
  const pipelines = new Map<string, CameraPipeline>();
  for (const [name, camera] of Object.entries(config.cameras)) {
    if (!camera.enabled) continue;
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
  }
  for (const pipeline of pipelines.values()) pipeline.start();

  return {
    bus,
    pipelines,
    detector,
    async stop() {
      await Promise.all([...pipelines.values()].map((p) => p.stop()));
      await scheduler.close();
      await detector.close();
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
