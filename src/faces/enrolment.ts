import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import type { Logger } from '../log/logger.ts';
import { VaultLockedError } from '../vault/errors.ts';
import type { FileKeyOpener } from '../vault/format.ts';
import type { DetectedFace, FaceEngine, FaceImage } from './engine.ts';
import type { FaceFiles } from './face-files.ts';
import type { Resident, ResidentFace, ResidentRepository } from './residents.ts';

/** Bad enrolment input the person can fix: a 400. */
export class FaceInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaceInputError';
  }
}

/** Face recognition is off (faces.enabled: false): nothing can compute an embedding. */
export class FacesDisabledError extends Error {
  constructor() {
    super('Face recognition is off: set faces.enabled: true in volet.yml.');
    this.name = 'FacesDisabledError';
  }
}

export type VaultView = FileKeyOpener & { readonly isUnlocked: boolean };

export interface GalleryEntry {
  id: string;
  name: string;
  embeddings: Float32Array[];
}

/** Photos are decoded at most this large (a face needs far less; bounds the decoder's work). */
const MAX_PHOTO_PIXELS = 40_000_000;
const MAX_SIDE = 1600;

/**
 * Residents and their enrolled faces: enrolment from a photo or an event's frame, deletion of
 * everything about a resident, and the gallery of embeddings recognition compares against. The
 * embeddings are sealed like footage: they are read once the vault is first unlocked and then kept
 * in RAM until Volet stops (the vault's auto-lock protects footage from the viewer; recognition at
 * night must not wait for someone to watch). Faces enrolled or deleted later change that copy.
 */
export class ResidentService {
  /** Every enrolled face's embedding, by face id, once read from the vault. */
  private enrolled: Map<string, { residentId: string; embedding: Float32Array }> | undefined;
  private loading: Promise<void> | undefined;
  /** Bumped by every enrolment or deletion, so a read that raced one starts over. */
  private generation = 0;

