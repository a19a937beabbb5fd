import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { maskUrlsIn, type Logger } from '../log/logger.ts';
import { sha256OfFile } from './local-file.ts';
import type { BackupQueue, QueueItem } from './queue.ts';
import { InvalidRemoteNameError, PART_SUFFIX } from './remote-name.ts';
import { describeError } from './scrub.ts';
import { BackupTargetError, type BackupErrorKind, type BackupTarget } from './target.ts';
import { TokenBucket } from './throttle.ts';

export interface RunnerTarget {
  readonly target: BackupTarget;
  /** Uploads in flight at once for this target. Default 1. */
  readonly concurrency?: number;
  /** Upload bandwidth limit for this target in bytes per second. Default: none. */
  readonly bytesPerSecond?: number;
  /** Download every upload again and compare SHA-256 (for protocols that report no content hash). */
  readonly verifyByDownload?: boolean;
}

export interface BackupRunnerOptions {
  readonly queue: BackupQueue;
  readonly targets: readonly RunnerTarget[];
  readonly logger?: Logger;
  /** Retry delays double from initialMs up to maxMs. Default 10 s … 1 h. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly now?: () => number;
  /** Look for due work at least this often. Default 60 s. */
  readonly pollIntervalMs?: number;
  /** Where verifyByDownload puts its temporary copies. Default: the OS temp folder. */
  readonly scratchDir?: string;
}

export interface TargetStatus {
  readonly target: string;
  /** No failure since the last success. */
  readonly healthy: boolean;
  readonly lastSuccessMs: number | null;
  readonly lastError: string | null;
  readonly lastErrorMs: number | null;
  readonly consecutiveFailures: number;
  /** While the target is backing off: when it is tried again. */
  readonly retryAtMs: number | null;
  readonly uploading: number;
  readonly backlogCount: number;
  readonly backlogBytes: number;
  /** Rows that will not be retried (local file gone or changed); see retryFailed(). */
  readonly failedCount: number;
}

export interface PruneResult {
  target: string;
  removed: string[];
  kept: number;
  errors: string[];
}

interface TargetSlot {
  readonly name: string;
  readonly target: BackupTarget;
  readonly concurrency: number;
  readonly bucket: TokenBucket | undefined;
  readonly verifyByDownload: boolean;
  readonly inFlight: Set<string>;
  pausedUntilMs: number;
}

/** Failures that mean the whole target is unreachable or refuses us, not just this file. */
const TARGET_LEVEL: ReadonlySet<BackupErrorKind> = new Set(['unavailable', 'auth', 'host-key', 'tls']);
/** Failures that need the user; waiting longer between tries costs nothing. */
const NEEDS_USER: ReadonlySet<BackupErrorKind> = new Set(['auth', 'host-key', 'tls']);

const YEAR_2000_MS = 946_684_800_000;

/**
 * When a remote file was recorded, from the last 13-digit millisecond timestamp in its name
 * ("segment-1795330000000-1795330004000.volet" → its end), else undefined.
 */
export function recordedAtMsFromName(name: string, nowMs: number): number | undefined {
  const stamps = basename(name).match(/\d{13}/g);
  const last = stamps ? Number(stamps[stamps.length - 1]) : undefined;
  return last !== undefined && last > YEAR_2000_MS && last < nowMs + 86_400_000 ? last : undefined;
}

/**
 * Works through the persistent backup queue: per-target concurrency and bandwidth, exponential
 * backoff on failure (per file, and per target when the target itself is down), verification
 * before a row is marked done. Nothing here rejects into the caller: errors become row state
 * and a log line.
 */
export class BackupRunner {
  private readonly queue: BackupQueue;
  private readonly slots = new Map<string, TargetSlot>();
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly pollIntervalMs: number;
  private readonly scratchDir: string;
  private readonly jobs = new Set<Promise<void>>();
  private readonly idleWaiters: Array<() => void> = [];
  private abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(options: BackupRunnerOptions) {
    this.queue = options.queue;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.initialMs = options.backoff?.initialMs ?? 10_000;
    this.maxMs = Math.max(this.initialMs, options.backoff?.maxMs ?? 3_600_000);
    this.pollIntervalMs = options.pollIntervalMs ?? 60_000;
    this.scratchDir = options.scratchDir ?? tmpdir();
    for (const entry of options.targets) {
      this.slots.set(entry.target.name, {
        name: entry.target.name,
        target: entry.target,
        concurrency: Math.max(1, Math.floor(entry.concurrency ?? 1)),
        bucket: entry.bytesPerSecond ? new TokenBucket(entry.bytesPerSecond) : undefined,
        verifyByDownload: entry.verifyByDownload ?? false,
        inFlight: new Set(),
        pausedUntilMs: 0,
      });
    }
  }

  /** Uploads interrupted by a crash start over; then the queue is worked through. */
  start(): void {
    if (this.running) return;
    this.guard('start', () => {
      const requeued = this.queue.requeueInterrupted();
      if (requeued > 0) this.logger?.info({ requeued }, 'backup: uploads interrupted by a restart are queued again');
      for (const slot of this.slots.values()) slot.pausedUntilMs = this.queue.health(slot.name).pausedUntilMs;
    });
    this.abort = new AbortController();
    this.running = true;
    this.pump();
  }

