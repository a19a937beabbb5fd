import { Backoff } from '../../camera/backoff.ts';
import { repackageToFragmentedMp4, signalFfmpeg, transcodeToMpeg1, type FfmpegCommand } from '../../camera/ffmpeg.ts';
import { maskUrlsIn, type Logger } from '../../log/logger.ts';
import { Fmp4Splitter, type Fragment } from './fmp4.ts';


/** One viewer's socket, as the hub sees it. */
export interface Watcher {
  sendText(message: string): void;
  sendBinary(data: Buffer): void;
  /** Bytes queued but not yet sent: a slow phone is skipped to the next keyframe instead of lagging. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

export type LiveFormat = 'fmp4' | 'mpeg1';

const SLOW_WATCHER_BYTES = 4 * 1024 * 1024;

interface StreamOptions {
  camera: string;
  url: string;
  format: LiveFormat;
  lingerMs: number;
  logger: Logger;
  onIdle: () => void;
}

interface WatcherState {
  /** fmp4: waiting for the first keyframe fragment (after joining or after being skipped). */
  waitingForKeyframe: boolean;
}

/**
 * One ffmpeg per camera and format, shared by everyone watching it: started by the first watcher,
 * stopped `lingerMs` after the last one leaves, restarted with backoff if it dies while watched.
 */
class LiveStream {
  private readonly watchers = new Map<Watcher, WatcherState>();
  private command?: FfmpegCommand;
  private splitter?: Fmp4Splitter;
  private init?: Buffer;
  private codec?: string;
  private lingerTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private readonly backoff = new Backoff(1000, 15_000);
  private stderrTail: string[] = [];
  private stopped = false;
  private gotData = false;

  constructor(private readonly opts: StreamOptions) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  add(watcher: Watcher): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.watchers.set(watcher, { waitingForKeyframe: true });
    if (this.opts.format === 'fmp4' && this.init) this.greet(watcher);
    if (!this.command && !this.retryTimer) this.spawn();
  }

  remove(watcher: Watcher): void {
    if (!this.watchers.delete(watcher) || this.watchers.size > 0) return;
    this.lingerTimer = setTimeout(() => this.stop(), this.opts.lingerMs);
    this.lingerTimer.unref();
  }

  /** Ends the stream now, closing every watcher with the given reason. */
  stop(code = 1000, reason = 'stream stopped'): void {
    this.stopped = true;
    clearTimeout(this.lingerTimer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const w of this.watchers.keys()) w.close(code, reason);
    this.watchers.clear();
    if (this.command) signalFfmpeg(this.command);
    this.command = undefined;
    this.opts.onIdle();
  }

  private greet(watcher: Watcher): void {
    watcher.sendText(JSON.stringify({ type: 'init', codec: this.codec ?? null }));
    watcher.sendBinary(this.init!);
  }

  private spawn(): void {
    this.retryTimer = undefined;
    this.init = undefined;
    this.codec = undefined;
    this.stderrTail = [];
    this.gotData = false;
    const { camera, url, format, logger } = this.opts;
    const command =
      format === 'fmp4' ? repackageToFragmentedMp4(url) : transcodeToMpeg1(url, { width: 640, fps: 24, kbps: 800 });
    this.command = command;
    if (format === 'fmp4') {
      this.splitter = new Fmp4Splitter(
        (init, codec) => this.onInit(init, codec),
        (fragment) => this.onFragment(fragment),
      );
    }
    command.on('stderr', (line: string) => {
      this.stderrTail.push(maskUrlsIn(line));
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    const onExit = (err?: Error) => {
      if (this.command !== command) return;
      this.command = undefined;
      if (this.stopped || this.watchers.size === 0) return;
      if (this.gotData) this.backoff.reset();
      const delay = this.backoff.next();
      const reason = maskUrlsIn(err?.message.split('\n')[0] ?? 'ffmpeg ended');
      logger.warn({ camera, format, reason, stderr: this.stderrTail.slice(-5), retryInMs: delay }, 'live view stream ended; restarting');
      for (const w of this.watchers.keys()) w.sendText(JSON.stringify({ type: 'reconnecting', retryInMs: delay }));
      this.retryTimer = setTimeout(() => this.spawn(), delay);
      this.retryTimer.unref();
    };
    command.on('error', (err: Error) => onExit(err));
    command.on('end', () => onExit());
    const output = command.pipe();
    output.on('error', () => {});
    output.on('data', (chunk: Buffer) => {
      this.gotData = true;
      if (format === 'fmp4') {
        try {
          this.splitter!.push(chunk);
        } catch (err) {
          logger.error({ camera, err: (err as Error).message }, 'live view: malformed MP4 from ffmpeg');
          signalFfmpeg(command);
        }
      } else {
        for (const w of this.watchers.keys()) if (w.bufferedAmount() < SLOW_WATCHER_BYTES) w.sendBinary(chunk);
      }
    });
    logger.info({ camera, format }, 'live view stream started');
  }

  private onInit(init: Buffer, codec: string | undefined): void {
    this.init = init;
    this.codec = codec;
    for (const [w, state] of this.watchers) {
      state.waitingForKeyframe = true;
      this.greet(w);
    }
  }

  private onFragment(fragment: Fragment): void {
    for (const [w, state] of this.watchers) {
      if (w.bufferedAmount() > SLOW_WATCHER_BYTES) {
        state.waitingForKeyframe = true;
        continue;
      }
      if (state.waitingForKeyframe) {
        if (!fragment.keyframe) continue;
        state.waitingForKeyframe = false;
      }
      w.sendBinary(fragment.data);
    }
  }
}

/** All live streams of the viewer, by camera and format. */
export class LiveHub {
  private readonly byKey = new Map<string, LiveStream>();

  constructor(private readonly opts: { lingerMs: number; logger: Logger }) {}

  watch(camera: string, url: string, format: LiveFormat, watcher: Watcher): () => void {
    const key = `${format}:${camera}`;
    let stream = this.byKey.get(key);
    if (!stream) {
      stream = new LiveStream({
        camera,
        url,
        format,
        lingerMs: this.opts.lingerMs,
        logger: this.opts.logger,
        onIdle: () => {
          if (this.byKey.get(key) === stream) this.byKey.delete(key);
        },
      });
      this.byKey.set(key, stream);
    }
    const s = stream;
    s.add(watcher);
    return () => s.remove(watcher);
  }

  /** The ffmpeg-backed streams alive now. */
  streams(): { camera: string; format: LiveFormat; watchers: number }[] {
    return [...this.byKey.entries()].map(([key, s]) => {
      const [format, camera] = key.split(':') as [LiveFormat, string];
      return { camera, format, watchers: s.watcherCount };
    });
  }

  watchers(camera: string, format: LiveFormat = 'fmp4'): number {
    return this.byKey.get(`${format}:${camera}`)?.watcherCount ?? 0;
  }

  /** Closes every stream of a camera, e.g. when its privacy shutter closes. */
  stopCamera(camera: string, reason: string): void {
    for (const format of ['fmp4', 'mpeg1'] as const) this.byKey.get(`${format}:${camera}`)?.stop(4403, reason);
  }

  closeAll(): void {
    for (const s of [...this.byKey.values()]) s.stop(1001, 'server shutting down');
    this.byKey.clear();
  }
}
