import type { VoletConfig } from '../config/schema.ts';
import { createDetector, type ObjectDetector } from '../detect/detector.ts';
import { defaultModelsDir, resolveModelPath } from '../detect/models.ts';
import { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { Notifier } from '../notify/notifier.ts';
import { CameraPipeline } from '../pipeline/camera-pipeline.ts';
import { DetectScheduler } from '../pipeline/detect-scheduler.ts';
import { HealthMonitor } from '../health/monitor.ts';
import { EventRecorder } from '../record/event-recorder.ts';
import { Recorder, removeLeftoverSegments } from '../record/recorder.ts';
import { claimInstance } from '../process/instance.ts';
import { resolve } from 'node:path';
import { Recordings } from '../record/recordings.ts';
import type { Vault } from '../vault/vault.ts';
import { UserRepository, canView } from '../web/auth/users.ts';
import { createWebServer, type WebServer } from '../web/server.ts';
import type { VaultAccess } from '../web/access.ts';
import { openStorage, type OpenStorage } from './storage.ts';
import { BackupService } from './backup.ts';
import { Router } from 'express';
import { ShutterController } from '../privacy/controller.ts';
import { privacyRoutes } from '../web/routes/privacy.ts';
import { notificationRoutes } from '../web/routes/notifications.ts';
import { AuditLog } from '../web/audit.ts';

export interface RunningVolet {
  bus: EventBus;
  pipelines: Map<string, CameraPipeline>;
  recorders: Map<string, Recorder>;
  detector: ObjectDetector;
  storage: OpenStorage;
  notifier: Notifier;
  shutter: ShutterController;
  backup?: BackupService;
  web?: WebServer;
  stop(): Promise<void>;
}

export interface StartOptions {
  modelsDir?: string;
  /** Serve the web viewer (default true). */
  web?: boolean;
  /** Tests only: cheaper password hashing in the viewer. */
  webSecurity?: Parameters<typeof createWebServer>[0]['security'];
}

/** Builds the whole system from a validated config. Nothing starts unless everything could be built. */
export async function startVolet(config: VoletConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningVolet> {
  // Before any camera starts: what a crashed Volet left running, or as plaintext in RAM, goes.
  await claimInstance(resolve(config.storage.path), logger);
  const leftoverSegments = await removeLeftoverSegments(config.storage.cachePath);
  if (leftoverSegments.length > 0) logger.warn({ count: leftoverSegments.length }, 'removed plaintext segments left in the RAM cache');
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
  let recordings: Recordings | undefined;
  let backup: BackupService | undefined;
  let storage: OpenStorage;
  try {
    storage = await openStorage(config, logger, { onLock: () => void recordings?.forgetPlaintext() }, (row) => backup?.onStored(row));
  } catch (err) {
    await detector.close();
    throw err;
  }
  const scheduler = new DetectScheduler(detector, (camera, err) => logger.error({ camera, err: (err as Error).message }, 'detection failed'));
  const pipelines = new Map<string, CameraPipeline>();
  for (const [name, camera] of cameras) {
    const input = detector.inputSizeFor(camera.detect.width, camera.detect.height);
    pipelines.set(
      name,
      new CameraPipeline({ name, camera, defaultObjects: config.detector.labels, scheduler, regionMinSide: Math.max(input.width, input.height), bus, logger }),
    );
  }

  const recorders = new Map<string, Recorder>();
  let web: WebServer | undefined;
  let eventRecorder: EventRecorder | undefined;
  const startRecording = async () => {
    const store = storage.store;
    if (!store || eventRecorder) return;
    for (const [name, camera] of cameras) {
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
      recorders.set(name, recorder);
      if (shutter.state(name) === 'open') await recorder.start();
    }
    eventRecorder = new EventRecorder({ bus, index: storage.index, store, logger, cameras: new Set(recorders.keys()) });
  };
  const padding = (camera: string) => {
    const record = config.cameras[camera]?.record ?? { preRollSeconds: 0, postRollSeconds: 0 };
    return { before: record.preRollSeconds * 1000, after: record.postRollSeconds * 1000 };
  };
  recordings = new Recordings({ storageDir: storage.dir, index: storage.index, vault: () => storage.vault, bus, cacheDir: config.storage.cachePath, padding });
  await recordings.forgetPlaintext(); // clips a crashed Volet left decrypted in RAM
  if (Object.keys(config.backup.targets).length > 0) {
    backup = new BackupService({ targets: config.backup.targets, storageDir: storage.dir, index: storage.index, vault: () => storage.vault, padding, db: storage.db, logger });
    backup.attach(bus);
    backup.start(config.backup.indexExportMinutes);
  }

  const audit = new AuditLog(storage.db);
  const shutter = new ShutterController({ db: storage.db, cameras: cameras.map(([name]) => name), privacy: config.privacy, logger, audit });
  await shutter.start();
  const openCamera = async (name: string) => {
    pipelines.get(name)?.start();
    await recorders.get(name)?.start();
  };
  const closeCamera = async (name: string) => {
    await Promise.all([pipelines.get(name)?.stop(), recorders.get(name)?.stop()]);
    web?.stopLive(name);
  };
  shutter.on('change', (change) => void (change.state === 'closed' ? closeCamera(change.camera) : openCamera(change.camera)));

  const users = new UserRepository(storage.db);
  const viewerBaseUrl = `${config.web.https ? 'https' : 'http'}://${config.web.host === '0.0.0.0' ? 'localhost' : config.web.host}:${config.web.port}`;
  const notifier = new Notifier({
    db: storage.db,
    logger,
    viewerBaseUrl,
    presence: () => shutter.occupancy(),
    config: config.notifications,
    mayNotify: (userId, camera) => {
      const user = users.byId(userId);
      return user !== undefined && canView(user, camera);
    },
  });
  notifier.attach(bus);

  const health = new HealthMonitor({ config, bus, storage, pipelines, recorders, shutter });
  await startRecording();
  for (const [name, pipeline] of pipelines) if (shutter.state(name) === 'open') pipeline.start();

  if (opts.web !== false) {
    const vaultAccess: VaultAccess = {
      status: () => ({ initialised: storage.vault !== undefined, unlocked: storage.vault?.isUnlocked ?? false }),
      unlock: async (passphrase) => requireVault(storage.vault).unlock(passphrase),
      lock: () => storage.vault?.lock(),
      init: async (passphrase) => {
        await storage.initVault(passphrase);
        await startRecording();
        await backup?.shipKeyAndIndex();
      },
    };
    web = await createWebServer({
      config: config.web,
      db: storage.db,
      bus,
      logger,
      dataDir: storage.dir,
      cameras: () =>
        [...pipelines.entries()].map(([name, p]) => ({
          name,
          status: p.supervisor.status,
          detect: { width: config.cameras[name].detect.width, height: config.cameras[name].detect.height },
        })),
      liveSource: (camera) => (pipelines.has(camera) ? config.cameras[camera].main : undefined),
      vault: vaultAccess,
      recordings,
      shutter: { state: (camera) => shutter.state(camera), set: (camera, state, by) => shutter.set(camera, state, by), auditsChanges: true },
      apiRoutes: [
        { path: '/api/privacy', router: privacyRoutes(shutter, { privacy: config.privacy, logger, audit }) },
        notificationRoutes(notifier, users),
        (guards) => Router().get('/backup', guards.session, guards.admin, (_req, res) => void res.json({ targets: backup?.status() ?? [] })),
      ],
      security: opts.webSecurity,
      health,
    });
  }

  return {
    bus,
    pipelines,
    recorders,
    detector,
    storage,
    notifier,
    shutter,
    backup,
    web,
    async stop() {
      await shutter.stop();
      await web?.close();
      health.close();
      await Promise.all([...[...pipelines.values()].map((p) => p.stop()), ...[...recorders.values()].map((r) => r.stop())]);
      await eventRecorder?.stop();
      await backup?.stop();
      await notifier.close();
      await scheduler.close();
      await detector.close();
      await recordings?.forgetPlaintext();
      storage.close();
    },
  };
}

function requireVault(vault: Vault | undefined): Vault {
  if (!vault) throw new Error('the vault is not initialised yet');
  return vault;
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
