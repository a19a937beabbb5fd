import { mkdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus, ObjectEvent } from '../events/bus.ts';
import type { StorageIndex } from '../storage/storage-index.ts';
import { decryptFileToBuffer } from '../vault/files.ts';
import { VaultLockedError } from '../vault/errors.ts';
import type { Vault } from '../vault/vault.ts';
import type { ClipSource, EventFilter, RecordedEvent, RecordingsAccess, StorageUsage } from './review.ts';
import type { EventMetadata } from './event-recorder.ts';
import { exportClip } from './export.ts';
import { ExportQueue } from './export-queue.ts';
import { openPlayback, type Playback } from './playback.ts';
import { buildTimeline, type Timeline } from './timeline.ts';

export interface RecordingsOptions {
  storageDir: string;
  index: StorageIndex;
  vault: () => Vault | undefined;
  bus: EventBus;
  /** RAM-only directory where decrypted clips are assembled for playback. */
  cacheDir: string;
  padding: (camera: string) => { before: number; after: number };
}

const CLIP_TTL_MS = 10 * 60_000;
/** Playbacks at once (one ffmpeg each), whoever asks. */
const MAX_PLAYBACKS = 8;
/** At the live edge a playback waits this long for the recorder's next segment (the longest is 60 s). */
const FOLLOW_LIVE_MS = 90_000;

export class PlaybackBusyError extends Error {
  constructor() {
    super(`${MAX_PLAYBACKS} recordings are already being played; try again when one stops`);
    this.name = 'PlaybackBusyError';
  }
}

/**
 * Browsing recordings: the index gives times, sealed metadata gives labels and zones (so nothing
 * but times is readable while the vault is locked). Clips are decrypted into the RAM cache only.
 */
export class Recordings implements RecordingsAccess {
  private readonly running = new Map<string, ObjectEvent>();
  private readonly metadata = new Map<string, EventMetadata>();
  private readonly clips = new Map<string, { path: string; size: number; timer: NodeJS.Timeout }>();
  private readonly playbacks = new Set<Playback>();
  private openingPlaybacks = 0;
  /** Exports requested from the viewer, assembled in the RAM cache. */
  readonly exports: ExportQueue;

  constructor(private readonly opts: RecordingsOptions) {
    this.exports = new ExportQueue({ storageDir: opts.storageDir, index: opts.index, vault: () => this.unlockedVault(), dir: join(opts.cacheDir, 'exports') });
    opts.bus.on('event:start', (e) => this.running.set(e.id, e));
    opts.bus.on('event:update', (e) => this.running.set(e.id, e));
    opts.bus.on('event:end', (e) => this.running.delete(e.id));
  }

  /** Forget everything decrypted: called when the vault locks. */
  async forgetPlaintext(): Promise<void> {
    this.metadata.clear();
    for (const clip of this.clips.values()) clearTimeout(clip.timer);
    this.clips.clear();
    for (const playback of this.playbacks) playback.close();
    await this.exports.clear();
    await rm(this.clipDir, { recursive: true, force: true });
  }

  /** Recorded spans, motion and event markers of a camera (labels only while the vault is unlocked). */
  async timeline(camera: string, fromMs: number, toMs: number): Promise<Timeline> {
    return buildTimeline(this.opts.index, camera, fromMs, toMs, async (id) => {
      const meta = this.running.get(id) ?? (this.opts.vault()?.isUnlocked ? await this.eventMetadata(id).catch(() => undefined) : undefined);
      return meta && { label: meta.label, score: meta.score };
    });
  }

  /** Fragmented MP4 of a camera from `atMs`; undefined when nothing is recorded at or after it. */
  async playback(camera: string, atMs: number): Promise<Playback | undefined> {
    const vault = this.unlockedVault();
    if (this.playbacks.size + this.openingPlaybacks >= MAX_PLAYBACKS) throw new PlaybackBusyError();
    this.openingPlaybacks++;
    let playback: Playback | undefined;
    try {
      playback = await openPlayback({ storageDir: this.opts.storageDir, index: this.opts.index, vault, camera, atMs, followMs: FOLLOW_LIVE_MS });
    } finally {
      this.openingPlaybacks--;
    }
    if (!playback) return undefined;
    const opened = playback;
    this.playbacks.add(opened);
    void opened.ended.then(() => this.playbacks.delete(opened));
    return opened;
  }

