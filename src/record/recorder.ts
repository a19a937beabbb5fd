import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { recordSegments } from '../camera/ffmpeg.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { FfmpegSupervisor } from '../process/ffmpeg-supervisor.ts';
import type { LiveFeed } from '../restream/feed.ts';
import type { VaultStore } from '../storage/vault-store.ts';
import { SegmentFiles, type FinishedFile } from './segment-files.ts';
import { SegmentPolicy, type CachedSegment, type RecordMode } from './segment-policy.ts';

/** What health reporting reads; times in ms since epoch, 0 for never. */
export interface RecorderActivity {
  /** When recording last started (0 while stopped). */
  startedAt: number;
  /** When ffmpeg last finished a segment, and that segment's length. */
  lastSegmentAt: number;
  lastSegmentMs: number;
  /** When a segment was last sealed into the vault. */
  lastSealedAt: number;
}

/** Segment files in a camera's RAM cache folder: <spawn time ms>-<sequence, 6+ digits>.ts (see spawn). */
const SEGMENT_FILE = /^\d+-\d{6,}\.ts$/;

/**
 * Deletes the plaintext segments a previous Volet left in the RAM cache (after a crash, or of a
 * camera no longer configured): their timing is unknown, so they are never stored. Only files
 * named like segments go, so a cache directory shared with other files is safe.
 */
