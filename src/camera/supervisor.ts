import { EventEmitter } from 'node:events';
import type { CameraState, CameraStatus } from '../events/bus.ts';
import { maskUrlsIn, type Logger } from '../log/logger.ts';
import { Backoff } from './backoff.ts';
import { decodeToRawFrames, signalFfmpeg, type FfmpegCommand } from './ffmpeg.ts';
import { classifyFfmpegFailure, type ClassifiedFailure } from './ffmpeg-errors.ts';
import { FramePool } from './frame-pool.ts';
import { FrameReader, yuv420pFrameSize } from './frame-reader.ts';

export interface Frame {
  camera: string;
  /** yuv420p: the luma plane (width×height bytes) followed by the two quarter-size chroma planes. */
  data: Buffer;
  width: number;
  height: number;
  /** Wall-clock arrival time in ms. */
  timestamp: number;
  seq: number;
  /**
   * `data` is reused for a later frame once the 'frame' event has returned, unless held: whoever
   * keeps the frame longer calls hold() first and calls the returned release once done with it.
   */
  hold(): () => void;
}

export interface SupervisorOptions {
  camera: string;
  url: string;
  fps: number;
  width: number;
  height: number;
  stallSeconds: number;
  logger: Logger;
  backoff?: Backoff;
}

interface SupervisorEvents {
  frame: [Frame];
  status: [CameraStatus];
}

const HEALTHY_AFTER_MS = 10_000;
const FPS_WINDOW_MS = 5_000;
/** Extra time a fresh connection gets (RTSP handshake and probing) before the stall watchdog applies. */
const CONNECT_GRACE_MS = 5_000;
/** One frame being filled, one being detected, one waiting for the detector. */
const POOLED_FRAMES = 3;

