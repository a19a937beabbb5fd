import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { Router } from 'express';
import { BackupQueue } from '../backup/queue.ts';
import type { VoletConfig } from '../config/schema.ts';
import { createDetector, type ObjectDetector } from '../detect/detector.ts';
import { defaultModelsDir, resolveModelPath } from '../detect/models.ts';
import { EventBus } from '../events/bus.ts';
import { FacesModule } from '../faces/module.ts';
import { ResidentRepository } from '../faces/residents.ts';
import { HealthMonitor } from '../health/monitor.ts';
import type { Logger } from '../log/logger.ts';
import { Notifier } from '../notify/notifier.ts';
import { NotifyRepository } from '../notify/repository.ts';
import { MqttModule } from '../mqtt/module.ts';
import { LabelMaskRepository } from '../objects/label-masks.ts';
import type { CameraPipeline } from '../pipeline/camera-pipeline.ts';
import { DetectScheduler } from '../pipeline/detect-scheduler.ts';
import { ShutterController } from '../privacy/controller.ts';
import { ShutterRepository } from '../privacy/repository.ts';
import type { ShutterChange } from '../privacy/types.ts';
import { claimInstance } from '../process/instance.ts';
import { Recorder, removeLeftoverSegments } from '../record/recorder.ts';
import { MotionActivity } from '../record/motion-activity.ts';
import { Recordings } from '../record/recordings.ts';
import type { FileRow } from '../storage/storage-index.ts';
import type { Vault } from '../vault/vault.ts';
import type { VaultAccess } from '../web/access.ts';
import { hasRight } from '../web/auth/users.ts';
import { notificationRoutes } from '../web/routes/notifications.ts';
import { privacyRoutes } from '../web/routes/privacy.ts';
import { residentRoutes } from '../web/routes/residents.ts';
import { createWebRepositories, createWebServer, type WebRepositories, type WebServer } from '../web/server.ts';
import { BackupService } from './backup.ts';
import { Cameras, enabledCameras } from './cameras.ts';
import { Lifecycle, type Module } from './lifecycle.ts';
import { openStorage, type OpenStorage } from './storage.ts';
import { resolveLabelFilters } from '../objects/label-filters.ts';

export interface RunningVolet {
  bus: EventBus;
  pipelines: Map<string, CameraPipeline>;
  recorders: Map<string, Recorder>;
  detector: ObjectDetector;
  storage: OpenStorage;
  notifier: Notifier;
  shutter: ShutterController;
  backup?: BackupService;
  mqtt?: MqttModule;
  web?: WebServer;
  /** Residents and face recognition. */
  faces: FacesModule;
  /** The health monitor's report, as GET /api/health and MQTT see it. */
  health(): ReturnType<HealthMonitor['report']>;
  /** Stops every module, last started first. */
  stop(): Promise<void>;
}

export interface StartOptions {
  modelsDir?: string;
  /** Serve the web viewer (default true). */
  web?: boolean;
  /** Tests only: cheaper password hashing in the viewer. */
  webSecurity?: Parameters<typeof createWebServer>[0]['security'];
}

/** Every repository, built once from the database and injected into the services that use it. */
export interface Repositories extends WebRepositories {
  notify: NotifyRepository;
  shutter: ShutterRepository;
  backupQueue: BackupQueue;
  labelMasks: LabelMaskRepository;
  residents: ResidentRepository;
}

/** What storage tells the modules created after it: the vault locked, a vault file was written. */
type StorageSignals = EventEmitter<{ locked: []; stored: [FileRow] }>;

/**
 * Builds the whole system from a validated config and starts it module by module. When one fails,
 * the modules already started are stopped in reverse (no recorder or ffmpeg is left running) and
 * the error is rethrown.
 */