export async function removeLeftoverSegments(cacheDir: string): Promise<string[]> {
  const removed: string[] = [];
  const folders = (await readdir(cacheDir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory());
  for (const folder of folders) {
    const dir = join(cacheDir, folder.name);
    const segments = (await readdir(dir).catch(() => [])).filter((file) => SEGMENT_FILE.test(file));
    for (const file of segments) {
      await unlink(join(dir, file)).catch(() => {});
      removed.push(join(folder.name, file));
    }
    if (segments.length > 0) await rmdir(dir).catch(() => {});
  }
  return removed;
}

export interface RecorderOptions {
  camera: string;
  url: string;
  mode: RecordMode;
  preRollSeconds: number;
  postRollSeconds: number;
  segmentSeconds: number;
  /** RAM-only directory (tmpfs): the only place plaintext video ever exists. */
  cacheDir: string;
  store: VaultStore;
  bus: EventBus;
  logger: Logger;
}

/**
 * Records one camera's main stream by stream copy into short segments in the RAM cache, and moves
 * the segments the policy wants into the vault (encrypted); the rest are deleted from RAM. The
 * same connection feeds the live view (`live`), so a camera serves one session for its main stream.
 */
export class Recorder {
  readonly live: LiveFeed = new EventEmitter();
  private readonly policy: SegmentPolicy;
  private readonly ffmpeg: FfmpegSupervisor;
  private readonly files = new SegmentFiles();
  private watcher?: FSWatcher;
  private poller?: NodeJS.Timeout;
  private running = false;
  private turn: Promise<void> = Promise.resolve();
  /** Folder scans run one at a time, in order. */
  private scanning: Promise<void> = Promise.resolve();
  /** Encryption runs one segment at a time per camera, in order. */
  private writing: Promise<unknown> = Promise.resolve();
  private unsubscribe: () => void = () => {};
  segmentsStored = 0;
  private readonly progress: RecorderActivity = { startedAt: 0, lastSegmentAt: 0, lastSegmentMs: 0, lastSealedAt: 0 };

  constructor(private readonly opts: RecorderOptions) {
    this.policy = new SegmentPolicy({
      mode: opts.mode,
      preRollMs: opts.preRollSeconds * 1000,
      postRollMs: opts.postRollSeconds * 1000,
      holdSlackMs: 2 * opts.segmentSeconds * 1000,
    });
    this.ffmpeg = new FfmpegSupervisor({
      build: () => this.buildCommand(),
      stallMs: Math.max(15, opts.segmentSeconds * 4) * 1000,
      progress: 'finished segment',
      stopSignal: 'SIGINT', // lets ffmpeg close the segment under way, which the policy may still want
    });
    this.ffmpeg.on('state', (state, { failure, retryInMs }) => {
      if (state === 'backoff' || state === 'stopped') this.endRun();
      if (failure) this.opts.logger.warn({ camera: opts.camera, error: `${failure.kind}: ${failure.message}`, retryInMs }, 'recording interrupted');
    });
  }

  /** Follows the camera's events (and motion, in motion mode) while recording. */
  private subscribe(): () => void {
    const { bus, camera, mode } = this.opts;
    const onStart = (e: { camera: string; id: string; start: number }) => e.camera === camera && this.trigger(e.id, e.start, null);
    const onEnd = (e: { camera: string; id: string; start: number; end: number }) => e.camera === camera && this.trigger(e.id, e.start, e.end);
    const onMotion = (m: { camera: string; at: number }) => m.camera === camera && this.trigger('motion', m.at, m.at);
    bus.on('event:start', onStart);
    bus.on('event:end', onEnd);
    if (mode === 'motion') bus.on('motion', onMotion);
    return () => {
      bus.off('event:start', onStart);
      bus.off('event:end', onEnd);
      bus.off('motion', onMotion);
    };
  }

  private get cameraCache(): string {
    return join(this.opts.cacheDir, this.opts.camera);
  }

  /**
   * Starts and stops run one after the other: a shutter that closes while the camera is still
   * starting must not leave its ffmpeg or folder watch running.
   */
  start(): Promise<void> {
    return this.inTurn(() => this.startNow());
  }

  stop(): Promise<void> {
    return this.inTurn(() => this.stopNow());
  }

  private inTurn(step: () => Promise<void>): Promise<void> {
    const next = this.turn.then(step, step);
    this.turn = next.catch(() => {});
    return next;
  }

  private async startNow(): Promise<void> {
    if (this.opts.mode === 'off' || this.running) return;
    this.running = true;
    this.progress.startedAt = Date.now();
    // Plaintext left in RAM by a crash is never stored later: its timing is unknown.
    await rm(this.cameraCache, { recursive: true, force: true });
    await mkdir(this.cameraCache, { recursive: true, mode: 0o700 });
    this.unsubscribe = this.subscribe();
    // 'rename' is a file appearing or going; 'change' (every write ffmpeg makes) needs no scan.
    this.watcher = watch(this.cameraCache, (type) => type === 'rename' && this.scan());
    this.watcher.on('error', () => {}); // the poll below still finds the files
    this.poller = setInterval(() => this.scan(), 1000);
    this.poller.unref();
    this.ffmpeg.start();
  }

  private async stopNow(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.progress.startedAt = 0;
    this.unsubscribe();
    await this.ffmpeg.stop();
    clearInterval(this.poller);
    this.watcher?.close();
    await this.scanning;
    await this.writing;
    for (const segment of this.policy.drain()) await unlink(segment.path).catch(() => {});
    await rm(this.cameraCache, { recursive: true, force: true });
  }

  private trigger(key: string, startMs: number, endMs: number | null): void {
    for (const segment of this.policy.trigger(key, startMs, endMs)) this.store(segment);
  }

  private buildCommand() {
    const run = String(Date.now());
    this.files.newRun(run);
    const live = new PassThrough();
    live.on('data', (chunk: Buffer) => this.live.emit('data', chunk));
    this.live.emit('restart');
    return recordSegments(this.opts.url, { segmentSeconds: this.opts.segmentSeconds, outputPattern: join(this.cameraCache, `${run}-%06d.ts`), live });
  }

  /** Looks for files ffmpeg has finished (a newer one of its run exists). */
  private scan(): void {
    this.scanning = this.scanning.then(() => this.finishSeen());
  }

  /** The ffmpeg run ended: its last file is as complete as it will get. */
  private endRun(): void {
    this.scanning = this.scanning.then(async () => {
      await this.finishSeen();
      const last = this.files.endRun();
      if (last) await this.finished(last);
    });
  }

  private async finishSeen(): Promise<void> {
    const names = await readdir(this.cameraCache).catch(() => [] as string[]);
    for (const file of this.files.seen(names, Date.now())) await this.finished(file);
  }

  private async finished(file: FinishedFile): Promise<void> {
    const path = join(this.cameraCache, file.name);
    const info = await stat(path).catch(() => undefined);
    if (!info || info.size === 0) {
      await unlink(path).catch(() => {});
      return;
    }
    // ffmpeg's last write to a segment is when it closes it: at the keyframe that starts the next.
    const endMs = Math.max(file.startMs + 1, Math.round(info.mtimeMs));
    this.files.ended(endMs);
    this.ffmpeg.alive();
    const now = Date.now();
    const segment: CachedSegment = { path, startMs: file.startMs, endMs };
    Object.assign(this.progress, { lastSegmentAt: now, lastSegmentMs: endMs - file.startMs });
    if (this.policy.addSegment(segment)) this.store(segment);
    for (const expired of this.policy.evict(now)) void unlink(expired.path).catch(() => {});
  }

  private store(segment: CachedSegment): void {
    const { camera, store } = this.opts;
    this.writing = this.writing.then(async () => {
      const row = await store.storeFile(segment.path, { camera, kind: 'segment', startMs: segment.startMs, endMs: segment.endMs });
      if (!row) return;
      this.segmentsStored += 1;
      this.progress.lastSealedAt = Date.now();
    });
  }

  get activity(): RecorderActivity {
    return { ...this.progress };
  }

  /** Segments in the RAM cache that are neither stored nor listed yet (tests and status). */
  async cachedFiles(): Promise<string[]> {
    return readdir(this.cameraCache).catch(() => []);
  }
}
