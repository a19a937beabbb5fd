import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** The largest value recorded in the last `windowMs`. Pure: the caller gives the times. */
export class WindowedMax {
  private readonly samples: { at: number; value: number }[] = [];

  constructor(readonly windowMs: number) {}

  record(at: number, value: number): void {
    this.samples.push({ at, value });
    this.forgetBefore(at);
  }

  worst(now: number): number {
    this.forgetBefore(now);
    return this.samples.reduce((worst, s) => Math.max(worst, s.value), 0);
  }

  private forgetBefore(now: number): void {
    while (this.samples.length > 0 && now - this.samples[0].at > this.windowMs) this.samples.shift();
  }
}

export interface EventLoopLagOptions {
  /** How far back the worst lag reaches (default 60 s). */
  windowMs?: number;
  /** How often a fresh histogram starts (default 10 s). */
  rotateMs?: number;
  /** Sampling interval of monitorEventLoopDelay (default 10 ms). */
  resolutionMs?: number;
  now?: () => number;
}

/**
 * The worst event-loop lag of the last minute or so: how much later than due a timer sampling
 * every `resolutionMs` ran, from perf_hooks.monitorEventLoopDelay.
 *
 * A histogram cannot be windowed and its reset() forgets the interval under way, so a stall right
 * after a reset would go unseen. Instead a fresh histogram starts every `rotateMs` and each one
 * runs for two periods: every moment is covered by a histogram that was already sampling.
 */
export class EventLoopLag {
  readonly windowMs: number;
  private readonly rotateMs: number;
  private readonly resolutionMs: number;
  private readonly now: () => number;
  private readonly finished: WindowedMax;
  private live: IntervalHistogram[] = [];
  private timer?: NodeJS.Timeout;

  constructor(options: EventLoopLagOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.rotateMs = options.rotateMs ?? 10_000;
    this.resolutionMs = options.resolutionMs ?? 10;
    this.now = options.now ?? Date.now;
    this.finished = new WindowedMax(this.windowMs);
  }

  start(): void {
    if (this.timer) return;
    this.rotate();
    this.timer = setInterval(() => this.rotate(), this.rotateMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const histogram of this.live) histogram.disable();
    this.live = [];
  }

  /** Starts a fresh histogram and retires the one that has run for two periods. */
  rotate(): void {
    const fresh = monitorEventLoopDelay({ resolution: this.resolutionMs });
    fresh.enable();
    this.live.push(fresh);
    while (this.live.length > 2) {
      const done = this.live.shift()!;
      done.disable();
      this.finished.record(this.now(), this.lagMs(done));
    }
  }

  /** Worst lag in milliseconds over the window (a little more: up to two rotations). */
  worstLagMs(): number {
    const worst = Math.max(this.finished.worst(this.now()), ...this.live.map((h) => this.lagMs(h)));
    return Math.round(worst * 10) / 10;
  }

  private lagMs(histogram: IntervalHistogram): number {
    return Math.max(0, histogram.max / 1e6 - this.resolutionMs);
  }
}
