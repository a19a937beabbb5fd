import type { Db } from './database.ts';
import type { StoredKind } from './file-names.ts';

export interface FileRow {
  name: string;
  camera: string;
  kind: StoredKind;
  startMs: number;
  endMs: number;
  size: number;
  eventId: string | null;
}

export interface EventRow {
  id: string;
  camera: string;
  startMs: number;
  endMs: number | null;
  kept: boolean;
}

/**
 * The plaintext index: only what retention and browsing by time need. Labels, scores, zones and
 * boxes live in sealed metadata files, never here.
 */
export class StorageIndex {
  constructor(private readonly db: Db) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS files (
        name TEXT PRIMARY KEY,
        camera TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('segment', 'snapshot', 'metadata')),
        start_ms INTEGER NOT NULL,
        end_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        event_id TEXT
      );
      CREATE INDEX IF NOT EXISTS files_by_time ON files (camera, start_ms);
      CREATE INDEX IF NOT EXISTS files_by_event ON files (event_id);
      CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY,
        camera TEXT NOT NULL,
        start_ms INTEGER NOT NULL,
        end_ms INTEGER,
        kept INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS events_by_time ON events (camera, start_ms);
    `);
  }

  addFile(file: FileRow): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO files (name, camera, kind, start_ms, end_ms, size, event_id)
         VALUES (@name, @camera, @kind, @startMs, @endMs, @size, @eventId)`,
      )
      .run(file);
  }

  removeFile(name: string): void {
    this.db.prepare('DELETE FROM files WHERE name = ?').run(name);
  }

  file(name: string): FileRow | undefined {
    return this.db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE name = ?`).get(name) as FileRow | undefined;
  }

  allFiles(): FileRow[] {
    return this.db.prepare(`SELECT ${FILE_COLUMNS} FROM files ORDER BY start_ms`).all() as FileRow[];
  }

  /** Segments of a camera overlapping [fromMs, toMs], oldest first. */
  segmentsBetween(camera: string, fromMs: number, toMs: number): FileRow[] {
    return this.db
      .prepare(
        `SELECT ${FILE_COLUMNS} FROM files
         WHERE camera = ? AND kind = 'segment' AND end_ms >= ? AND start_ms <= ? ORDER BY start_ms`,
      )
      .all(camera, fromMs, toMs) as FileRow[];
  }

  filesOfEvent(eventId: string): FileRow[] {
    return this.db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE event_id = ? ORDER BY start_ms`).all(eventId) as FileRow[];
  }

  upsertEvent(event: Omit<EventRow, 'kept'>): void {
    this.db
      .prepare(
        `INSERT INTO events (id, camera, start_ms, end_ms) VALUES (@id, @camera, @startMs, @endMs)
         ON CONFLICT (id) DO UPDATE SET end_ms = excluded.end_ms`,
      )
      .run(event);
  }

  event(id: string): EventRow | undefined {
    const row = this.db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`).get(id) as RawEvent | undefined;
    return row && toEvent(row);
  }

  events(filter: { camera?: string; fromMs?: number; toMs?: number; limit?: number } = {}): EventRow[] {
    const rows = this.db
      .prepare(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE (@camera IS NULL OR camera = @camera) AND start_ms >= @from AND start_ms <= @to
         ORDER BY start_ms DESC LIMIT @limit`,
      )
      .all({
        camera: filter.camera ?? null,
        from: filter.fromMs ?? 0,
        to: filter.toMs ?? Number.MAX_SAFE_INTEGER,
        limit: filter.limit ?? 1000,
      }) as RawEvent[];
    return rows.map(toEvent);
  }

  setKept(id: string, kept: boolean): boolean {
    return this.db.prepare('UPDATE events SET kept = ? WHERE id = ?').run(kept ? 1 : 0, id).changes > 0;
  }

  removeEvent(id: string): void {
    this.db.prepare('DELETE FROM events WHERE id = ?').run(id);
  }

  usage(): { files: number; bytes: number } {
    const row = this.db.prepare('SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes FROM files').get() as { files: number; bytes: number };
    return row;
  }

  bytesPerCamera(): Record<string, number> {
    const rows = this.db.prepare('SELECT camera, SUM(size) AS bytes FROM files GROUP BY camera').all() as { camera: string; bytes: number }[];
    return Object.fromEntries(rows.map((r) => [r.camera, r.bytes]));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

const FILE_COLUMNS = 'name, camera, kind, start_ms AS startMs, end_ms AS endMs, size, event_id AS eventId';
const EVENT_COLUMNS = 'id, camera, start_ms AS startMs, end_ms AS endMs, kept';

type RawEvent = Omit<EventRow, 'kept'> & { kept: number };

function toEvent(row: RawEvent): EventRow {
  return { ...row, kept: row.kept === 1 };
}
