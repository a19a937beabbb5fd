import { stat } from 'node:fs/promises';
import type { Db } from '../storage/database.ts';
import { sha256OfFile } from './local-file.ts';
import { assertRemoteName } from './remote-name.ts';
import { describeError } from './scrub.ts';

export type QueueState = 'queued' | 'uploading' | 'done' | 'failed';

export interface QueueItem {
  readonly id: number;
  readonly target: string;
  readonly localPath: string;
  readonly remoteName: string;
  readonly size: number;
  readonly sha256: string;
  readonly state: QueueState;
  readonly attempts: number;
  readonly nextAttemptMs: number;
  readonly lastError: string | null;
  readonly createdMs: number;
  readonly updatedMs: number;
  readonly doneMs: number | null;
}

export interface TargetHealthRow {
  readonly target: string;
  readonly lastSuccessMs: number | null;
  readonly lastError: string | null;
  readonly lastErrorMs: number | null;
  readonly consecutiveFailures: number;
  readonly pausedUntilMs: number;
}

interface ItemRow {
  id: number;
  target: string;
  local_path: string;
  remote_name: string;
  size: number;
  sha256: string;
  state: QueueState;
  attempts: number;
  next_attempt_ms: number;
  last_error: string | null;
  created_ms: number;
  updated_ms: number;
  done_ms: number | null;
}

interface HealthRow {
  target: string;
  last_success_ms: number | null;
  last_error: string | null;
  last_error_ms: number | null;
  consecutive_failures: number;
  paused_until_ms: number;
}

function itemOf(row: ItemRow): QueueItem {
  return {
    id: row.id,
    target: row.target,
    localPath: row.local_path,
    remoteName: row.remote_name,
    size: row.size,
    sha256: row.sha256,
    state: row.state,
    attempts: row.attempts,
    nextAttemptMs: row.next_attempt_ms,
    lastError: row.last_error,
    createdMs: row.created_ms,
    updatedMs: row.updated_ms,
    doneMs: row.done_ms,
  };
}

/**
 * The persistent backup queue (table backup_queue) and per-target health (backup_target_health).
 * A row is `queued` until an upload is verified (`done`); failed attempts leave it `queued` with a
 * later next_attempt_ms. `failed` is final: the local file vanished or changed, or the name is unusable.
 */
export class BackupQueue {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Queues a local file for one target. Re-queuing the same content under the same name is a
   * no-op; new content under a known name starts over. Never throws for a bad name or a missing
   * file: those become a `failed` row with the reason.
   */
  async enqueue(target: string, localPath: string, remoteName: string): Promise<QueueItem> {
    let size = 0;
    let sha256 = '';
    let problem: string | undefined;
    try {
      assertRemoteName(remoteName);
      const info = await stat(localPath);
      if (!info.isFile()) throw new Error(`${localPath} is not a file`);
      size = info.size;
      sha256 = await sha256OfFile(localPath);
    } catch (error) {
      problem = `cannot queue ${localPath}: ${describeError(error)}`;
    }
    const now = this.now();
    const existing = this.db
      .prepare<[string, string], ItemRow>('SELECT * FROM backup_queue WHERE target = ? AND remote_name = ?')
      .get(target, remoteName);
    if (existing && !problem && existing.sha256 === sha256 && existing.local_path === localPath && existing.state !== 'failed') {
      return itemOf(existing);
    }
    const row = this.db
      .prepare<unknown[], ItemRow>(
        `INSERT INTO backup_queue (target, local_path, remote_name, size, sha256, state, attempts, next_attempt_ms,
                                   last_error, created_ms, updated_ms, done_ms)
         VALUES (@target, @localPath, @remoteName, @size, @sha256, @state, 0, @now, @lastError, @now, @now, NULL)
         ON CONFLICT (target, remote_name) DO UPDATE SET
           local_path = excluded.local_path, size = excluded.size, sha256 = excluded.sha256, state = excluded.state,
           attempts = 0, next_attempt_ms = excluded.next_attempt_ms, last_error = excluded.last_error,
           updated_ms = excluded.updated_ms, done_ms = NULL
         RETURNING *`,
      )
      .get({ target, localPath, remoteName, size, sha256, state: problem ? 'failed' : 'queued', lastError: problem ?? null, now });
    return itemOf(row as ItemRow);
  }

  /** Takes the next due row of a target and marks it `uploading`, atomically. */
  claimNext(target: string): QueueItem | undefined {
    const now = this.now();
    const row = this.db
      .prepare<unknown[], ItemRow>(
        `UPDATE backup_queue SET state = 'uploading', updated_ms = @now
         WHERE id = (SELECT id FROM backup_queue WHERE target = @target AND state = 'queued' AND next_attempt_ms <= @now
                     ORDER BY next_attempt_ms, id LIMIT 1)
         RETURNING *`,
      )
      .get({ target, now });
    return row ? itemOf(row) : undefined;
  }

  /** Only an upload still in flight for the same content can complete its row. */
  markDone(id: number, sha256: string): boolean {
    const now = this.now();
    return (
      this.db
        .prepare(
          `UPDATE backup_queue SET state = 'done', last_error = NULL, done_ms = ?, updated_ms = ?
           WHERE id = ? AND sha256 = ? AND state = 'uploading'`,
        )
        .run(now, now, id, sha256).changes > 0
    );
  }

