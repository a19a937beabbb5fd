import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { clipBox, type Box } from '../geometry/box.ts';
import type { Point, Polygon } from '../geometry/polygon.ts';
import type { Db } from '../storage/database.ts';

/** A polygon (detect-size pixels) where one label never makes an event on one camera. */
export interface LabelMask {
  id: string;
  camera: string;
  label: string;
  polygon: Polygon;
  /** The event the mask was proposed from ("not a dog"), when there was one. */
  eventId: string | null;
  /** Username of the administrator who confirmed it. */
  createdBy: string;
  createdMs: number;
}

export interface NewLabelMask {
  camera: string;
  label: string;
  polygon: Polygon;
  eventId?: string | null;
  createdBy: string;
}

export const MAX_MASK_POINTS = 32;
export const MAX_MASKS_PER_LABEL = 50;
const LABEL = /^[a-z0-9 _-]{1,32}$/i;

/** A mask refused before it is stored: `invalid` input, or a camera and label already at the `limit`. */
export class LabelMaskError extends Error {
  constructor(
    readonly kind: 'invalid' | 'limit',
    message: string,
  ) {
    super(message);
    this.name = 'LabelMaskError';
  }
}

interface MaskRow {
  id: string;
  camera: string;
  label: string;
  polygon: string;
  event_id: string | null;
  created_by: string;
  created_ms: number;
}

const toMask = (r: MaskRow): LabelMask => ({
  id: r.id,
  camera: r.camera,
  label: r.label,
  polygon: JSON.parse(r.polygon) as Polygon,
  eventId: r.event_id,
  createdBy: r.created_by,
  createdMs: r.created_ms,
});

/**
 * The label masks in Volet's SQLite file. `masksFor` is read on every detection result, so each
 * camera's masks are kept in memory, frozen, until a mask of that camera is added or removed.
 */
export class LabelMaskRepository {
  private readonly cache = new Map<string, ReadonlyMap<string, readonly Polygon[]>>();
  private readonly all: Statement<[], MaskRow>;
  private readonly ofCamera: Statement<[string], MaskRow>;
  private readonly byId: Statement<[string], MaskRow>;
  private readonly countOf: Statement<[string, string], number>;
  private readonly insert: Statement<[MaskRow]>;
  private readonly deleteById: Statement<[string]>;

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.all = db.prepare('SELECT * FROM label_masks ORDER BY created_ms, id');
    this.ofCamera = db.prepare('SELECT * FROM label_masks WHERE camera = ? ORDER BY created_ms, id');
    this.byId = db.prepare('SELECT * FROM label_masks WHERE id = ?');
    this.countOf = db.prepare('SELECT COUNT(*) FROM label_masks WHERE camera = ? AND label = ?').pluck() as Statement<[string, string], number>;
    this.insert = db.prepare(
      `INSERT INTO label_masks (id, camera, label, polygon, event_id, created_by, created_ms)
       VALUES (@id, @camera, @label, @polygon, @event_id, @created_by, @created_ms)`,
    );
    this.deleteById = db.prepare('DELETE FROM label_masks WHERE id = ?');
  }

  /** Every mask, or one camera's, oldest first. */
  list(camera?: string): LabelMask[] {
    return (camera === undefined ? this.all.all() : this.ofCamera.all(camera)).map(toMask);
  }

  /** Stores a mask after checking it; throws LabelMaskError with a message a person can act on. */
  add(input: NewLabelMask): LabelMask {
    checkMask(input);
    const row: MaskRow = {
      id: randomUUID(),
      camera: input.camera,
      label: input.label,
      polygon: JSON.stringify(input.polygon.map(([x, y]) => [x, y])),
      event_id: input.eventId ?? null,
      created_by: input.createdBy,
      created_ms: this.now(),
    };
    this.db.transaction(() => {
      if (this.countOf.get(row.camera, row.label)! >= MAX_MASKS_PER_LABEL) {
        throw new LabelMaskError('limit', `Camera "${row.camera}" already has ${MAX_MASKS_PER_LABEL} masks for "${row.label}"; remove one first.`);
      }
      this.insert.run(row);
    })();
    this.cache.delete(row.camera);
    return toMask(row);
  }

  /** Removes a mask; undefined when there is none with that id. */
  remove(id: string): LabelMask | undefined {
    const row = this.byId.get(id);
    if (!row) return undefined;
    this.deleteById.run(id);
    this.cache.delete(row.camera);
    return toMask(row);
  }

  /** label → polygons for one camera; the same frozen map until that camera's masks change. */
  masksFor(camera: string): ReadonlyMap<string, readonly Polygon[]> {
    let masks = this.cache.get(camera);
    if (!masks) {
      const byLabel = new Map<string, Polygon[]>();
      for (const row of this.ofCamera.all(camera)) {
        const polygon = Object.freeze((JSON.parse(row.polygon) as Point[]).map((p) => Object.freeze(p))) as Polygon;
        byLabel.set(row.label, [...(byLabel.get(row.label) ?? []), polygon]);
      }
      for (const polygons of byLabel.values()) Object.freeze(polygons);
      masks = byLabel;
      this.cache.set(camera, masks);
    }
    return masks;
  }
}

