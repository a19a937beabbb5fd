import { Backoff } from '../../camera/backoff.ts';
import { repackageToFragmentedMp4, transcodeToMpeg1 } from '../../camera/ffmpeg.ts';
import type { Logger } from '../../log/logger.ts';
import { FfmpegSupervisor } from '../../process/ffmpeg-supervisor.ts';
import { Fmp4Splitter, type Fragment } from '../../restream/fmp4.ts';
import { TapReader } from '../../restream/tap-reader.ts';
import type { LiveTap } from '../../restream/tap.ts';

/** One viewer's socket, as the hub sees it. */
export interface Watcher {
  sendText(message: string): void;
  sendBinary(data: Buffer): void;
  /** Bytes queued but not yet sent: a slow phone is skipped to the next keyframe instead of lagging. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

export type LiveFormat = 'fmp4' | 'mpeg1';
/** The camera's main stream, or its sub stream (lower resolution and bandwidth) when it has one. */
export type LiveVariant = 'main' | 'sub';

const SLOW_WATCHER_BYTES = 4 * 1024 * 1024;
const STALL_MS = 15_000;

interface StreamOptions {
  camera: string;
  url: string;
  format: LiveFormat;
  /**
   * A connection Volet already has to this stream (the recorder's, the detector's): fMP4 viewers
   * share it, the MPEG-1 transcoder reads it on stdin.
   */
  tap?: LiveTap;
  lingerMs: number;
  logger: Logger;
  onIdle: () => void;
}

interface WatcherState {
  /** fmp4: waiting for the first keyframe fragment (after joining or after being skipped). */
  waitingForKeyframe: boolean;
}

/**
 * Everyone watching one camera stream in one format. fMP4 comes from a tap when there is one (no
 * process of its own); the MPEG-1 fallback is one supervised transcoder fed from the tap. Only a
 * camera that neither records nor has a sub stream gets a connection of its own for its viewers.
 * Processes start with the first watcher and stop `lingerMs` after the last one leaves.
 */
class LiveStream {
  private readonly watchers = new Map<Watcher, WatcherState>();
  private ffmpeg?: FfmpegSupervisor;
  private input?: TapReader;
  private splitter?: Fmp4Splitter;
  private init?: Buffer;
  private codec?: string;
  private lingerTimer?: NodeJS.Timeout;
  private tapped = false;
  private readonly onInit = (init: Buffer, codec: string | undefined) => this.gotInit(init, codec);
  private readonly onFragment = (fragment: Fragment) => this.gotFragment(fragment);

  constructor(private readonly opts: StreamOptions) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  add(watcher: Watcher): void {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.watchers.set(watcher, { waitingForKeyframe: true });
    if (this.opts.format === 'fmp4' && this.init) this.greet(watcher);
    this.open();
  }

  remove(watcher: Watcher): void {
    if (!this.watchers.delete(watcher) || this.watchers.size > 0) return;
    this.lingerTimer = setTimeout(() => this.stop(), this.opts.lingerMs);
    this.lingerTimer.unref();
  }

  /** Ends the stream now, closing every watcher with the given reason. */
  stop(code = 1000, reason = 'stream stopped'): void {
    clearTimeout(this.lingerTimer);
    for (const w of this.watchers.keys()) w.close(code, reason);
    this.watchers.clear();
    this.opts.tap?.off('init', this.onInit);
    this.opts.tap?.off('fragment', this.onFragment);
    this.tapped = false;
    const ffmpeg = this.ffmpeg;
    this.ffmpeg = undefined;
    void ffmpeg?.stop().then(() => this.closeInput());
    this.opts.onIdle();
  }

  private open(): void {
    const { tap, format } = this.opts;
    if (format === 'fmp4' && tap) {
      if (this.tapped) return;
      this.tapped = true;
      tap.on('init', this.onInit);
      tap.on('fragment', this.onFragment);
      if (tap.init) this.gotInit(tap.init, tap.codec);
      return;
    }
    if (this.ffmpeg) return;
    this.ffmpeg = this.ownConnection();
    this.ffmpeg.start();
    this.opts.logger.info({ camera: this.opts.camera, format }, 'live view stream started');
  }

