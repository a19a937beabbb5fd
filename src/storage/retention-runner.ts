import { statfs } from 'node:fs/promises';
import type { VoletConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import type { EventPadding } from './retention.ts';
import { runRetentionPass, type RetentionReport } from './retention-pass.ts';
import type { StorageIndex } from './storage-index.ts';
import type { VaultStore } from './vault-store.ts';

export interface RetentionRunnerOptions {
  store: VaultStore;
  index: StorageIndex;
  retention: VoletConfig['storage']['retention'];
  eventPaddingMs: EventPadding;
  logger: Logger;
  intervalMs?: number;
  batchSize?: number;
}

/** Free space retention keeps on a disk of this size: minFreeGb or minFreePercent, whichever is larger. */
export function retentionFloorBytes(retention: VoletConfig['storage']['retention'], totalBytes: number): number {
  return Math.max(retention.minFreeGb * 1e9, (retention.minFreePercent / 100) * totalBytes);
}

/** Applies the retention policy to the storage directory now and then, and at once when the disk is full. */
export class RetentionRunner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionReport>;
  private stopped = false;

  constructor(private readonly opts: RetentionRunnerOptions) {}

  /** Runs a first pass soon (in the background) and then every interval. */
  start(): void {
    this.stopped = false;
    const run = () => void this.runOnce().catch((err: Error) => this.opts.logger.error({ err: err.message }, 'retention pass failed'));
    setImmediate(run);
    this.timer = setInterval(run, this.opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  /** No new pass starts; a pass under way ends at its next step (await `idle()`). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Resolves once no pass is running. */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  /** One pass; concurrent callers share the pass under way. */
  runOnce(nowMs = Date.now(), headroomBytes = 0): Promise<RetentionReport> {
    this.running ??= this.pass(nowMs, headroomBytes).finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * A write failed for lack of space: after any pass under way, one pass that frees the floor plus
   * `headroomBytes` (the floor alone may be a few seconds of writing on a small disk). Resolves
   * false when a retry is pointless: nothing could be deleted and the room is still missing.
   */
  async makeRoom(headroomBytes: number): Promise<boolean> {
    await this.idle();
    const report = await this.runOnce(Date.now(), headroomBytes);
    return report.deletedBytes > 0 || report.shortfallBytes === 0;
  }

  private async pass(nowMs: number, headroomBytes: number): Promise<RetentionReport> {
    const { store, index, retention, logger } = this.opts;
    const fs = await statfs(store.dir);
    const report = await runRetentionPass({
      index,
      deleteFiles: (files) => store.removeFiles(files),
      policy: {
        continuousDays: retention.continuousDays,
        eventDays: retention.eventDays,
        minFreeBytes: retentionFloorBytes(retention, fs.blocks * fs.bsize) + headroomBytes,
        maxBytes: retention.maxSizeGb === undefined ? undefined : retention.maxSizeGb * 1e9,
        eventPaddingMs: this.opts.eventPaddingMs,
      },
      disk: { freeBytes: fs.bavail * fs.bsize },
      nowMs,
      batchSize: this.opts.batchSize,
      shouldStop: () => this.stopped,
    });
    if (report.deletedFiles > 0 || report.forgottenEvents > 0) {
      const reasons = Object.entries(report.byReason).filter(([, n]) => n > 0).map(([reason]) => reason);
      logger.info({ files: report.deletedFiles, bytes: report.deletedBytes, reasons, events: report.forgottenEvents, steps: report.steps }, 'retention: deleted old footage');
    }
    if (report.shortfallBytes > 0) {
      logger.error({ shortfallBytes: report.shortfallBytes }, 'storage full: only kept or running events are left — free space or unkeep events');
    }
    return report;
  }
}
