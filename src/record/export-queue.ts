import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageIndex } from '../storage/storage-index.ts';
import type { FileKeyOpener } from '../vault/format.ts';
import { exportClip } from './export.ts';

export type ExportState = 'queued' | 'running' | 'ready' | 'failed';

/** What an export's owner sees of it. */
export interface ExportJob {
  id: string;
  camera: string;
  from: number;
  to: number;
  state: ExportState;
  /** 0..1: segments joined so far. */
  progress: number;
  error?: string;
}

/** Longest range one export may cover. */
export const MAX_EXPORT_MS = 60 * 60_000;
/** A finished export not downloaded by then is deleted from RAM. */
const UNCLAIMED_MS = 15 * 60_000;
/** Unfinished and unclaimed exports one person may have. */
const MAX_PER_OWNER = 5;

export class ExportLimitError extends Error {
  constructor() {
    super(`at most ${MAX_PER_OWNER} exports may wait or be ready at once: download or cancel one first`);
    this.name = 'ExportLimitError';
  }
}

export interface ExportQueueOptions {
  storageDir: string;
  index: StorageIndex;
  /** The unlocked vault, or throws VaultLockedError. */
  vault: () => FileKeyOpener;
  /** RAM-only directory where finished MP4s wait for their download. */
  dir: string;
}

interface Entry {
  job: ExportJob;
  owner: string;
  path: string;
  abort: AbortController;
  timer?: NodeJS.Timeout;
}

/**
 * Exports requested from the viewer: queued, run one at a time (each is a stream copy, but reads
 * and decrypts a lot), written to the RAM cache only, deleted once downloaded, cancelled or left
 * unclaimed for 15 minutes, and all forgotten when the vault locks.
 */
export class ExportQueue {
  private readonly entries = new Map<string, Entry>();
  private running?: Promise<void>;

  constructor(private readonly opts: ExportQueueOptions) {}

  /** Queues an export of [from, to] of a camera for `owner`; the caller has checked the range and rights. */
  request(owner: string, camera: string, from: number, to: number): ExportJob {
    this.opts.vault(); // refuses while locked, before anything is queued
    const mine = [...this.entries.values()].filter((e) => e.owner === owner && e.job.state !== 'failed');
    if (mine.length >= MAX_PER_OWNER) throw new ExportLimitError();
    const id = randomBytes(9).toString('base64url');
    const entry: Entry = { job: { id, camera, from, to, state: 'queued', progress: 0 }, owner, path: join(this.opts.dir, `${id}.mp4`), abort: new AbortController() };
    this.entries.set(id, entry);
    this.expireLater(entry);
    this.pump();
    return { ...entry.job };
  }

  list(owner: string): ExportJob[] {
    return [...this.entries.values()].filter((e) => e.owner === owner).map((e) => ({ ...e.job }));
  }

  get(owner: string, id: string): ExportJob | undefined {
    const entry = this.entries.get(id);
    return entry && entry.owner === owner ? { ...entry.job } : undefined;
  }

  /** The finished MP4 of one of the owner's exports; undefined unless it is ready. */
  async file(owner: string, id: string): Promise<{ path: string; size: number } | undefined> {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner || entry.job.state !== 'ready') return undefined;
    const { size } = await stat(entry.path);
    return { path: entry.path, size };
  }

  /** Cancels (or, when finished, deletes) one of the owner's exports; false when there is none. */
  async remove(owner: string, id: string): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry || entry.owner !== owner) return false;
    await this.drop(entry);
    return true;
  }

  /** Cancels every export and deletes every MP4 (the vault locked, or Volet stops). */
  async clear(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => this.drop(e)));
    await this.running;
    await rm(this.opts.dir, { recursive: true, force: true });
  }

  private async drop(entry: Entry): Promise<void> {
    this.entries.delete(entry.job.id);
    clearTimeout(entry.timer);
    entry.abort.abort(new Error('export cancelled'));
    await rm(entry.path, { force: true });
  }

  private expireLater(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.drop(entry), UNCLAIMED_MS);
    entry.timer.unref();
  }

  private pump(): void {
    if (this.running) return;
    const next = [...this.entries.values()].find((e) => e.job.state === 'queued');
    if (!next) return;
    this.running = this.run(next).finally(() => {
      this.running = undefined;
      this.pump();
    });
  }

  private async run(entry: Entry): Promise<void> {
    const { job } = entry;
    job.state = 'running';
    try {
      await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
      await exportClip(this.opts.storageDir, this.opts.index, this.opts.vault(), {
        camera: job.camera,
        fromMs: job.from,
        toMs: job.to,
        out: entry.path,
        exact: true,
        signal: entry.abort.signal,
        onProgress: (done, total) => (job.progress = Math.min(0.99, done / total)),
      });
      if (entry.abort.signal.aborted) return;
      job.state = 'ready';
      job.progress = 1;
      this.expireLater(entry); // 15 minutes to download from now
    } catch (err) {
      if (entry.abort.signal.aborted) return;
      job.state = 'failed';
      job.error = (err as Error).name === 'VaultLockedError' ? 'the vault is locked' : (err as Error).message;
      await rm(entry.path, { force: true });
    }
  }
}