  /** A failed attempt: back to `queued`, retried at nextAttemptMs. */
  markRetry(id: number, error: string, nextAttemptMs: number, countsAsAttempt = true): void {
    this.db
      .prepare(
        `UPDATE backup_queue SET state = 'queued', attempts = attempts + ?, next_attempt_ms = ?, last_error = ?, updated_ms = ?
         WHERE id = ? AND state = 'uploading'`,
      )
      .run(countsAsAttempt ? 1 : 0, nextAttemptMs, error, this.now(), id);
  }

  /** A failure retrying cannot fix. */
  markFailed(id: number, error: string): void {
    this.db
      .prepare(
        `UPDATE backup_queue SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_ms = ?
         WHERE id = ? AND state = 'uploading'`,
      )
      .run(error, this.now(), id);
  }

  /** After a crash or restart: uploads that were in flight start over. Returns how many. */
  requeueInterrupted(): number {
    return this.db
      .prepare(`UPDATE backup_queue SET state = 'queued', updated_ms = ? WHERE state = 'uploading'`)
      .run(this.now()).changes;
  }

  /** Puts `failed` rows of a target (or all) back in the queue, e.g. after the user fixed something. */
  retryFailed(target?: string): number {
    const now = this.now();
    return this.db
      .prepare(
        `UPDATE backup_queue SET state = 'queued', attempts = 0, next_attempt_ms = @now, updated_ms = @now
         WHERE state = 'failed' AND (@target IS NULL OR target = @target)`,
      )
      .run({ now, target: target ?? null }).changes;
  }

  /** Makes every waiting row of a target (or all) due now, e.g. after the user fixed its settings. */
  retryNow(target?: string): number {
    const now = this.now();
    return this.db
      .prepare(
        `UPDATE backup_queue SET next_attempt_ms = @now, updated_ms = @now
         WHERE state = 'queued' AND next_attempt_ms > @now AND (@target IS NULL OR target = @target)`,
      )
      .run({ now, target: target ?? null }).changes;
  }

  item(id: number): QueueItem | undefined {
    const row = this.db.prepare<[number], ItemRow>('SELECT * FROM backup_queue WHERE id = ?').get(id);
    return row ? itemOf(row) : undefined;
  }

  items(filter: { target?: string; state?: QueueState } = {}): QueueItem[] {
    return this.db
      .prepare<unknown[], ItemRow>(
        `SELECT * FROM backup_queue WHERE (@target IS NULL OR target = @target) AND (@state IS NULL OR state = @state)
         ORDER BY id`,
      )
      .all({ target: filter.target ?? null, state: filter.state ?? null })
      .map(itemOf);
  }

  /** Rows still to upload (queued or uploading) and their bytes; failed rows counted apart. */
  backlog(target: string): { count: number; bytes: number; failed: number } {
    const row = this.db
      .prepare<[string], { count: number; bytes: number | null; failed: number }>(
        `SELECT SUM(state IN ('queued', 'uploading')) AS count,
                SUM(CASE WHEN state IN ('queued', 'uploading') THEN size ELSE 0 END) AS bytes,
                SUM(state = 'failed') AS failed
         FROM backup_queue WHERE target = ?`,
      )
      .get(target);
    return { count: row?.count ?? 0, bytes: row?.bytes ?? 0, failed: row?.failed ?? 0 };
  }

  /** When the earliest queued row of a target becomes due, if any. */
  nextDueMs(target: string): number | undefined {
    const row = this.db
      .prepare<[string], { due: number | null }>(
        `SELECT MIN(next_attempt_ms) AS due FROM backup_queue WHERE target = ? AND state = 'queued'`,
      )
      .get(target);
    return row?.due ?? undefined;
  }

  health(target: string): TargetHealthRow {
    const row = this.db.prepare<[string], HealthRow>('SELECT * FROM backup_target_health WHERE target = ?').get(target);
    return {
      target,
      lastSuccessMs: row?.last_success_ms ?? null,
      lastError: row?.last_error ?? null,
      lastErrorMs: row?.last_error_ms ?? null,
      consecutiveFailures: row?.consecutive_failures ?? 0,
      pausedUntilMs: row?.paused_until_ms ?? 0,
    };
  }

  recordSuccess(target: string): void {
    this.db
      .prepare(
        `INSERT INTO backup_target_health (target, last_success_ms, consecutive_failures, paused_until_ms) VALUES (?, ?, 0, 0)
         ON CONFLICT (target) DO UPDATE SET last_success_ms = excluded.last_success_ms, consecutive_failures = 0, paused_until_ms = 0`,
      )
      .run(target, this.now());
  }

  /** Records a failure; returns the number of failures in a row, this one included. */
  recordFailure(target: string, error: string, pausedUntilMs: number): number {
    const row = this.db
      .prepare<unknown[], { consecutive_failures: number }>(
        `INSERT INTO backup_target_health (target, last_error, last_error_ms, consecutive_failures, paused_until_ms)
         VALUES (@target, @error, @now, 1, @pausedUntilMs)
         ON CONFLICT (target) DO UPDATE SET last_error = excluded.last_error, last_error_ms = excluded.last_error_ms,
           consecutive_failures = consecutive_failures + 1, paused_until_ms = excluded.paused_until_ms
         RETURNING consecutive_failures`,
      )
      .get({ target, error, now: this.now(), pausedUntilMs });
    return row?.consecutive_failures ?? 1;
  }

  setPausedUntil(target: string, pausedUntilMs: number): void {
    this.db.prepare('UPDATE backup_target_health SET paused_until_ms = ? WHERE target = ?').run(pausedUntilMs, target);
  }
}
