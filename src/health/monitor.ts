import { statfs } from 'node:fs/promises';
import type { Statement } from 'better-sqlite3';
import type { VoletConfig } from '../config/schema.ts';
import type { CameraStatus, EventBus } from '../events/bus.ts';
import type { RecorderActivity } from '../record/recorder.ts';
import type { Db } from '../storage/database.ts';
import { retentionFloorBytes } from '../storage/retention-runner.ts';
import { EventLoopLag } from './event-loop-lag.ts';
import { assessHealth, type CameraObservation, type DiskObservation, type HealthReport, type IndexObservation, type MqttObservation } from './assess.ts';

export interface HealthSources {
  config: Pick<VoletConfig, 'cameras' | 'storage'>;
  bus: EventBus;
  /** Read at each report: the vault appears once setup creates it. */
  storage: { dir: string; db: Db; vault?: { isUnlocked: boolean } };
  /** One pipeline per enabled camera: the cameras reported on. */
  pipelines: ReadonlyMap<string, { supervisor: { status: CameraStatus } }>;
  recorders: ReadonlyMap<string, { activity: RecorderActivity }>;
  shutter: { state(camera: string): 'open' | 'closed' };
  /** The MQTT connection's status, when MQTT is configured. */
  mqtt?: () => MqttObservation | undefined;
  /** Disk and index checks are reused for this long (default 5 s): /healthz is public. */
  probeEveryMs?: number;
}

interface Probes {
  disk: DiskObservation;
  index: IndexObservation;
}

/** Gathers what the recorders, pipelines, shutter and storage say now, and lets assessHealth judge it. */
export class HealthMonitor {
  /** Per camera: since when its detection stream has been trying to stream without frames. */
  private readonly downSince = new Map<string, number>();
  private readonly writeProbe: Statement;
  private probes?: { at: number; result: Promise<Probes> };
  private readonly onStatus = (status: CameraStatus) => this.track(status);
  private readonly eventLoopLag = new EventLoopLag();

  constructor(private readonly sources: HealthSources) {
    const { db } = sources.storage;
    this.writeProbe = db.prepare('INSERT INTO health_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
    sources.bus.on('camera:status', this.onStatus);
    this.eventLoopLag.start();
  }

  async report(): Promise<HealthReport> {
    const { config, storage, pipelines } = this.sources;
    const { disk, index } = await this.probe();
    const mqtt = this.sources.mqtt?.();
    const report = assessHealth({
      now: Date.now(),
      segmentSeconds: config.storage.segmentSeconds,
      cameras: [...pipelines.keys()].map((name) => this.observe(name)),
      disk,
      index,
      vault: { initialised: storage.vault !== undefined, unlocked: storage.vault?.isUnlocked ?? false },
      eventLoop: { worstLagMs: this.eventLoopLag.worstLagMs(), windowSeconds: this.eventLoopLag.windowMs / 1000 },
    });
    return mqtt ? { ...report, mqtt } : report;
  }

  close(): void {
    this.sources.bus.off('camera:status', this.onStatus);
    this.eventLoopLag.stop();
  }

  private observe(name: string): CameraObservation {
    const { config, pipelines, recorders, shutter } = this.sources;
    const status = pipelines.get(name)!.supervisor.status;
    this.track(status);
    return {
      name,
      shutter: shutter.state(name),
      recordMode: config.cameras[name]?.record.mode ?? 'off',
      streaming: { state: status.state, downSince: this.downSince.get(name) },
      recording: recorders.get(name)?.activity,
    };
  }

  /** Keeps the first moment of a run of connecting/backoff states; a stream that is up or deliberately stopped is not down. */
  private track(status: CameraStatus): void {
    if (status.state === 'streaming' || status.state === 'stopped') this.downSince.delete(status.camera);
    else if (!this.downSince.has(status.camera)) this.downSince.set(status.camera, status.since);
  }

  private probe(): Promise<Probes> {
    const now = Date.now();
    if (!this.probes || now - this.probes.at >= (this.sources.probeEveryMs ?? 5000)) {
      this.probes = { at: now, result: this.checkDisk().then((disk) => ({ disk, index: this.checkIndex() })) };
    }
    return this.probes.result;
  }

  private async checkDisk(): Promise<DiskObservation> {
    try {
      const fs = await statfs(this.sources.storage.dir);
      const totalBytes = fs.blocks * fs.bsize;
      return { freeBytes: fs.bavail * fs.bsize, totalBytes, floorBytes: retentionFloorBytes(this.sources.config.storage.retention, totalBytes) };
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  /** One real write to the index file, without waiting for another process's lock (the event loop must not block). */
  private checkIndex(): IndexObservation {
    const { db } = this.sources.storage;
    let timeout: unknown;
    try {
      timeout = db.pragma('busy_timeout', { simple: true });
      db.pragma('busy_timeout = 0');
      this.writeProbe.run(Date.now());
      return { writable: true };
    } catch (err) {
      // Another process holding the write lock shows that the file takes writes.
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return { writable: true };
      return { writable: false, error: (err as Error).message };
    } finally {
      if (typeof timeout === 'number') db.pragma(`busy_timeout = ${timeout}`);
    }
  }
}
