import type Database from 'better-sqlite3';
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
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Db) {}

  /** Each SQL text is prepared once: reconciliation and retention run thousands of lookups per pass. */
  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  /** Adds or replaces a row (an UPDATE on conflict, so the usage triggers see the old size go). */
  addFile(file: FileRow): void {
    this
      .sql(
        `INSERT INTO files (name, camera, kind, start_ms, end_ms, size, event_id)
         VALUES (@name, @camera, @kind, @startMs, @endMs, @size, @eventId)
         ON CONFLICT (name) DO UPDATE SET camera = excluded.camera, kind = excluded.kind, start_ms = excluded.start_ms,
           end_ms = excluded.end_ms, size = excluded.size, event_id = excluded.event_id`,
      )
      .run(file);
  }

  removeFile(name: string): void {
    this.sql('DELETE FROM files WHERE name = ?').run(name);
  }

  /** Drops many rows in one transaction. */
  removeFiles(names: readonly string[]): void {
    const remove = this.sql('DELETE FROM files WHERE name = ?');
    this.db.transaction(() => {
      for (const name of names) remove.run(name);
    })();
  }

  file(name: string): FileRow | undefined {
    return this.sql(`SELECT ${FILE_COLUMNS} FROM files WHERE name = ?`).get(name) as FileRow | undefined;
  }

  allFiles(): FileRow[] {
    return this.sql(`SELECT ${FILE_COLUMNS} FROM files ORDER BY start_ms`).all() as FileRow[];
  }

  /**
   * Segments of a camera overlapping [fromMs, toMs], oldest first. One bounded index range: a
   * segment overlapping fromMs starts at most the longest file's length before it.
   */
  segmentsBetween(camera: string, fromMs: number, toMs: number): FileRow[] {
    return this
      .sql(
        `SELECT ${FILE_COLUMNS} FROM files
         WHERE camera = @camera AND start_ms BETWEEN @lowest AND @to AND end_ms >= @from AND kind = 'segment' ORDER BY start_ms`,
      )
      .all({ camera, lowest: fromMs - this.longestFileMs(), from: fromMs, to: toMs }) as FileRow[];
  }

  /** [start, end] of a camera's segments overlapping [fromMs, toMs], oldest first: the timeline's input, without row objects. */
  segmentTimes(camera: string, fromMs: number, toMs: number): Array<[number, number]> {
    return this
      .sql(
        `SELECT start_ms, end_ms FROM files
         WHERE camera = @camera AND start_ms BETWEEN @lowest AND @to AND end_ms >= @from AND kind = 'segment' ORDER BY start_ms`,
      )
      .raw()
      .all({ camera, lowest: fromMs - this.longestFileMs(), from: fromMs, to: toMs }) as Array<[number, number]>;
  }

  /**
   * A page of a camera's segments from the one containing atMs (or the first after it) onward,
   * oldest first.
   */
  segmentsFrom(camera: string, atMs: number, limit: number): FileRow[] {
    return this
      .sql(
        `SELECT ${FILE_COLUMNS} FROM files
         WHERE camera = @camera AND start_ms >= @lowest AND end_ms > @at AND kind = 'segment' ORDER BY start_ms LIMIT @limit`,
      )
      .all({ camera, lowest: atMs - this.longestFileMs(), at: atMs, limit }) as FileRow[];
  }

  /** A page of a camera's segments starting after `afterStartMs`, oldest first. */
  segmentsAfter(camera: string, afterStartMs: number, limit: number): FileRow[] {
    return this
      .sql(`SELECT ${FILE_COLUMNS} FROM files WHERE camera = ? AND start_ms > ? AND kind = 'segment' ORDER BY start_ms LIMIT ?`)
      .all(camera, afterStartMs, limit) as FileRow[];
  }

  /**
   * Stores a segment's motion level (0 < level ≤ 1); the row goes when the segment's row goes, and
   * a segment already gone (retention) gets none.
   */
  setSegmentMotion(segment: Pick<FileRow, 'name' | 'camera' | 'startMs' | 'endMs'>, level: number): void {
    this
      .sql(
        `INSERT INTO segment_motion (name, camera, start_ms, end_ms, level)
         SELECT @name, @camera, @startMs, @endMs, @level WHERE EXISTS (SELECT 1 FROM files WHERE name = @name)
         ON CONFLICT (name) DO UPDATE SET level = excluded.level`,
      )
      .run({ name: segment.name, camera: segment.camera, startMs: segment.startMs, endMs: segment.endMs, level });
  }

  /**
   * Motion of a camera's segments overlapping [fromMs, toMs], merged into buckets of `bucketMs`
   * (each the span of its segments with motion and their highest level), oldest first.
   */
  motionBetween(camera: string, fromMs: number, toMs: number, bucketMs: number): Array<{ start: number; end: number; level: number }> {
    const lowest = fromMs - this.longestFileMs();
    return this
      .sql(
        `SELECT MIN(start_ms) AS start, MAX(end_ms) AS end, MAX(level) AS level FROM segment_motion
         WHERE camera = @camera AND start_ms BETWEEN @lowest AND @to AND end_ms >= @from
         GROUP BY CAST((start_ms - @lowest) / @bucket AS INTEGER) ORDER BY start`,
      )
      .all({ camera, lowest, from: fromMs, to: toMs, bucket: Math.max(1, Math.round(bucketMs)) }) as Array<{ start: number; end: number; level: number }>;
  }

  filesOfEvent(eventId: string): FileRow[] {
    return this.sql(`SELECT ${FILE_COLUMNS} FROM files WHERE event_id = ? ORDER BY start_ms`).all(eventId) as FileRow[];
  }

  /**
   * Ends events a previous run left open (a crash or kill -9 gives them no end): at the end of
   * their last stored file, else at their start. An open event protects all later footage of its
   * camera from retention, so none may survive into a new run. Returns how many were closed.
   */
  closeAbandonedEvents(): number {
    return this.sql(
      `UPDATE events SET end_ms = MAX(start_ms, COALESCE((SELECT MAX(f.end_ms) FROM files f WHERE f.event_id = events.id), start_ms))
       WHERE end_ms IS NULL`,
    ).run().changes;
  }

  upsertEvent(event: Omit<EventRow, 'kept'>): void {
    this
      .sql(
        `INSERT INTO events (id, camera, start_ms, end_ms) VALUES (@id, @camera, @startMs, @endMs)
         ON CONFLICT (id) DO UPDATE SET end_ms = excluded.end_ms`,
      )
      .run(event);
  }

  event(id: string): EventRow | undefined {
    const row = this.sql(`SELECT ${EVENT_COLUMNS} FROM events WHERE id = ?`).get(id) as RawEvent | undefined;
    return row && toEvent(row);
  }

  events(filter: { camera?: string; fromMs?: number; toMs?: number; limit?: number } = {}): EventRow[] {
    const rows = this
      .sql(
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
    return this.sql('UPDATE events SET kept = ? WHERE id = ?').run(kept ? 1 : 0, id).changes > 0;
  }

  removeEvent(id: string): void {
    this.sql('DELETE FROM events WHERE id = ?').run(id);
  }

  /** Totals kept by triggers on files: O(cameras), never a scan of the files table. */
  usage(): { files: number; bytes: number } {
    return this.sql('SELECT COALESCE(SUM(files), 0) AS files, COALESCE(SUM(bytes), 0) AS bytes FROM camera_usage').get() as { files: number; bytes: number };
  }

  bytesPerCamera(): Record<string, number> {
    const rows = this.sql('SELECT camera, bytes FROM camera_usage WHERE files > 0 ORDER BY camera').all() as { camera: string; bytes: number }[];
    return Object.fromEntries(rows.map((r) => [r.camera, r.bytes]));
  }

  /** Cameras that have at least one indexed file. */
  cameras(): string[] {
    return (this.sql('SELECT camera FROM camera_usage WHERE files > 0 ORDER BY camera').all() as { camera: string }[]).map((r) => r.camera);
  }

  // ── Batched retention: every query reads a bounded page through an index. ──

  /** Files oldest first by end time, after a keyset cursor, optionally only those ending before `endBefore`. */
  filesByAge(page: { after?: FileCursor; endBefore?: number; limit: number }): FileRow[] {
    return this
      .sql(
        `SELECT ${FILE_COLUMNS} FROM files
         WHERE (end_ms, name) > (@endMs, @name) AND end_ms < @endBefore
         ORDER BY end_ms, name LIMIT @limit`,
      )
      .all({ endMs: page.after?.endMs ?? -1, name: page.after?.name ?? '', endBefore: page.endBefore ?? Number.MAX_SAFE_INTEGER, limit: page.limit }) as FileRow[];
  }

  /** Finished, unkept events oldest first, after a keyset cursor, optionally only those starting before `startBefore`. */
  deletableEventsByAge(page: { after?: EventCursor; startBefore?: number; limit: number }): EventRow[] {
    const rows = this
      .sql(
        `SELECT ${EVENT_COLUMNS} FROM events
         WHERE (start_ms, id) > (@startMs, @id) AND start_ms < @startBefore AND kept = 0 AND end_ms IS NOT NULL
         ORDER BY start_ms, id LIMIT @limit`,
      )
      .all({ startMs: page.after?.startMs ?? -1, id: page.after?.id ?? '', startBefore: page.startBefore ?? Number.MAX_SAFE_INTEGER, limit: page.limit }) as RawEvent[];
    return rows.map(toEvent);
  }

  /**
   * Events of a camera that may overlap [fromMs, toMs] once widened by `longestMs` (the longest
   * finished event), plus its running events that started by `toMs`. A superset: callers check overlap.
   */
  eventsNear(camera: string, fromMs: number, toMs: number, longestMs: number): EventRow[] {
    const rows = this
      .sql(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE camera = @camera AND start_ms BETWEEN @lowest AND @to
         UNION
         SELECT ${EVENT_COLUMNS} FROM events WHERE camera = @camera AND end_ms IS NULL AND start_ms <= @to`,
      )
      .all({ camera, lowest: fromMs - longestMs, to: toMs }) as RawEvent[];
    return rows.map(toEvent);
  }

  eventsById(ids: readonly string[]): EventRow[] {
    if (ids.length === 0) return [];
    const rows = this.sql(`SELECT ${EVENT_COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as RawEvent[];
    return rows.map(toEvent);
  }

  /** Longest finished event, in ms (0 without any): bounds how far back an overlapping event can start. */
  longestEventMs(): number {
    return (this.sql('SELECT COALESCE(MAX(end_ms - start_ms), 0) AS ms FROM events').get() as { ms: number }).ms;
  }

  /** Longest file, in ms: bounds how far back a file overlapping a time can start. */
  longestFileMs(): number {
    return (this.sql('SELECT COALESCE(MAX(end_ms - start_ms), 0) AS ms FROM files').get() as { ms: number }).ms;
  }

  /**
   * A page of the files that can belong to an event: its own (by id) and the camera's segments
   * overlapping [fromMs, toMs] (the event widened by padding), ordered by start, after a cursor.
   */
  filesNearEvent(event: EventRow, fromMs: number, toMs: number, longestFileMs: number, page: { after?: { startMs: number; name: string }; limit: number }): FileRow[] {
    return this
      .sql(
        `SELECT * FROM (
           SELECT ${FILE_COLUMNS} FROM files WHERE event_id = @id AND (start_ms, name) > (@startMs, @name)
           UNION ALL
           SELECT ${FILE_COLUMNS} FROM files
           WHERE camera = @camera AND start_ms BETWEEN @lowest AND @to AND end_ms >= @from AND event_id IS NULL
             AND (start_ms, name) > (@startMs, @name)
         ) ORDER BY startMs, name LIMIT @limit`,
      )
      .all({
        id: event.id,
        camera: event.camera,
        lowest: fromMs - longestFileMs,
        from: fromMs,
        to: toMs,
        startMs: page.after?.startMs ?? -1,
        name: page.after?.name ?? '',
        limit: page.limit,
      }) as FileRow[];
  }

  // ── Start-up and crash reconciliation. ──

  /** Names of a camera's files starting in [fromMs, toMs), by start then name, after a cursor. */
  filesStartingBetween(camera: string, fromMs: number, toMs: number, page: { after?: { startMs: number; name: string }; limit: number }): FileRow[] {
    return this
      .sql(
        `SELECT ${FILE_COLUMNS} FROM files
         WHERE camera = @camera AND start_ms >= @from AND start_ms < @to AND (start_ms, name) > (@startMs, @name)
         ORDER BY start_ms, name LIMIT @limit`,
      )
      .all({ camera, from: fromMs, to: toMs, startMs: page.after?.startMs ?? -1, name: page.after?.name ?? '', limit: page.limit }) as FileRow[];
  }

  /** Start of a camera's oldest and newest indexed files (two index lookups). */
  startSpan(camera: string): { oldestMs: number; newestMs: number } | undefined {
    const oldest = this.sql('SELECT MIN(start_ms) AS ms FROM files WHERE camera = ?').get(camera) as { ms: number | null };
    const newest = this.sql('SELECT MAX(start_ms) AS ms FROM files WHERE camera = ?').get(camera) as { ms: number | null };
    return oldest.ms === null || newest.ms === null ? undefined : { oldestMs: oldest.ms, newestMs: newest.ms };
  }

  /**
   * Reads and clears the clean-shutdown marker. The clear is synced (synchronous=FULL) before
   * anything is recorded: a power cut must not bring the marker back while files written after it
   * exist, or the next start would trust an index that misses them.
   */
  takeCleanShutdown(): boolean {
    const row = this.sql('SELECT clean_shutdown_ms AS ms FROM storage_state WHERE id = 1').get() as { ms: number | null } | undefined;
    const clean = row?.ms !== undefined && row.ms !== null;
    const previous = this.db.pragma('synchronous', { simple: true }) as number;
    this.db.pragma('synchronous = FULL');
    try {
      this.sql('INSERT INTO storage_state (id, clean_shutdown_ms) VALUES (1, NULL) ON CONFLICT (id) DO UPDATE SET clean_shutdown_ms = NULL').run();
    } finally {
      this.db.pragma(`synchronous = ${previous}`);
    }
    return clean;
  }

  /** Records that the index matches the directory: the next start need not look at the tree. */
  markCleanShutdown(nowMs = Date.now()): void {
    this.sql('INSERT INTO storage_state (id, clean_shutdown_ms) VALUES (1, @now) ON CONFLICT (id) DO UPDATE SET clean_shutdown_ms = @now').run({ now: nowMs });
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

export type FileCursor = Pick<FileRow, 'endMs' | 'name'>;
export type EventCursor = Pick<EventRow, 'startMs' | 'id'>;

const FILE_COLUMNS = 'name, camera, kind, start_ms AS startMs, end_ms AS endMs, size, event_id AS eventId';
const EVENT_COLUMNS = 'id, camera, start_ms AS startMs, end_ms AS endMs, kept';

type RawEvent = Omit<EventRow, 'kept'> & { kept: number };

function toEvent(row: RawEvent): EventRow {
  return { ...row, kept: row.kept === 1 };
}
