import { mkdir, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { Backoff } from '../camera/backoff.ts';
import { recordSegments, signalFfmpeg, type FfmpegCommand } from '../camera/ffmpeg.ts';
import { classifyFfmpegFailure } from '../camera/ffmpeg-errors.ts';
import type { EventBus } from '../events/bus.ts';
import { maskUrlsIn, type Logger } from '../log/logger.ts';
import type { VaultStore } from '../storage/vault-store.ts';
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
 * the segments the policy wants into the vault (encrypted); the rest are deleted from RAM.
 */
export class Recorder {
  private command?: FfmpegCommand;
  private readonly policy: SegmentPolicy;
  private readonly backoff = new Backoff();
  private stopping = false;
  private retryTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private lastSegmentAt = 0;
  private anchorMs = 0;
  private stderrTail: string[] = [];
  private exited: Promise<void> = Promise.resolve();
  /** Encryption runs one segment at a time per camera, in order. */
  private writing: Promise<unknown> = Promise.resolve();
  private unsubscribe: () => void = () => {};
  private stdoutRest = '';
  segmentsStored = 0;
  private readonly progress: RecorderActivity = { startedAt: 0, lastSegmentAt: 0, lastSegmentMs: 0, lastSealedAt: 0 };

  constructor(private readonly opts: RecorderOptions) {
    this.policy = new SegmentPolicy({
      mode: opts.mode,
      preRollMs: opts.preRollSeconds * 1000,
      postRollMs: opts.postRollSeconds * 1000,
      holdSlackMs: 2 * opts.segmentSeconds * 1000,
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

  async start(): Promise<void> {
    if (this.opts.mode === 'off') return;
    this.progress.startedAt = Date.now();
    // Plaintext left in RAM by a crash is never stored later: its timing is unknown.
    await rm(this.cameraCache, { recursive: true, force: true });
    await mkdir(this.cameraCache, { recursive: true, mode: 0o700 });
    this.stopping = false;
    this.unsubscribe = this.subscribe();
    this.watchdog = setInterval(() => this.checkStall(), 1000);
    this.watchdog.unref();
    this.spawn();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.progress.startedAt = 0;
    this.unsubscribe();
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    const command = this.command;
    if (command) {
      // SIGINT lets ffmpeg close the segment under way, which the policy may still want.
      signalFfmpeg(command, 'SIGINT');
      const forced = setTimeout(() => signalFfmpeg(command), 3000);
      await this.exited;
      clearTimeout(forced);
    }
    await this.writing;
    for (const segment of this.policy.drain()) await unlink(segment.path).catch(() => {});
    await rm(this.cameraCache, { recursive: true, force: true });
  }

  private trigger(key: string, startMs: number, endMs: number | null): void {
    for (const segment of this.policy.trigger(key, startMs, endMs)) this.store(segment);
  }

  private spawn(): void {
    this.retryTimer = undefined;
    this.stderrTail = [];
    this.stdoutRest = '';
    this.anchorMs = 0;
    this.lastSegmentAt = Date.now();
    const pattern = join(this.cameraCache, `${Date.now()}-%06d.ts`);
    const command = recordSegments(this.opts.url, { segmentSeconds: this.opts.segmentSeconds, outputPattern: pattern });
    this.command = command;
    let resolveExited!: () => void;
    this.exited = new Promise((resolve) => (resolveExited = resolve));
    command.on('start', () => {
      const proc = (command as unknown as { ffmpegProc?: { stdout?: NodeJS.ReadableStream } }).ffmpegProc;
      proc?.stdout?.on('data', (chunk: Buffer) => this.onSegmentList(chunk.toString('utf8')));
    });
    command.on('stderr', (line: string) => {
      this.stderrTail.push(maskUrlsIn(line));
      if (this.stderrTail.length > 30) this.stderrTail.shift();
    });
    const onExit = (code: number) => {
      this.command = undefined;
      resolveExited();
      if (this.stopping) return;
      const failure = classifyFfmpegFailure(this.stderrTail.join('\n'), code);
      const delay = failure.kind === 'unauthorized' ? this.backoff.max() : this.backoff.next();
      this.opts.logger.warn({ camera: this.opts.camera, error: `${failure.kind}: ${failure.message}`, retryInMs: delay }, 'recording interrupted');
      this.retryTimer = setTimeout(() => this.spawn(), delay);
    };
    command.on('error', (err: Error) => onExit(Number(/exited with code (\d+)/.exec(err.message)?.[1] ?? 1)));
    command.on('end', () => onExit(0));
    command.run();
  }

  /** ffmpeg lists each finished segment as "file,start,end" with times relative to the stream start. */
  private onSegmentList(text: string): void {
    const lines = (this.stdoutRest + text).split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) {
      const [file, start, end] = line.trim().split(',');
      const startS = Number(start);
      const endS = Number(end);
      if (!file || !Number.isFinite(startS) || !Number.isFinite(endS)) continue;
      const now = Date.now();
      this.anchorMs ||= now - endS * 1000;
      this.lastSegmentAt = now;
      this.backoff.reset();
      const segment: CachedSegment = {
        path: isAbsolute(file) ? file : join(this.cameraCache, file),
        startMs: Math.round(this.anchorMs + startS * 1000),
        endMs: Math.round(this.anchorMs + endS * 1000),
      };
      Object.assign(this.progress, { lastSegmentAt: now, lastSegmentMs: segment.endMs - segment.startMs });
      if (this.policy.addSegment(segment)) this.store(segment);
      for (const expired of this.policy.evict(now)) void unlink(expired.path).catch(() => {});
    }
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

  private checkStall(): void {
    if (!this.command) return;
    if (Date.now() - this.lastSegmentAt > Math.max(15, this.opts.segmentSeconds * 4) * 1000) {
      this.stderrTail.push('no segment finished in time (stream stalled)');
      signalFfmpeg(this.command);
    }
  }

  get activity(): RecorderActivity {
    return { ...this.progress };
  }

  /** Segments in the RAM cache that are neither stored nor listed yet (tests and status). */
  async cachedFiles(): Promise<string[]> {
    return readdir(this.cameraCache).catch(() => []);
  }
}