export async function startVolet(config: VoletConfig, logger: Logger, opts: StartOptions = {}): Promise<RunningVolet> {
  // Before any camera starts: what a crashed Volet left running, or as plaintext in RAM, goes.
  await claimInstance(resolve(config.storage.path), logger);
  const leftoverSegments = await removeLeftoverSegments(config.storage.cachePath);
  if (leftoverSegments.length > 0) logger.warn({ count: leftoverSegments.length }, 'removed plaintext segments left in the RAM cache');

  const lifecycle = new Lifecycle(logger);
  try {
    const signals: StorageSignals = new EventEmitter();
    const detector = await lifecycle.open('detector', () => createDetector(detectorOptions(config, opts)), (d) => d.close());
    const storage = await lifecycle.open(
      'storage',
      () => openStorage(config, logger, { onLock: () => signals.emit('locked') }, (row) => signals.emit('stored', row)),
      (s) => s.close(),
    );
    const system = createModules({ config, logger, opts, detector, storage, signals, repositories: createRepositories(storage, config) });
    for (const module of system.modules) await lifecycle.start(module);
    return { ...system.running(), stop: () => lifecycle.stop() };
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}

export function createRepositories(storage: Pick<OpenStorage, 'db'>, config: Pick<VoletConfig, 'web'>): Repositories {
  const { db } = storage;
  return { ...createWebRepositories(db, config.web), notify: new NotifyRepository(db), shutter: new ShutterRepository(db), backupQueue: new BackupQueue(db), labelMasks: new LabelMaskRepository(db), residents: new ResidentRepository(db) };
}

interface ModuleDeps {
  config: VoletConfig;
  logger: Logger;
  opts: StartOptions;
  detector: ObjectDetector;
  storage: OpenStorage;
  signals: StorageSignals;
  repositories: Repositories;
}

/** Creates every module from its dependencies, in start order. Nothing runs until started. */
function createModules({ config, logger, opts, detector, storage, signals, repositories }: ModuleDeps) {
  const bus = new EventBus();
  const padding = eventPadding(config);
  const recordings = new Recordings({ storageDir: storage.dir, index: storage.index, vault: () => storage.vault, bus, cacheDir: config.storage.cachePath, padding });
  const scheduler = new DetectScheduler(detector, (camera, err) => logger.error({ camera, err: (err as Error).message }, 'detection failed'));
  const shutter = new ShutterController({
    repo: repositories.shutter,
    cameras: enabledCameras(config).map(([name]) => name),
    privacy: config.privacy,
    logger,
    audit: repositories.audit,
  });
  const notifier = new Notifier({
    repo: repositories.notify,
    logger,
    viewerBaseUrl: viewerBaseUrl(config.web),
    presence: () => shutter.occupancy(),
    config: config.notifications,
    mayNotify: (userId, camera) => {
      const user = repositories.users.byId(userId);
      return user !== undefined && hasRight(user, camera, 'recordings');
    },
  });
  const backup =
    Object.keys(config.backup.targets).length > 0
      ? new BackupService({ targets: config.backup.targets, storageDir: storage.dir, index: storage.index, vault: () => storage.vault, padding, queue: repositories.backupQueue, logger })
      : undefined;
  const faces = new FacesModule({
    config,
    bus,
    logger,
    storageDir: storage.dir,
    repo: repositories.residents,
    vault: () => storage.vault,
    presence: shutter,
    onResidentRemoved: (id) => repositories.notify.forgetResident(id, Date.now()),
  });
  const cameras = new Cameras({ config, bus, logger, detector, scheduler, storage, shutter, labelMasks: repositories.labelMasks, observer: config.faces.enabled ? faces : undefined });
  const health = new HealthModule({ config, bus, storage, pipelines: cameras.pipelines, recorders: cameras.recorders, shutter, mqtt: () => mqtt?.status() });
  const mqtt = config.mqtt.url
    ? new MqttModule({ config, logger, bus, storageDir: storage.dir, pipelines: cameras.pipelines, shutter, audit: repositories.audit, health: () => health.report() })
    : undefined;
  const web = opts.web === false ? undefined : new WebModule({ config, logger, opts, bus, storage, repositories, recordings, shutter, notifier, backup, cameras, health, faces });

  const forgetPlaintext = () => void recordings.forgetPlaintext();
  const motionActivity = new MotionActivity(storage.index);
  const noteMotion = (row: FileRow) => motionActivity.onStored(row);
  const shipStored = (row: FileRow) => backup?.onStored(row);
  const modules: Module[] = [
    {
      name: 'recordings',
      async start() {
        signals.on('locked', forgetPlaintext);
        motionActivity.attach(bus);
        signals.on('stored', noteMotion);
        await recordings.forgetPlaintext(); // clips a crashed Volet left decrypted in RAM
      },
      async stop() {
        signals.off('locked', forgetPlaintext);
        signals.off('stored', noteMotion);
        motionActivity.detach(bus);
        await recordings.forgetPlaintext();
      },
    },
    { name: 'detect scheduler', start() {}, stop: () => scheduler.close() },
    { name: 'notifier', start: () => notifier.attach(bus), stop: () => notifier.close() },
    ...(backup
      ? [
          {
            name: 'backup',
            start() {
              backup.attach(bus);
              signals.on('stored', shipStored);
              backup.start(config.backup.indexExportMinutes);
            },
            async stop() {
              signals.off('stored', shipStored);
              await backup.stop();
            },
          },
        ]
      : []),
    { name: 'privacy shutter', start: () => shutter.start(), stop: () => shutter.stop() },
    health,
    faces,
    cameras,
    ...(mqtt ? [mqtt] : []),
    ...(web ? [web] : []),
  ];
  return {
    modules,
    running: () => ({ bus, pipelines: cameras.pipelines, recorders: cameras.recorders, detector, storage, notifier, shutter, backup, mqtt, web: web?.server, faces, health: () => health.report() }),
  };
}

interface WebModuleDeps {
  config: VoletConfig;
  logger: Logger;
  opts: StartOptions;
  bus: EventBus;
  storage: OpenStorage;
  repositories: Repositories;
  recordings: Recordings;
  shutter: ShutterController;
  notifier: Notifier;
  backup?: BackupService;
  cameras: Cameras;
  health: HealthModule;
  faces: FacesModule;
}

/** The health monitor, shared by the web viewer and MQTT: watches camera status from before the cameras start. */
class HealthModule implements Module {
  readonly name = 'health monitor';
  private monitor?: HealthMonitor;

  constructor(private readonly sources: ConstructorParameters<typeof HealthMonitor>[0]) {}

  start(): void {
    this.monitor = new HealthMonitor(this.sources);
  }

  stop(): void {
    this.monitor?.close();
  }

  report(): ReturnType<HealthMonitor['report']> {
    if (!this.monitor) return Promise.reject(new Error('the health monitor is not running'));
    return this.monitor.report();
  }
}

/** The web viewer. */
class WebModule implements Module {
  readonly name = 'web viewer';
  server?: WebServer;
  private readonly onShutter = (change: ShutterChange) => {
    if (change.state === 'closed') this.server?.stopLive(change.camera);
  };

  constructor(private readonly deps: WebModuleDeps) {}

  async start(): Promise<void> {
    const { config, logger, opts, bus, storage, repositories, recordings, shutter, notifier, backup, cameras, health, faces } = this.deps;
    const pipelines = cameras.pipelines;
    const vault: VaultAccess = {
      status: () => ({ initialised: storage.vault !== undefined, unlocked: storage.vault?.isUnlocked ?? false }),
      unlock: async (passphrase) => {
        await requireVault(storage.vault).unlock(passphrase);
        if (config.faces.enabled) void faces.vaultUnlocked().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'faces: enrolled faces could not be read'));
      },
      lock: () => storage.vault?.lock(),
      init: async (passphrase) => {
        await storage.initVault(passphrase);
        await cameras.startRecording();
        await backup?.shipKeyAndIndex();
      },
    };
    this.server = await createWebServer({
      config: config.web,
      repositories,
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
      liveTap: (camera, variant) => (variant === 'sub' ? cameras.subTaps : cameras.liveTaps).get(camera),
      vault,
      recordings,
      shutter: { state: (camera) => shutter.state(camera), set: (camera, state, by) => shutter.set(camera, state, by), auditsChanges: true },
      labelMasks: repositories.labelMasks,
      apiRoutes: [
        { path: '/api/privacy', router: privacyRoutes(shutter, { privacy: config.privacy, logger, audit: repositories.audit }) },
        notificationRoutes(notifier, repositories.users),
        residentRoutes({ residents: faces.residents, enabled: faces.enabled, eventFrame: (id) => recordings.eventSnapshot(id, 'frame') }),
        (guards) => Router().get('/backup', guards.session, guards.admin, (_req, res) => void res.json({ targets: backup?.status() ?? [] })),
      ],
      security: opts.webSecurity,
      health,
    });
    shutter.on('change', this.onShutter);
  }

  async stop(): Promise<void> {
    this.deps.shutter.off('change', this.onShutter);
    await this.server?.close();
  }
}

