import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createTarget } from '../backup/create-target.ts';
import type { BackupQueue } from '../backup/queue.ts';
import { BackupRunner, type TargetStatus } from '../backup/runner.ts';
import type { BackupTarget } from '../backup/target.ts';
import type { VoletConfig } from '../config/schema.ts';
import type { EventBus, ObjectEvent } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { EXPORTS_DIR } from '../storage/recovery.ts';
import type { FileRow, StorageIndex } from '../storage/storage-index.ts';
import { encryptBuffer } from '../vault/files.ts';
import { KEY_FILE_NAME } from '../vault/keyfile.ts';
import type { Vault } from '../vault/vault.ts';

/** Names on every target that retention must never remove. */
export const INDEX_EXPORT_NAME = 'index.volet';
const PROTECTED = new Set([KEY_FILE_NAME, INDEX_EXPORT_NAME]);
const DAY_MS = 86_400_000;

type Targets = VoletConfig['backup']['targets'];

/** The index as backed up: what `volet restore` needs beyond the file names (kept flags, open events). */
export interface IndexExport {
  exportedAt: number;
  events: ReturnType<StorageIndex['events']>;
}

export interface BackupDeps {
  targets: Targets;
  storageDir: string;
  index: StorageIndex;
  vault: () => Vault | undefined;
  /** Frame padding around events, to know which segments an event needs. */
  padding: (camera: string) => { before: number; after: number };
  queue: BackupQueue;
  logger: Logger;
}

/**
 * Ships vault files (ciphertext), the passphrase-locked vault key and a sealed index export to
 * the user's own servers. "events" targets get what belongs to events; "everything" targets all.
 */
export class BackupService {
  readonly runner: BackupRunner;
  private readonly targets: Map<string, BackupTarget>;
  private timers: NodeJS.Timeout[] = [];
  private detachFromBus?: () => void;

  constructor(private readonly deps: BackupDeps) {
    this.targets = new Map(Object.entries(deps.targets).map(([name, cfg]) => [name, createTarget(name, cfg)]));
    this.runner = new BackupRunner({
      queue: deps.queue,
      targets: Object.entries(deps.targets).map(([name, cfg]) => ({
        target: this.targets.get(name)!,
        concurrency: cfg.concurrency,
        bytesPerSecond: cfg.bytesPerSecond || undefined,
        verifyByDownload: cfg.verifyByDownload,
      })),
      logger: deps.logger,
    });
  }

  /** Starts uploading, exports the index every `indexExportMinutes`, applies remote retention every 6 h. */
  start(indexExportMinutes: number): void {
    this.runner.start();
    void this.shipKeyAndIndex();
    this.timers = [
      setInterval(() => void this.shipKeyAndIndex(), indexExportMinutes * 60_000),
      setInterval(() => void this.pruneRemotes(), 6 * 3_600_000),
    ];
    for (const timer of this.timers) timer.unref();
  }

  async stop(): Promise<void> {
    this.detachFromBus?.();
    for (const timer of this.timers) clearInterval(timer);
    await this.runner.stop();
    await Promise.all([...this.targets.values()].map((t) => t.close().catch(() => {})));
  }

  status(): TargetStatus[] {
    return this.runner.status();
  }

  /** Called for every file the vault store writes. */
  onStored(row: FileRow): void {
    for (const [name, cfg] of Object.entries(this.deps.targets)) {
      if (cfg.what === 'everything' || row.eventId !== null || this.coveredByEvent(row)) this.enqueue(name, row.name);
    }
  }

  /** When an event ends, its segments already stored go to the "events" targets too (until `stop()`). */
  attach(bus: EventBus): void {
    this.detachFromBus?.();
    const onEnd = (event: ObjectEvent & { end: number }) => {
      const pad = this.deps.padding(event.camera);
      const segments = this.deps.index.segmentsBetween(event.camera, event.start - pad.before, event.end + pad.after);
      for (const [name, cfg] of Object.entries(this.deps.targets)) {
        if (cfg.what === 'events') for (const row of segments) this.enqueue(name, row.name);
      }
    };
    bus.on('event:end', onEnd);
    this.detachFromBus = () => bus.off('event:end', onEnd);
  }

  /** The vault key file (Argon2id-protected) and a sealed index export, to every target. */
  async shipKeyAndIndex(): Promise<void> {
    const vault = this.deps.vault();
    if (!vault) return;
    const exportPath = join(this.deps.storageDir, EXPORTS_DIR, INDEX_EXPORT_NAME);
    try {
      await mkdir(join(this.deps.storageDir, EXPORTS_DIR), { recursive: true });
      const body: IndexExport = { exportedAt: Date.now(), events: this.deps.index.events({ limit: Number.MAX_SAFE_INTEGER }) };
      await encryptBuffer(Buffer.from(JSON.stringify(body)), exportPath, vault.publicKey, 'index-export');
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'backup: could not export the index');
      return;
    }
    for (const name of this.targets.keys()) {
      void this.runner.enqueue(name, join(this.deps.storageDir, KEY_FILE_NAME), KEY_FILE_NAME);
      void this.runner.enqueue(name, exportPath, INDEX_EXPORT_NAME);
    }
  }

  async pruneRemotes(): Promise<void> {
    for (const [name, cfg] of Object.entries(this.deps.targets)) {
      await this.runner.pruneRemote(name, cfg.retentionDays * DAY_MS, (remote) => PROTECTED.has(remote));
    }
  }

  private enqueue(target: string, name: string): void {
    void this.runner.enqueue(target, join(this.deps.storageDir, name), name);
  }

  private coveredByEvent(row: FileRow): boolean {
    const pad = this.deps.padding(row.camera);
    return this.deps.index
      .events({ camera: row.camera, fromMs: row.startMs - pad.after - DAY_MS, toMs: row.endMs + pad.before })
      .some((e) => row.endMs >= e.startMs - pad.before && row.startMs <= (e.endMs ?? Infinity) + pad.after);
  }
}