  async listEvents(filter: EventFilter): Promise<RecordedEvent[]> {
    const rows = filter.cameras.flatMap((camera) =>
      this.opts.index.events({ camera, fromMs: filter.from, toMs: Math.min(filter.to ?? Infinity, filter.before ?? Infinity) - 1, limit: filter.limit }),
    );
    rows.sort((a, b) => b.startMs - a.startMs);
    const events: RecordedEvent[] = [];
    for (const row of rows) {
      const meta = this.running.get(row.id) ?? (await this.eventMetadata(row.id));
      if (!meta) continue;
      if (filter.label && meta.label !== filter.label) continue;
      if (filter.resident && meta.face?.resident !== filter.resident) continue;
      const files = this.opts.index.filesOfEvent(row.id);
      events.push({
        id: row.id,
        camera: row.camera,
        label: meta.label,
        score: meta.score,
        start: row.startMs,
        end: row.endMs ?? undefined,
        zones: meta.zones,
        box: meta.box,
        face: meta.face,
        kept: row.kept,
        hasSnapshot: files.some((f) => f.kind === 'snapshot'),
        hasClip: this.segmentsOf(row.id).length > 0,
      });
      if (events.length >= filter.limit) break;
    }
    return events;
  }

  async eventSnapshot(id: string, kind: 'crop' | 'frame'): Promise<Buffer | undefined> {
    if (kind === 'crop') {
      const meta = await this.eventMetadata(id);
      return meta?.crop ? Buffer.from(meta.crop, 'base64') : undefined;
    }
    const file = this.opts.index.filesOfEvent(id).find((f) => f.kind === 'snapshot');
    return file ? decryptFileToBuffer(join(this.opts.storageDir, file.name), this.unlockedVault()) : undefined;
  }

  async eventClip(id: string): Promise<ClipSource | undefined> {
    const vault = this.unlockedVault();
    const cached = this.clips.get(id);
    if (cached) return { path: cached.path, size: cached.size };
    const event = this.opts.index.event(id);
    if (!event || this.segmentsOf(id).length === 0) return undefined;
    await mkdir(this.clipDir, { recursive: true, mode: 0o700 });
    const path = join(this.clipDir, `${id}.mp4`);
    const pad = this.opts.padding(event.camera);
    await exportClip(this.opts.storageDir, this.opts.index, vault, {
      camera: event.camera,
      fromMs: event.startMs - pad.before,
      toMs: (event.endMs ?? Date.now()) + pad.after,
      out: path,
    });
    const { size } = await stat(path);
    const timer = setTimeout(() => {
      this.clips.delete(id);
      void rm(path, { force: true });
    }, CLIP_TTL_MS);
    timer.unref();
    this.clips.set(id, { path, size, timer });
    return { path, size };
  }

  async keepEvent(id: string, kept: boolean): Promise<boolean> {
    return this.opts.index.setKept(id, kept);
  }

  async eventCamera(id: string): Promise<string | undefined> {
    return this.opts.index.event(id)?.camera;
  }

  async storageUsage(): Promise<StorageUsage> {
    const fs = await statfs(this.opts.storageDir);
    const perCamera = this.opts.index.bytesPerCamera();
    return {
      totalBytes: fs.blocks * fs.bsize,
      freeBytes: fs.bavail * fs.bsize,
      usedByVoletBytes: Object.values(perCamera).reduce((a, b) => a + b, 0),
      perCamera,
    };
  }

  private get clipDir(): string {
    return join(this.opts.cacheDir, 'clips');
  }

  private segmentsOf(id: string) {
    const event = this.opts.index.event(id);
    if (!event) return [];
    const pad = this.opts.padding(event.camera);
    return this.opts.index.segmentsBetween(event.camera, event.startMs - pad.before, (event.endMs ?? Date.now()) + pad.after);
  }

  private async eventMetadata(id: string): Promise<EventMetadata | undefined> {
    const known = this.metadata.get(id);
    if (known) return known;
    const file = this.opts.index.filesOfEvent(id).find((f) => f.kind === 'metadata');
    if (!file) return undefined;
    const meta = JSON.parse((await decryptFileToBuffer(join(this.opts.storageDir, file.name), this.unlockedVault())).toString('utf8')) as EventMetadata;
    this.metadata.set(id, meta);
    return meta;
  }

  private unlockedVault(): Vault {
    const vault = this.opts.vault();
    if (!vault?.isUnlocked) throw new VaultLockedError();
    return vault;
  }
}
