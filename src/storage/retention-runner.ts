import { statfs } from 'node:fs/promises';
import type { VoletConfig } from '../config/schema.ts';
import type { Logger } from '../log/logger.ts';
import { planRetention, type RetentionPlan } from './retention.ts';
import type { StorageIndex } from './storage-index.ts';
import type { VaultStore } from './vault-store.ts';

export interface RetentionRunnerOptions {
  store: VaultStore;
  index: StorageIndex;
  retention: VoletConfig['storage']['retention'];
  eventPaddingMs: { before: number; after: number };
  logger: Logger;
  intervalMs?: number;
}

/** Free space retention keeps on a disk of this size: minFreeGb or minFreePercent, whichever is larger. */
export function retentionFloorBytes(retention: VoletConfig['storage']['retention'], totalBytes: number): number {
  return Math.max(retention.minFreeGb * 1e9, (retention.minFreePercent / 100) * totalBytes);
}

/** Applies the retention policy to the storage directory now and then, and at once when the disk is full. */
export class RetentionRunner {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RetentionPlan>;

  constructor(private readonly opts: RetentionRunnerOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce().catch(() => {}), this.opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass; concurrent callers share the pass under way. */
  runOnce(nowMs = Date.now()): Promise<RetentionPlan> {
    this.running ??= this.pass(nowMs).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(nowMs: number): Promise<RetentionPlan> {
    const { store, index, retention, logger } = this.opts;
    const fs = await statfs(store.dir);
    const totalBytes = fs.blocks * fs.bsize;
    const plan = planRetention(
      index.allFiles(),
      index.events(),
      {
        continuousDays: retention.continuousDays,
        eventDays: retention.eventDays,
        minFreeBytes: retentionFloorBytes(retention, totalBytes),
        maxBytes: retention.maxSizeGb === undefined ? undefined : retention.maxSizeGb * 1e9,
        eventPaddingMs: this.opts.eventPaddingMs,
      },
      { freeBytes: fs.bavail * fs.bsize },
      nowMs,
    );
    for (const { file } of plan.deletions) await store.remove(file.name);
    for (const id of plan.forgetEvents) index.removeEvent(id);
    if (plan.deletions.length > 0) {
      const bytes = plan.deletions.reduce((sum, d) => sum + d.file.size, 0);
      const reasons = [...new Set(plan.deletions.map((d) => d.reason))];
      logger.info({ files: plan.deletions.length, bytes, reasons, events: plan.forgetEvents.length }, 'retention: deleted old footage');
    }
    if (plan.shortfallBytes > 0) {
      logger.error({ shortfallBytes: plan.shortfallBytes }, 'storage full: only kept or running events are left — free space or unkeep events');
    }
    return plan;
  }
}
