import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { CameraState, CameraStatus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import { FfmpegSupervisor, type FfmpegState } from '../process/ffmpeg-supervisor.ts';
import type { ClassifiedFailure } from './ffmpeg-errors.ts';
import type { Backoff } from './backoff.ts';
import { decodeToRawFrames, type HwAccel, type StreamSource } from './ffmpeg.ts';
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
  /**
   * Where each run reads the camera: its URL, or a new reader of another connection's tap (a
   * camera without a sub stream is decoded from the recorder's connection).
   */
  source: () => StreamSource;
  fps: number;
  width: number;
  height: number;
  stallSeconds: number;
  logger: Logger;
  backoff?: Backoff;
  /** Hardware decoding; when a run fails before its first frame, the camera falls back to software (logged once). */
  hwaccel?: HwAccel;
  inputArgs?: string[];
  /** The sub stream's live view: fragmented MP4 from this same connection to a unix socket (see decodeToRawFrames). */
  liveSocket?: string;
}

interface SupervisorEvents {
  frame: [Frame];
  status: [CameraStatus];
}

const FPS_WINDOW_MS = 5_000;
/** One frame being filled, one being detected, one waiting for the detector. */
const POOLED_FRAMES = 3;

/** Keeps one ffmpeg decoder running for a camera (through the one ffmpeg supervisor) and reports its status and frames. */
export class CameraSupervisor extends EventEmitter<SupervisorEvents> {
  private state: CameraState = 'stopped';
  private lastError?: string;
  private lastFrameAt = 0;
  private frameTimes: number[] = [];
  private seq = 0;
  private framesRead = 0;
  private framesDropped = 0;
  private since = Date.now();
  private readonly ffmpeg: FfmpegSupervisor;
  private readonly reader: FrameReader;
  private readonly pool: FramePool;
  private hwaccel: HwAccel;
  private input?: StreamSource;
  private framesThisRun = 0;

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.hwaccel = opts.hwaccel ?? 'none';
    const frameSize = yuv420pFrameSize(opts.width, opts.height);
    this.pool = new FramePool(frameSize, POOLED_FRAMES);
    this.reader = new FrameReader(frameSize, (data) => this.onFrame(data), this.pool);
    this.ffmpeg = new FfmpegSupervisor({
      build: () => this.buildRun(),
      onSpawn: () => {
        this.reader.reset();
        this.framesThisRun = 0;
      },
      stallMs: opts.stallSeconds * 1000,
      progress: 'frame',
      backoff: opts.backoff,
    });
    this.ffmpeg.on('state', (state, { failure, retryInMs }) => {
      if (state !== 'running') this.frameTimes = [];
      if (state === 'backoff' && this.framesThisRun === 0 && failure && HARDWARE_FAILURES.has(failure.kind)) this.fallBackToSoftware(failure.message);
      if (failure) this.lastError = `${failure.kind}: ${failure.message}`;
      if (state === 'running') this.lastError = undefined;
      this.setState(CAMERA_STATE[state], retryInMs === undefined ? {} : { retryInMs });
    });
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

  /** Frames that arrived but were not processed downstream (the detector was busy). */
  countDropped(n = 1): void {
    this.framesDropped += n;
  }

  start(): void {
    this.ffmpeg.start();
  }

  async stop(): Promise<void> {
    await this.ffmpeg.stop();
    this.closeInput();
  }

  /** Decoding in hardware, or 'none' (never configured, or fallen back). */
  get decoding(): HwAccel {
    return this.hwaccel;
  }

  private buildRun() {
    this.closeInput();
    this.input = this.opts.source();
    const frames = new PassThrough({ highWaterMark: 1024 * 1024 });
    frames.on('data', (chunk: Buffer) => this.reader.push(chunk));
    const { fps, width, height, inputArgs, liveSocket } = this.opts;
    return decodeToRawFrames(this.input, { fps, width, height, frames, hwaccel: this.hwaccel, inputArgs, liveSocket });
  }

  private closeInput(): void {
    if (this.input && typeof this.input !== 'string') this.input.destroy();
    this.input = undefined;
  }

  private fallBackToSoftware(reason: string): void {
    if (this.hwaccel === 'none') return;
    this.opts.logger.warn({ camera: this.opts.camera, hwaccel: this.hwaccel, reason }, 'hardware decoding failed before the first frame; decoding in software from now on');
    this.hwaccel = 'none';
  }

  private onFrame(data: Buffer): void {
    this.framesThisRun += 1;
    const now = Math.max(Date.now(), this.lastFrameAt);
    this.lastFrameAt = now;
    this.framesRead += 1;
    this.frameTimes.push(now);
    while (this.frameTimes.length > 0 && now - this.frameTimes[0] > FPS_WINDOW_MS) this.frameTimes.shift();
    this.ffmpeg.alive();
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

  private setState(state: CameraState, extra: Record<string, unknown> = {}): void {
    if (state === this.state && state !== 'backoff') return;
    this.state = state;
    this.since = Date.now();
    const status = this.status;
    const level = state === 'backoff' ? 'warn' : 'info';
    this.opts.logger[level]({ camera: status.camera, state, error: status.lastError, ...extra }, 'camera:status');
    this.emit('status', status);
  }

  private measuredFps(): number {
    const n = this.frameTimes.length;
    if (n < 2) return 0;
    const span = (this.frameTimes[n - 1] - this.frameTimes[0]) / 1000;
    return span > 0 ? Math.round(((n - 1) / span) * 10) / 10 : 0;
  }
}

/** Why a hardware decoder's run can end without a frame; a camera that is down or refuses us says nothing about the decoder. */
const HARDWARE_FAILURES = new Set<ClassifiedFailure['kind']>(['error', 'stalled']);

const CAMERA_STATE: Record<FfmpegState, CameraState> = { stopped: 'stopped', connecting: 'connecting', running: 'streaming', backoff: 'backoff' };
