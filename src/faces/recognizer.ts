import type { EventBus, FaceResult } from '../events/bus.ts';
import type { Box } from '../geometry/box.ts';
import type { Logger } from '../log/logger.ts';
import type { TrackObserver, TrackSighting } from '../pipeline/camera-pipeline.ts';
import { yuv420pToRgb, type Yuv420Image } from '../pipeline/snapshot.ts';
import type { ResidentPresence, ResidentState } from '../privacy/types.ts';
import type { FaceEngine, FaceImage } from './engine.ts';
import type { GalleryEntry } from './enrolment.ts';
import { bestMatch } from './match.ts';
import type { FaceSampler } from './sampler.ts';

/** What the recogniser may do with presence: the privacy module's board, source 'face'. */
export interface FacePresence {
  /** Whether `name` is a resident of privacy.residents (only those can be home). */
  knows(name: string): boolean;
  state(name: string): ResidentPresence | undefined;
  report(name: string, state: ResidentState): void;
}

export interface FaceRecognizerOptions {
  engine: FaceEngine;
  gallery: () => Promise<GalleryEntry[] | undefined>;
  sampler: FaceSampler;
  bus: EventBus;
  logger: Logger;
  presence?: FacePresence;
  /** Cameras where a recognised resident counts as home. */
  entranceCameras: readonly string[];
  /** A recognition is an arrival when the resident was not recognised for this long (or left since). */
  arriveAfterMs: number;
  /** A resident only a face made home is away after this long unrecognised; 0 = never. */
  presenceTimeoutMs: number;
  maxDistance?: number;
  now?: () => number;
}

interface TrackFaces {
  result?: FaceResult;
  pending: Set<Promise<void>>;
}

/** Checks of the face-only presence timeout. */
const TIMEOUT_CHECK_MS = 30_000;

/**
 * Face recognition on person events (tracks that passed the event gate, so never a face on a poster
 * or a statue): for the sightings the sampler lets through, the upper part of the person box is cut
 * from the frame and given to the engine; each face is matched with the gallery (enrolled
 * residents, in RAM only while the vault is unlocked). The event ends with the resident, "unknown
 * face" or "not checked: vault locked". A resident recognised on an entrance camera is reported
 * home; a recognition after being away is an arrival on the bus.
 */
export class FaceRecognizer implements TrackObserver {
  private readonly tracks = new Map<string, TrackFaces>();
  private readonly lastRecognised = new Map<string, number>();
  /** Residents a face made home, by name: the timeout sends them away unless another source took over. */
  private readonly homeByFace = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: FaceRecognizerOptions) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  start(): void {
    if (this.opts.presenceTimeoutMs > 0) {
      this.timer = setInterval(() => this.expirePresence(), Math.min(TIMEOUT_CHECK_MS, this.opts.presenceTimeoutMs));
      this.timer.unref();
    }
  }

  /** Waits for the checks under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.tracks.values()].flatMap((t) => [...t.pending]));
  }

  seen(sighting: TrackSighting): void {
    if (sighting.label !== 'person') return;
    if (!this.opts.sampler.shouldCheck(sighting.trackId, sighting.box, sighting.at)) return;
    let track = this.tracks.get(sighting.trackId);
    if (!track) {
      track = { pending: new Set() };
      this.tracks.set(sighting.trackId, track);
    }
    const image = headCrop(sighting.frame, sighting.box); // now: the frame's buffer is reused after this call
    const check = this.check(sighting, image, track).catch((err: unknown) => {
      this.opts.logger.error({ camera: sighting.camera, err: (err as Error).message }, 'faces: recognition failed');
    });
    track.pending.add(check);
    void check.finally(() => track.pending.delete(check));
  }

  async ended(trackId: string): Promise<{ face?: FaceResult } | undefined> {
    const track = this.tracks.get(trackId);
    this.opts.sampler.forget(trackId);
    if (!track) return undefined;
    while (track.pending.size > 0) await Promise.allSettled([...track.pending]);
    this.tracks.delete(trackId);
    return track.result ? { face: track.result } : undefined;
  }

  private async check(sighting: TrackSighting, image: FaceImage, track: TrackFaces): Promise<void> {
    const gallery = await this.opts.gallery();
    if (!gallery) {
      track.result ??= { unchecked: 'vault locked' };
      return;
    }
    let faces;
    const started = Date.now();
    try {
      faces = await this.opts.engine.detect(image);
      this.opts.logger.debug({ camera: sighting.camera, event: sighting.trackId, faces: faces.length, ms: Date.now() - started }, 'faces: checked');
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Busy, or a new worker starting (the engine logged why): the sampler offers this track again.
      if (code === 'queue-full' || code === 'worker-stopped') return;
      throw err;
    }
    if (track.result?.resident) return;
    for (const face of faces) {
      const match = bestMatch(face.embedding, gallery, this.opts.maxDistance);
      if (match) {
        track.result = { resident: match.id };
        this.opts.sampler.recognised(sighting.trackId);
        const name = gallery.find((g) => g.id === match.id)?.name ?? match.id;
        this.recognised(match.id, name, sighting);
        return;
      }
    }
    if (faces.length > 0) track.result = { unknown: true };
  }

  private recognised(id: string, name: string, sighting: TrackSighting): void {
    const at = this.now();
    const { presence, bus, logger } = this.opts;
    const last = this.lastRecognised.get(id);
    const board = presence?.knows(name) ? presence.state(name) : undefined;
    const away = last === undefined || at - last >= this.opts.arriveAfterMs || (board?.state === 'away' && board.at > last);
    this.lastRecognised.set(id, at);
    logger.info({ camera: sighting.camera, event: sighting.trackId, resident: id }, 'faces: resident recognised');
    if (presence && this.opts.entranceCameras.includes(sighting.camera) && presence.knows(name)) {
      this.homeByFace.set(name, at);
      if (presence.state(name)?.state !== 'home') presence.report(name, 'home');
    }
    if (away) bus.emit('resident:arrived', { resident: id, name, camera: sighting.camera, eventId: sighting.trackId, at });
  }

  /** A resident whom only a face made home, unrecognised for presenceTimeoutMs, is away. */
  expirePresence(): void {
    const { presence } = this.opts;
    if (!presence) return;
    const now = this.now();
    for (const [name, seenAt] of this.homeByFace) {
      const board = presence.state(name);
      if (board?.state !== 'home' || board.source !== 'face') {
        this.homeByFace.delete(name); // another source decided since
        continue;
      }
      if (now - seenAt < this.opts.presenceTimeoutMs) continue;
      this.homeByFace.delete(name);
      presence.report(name, 'away');
    }
  }
}

/**
 * The upper 60 % of a person box (head and shoulders, even leaning), a little wider, as RGB: the
 * only pixels converted, so this stays well under a millisecond at detect sizes.
 */
export function headCrop(frame: Yuv420Image, box: Box): FaceImage {
  const padX = box.width * 0.15;
  const left = clamp(Math.floor(box.x - padX), 0, frame.width - 1);
  const top = clamp(Math.floor(box.y - box.height * 0.05), 0, frame.height - 1);
  const right = clamp(Math.ceil(box.x + box.width + padX), left + 1, frame.width);
  const bottom = clamp(Math.ceil(box.y + box.height * 0.6), top + 1, frame.height);
  const region = { left, top, width: right - left, height: bottom - top };
  return { data: yuv420pToRgb(frame, region), width: region.width, height: region.height, channels: 3 };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