  constructor(
    private readonly deps: {
      repo: ResidentRepository;
      files: FaceFiles;
      vault: () => VaultView | undefined;
      engine: () => FaceEngine | undefined;
      logger: Logger;
      now?: () => number;
      /** Told once a resident is gone, so other modules drop their references (notification rules). */
      onRemoved?: (residentId: string) => void;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  list(): Array<Resident & { faces: number }> {
    const counts = this.deps.repo.faceCounts();
    return this.deps.repo.list().map((r) => ({ ...r, faces: counts.get(r.id) ?? 0 }));
  }

  get(id: string): Resident | undefined {
    return this.deps.repo.get(id);
  }

  name(id: string): string | undefined {
    return this.deps.repo.get(id)?.name;
  }

  faces(residentId: string): ResidentFace[] {
    return this.deps.repo.facesOf(residentId);
  }

  add(name: string, by: string): Resident {
    const resident: Resident = { id: randomUUID(), name, createdBy: by, createdMs: this.now() };
    this.deps.repo.add(resident);
    return resident;
  }

  /** Deletes the resident's sealed photos and embeddings, then the rows. Resolves false when unknown. */
  async remove(id: string): Promise<{ faces: number } | undefined> {
    if (!this.deps.repo.get(id)) return undefined;
    const faces = this.deps.repo.facesOf(id);
    for (const face of faces) await this.deps.files.remove(face.id);
    this.deps.repo.remove(id);
    this.generation++;
    for (const face of faces) this.enrolled?.delete(face.id);
    try {
      this.deps.onRemoved?.(id);
    } catch (err) {
      this.deps.logger.error({ resident: id, err: (err as Error).message }, 'faces: could not remove the deleted resident from notification rules');
    }
    return { faces: faces.length };
  }

  /**
   * Enrols the largest face of a JPEG or PNG (an upload, or an event's frame): its crop and
   * embedding are sealed, then the row is added. Throws FaceInputError for an image that is not
   * one or has no face, FacesDisabledError when recognition is off.
   */
  async addFace(residentId: string, image: Buffer, source: { kind: 'upload' } | { kind: 'event'; eventId: string }): Promise<ResidentFace> {
    const engine = this.deps.engine();
    if (!engine) throw new FacesDisabledError();
    const rgb = await decodePhoto(image);
    const faces = await engine.detect(rgb);
    const face = largest(faces);
    if (!face) throw new FaceInputError('No face was found in the image: use a photo where the face is clear and frontal.');
    const crop = await faceCrop(rgb, face);
    const row: ResidentFace = {
      id: randomUUID(),
      residentId,
      source: source.kind,
      eventId: source.kind === 'event' ? source.eventId : null,
      createdMs: this.now(),
    };
    await this.deps.files.write(row.id, crop, face.embedding);
    if (!this.deps.repo.get(residentId)) {
      await this.deps.files.remove(row.id); // deleted meanwhile
      throw new FaceInputError('The resident was deleted.');
    }
    this.deps.repo.addFace(row);
    this.generation++;
    this.enrolled?.set(row.id, { residentId, embedding: face.embedding });
    return row;
  }

  async removeFace(faceId: string): Promise<boolean> {
    if (!this.deps.repo.face(faceId)) return false;
    await this.deps.files.remove(faceId);
    this.deps.repo.removeFace(faceId);
    this.generation++;
    this.enrolled?.delete(faceId);
    return true;
  }

  face(faceId: string): ResidentFace | undefined {
    return this.deps.repo.face(faceId);
  }

  /** The enrolled face's JPEG; throws VaultLockedError while locked. */
  photo(faceId: string): Promise<Buffer> {
    return this.deps.files.photo(faceId, this.unlocked());
  }

  /**
   * Every resident's embeddings; undefined until the vault has been unlocked once since Volet
   * started (recognition waits until then).
   */
  async gallery(): Promise<GalleryEntry[] | undefined> {
    if (!this.enrolled) {
      const vault = this.deps.vault();
      if (!vault?.isUnlocked) return undefined;
      this.loading ??= this.load(vault).finally(() => (this.loading = undefined));
      try {
        await this.loading;
      } catch (err) {
        if (err instanceof VaultLockedError) return undefined;
        throw err;
      }
    }
    const entries = new Map<string, GalleryEntry>();
    for (const r of this.deps.repo.list()) entries.set(r.id, { id: r.id, name: r.name, embeddings: [] });
    for (const face of this.enrolled?.values() ?? []) entries.get(face.residentId)?.embeddings.push(face.embedding);
    return [...entries.values()].filter((e) => e.embeddings.length > 0);
  }

  private async load(vault: VaultView): Promise<void> {
    for (;;) {
      const generation = this.generation;
      const faces = new Map<string, { residentId: string; embedding: Float32Array }>();
      for (const face of this.deps.repo.allFaces()) {
        try {
          faces.set(face.id, { residentId: face.residentId, embedding: await this.deps.files.embedding(face.id, vault) });
        } catch (err) {
          if (err instanceof VaultLockedError) throw err;
          this.deps.logger.error({ face: face.id, err: (err as Error).message }, 'faces: an enrolled face cannot be read; enrol it again');
        }
      }
      if (generation !== this.generation) continue; // a face was enrolled or deleted meanwhile
      this.enrolled = faces;
      return;
    }
  }

  private unlocked(): VaultView {
    const vault = this.deps.vault();
    if (!vault?.isUnlocked) throw new VaultLockedError();
    return vault;
  }
}

/** A JPEG or PNG, upright and at most MAX_SIDE, as RGB; anything else is a FaceInputError. */
export async function decodePhoto(bytes: Buffer): Promise<FaceImage> {
  let format: string | undefined;
  try {
    format = (await sharp(bytes, { limitInputPixels: MAX_PHOTO_PIXELS }).metadata()).format;
  } catch {
    throw new FaceInputError('The file is not a readable JPEG or PNG image.');
  }
  if (format !== 'jpeg' && format !== 'png') throw new FaceInputError(`Only JPEG and PNG images are accepted (this one is ${format ?? 'unknown'}).`);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PHOTO_PIXELS, failOn: 'error' })
      .rotate()
      .resize({ width: MAX_SIDE, height: MAX_SIDE, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: 3 };
  } catch {
    throw new FaceInputError('The image could not be decoded (truncated or damaged).');
  }
}

function largest(faces: readonly DetectedFace[]): DetectedFace | undefined {
  let best: DetectedFace | undefined;
  for (const face of faces) if (!best || face.box.width * face.box.height > best.box.width * best.box.height) best = face;
  return best;
}

/** The face with a margin, as the JPEG kept for the viewer (no EXIF: sharp writes none). */
async function faceCrop(image: FaceImage, face: DetectedFace): Promise<Buffer> {
  const pad = 0.3;
  const left = Math.max(0, Math.floor(face.box.x - face.box.width * pad));
  const top = Math.max(0, Math.floor(face.box.y - face.box.height * pad));
  const right = Math.min(image.width, Math.ceil(face.box.x + face.box.width * (1 + pad)));
  const bottom = Math.min(image.height, Math.ceil(face.box.y + face.box.height * (1 + pad)));
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) })
    .jpeg({ quality: 90 })
    .toBuffer();
}