/** Keeps one ffmpeg decoder running for a camera: reconnects with backoff, restarts on stalls, reports status. */
export class CameraSupervisor extends EventEmitter<SupervisorEvents> {
  private command?: FfmpegCommand;
  private state: CameraState = 'stopped';
  private lastError?: string;
  private stopping = false;
  private spawnedAt = 0;
  private lastFrameAt = 0;
  private firstFrameAt = 0;
  private stallKill = false;
  private retryTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private stderrTail: string[] = [];
  private frameTimes: number[] = [];
  private seq = 0;
  private framesRead = 0;
  private framesDropped = 0;
  private since = Date.now();
  private exited?: Promise<void>;
  private readonly backoff: Backoff;
  private readonly reader: FrameReader;
  private readonly pool: FramePool;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.backoff = opts.backoff ?? new Backoff();
    const frameSize = yuv420pFrameSize(opts.width, opts.height);
    this.pool = new FramePool(frameSize, POOLED_FRAMES);
    this.reader = new FrameReader(frameSize, (data) => this.onFrame(data), this.pool);
  }

  get status(): CameraStatus {
    return {
      camera: this.opts.camera,
      state: this.state,
      lastError: this.lastError,
      fps: this.measuredFps(),
      framesRead: this.framesRead,
      framesDropped: this.framesDropped,
      since: this.since,
    };
  }

  /** pid of the running ffmpeg, for CPU accounting. */
  get pid(): number | undefined {
    return (this.command as unknown as { ffmpegProc?: { pid?: number } } | undefined)?.ffmpegProc?.pid;
  }

  /** Frames that arrived but were not processed downstream (the detector was busy). */
  countDropped(n = 1): void {
    this.framesDropped += n;
  }

  start(): void {
    if (this.command || this.retryTimer) return;
    this.stopping = false;
    this.watchdog = setInterval(() => this.checkStall(), 1000);
    this.watchdog.unref();
    this.spawn();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearInterval(this.watchdog);
    if (this.command) signalFfmpeg(this.command);
    await this.exited;
    this.setState('stopped');
  }

  private spawn(): void {
    this.retryTimer = undefined;
    this.reader.reset();
    this.stderrTail = [];
    this.stallKill = false;
    this.spawnedAt = Date.now();
    this.firstFrameAt = 0;
    this.setState('connecting');

    const command = decodeToRawFrames(this.opts.url, this.opts);
    this.command = command;
    let resolveExited!: () => void;
    this.exited = new Promise((resolve) => (resolveExited = resolve));
    command.on('stderr', (line: string) => {
      this.stderrTail.push(maskUrlsIn(line));
      if (this.stderrTail.length > 30) this.stderrTail.shift();
    });
    command.on('error', (err: Error) => {
      const spawnFailure = /Cannot find ffmpeg|ENOENT/.test(err.message) ? err.message : '';
      const code = /exited with code (\d+)/.exec(err.message)?.[1];
      this.onExit(code === undefined ? 1 : Number(code), spawnFailure);
      resolveExited();
    });
    command.on('end', () => {
      this.onExit(0, '');
      resolveExited();
    });
    const output = command.pipe();
    output.on('data', (chunk: Buffer) => this.reader.push(chunk));
    output.on('error', () => {});
  }

  private onFrame(data: Buffer): void {
    const now = Math.max(Date.now(), this.lastFrameAt);
    this.lastFrameAt = now;
    this.framesRead += 1;
    this.frameTimes.push(now);
    while (this.frameTimes.length > 0 && now - this.frameTimes[0] > FPS_WINDOW_MS) this.frameTimes.shift();
    if (this.state !== 'streaming') {
      this.firstFrameAt = now;
      this.lastError = undefined;
      this.setState('streaming');
    }
    try {
      this.emit('frame', {
        camera: this.opts.camera,
        data,
        width: this.opts.width,
        height: this.opts.height,
        timestamp: now,
        seq: this.seq++,
        hold: () => this.pool.hold(data),
      });
    } finally {
      this.pool.release(data);
    }
  }

  private onExit(exitCode: number, spawnFailure: string): void {
    this.command = undefined;
    this.frameTimes = [];
    if (this.stopping) return;
    const failure: ClassifiedFailure = spawnFailure
      ? { kind: 'error', message: 'ffmpeg is not installed or not on PATH (Debian: apt-get install ffmpeg)' }
      : this.stallKill
        ? { kind: 'stalled', message: `no frame for ${this.opts.stallSeconds} s — restarting the stream` }
        : classifyFfmpegFailure(this.stderrTail.join('\n'), exitCode);
    if (this.firstFrameAt && Date.now() - this.firstFrameAt >= HEALTHY_AFTER_MS) this.backoff.reset();
    const delay = failure.kind === 'unauthorized' || failure.kind === 'not-found' ? this.backoff.max() : this.backoff.next();
    this.lastError = `${failure.kind}: ${failure.message}`;
    this.setState('backoff', { retryInMs: delay });
    this.retryTimer = setTimeout(() => this.spawn(), delay);
  }

  private checkStall(): void {
    if (!this.command) return;
    const now = Date.now();
    const limit = this.opts.stallSeconds * 1000;
    const stalled =
      this.state === 'streaming' ? now - this.lastFrameAt > limit : now - this.spawnedAt > limit + CONNECT_GRACE_MS;
    if (!stalled) return;
    this.stallKill = true;
    signalFfmpeg(this.command);
  }

  private setState(state: CameraState, extra: Record<string, unknown> = {}): void {
    if (state === this.state && state !== 'backoff') return;
    this.state = state;
    this.since = Date.now();
    const status = this.status;
    const level = state === 'backoff' ? 'warn' : 'info';
    this.opts.logger[level](
      { camera: status.camera, state, error: status.lastError, ...extra },
      'camera:status',
    );
    this.emit('status', status);
  }

  private measuredFps(): number {
    const n = this.frameTimes.length;
    if (n < 2) return 0;
    const span = (this.frameTimes[n - 1] - this.frameTimes[0]) / 1000;
    return span > 0 ? Math.round(((n - 1) / span) * 10) / 10 : 0;
  }
}
