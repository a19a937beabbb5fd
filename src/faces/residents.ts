import type { Db } from '../storage/database.ts';

export interface Resident {
  id: string;
  name: string;
  createdBy: string;
  createdMs: number;
}

export interface ResidentFace {
  id: string;
  residentId: string;
  source: 'upload' | 'event';
  /** The event the face was taken from (source 'event'). */
  eventId: string | null;
  createdMs: number;
}

export class ResidentNameTakenError extends Error {
  constructor(name: string) {
    super(`A resident named "${name}" already exists.`);
    this.name = 'ResidentNameTakenError';
  }
}

const RESIDENT = 'id, name, created_by AS createdBy, created_ms AS createdMs';
const FACE = 'id, resident_id AS residentId, source, event_id AS eventId, created_ms AS createdMs';

/**
 * Residents and their enrolled faces in the index: names, ids and times only. The photos and
 * embeddings are sealed files (see ResidentFaces); a face row exists only once both are written.
 */
export class ResidentRepository {
  constructor(private readonly db: Db) {}

  list(): Resident[] {
    return this.db.prepare(`SELECT ${RESIDENT} FROM residents ORDER BY name`).all() as Resident[];
  }

  get(id: string): Resident | undefined {
    return this.db.prepare(`SELECT ${RESIDENT} FROM residents WHERE id = ?`).get(id) as Resident | undefined;
  }

  byName(name: string): Resident | undefined {
    return this.db.prepare(`SELECT ${RESIDENT} FROM residents WHERE name = ?`).get(name) as Resident | undefined;
  }

  add(resident: Resident): void {
    if (this.byName(resident.name)) throw new ResidentNameTakenError(resident.name);
    this.db.prepare('INSERT INTO residents (id, name, created_by, created_ms) VALUES (@id, @name, @createdBy, @createdMs)').run(resident);
  }

  /** Removes the resident and, by cascade, their face rows; returns the face ids that went (their files must go too). */
  remove(id: string): string[] | undefined {
    return this.db.transaction(() => {
      if (!this.get(id)) return undefined;
      const faces = this.facesOf(id).map((f) => f.id);
      this.db.prepare('DELETE FROM residents WHERE id = ?').run(id);
      return faces;
    })();
  }

  facesOf(residentId: string): ResidentFace[] {
    return this.db.prepare(`SELECT ${FACE} FROM resident_faces WHERE resident_id = ? ORDER BY created_ms`).all(residentId) as ResidentFace[];
  }

  allFaces(): ResidentFace[] {
    return this.db.prepare(`SELECT ${FACE} FROM resident_faces ORDER BY resident_id, created_ms`).all() as ResidentFace[];
  }

  face(id: string): ResidentFace | undefined {
    return this.db.prepare(`SELECT ${FACE} FROM resident_faces WHERE id = ?`).get(id) as ResidentFace | undefined;
  }

  addFace(face: ResidentFace): void {
    this.db
      .prepare('INSERT INTO resident_faces (id, resident_id, source, event_id, created_ms) VALUES (@id, @residentId, @source, @eventId, @createdMs)')
      .run(face);
  }

  removeFace(id: string): boolean {
    return this.db.prepare('DELETE FROM resident_faces WHERE id = ?').run(id).changes > 0;
  }

  /** Face counts per resident, for the list. */
  faceCounts(): Map<string, number> {
    const rows = this.db.prepare('SELECT resident_id AS id, COUNT(*) AS n FROM resident_faces GROUP BY resident_id').all() as Array<{ id: string; n: number }>;
    return new Map(rows.map((r) => [r.id, r.n]));
  }
}
