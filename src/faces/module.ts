import type { VoletConfig } from '../config/schema.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { TrackObserver, TrackSighting } from '../pipeline/camera-pipeline.ts';
import type { ResidentPresence, ResidentState } from '../privacy/types.ts';
import { createFaceEngine, type FaceEngine } from './engine.ts';
import { ResidentService, type VaultView } from './enrolment.ts';
import { FaceFiles } from './face-files.ts';
import { FaceRecognizer } from './recognizer.ts';
import type { ResidentRepository } from './residents.ts';
import { FaceSampler } from './sampler.ts';
import { supervisedFaceEngine } from './supervised-engine.ts';

export interface FacesModuleDeps {
  config: Pick<VoletConfig, 'faces' | 'privacy'>;
  bus: EventBus;
  logger: Logger;
  storageDir: string;
  repo: ResidentRepository;
  vault: () => (VaultView & { publicKey: Uint8Array }) | undefined;
  /** The privacy controller's presence board (source 'face'). */
  presence: {
    residentPresence(name: string): ResidentPresence | undefined;
    reportPresence(name: string, state: ResidentState, source: 'face'): unknown;
  };
  /** A resident was deleted: references elsewhere (notification rules) go too. */
  onResidentRemoved?: (residentId: string) => void;
}

/**
 * Faces: residents and enrolment (always, so they can be listed and deleted) and, with
 * faces.enabled, the engine and the recogniser the camera pipelines report person tracks to.
 * With faces off the engine is never loaded.
 */
export class FacesModule implements TrackObserver {
  readonly name = 'faces';
  readonly residents: ResidentService;
  private engine?: FaceEngine;
  private recognizer?: FaceRecognizer;

  constructor(private readonly deps: FacesModuleDeps) {
    this.residents = new ResidentService({
      repo: deps.repo,
      files: new FaceFiles(deps.storageDir, () => deps.vault()?.publicKey),
      vault: deps.vault,
      engine: () => this.engine,
      logger: deps.logger,
      onRemoved: deps.onResidentRemoved,
    });
  }

  get enabled(): boolean {
    return this.deps.config.faces.enabled;
  }

  async start(): Promise<void> {
    const { config, bus, logger, presence } = this.deps;
    if (!config.faces.enabled) return;
    const started = Date.now();
    this.engine = await supervisedFaceEngine(() => createFaceEngine(), logger);
    logger.info({ ms: Date.now() - started }, 'faces: engine loaded');
    // Presence knows residents by their privacy.residents key; a face resident matches it whatever the case.
    const presenceName = (name: string) => Object.keys(config.privacy.residents).find((key) => key.toLowerCase() === name.toLowerCase());
    this.recognizer = new FaceRecognizer({
      engine: this.engine,
      gallery: () => this.residents.gallery(),
      sampler: new FaceSampler(),
      bus,
      logger,
      presence: {
        knows: (name) => presenceName(name) !== undefined,
        state: (name) => presence.residentPresence(presenceName(name) ?? name),
        report: (name, state) => void presence.reportPresence(presenceName(name) ?? name, state, 'face'),
      },
      entranceCameras: config.faces.entranceCameras,
      arriveAfterMs: config.faces.arriveAfterMinutes * 60_000,
      presenceTimeoutMs: config.faces.presenceTimeoutMinutes * 60_000,
    });
    this.recognizer.start();
  }

  async stop(): Promise<void> {
    await this.recognizer?.stop();
    this.recognizer = undefined;
    await this.engine?.close();
    this.engine = undefined;
  }

  /** The vault was unlocked: read the embeddings now, so recognition works after the vault locks again. */
  async vaultUnlocked(): Promise<void> {
    await this.residents.gallery();
  }

  seen(sighting: TrackSighting): void {
    this.recognizer?.seen(sighting);
  }

  async ended(trackId: string) {
    return this.recognizer?.ended(trackId);
  }
}
