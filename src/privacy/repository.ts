import type { Db } from '../storage/database.ts';
import type { ManualOverride } from './decide.ts';
import type { IntrusionState, ResidentPresence, ShutterReason, ShutterState } from './types.ts';

export interface StoredShutter {
  state: ShutterState;
  reason: ShutterReason;
  by: string;
  since: number;
}

/** A manual open/close asked for by any process (web, API, CLI); the running controller applies it. */
export interface ShutterRequest {
  id: number;
  camera: string;
  state: ShutterState;
  by: string;
  requestedAt: number;
  appliedAt: number | null;
  /** The camera's state right after the request was applied. */
  result: ShutterState | null;
  /** Why the result differs from the request, e.g. the alarm holds the camera open. */
  note: string | null;
}

interface RequestRow {
  id: number;
  camera: string;
  state: ShutterState;
  requested_by: string;
  requested_at: number;
  applied_at: number | null;
  result: ShutterState | null;
  note: string | null;
}

const toRequest = (r: RequestRow): ShutterRequest => ({
  id: r.id,
  camera: r.camera,
  state: r.state,
  by: r.requested_by,
  requestedAt: r.requested_at,
  appliedAt: r.applied_at,
  result: r.result,
  note: r.note,
});

/** The privacy shutter's tables in Volet's one SQLite file, shared by the daemon and the CLI. */
export class ShutterRepository {
  constructor(private readonly db: Db) {}

  states(): Map<string, StoredShutter> {
    const rows = this.db.prepare('SELECT camera, state, reason, changed_by, since FROM shutter_state').all() as Array<{
      camera: string;
      state: ShutterState;
      reason: ShutterReason;
      changed_by: string;
      since: number;
    }>;
    return new Map(rows.map((r) => [r.camera, { state: r.state, reason: r.reason, by: r.changed_by, since: r.since }]));
  }

  saveState(camera: string, s: StoredShutter): void {
    this.db
      .prepare(
        `INSERT INTO shutter_state (camera, state, reason, changed_by, since) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (camera) DO UPDATE SET state = excluded.state, reason = excluded.reason,
           changed_by = excluded.changed_by, since = excluded.since`,
      )
      .run(camera, s.state, s.reason, s.by, s.since);
  }

  overrides(): Map<string, ManualOverride> {
    const rows = this.db.prepare('SELECT * FROM shutter_overrides').all() as Array<{
      camera: string;
      state: ShutterState;
      reason: 'manual' | 'startup';
      changed_by: string;
      at: number;
      ctx_presence: ShutterState | 'none';
      ctx_schedule: ShutterState | 'none';
    }>;
    return new Map(
      rows.map((r) => [
        r.camera,
        { state: r.state, reason: r.reason, by: r.changed_by, at: r.at, context: { presence: r.ctx_presence, schedule: r.ctx_schedule } },
      ]),
    );
  }

  saveOverride(camera: string, o: ManualOverride): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO shutter_overrides (camera, state, reason, changed_by, at, ctx_presence, ctx_schedule)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(camera, o.state, o.reason, o.by, o.at, o.context.presence, o.context.schedule);
  }

  deleteOverride(camera: string): void {
    this.db.prepare('DELETE FROM shutter_overrides WHERE camera = ?').run(camera);
  }

  /** Queues a manual change for the running controller; returns the request's id. */
  request(camera: string, state: ShutterState, by: string, at: number): number {
    return Number(
      this.db
        .prepare('INSERT INTO shutter_requests (camera, state, requested_by, requested_at) VALUES (?, ?, ?, ?)')
        .run(camera, state, by, at).lastInsertRowid,
    );
  }

  pendingRequests(): ShutterRequest[] {
    return (this.db.prepare('SELECT * FROM shutter_requests WHERE applied_at IS NULL ORDER BY id').all() as RequestRow[]).map(toRequest);
  }

  requestById(id: number): ShutterRequest | undefined {
    const row = this.db.prepare('SELECT * FROM shutter_requests WHERE id = ?').get(id) as RequestRow | undefined;
    return row && toRequest(row);
  }

  completeRequest(id: number, appliedAt: number, result: ShutterState | null, note: string | null): void {
    this.db.prepare('UPDATE shutter_requests SET applied_at = ?, result = ?, note = ? WHERE id = ?').run(appliedAt, result, note, id);
  }

  /** Forgets applied requests older than `before` (ms since epoch). */
  pruneRequests(before: number): void {
    this.db.prepare('DELETE FROM shutter_requests WHERE applied_at IS NOT NULL AND applied_at < ?').run(before);
  }

  presence(): Map<string, ResidentPresence> {
    const rows = this.db.prepare('SELECT resident, state, source, at FROM shutter_presence').all() as Array<
      ResidentPresence & { resident: string }
    >;
    return new Map(rows.map((r) => [r.resident, { state: r.state, source: r.source, at: r.at }]));
  }

  savePresence(resident: string, p: ResidentPresence): void {
    this.db.prepare('INSERT OR REPLACE INTO shutter_presence (resident, state, source, at) VALUES (?, ?, ?, ?)').run(resident, p.state, p.source, p.at);
  }

  intrusion(): IntrusionState | undefined {
    const row = this.db.prepare('SELECT armed, triggered, changed_by, at FROM shutter_intrusion WHERE id = 1').get() as
      | { armed: number; triggered: number; changed_by: string; at: number }
      | undefined;
    return row && { armed: row.armed === 1, triggered: row.triggered === 1, by: row.changed_by, at: row.at };
  }

  saveIntrusion(s: IntrusionState): void {
    this.db
      .prepare('INSERT OR REPLACE INTO shutter_intrusion (id, armed, triggered, changed_by, at) VALUES (1, ?, ?, ?, ?)')
      .run(s.armed ? 1 : 0, s.triggered ? 1 : 0, s.by, s.at);
  }
}
