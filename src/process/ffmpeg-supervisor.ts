import { EventEmitter } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { Backoff } from '../camera/backoff.ts';
import type { FfmpegCommand } from '../camera/ffmpeg.ts';
import { classifyFfmpegFailure, type ClassifiedFailure } from '../camera/ffmpeg-errors.ts';
import { maskUrlsIn } from '../log/logger.ts';

export type FfmpegState = 'stopped' | 'connecting' | 'running' | 'backoff';

export interface FfmpegSupervisorOptions {
  /** Builds a fresh command for each run (camera/ffmpeg.ts). */
  build: () => FfmpegCommand;
  /** Reads ffmpeg's stdout; without it, the command's outputs are files. */
  onStdout?: (chunk: Buffer) => void;
  /** Called before every run: reset whatever parses the previous run's output. */
  onSpawn?: () => void;
  /** Running with no `alive()` for this long is a stall: ffmpeg is killed and restarted. */
  stallMs: number;
  /** What `alive()` reports, for the stall message ("no frame for 10 s"). */
  progress?: string;
  /** Extra time a fresh run gets (RTSP handshake, probing) before its first `alive()`. */
  connectGraceMs?: number;
  /** A run that was alive this long resets the backoff when it ends. */
  healthyAfterMs?: number;
  backoff?: Backoff;
  /** How `stop()` asks ffmpeg to end (SIGINT lets it close its files) and how long it waits before SIGKILL. */
  stopSignal?: NodeJS.Signals;
  stopGraceMs?: number;
}

interface SupervisorEvents {
  state: [FfmpegState, { failure?: ClassifiedFailure; retryInMs?: number }];
}

const STDERR_LINES = 30;
const NOT_INSTALLED: ClassifiedFailure = { kind: 'error', message: 'ffmpeg is not installed or not on PATH (Debian: apt-get install ffmpeg)' };

/**
 * Keeps one long-running ffmpeg alive for its owner (camera decoder, recorder, live stream): runs
 * it, keeps the tail of its stderr (credentials masked), classifies why it ended, restarts it
 * after a backoff with jitter (the longest for a wrong password or path), kills it when it stalls,
 * and stops it cleanly. Only fluent-ffmpeg's public API is used. The owner calls `alive()`
 * whenever the output shows progress (a frame, a segment, a fragment).
 */
export class FfmpegSupervisor extends EventEmitter<SupervisorEvents> {
  private command?: FfmpegCommand;
  private current: FfmpegState = 'stopped';
  private stopping = true;
  private stalled = false;
  private spawnedAt = 0;
  private aliveAt = 0;
  private firstAliveAt = 0;
  private stderrTail: string[] = [];
  private retryTimer?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private exited: Promise<void> = Promise.resolve();
  private readonly backoff: Backoff;

  constructor(private readonly opts: FfmpegSupervisorOptions) {
    super();
    this.backoff = opts.backoff ?? new Backoff();
  }

  get state(): FfmpegState {
    return this.current;
  }

  get running(): boolean {
    return this.command !== undefined;
  }

  start(): void {
    if (!this.stopping) return;
    this.stopping = false;
    this.watchdog = setInterval(() => this.checkStall(), 1000);
    this.watchdog.unref();
    this.spawn();
  }

  /** Ends the run under way (if any) and cancels any retry; resolves once ffmpeg has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearInterval(this.watchdog);
    const command = this.command;
    if (command) {
      const signal = this.opts.stopSignal ?? 'SIGKILL';
      killWhenStarted(command, signal);
      const forced = signal === 'SIGKILL' ? undefined : setTimeout(() => killWhenStarted(command, 'SIGKILL'), this.opts.stopGraceMs ?? 3000);
      await this.exited;
      clearTimeout(forced);
    }
    this.setState('stopped');
  }

  /** The output shows progress: the run is healthy and the stall watchdog starts over. */
  alive(): void {
    this.aliveAt = Date.now();
    if (this.current === 'running' || !this.command) return;
    this.firstAliveAt = this.aliveAt;
    this.setState('running');
  }

  /** Kills the run under way as stalled (the owner found its output broken); it restarts with backoff. */
  restart(reason: string): void {
    if (!this.command) return;
    this.stderrTail.push(reason);
    killWhenStarted(this.command, 'SIGKILL');
  }

  private spawn(): void {
    this.retryTimer = undefined;
    this.stderrTail = [];
    this.stalled = false;
    this.spawnedAt = Date.now();
    this.firstAliveAt = 0;
    this.opts.onSpawn?.();
    const command = this.opts.build();
    this.command = command;
    command.once('start', () => commandStarted.add(command));
    let exited!: () => void;
    this.exited = new Promise((resolve) => (exited = resolve));
    command.on('stderr', (line: string) => {
      this.stderrTail.push(maskUrlsIn(line));
      if (this.stderrTail.length > STDERR_LINES) this.stderrTail.shift();
    });
    const onExit = (code: number, notInstalled: boolean) => {
      if (this.command !== command) return;
      this.command = undefined;
      exited();
      this.onExit(code, notInstalled);
    };
    command.on('error', (err: Error) => onExit(Number(/exited with code (\d+)/.exec(err.message)?.[1] ?? 1), /Cannot find ffmpeg|ENOENT/.test(err.message)));
    command.on('end', () => onExit(0, false));
    this.setState('connecting');
    if (this.opts.onStdout) {
      const output = command.pipe();
      output.on('data', this.opts.onStdout);
      output.on('error', () => {});
    } else {
      command.run();
    }
  }