  /** Aborts uploads in flight (their rows go back to the queue) and waits for them to settle. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort(new Error('backup runner stopped'));
    await Promise.all([...this.jobs]);
    this.resolveIdle();
  }

  /** Queues a file and wakes the runner. Never rejects; a problem becomes a failed row and a log line. */
  async enqueue(target: string, localPath: string, remoteName: string): Promise<QueueItem | undefined> {
    try {
      if (!this.slots.has(target)) this.logger?.warn({ target }, 'backup: queued for a target that is not configured');
      const item = await this.queue.enqueue(target, localPath, remoteName);
      if (item.state === 'failed') this.logger?.warn({ target, remoteName, error: item.lastError }, 'backup: cannot queue file');
      this.pump();
      return item;
    } catch (error) {
      this.logger?.error({ target, remoteName, error: maskUrlsIn(describeError(error)) }, 'backup: enqueue failed');
      return undefined;
    }
  }

  /** Retries everything waiting now, without backoff (e.g. after the user fixed a password). */
  wake(): void {
    for (const slot of this.slots.values()) {
      slot.pausedUntilMs = 0;
      this.guard('wake', () => this.queue.setPausedUntil(slot.name, 0));
    }
    this.guard('wake', () => this.queue.retryNow());
    this.pump();
  }