export function detectorOptions(config: VoletConfig, opts: StartOptions): Parameters<typeof createDetector>[0] {
  return {
    modelPath: resolveModelPath(config.detector.model, opts.modelsDir ?? defaultModelsDir()),
    threads: config.detector.threads,
    providers: config.detector.providers,
    scoreThreshold: config.detector.scoreThreshold,
    nmsThreshold: config.detector.nmsThreshold,
    labels: allTrackedLabels(config),
  };
}

/** Frame padding around a camera's events: what its recorder keeps before and after. */
function eventPadding(config: VoletConfig): (camera: string) => { before: number; after: number } {
  return (camera) => {
    const record = config.cameras[camera]?.record ?? { preRollSeconds: 0, postRollSeconds: 0 };
    return { before: record.preRollSeconds * 1000, after: record.postRollSeconds * 1000 };
  };
}

function viewerBaseUrl(web: VoletConfig['web']): string {
  return `${web.https ? 'https' : 'http'}://${web.host === '0.0.0.0' ? 'localhost' : web.host}:${web.port}`;
}

function requireVault(vault: Vault | undefined): Vault {
  if (!vault) throw new Error('the vault is not initialised yet');
  return vault;
}

/** The detector reports every label some camera tracks, each at the lowest score any camera wants. */
function allTrackedLabels(config: VoletConfig): Record<string, number> {
  const labels: Record<string, number> = {};
  for (const settings of [config.detector.labels, ...Object.values(config.cameras).map((c) => c.objects ?? {})]) {
    for (const [label, filter] of Object.entries(resolveLabelFilters(settings))) {
      labels[label] = Math.min(labels[label] ?? 1, filter.minScore);
    }
  }
  return labels;
}