  private onExit(code: number, notInstalled: boolean): void {
    if (this.stopping) return;
    const failure = notInstalled
      ? NOT_INSTALLED
      : this.stalled
        ? { kind: 'stalled' as const, message: `no ${this.opts.progress ?? 'output'} for ${Math.round(this.opts.stallMs / 1000)} s — restarting the stream` }
        : classifyFfmpegFailure(this.stderrTail.join('\n'), code);
    if (this.firstAliveAt && Date.now() - this.firstAliveAt >= (this.opts.healthyAfterMs ?? 10_000)) this.backoff.reset();
    const retryInMs = failure.kind === 'unauthorized' || failure.kind === 'not-found' ? this.backoff.max() : this.backoff.next();
    this.setState('backoff', { failure, retryInMs });
    this.retryTimer = setTimeout(() => this.spawn(), retryInMs);
    this.retryTimer.unref();
  }

  private checkStall(): void {
    if (!this.command || this.stalled) return;
    const now = Date.now();
    const overdue = this.current === 'running' ? now - this.aliveAt > this.opts.stallMs : now - this.spawnedAt > this.opts.stallMs + (this.opts.connectGraceMs ?? 5000);
    if (!overdue) return;
    this.stalled = true;
    killWhenStarted(this.command, 'SIGKILL');
  }

  private setState(state: FfmpegState, detail: { failure?: ClassifiedFailure; retryInMs?: number } = {}): void {
    if (state === this.current && state !== 'backoff') return;
    this.current = state;
    this.emit('state', state, detail);
  }
}

/**
 * fluent-ffmpeg spawns asynchronously (it first probes ffmpeg's capabilities), so a signal sent
 * before the process exists would be lost and a looping ffmpeg would run forever: send it on 'start'.
 */
const commandStarted = new WeakSet<FfmpegCommand>();

/** Kills a command run by runFfmpegOnce or streamFfmpegOnce, now or as soon as its process exists. */
export const killFfmpeg = (command: FfmpegCommand, signal: NodeJS.Signals = 'SIGKILL'): void => killWhenStarted(command, signal);

function killWhenStarted(command: FfmpegCommand, signal: NodeJS.Signals): void {
  let sent = false;
  const send = () => {
    if (sent) return;
    sent = true;
    command.kill(signal);
  };
  // `kill` is a no-op (with a warning) before the process exists; 'start' fires once it does.
  if (commandStarted.has(command)) send();
  else command.once('start', send);
}

/**
 * Runs a one-shot command whose output is its stdout (playback) and hands that stream over: it
 * follows the reader's pace (ffmpeg blocks on a full pipe). `done` settles when ffmpeg exits
 * (rejecting with its last words, or because it was killed); `kill()` is safe before ffmpeg has started.
 */
export function streamFfmpegOnce(command: FfmpegCommand): { output: Readable; done: Promise<void>; kill(): void } {
  const tail: string[] = [];
  command.on('stderr', (line: string) => {
    tail.push(maskUrlsIn(line));
    if (tail.length > STDERR_LINES) tail.shift();
  });
  command.once('start', () => commandStarted.add(command));
  const output = new PassThrough();
  const done = new Promise<void>((resolve, reject) => {
    command.on('end', () => resolve());
    command.on('error', (err: Error) => reject(new Error(classifyFfmpegFailure(tail.join('\n'), Number(/exited with code (\d+)/.exec(err.message)?.[1] ?? 1)).message)));
  });
  done.catch(() => undefined); // the owner awaits it if it cares
  command.pipe(output, { end: true });
  return { output, done, kill: () => killWhenStarted(command, 'SIGKILL') };
}

/** Runs a one-shot command (export, demo clip) to its end; rejects with ffmpeg's last words. */
export function runFfmpegOnce(command: FfmpegCommand): Promise<void> {
  const tail: string[] = [];
  command.once('start', () => commandStarted.add(command));
  command.on('stderr', (line: string) => {
    tail.push(maskUrlsIn(line));
    if (tail.length > STDERR_LINES) tail.shift();
  });
  return new Promise((resolve, reject) => {
    command.on('end', () => resolve());
    command.on('error', (err: Error) => reject(new Error(classifyFfmpegFailure(tail.join('\n'), Number(/exited with code (\d+)/.exec(err.message)?.[1] ?? 1)).message)));
    command.run();
  });
}