  /** Resolves once no upload is in flight and nothing is due right now. */
  whenIdle(): Promise<void> {
    this.pump();
    if (this.activeCount() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  retryFailed(target?: string): number {
    const count = this.guard('retryFailed', () => this.queue.retryFailed(target)) ?? 0;
    this.pump();
    return count;
  }

  status(): TargetStatus[] {
    return [...this.slots.values()].map((slot) => {
      const health = this.queue.health(slot.name);
      const backlog = this.queue.backlog(slot.name);
      return {
        target: slot.name,
        healthy: health.consecutiveFailures === 0,
        lastSuccessMs: health.lastSuccessMs,
        lastError: health.lastError,
        lastErrorMs: health.lastErrorMs,
        consecutiveFailures: health.consecutiveFailures,
        retryAtMs: slot.pausedUntilMs > this.now() ? slot.pausedUntilMs : null,
        uploading: slot.inFlight.size,
        backlogCount: backlog.count,
        backlogBytes: backlog.bytes,
        failedCount: backlog.failed,
      };
    });
  }

  /**
   * Remote retention: removes files recorded (per their name, else modified) more than
   * `olderThanMs` ago, stale .part leftovers included. Never rejects.
   */
  /** `keep` protects names that must stay whatever their age (the vault key, the index export). */
  async pruneRemote(targetName: string, olderThanMs: number, keep: (name: string) => boolean = () => false): Promise<PruneResult> {
    const slot = this.slots.get(targetName);
    const result: PruneResult = { target: targetName, removed: [], kept: 0, errors: [] };
    if (!slot) {
      result.errors.push(`no backup target named "${targetName}" is configured`);
      return result;
    }
    if (!(olderThanMs > 0)) {
      result.errors.push(`retention must be positive, got ${olderThanMs} ms`);
      return result;
    }
    const now = this.now();
    const cutoff = now - olderThanMs;
    let files;
    try {
      files = await slot.target.list();
    } catch (error) {
      const message = maskUrlsIn(describeError(error));
      result.errors.push(message);
      this.logger?.warn({ target: targetName, error: message }, 'backup: listing for retention failed');
      return result;
    }
    for (const file of files) {
      const name = file.name.endsWith(PART_SUFFIX) ? file.name.slice(0, -PART_SUFFIX.length) : file.name;
      const when = recordedAtMsFromName(name, now) ?? file.modifiedMs;
      if (when === undefined || when >= cutoff || slot.inFlight.has(name) || keep(name)) {
        result.kept += 1;
        continue;
      }
      try {
        await slot.target.remove(file.name);
        result.removed.push(file.name);
      } catch (error) {
        result.errors.push(maskUrlsIn(describeError(error)));
      }
    }
    this.logger?.info(
      { target: targetName, removed: result.removed.length, kept: result.kept, errors: result.errors.length },
      'backup: remote retention applied',
    );
    return result;
  }

  private pump(): void {
    if (!this.running) {
      this.resolveIdle();
      return;
    }
    const now = this.now();
    for (const slot of this.slots.values()) {
      if (now < slot.pausedUntilMs) continue;
      while (slot.inFlight.size < slot.concurrency) {
        const item = this.guard('claim', () => this.queue.claimNext(slot.name));
        if (!item) break;
        slot.inFlight.add(item.remoteName);
        const job: Promise<void> = this.upload(slot, item).finally(() => {
          slot.inFlight.delete(item.remoteName);
          this.jobs.delete(job);
          this.pump();
        });
        this.jobs.add(job);
      }
    }
    this.scheduleWake(now);
    if (this.activeCount() === 0) this.resolveIdle();
  }

  private async upload(slot: TargetSlot, item: QueueItem): Promise<void> {
    const signal = this.abort.signal;
    const context = { target: slot.name, remoteName: item.remoteName, attempt: item.attempts + 1 };
    try {
      const local = await stat(item.localPath).catch(() => undefined);
      if (!local?.isFile()) {
        this.fail(item, context, `local file ${item.localPath} no longer exists`);
        return;
      }
      if (local.size !== item.size) {
        this.fail(item, context, `local file ${item.localPath} changed since it was queued (${item.size} → ${local.size} bytes)`);
        return;
      }
      await slot.target.put(item.remoteName, item.localPath, { throttle: slot.bucket, signal });
      await this.verify(slot, item);
      if (this.queue.markDone(item.id, item.sha256)) {
        this.queue.recordSuccess(slot.name);
        slot.pausedUntilMs = 0;
        this.logger?.info({ ...context, bytes: item.size }, 'backup: uploaded and verified');
      }
    } catch (error) {
      this.guard('record failure', () => this.retryLater(slot, item, context, error, signal.aborted));
    }
  }

  private async verify(slot: TargetSlot, item: QueueItem): Promise<void> {
    const remote = await slot.target.stat(item.remoteName);
    const problem = (message: string) => new BackupTargetError(slot.name, 'verification', `${item.remoteName} ${message}`);
    let failure: BackupTargetError | undefined;
    if (!remote) failure = problem('is missing after upload');
    else if (remote.size !== item.size) failure = problem(`has ${remote.size} bytes after upload, expected ${item.size}`);
    else if (remote.contentHash !== undefined && slot.target.contentHashOf) {
      const expected = await slot.target.contentHashOf(item.localPath);
      if (expected !== remote.contentHash) failure = problem(`has content hash ${remote.contentHash}, expected ${expected}`);
    }
    if (!failure && slot.verifyByDownload) {
      const copy = join(this.scratchDir, `volet-verify-${randomBytes(6).toString('hex')}`);
      try {
        await slot.target.get(item.remoteName, copy);
        const actual = await sha256OfFile(copy);
        if (actual !== item.sha256) failure = problem(`downloads with SHA-256 ${actual}, expected ${item.sha256}`);
      } finally {
        await rm(copy, { force: true });
      }
    }
    if (failure) {
      // A final name with wrong content must not look like a backup.
      await slot.target.remove(item.remoteName).catch(() => undefined);
      throw failure;
    }
  }

  private fail(item: QueueItem, context: object, reason: string): void {
    this.queue.markFailed(item.id, reason);
    this.logger?.warn({ ...context, error: reason }, 'backup: file will not be uploaded');
  }

  private retryLater(slot: TargetSlot, item: QueueItem, context: object, error: unknown, aborted: boolean): void {
    const message = maskUrlsIn(describeError(error));
    if (aborted) {
      this.queue.markRetry(item.id, `interrupted: ${message}`, this.now(), false);
      this.logger?.info(context, 'backup: upload interrupted by shutdown, left in the queue');
      return;
    }
    if (error instanceof InvalidRemoteNameError) {
      this.fail(item, context, message);
      return;
    }
    const kind = error instanceof BackupTargetError ? error.kind : undefined;
    const now = this.now();
    const attempts = item.attempts + 1;
    const itemDelay = kind && NEEDS_USER.has(kind) ? this.maxMs : this.backoffMs(attempts);
    this.queue.markRetry(item.id, message, now + itemDelay);
    if (kind && TARGET_LEVEL.has(kind)) {
      const failures = this.queue.recordFailure(slot.name, message, 0);
      const targetDelay = NEEDS_USER.has(kind) ? this.maxMs : this.backoffMs(failures);
      slot.pausedUntilMs = now + targetDelay;
      this.queue.setPausedUntil(slot.name, slot.pausedUntilMs);
    } else {
      this.queue.recordFailure(slot.name, message, slot.pausedUntilMs);
    }
    this.logger?.warn({ ...context, error: message, retryInMs: itemDelay }, 'backup: upload failed, will retry');
  }

  private backoffMs(failures: number): number {
    return Math.min(this.maxMs, this.initialMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  }

  private scheduleWake(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    let next = now + this.pollIntervalMs;
    for (const slot of this.slots.values()) {
      if (slot.inFlight.size >= slot.concurrency) continue;
      const due = this.guard('schedule', () => this.queue.nextDueMs(slot.name));
      if (due !== undefined) next = Math.min(next, Math.max(due, slot.pausedUntilMs));
    }
    this.timer = setTimeout(() => this.pump(), Math.min(this.pollIntervalMs, Math.max(10, next - now)));
    this.timer.unref();
  }

  private activeCount(): number {
    let count = 0;
    for (const slot of this.slots.values()) count += slot.inFlight.size;
    return count;
  }

  private resolveIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Runs a queue operation; a database error becomes a log line, not an exception. */
  private guard<T>(what: string, operation: () => T): T | undefined {
    try {
      return operation();
    } catch (error) {
      this.logger?.error({ error: maskUrlsIn(describeError(error)) }, `backup: ${what} failed`);
      return undefined;
    }
  }
}