  private ownConnection(): FfmpegSupervisor {
    const { camera, url, format, tap, logger } = this.opts;
    const ffmpeg = new FfmpegSupervisor({
      build: () => {
        if (format === 'fmp4') return repackageToFragmentedMp4(url);
        this.closeInput();
        this.input = tap && new TapReader(tap);
        return transcodeToMpeg1(this.input ?? url, { width: 640, fps: 24, kbps: 800 });
      },
      onSpawn: () => {
        this.init = undefined;
        this.codec = undefined;
        if (format === 'fmp4') this.splitter = new Fmp4Splitter(this.onInit, this.onFragment);
      },
      onStdout: (chunk) => {
        ffmpeg.alive();
        if (format === 'mpeg1') {
          for (const w of this.watchers.keys()) if (w.bufferedAmount() < SLOW_WATCHER_BYTES) w.sendBinary(chunk);
          return;
        }
        try {
          this.splitter?.push(chunk);
        } catch (err) {
          ffmpeg.restart(`malformed MP4 from ffmpeg: ${(err as Error).message}`);
        }
      },
      stallMs: STALL_MS,
      progress: 'video',
      backoff: new Backoff(1000, 15_000),
    });
    ffmpeg.on('state', (state, { failure, retryInMs }) => {
      if (state !== 'backoff') return;
      logger.warn({ camera, format, error: failure && `${failure.kind}: ${failure.message}`, retryInMs }, 'live view stream ended; restarting');
      for (const w of this.watchers.keys()) w.sendText(JSON.stringify({ type: 'reconnecting', retryInMs }));
    });
    return ffmpeg;
  }

  private closeInput(): void {
    this.input?.destroy();
    this.input = undefined;
  }

  private greet(watcher: Watcher): void {
    watcher.sendText(JSON.stringify({ type: 'init', codec: this.codec ?? null }));
    watcher.sendBinary(this.init!);
  }

  private gotInit(init: Buffer, codec: string | undefined): void {
    this.init = init;
    this.codec = codec;
    for (const [w, state] of this.watchers) {
      state.waitingForKeyframe = true;
      this.greet(w);
    }
  }

  private gotFragment(fragment: Fragment): void {
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

export interface LiveHubOptions {
  lingerMs: number;
  logger: Logger;
  /** Volet's own connection to a camera stream, when it has one (recorder: main; detector: sub). */
  tap?: (camera: string, variant: LiveVariant) => LiveTap | undefined;
}

/** All live streams of the viewer, by camera and format. */
export class LiveHub {
  private readonly byKey = new Map<string, LiveStream>();

  constructor(private readonly opts: LiveHubOptions) {}

  /**
   * `url` is the main stream's, for a camera Volet has no connection to. The sub variant of a
   * camera without a sub stream is its main stream; MPEG-1 is transcoded from the sub stream when
   * there is one (less to decode).
   */
  watch(camera: string, url: string, format: LiveFormat, watcher: Watcher, variant: LiveVariant = 'main'): () => void {
    const subTap = this.opts.tap?.(camera, 'sub');
    const useSub = subTap !== undefined && (variant === 'sub' || format === 'mpeg1');
    const key = `${format}:${useSub ? 'sub' : 'main'}:${camera}`;
    let stream = this.byKey.get(key);
    if (!stream) {
      stream = new LiveStream({
        camera,
        url,
        format,
        tap: useSub ? subTap : this.opts.tap?.(camera, 'main'),
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

  /** True when the camera's sub stream can be watched (Volet reads it for detection). */
  hasSubStream(camera: string): boolean {
    return this.opts.tap?.(camera, 'sub') !== undefined;
  }

  /** The live streams alive now. */
  streams(): { camera: string; format: LiveFormat; variant: LiveVariant; watchers: number }[] {
    return [...this.byKey.entries()].map(([key, s]) => {
      const [format, variant, camera] = key.split(':') as [LiveFormat, LiveVariant, string];
      return { camera, format, variant, watchers: s.watcherCount };
    });
  }

  watchers(camera: string, format: LiveFormat = 'fmp4'): number {
    return this.streams()
      .filter((s) => s.camera === camera && s.format === format)
      .reduce((n, s) => n + s.watchers, 0);
  }

  /** Closes every stream of a camera, e.g. when its privacy shutter closes. */
  stopCamera(camera: string, reason: string): void {
    for (const [key, stream] of [...this.byKey.entries()]) if (key.endsWith(`:${camera}`)) stream.stop(4403, reason);
  }

  closeAll(): void {
    for (const s of [...this.byKey.values()]) s.stop(1001, 'server shutting down');
    this.byKey.clear();
  }
}