function checkMask(input: NewLabelMask): void {
  const invalid = (message: string) => new LabelMaskError('invalid', message);
  if (typeof input.camera !== 'string' || input.camera.length === 0 || input.camera.length > 64) throw invalid('camera: give a camera name (1–64 characters)');
  if (typeof input.label !== 'string' || !LABEL.test(input.label)) throw invalid('label: 1–32 letters, digits, spaces, _ or -');
  if (typeof input.createdBy !== 'string' || input.createdBy.length === 0) throw invalid('createdBy: say who confirmed the mask');
  checkPolygon(input.polygon);
}

/** Throws LabelMaskError unless `polygon` is 3–32 finite, non-negative [x, y] points enclosing some area. */
export function checkPolygon(polygon: unknown): asserts polygon is Polygon {
  const invalid = (message: string) => new LabelMaskError('invalid', `polygon: ${message}`);
  if (!Array.isArray(polygon) || polygon.length < 3) throw invalid('a polygon needs at least 3 points [x, y]');
  if (polygon.length > MAX_MASK_POINTS) throw invalid(`at most ${MAX_MASK_POINTS} points (got ${polygon.length})`);
  polygon.forEach((point: unknown, i) => {
    if (!Array.isArray(point) || point.length !== 2) throw invalid(`point ${i} is not [x, y]`);
    for (const v of point) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`point ${i} has a coordinate that is not a finite number`);
      if (v < 0) throw invalid(`point ${i} has a negative coordinate`);
    }
  });
  if (Math.abs(signedArea(polygon as Polygon)) === 0) throw invalid('the points enclose no area');
}

/** Shoelace formula; its sign says the winding. */
function signedArea(polygon: Polygon): number {
  let twice = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    twice += polygon[j][0] * polygon[i][1] - polygon[i][0] * polygon[j][1];
  }
  return twice / 2;
}

/**
 * The mask proposed for "not a <label>": the event's box grown by `margin` of its width and height
 * on each side (so a box that jitters a little stays inside), in whole pixels, clipped to the frame.
 */
export function proposeMaskAround(box: Box, frame: { width: number; height: number }, margin = 0.15): Polygon {
  const padX = box.width * margin;
  const padY = box.height * margin;
  // The slack keeps float noise (60 × 0.15 = 9.000000000000002) from adding a whole pixel.
  const left = Math.floor(box.x - padX + 1e-9);
  const top = Math.floor(box.y - padY + 1e-9);
  const right = Math.ceil(box.x + box.width + padX - 1e-9);
  const bottom = Math.ceil(box.y + box.height + padY - 1e-9);
  const { x, y, width, height } = clipBox({ x: left, y: top, width: right - left, height: bottom - top }, frame.width, frame.height);
  return [
    [x, y],
    [x + width, y],
    [x + width, y + height],
    [x, y + height],
  ];
}
