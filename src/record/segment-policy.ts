export interface CachedSegment {
  path: string;
  startMs: number;
  endMs: number;
}

export type RecordMode = 'off' | 'events' | 'motion' | 'continuous';

interface Window {
  startMs: number;
  /** null while the trigger (event, motion) is still going on. */
  endMs: number | null;
}

/**
 * Decides which finished segments are worth keeping. In events and motion modes, segments wait in
 * the RAM cache for `preRollMs`; a trigger that starts in time pulls them into storage, and every
 * segment up to `postRollMs` after the trigger ends is stored too. Pure: no clock, no files.
 */
export class SegmentPolicy {
  private readonly windows = new Map<string, Window>();
  private held: CachedSegment[] = [];

  /**
   * `holdSlackMs` keeps held segments a little longer than the pre-roll: segment times are only as
   * exact as ffmpeg's reporting, and a trigger arrives some hundreds of ms after what it reports.
   */
  constructor(private readonly opts: { mode: RecordMode; preRollMs: number; postRollMs: number; holdSlackMs?: number }) {}

  /** A new segment is complete: true = store it now, false = it is held (or, in off mode, dropped by evict). */
  addSegment(segment: CachedSegment): boolean {
    if (this.opts.mode === 'continuous') return true;
    if (this.opts.mode !== 'off' && this.isWanted(segment)) return true;
    this.held.push(segment);
    return false;
  }

  /** Opens or extends the trigger `key`; returns held segments that now must be stored. */
  trigger(key: string, startMs: number, endMs: number | null): CachedSegment[] {
    if (this.opts.mode === 'off' || this.opts.mode === 'continuous') return [];
    const existing = this.windows.get(key);
    this.windows.set(key, { startMs: Math.min(existing?.startMs ?? startMs, startMs), endMs });
    const wanted = this.held.filter((s) => this.isWanted(s));
    if (wanted.length > 0) this.held = this.held.filter((s) => !wanted.includes(s));
    return wanted;
  }

  /** Held segments too old to serve as pre-roll for a trigger starting now: delete them. */
  evict(nowMs: number): CachedSegment[] {
    const horizon = nowMs - (this.opts.mode === 'off' ? 0 : this.opts.preRollMs + (this.opts.holdSlackMs ?? 0));
    const expired = this.held.filter((s) => s.endMs < horizon);
    if (expired.length > 0) this.held = this.held.filter((s) => s.endMs >= horizon);
    for (const [key, w] of this.windows) {
      if (w.endMs !== null && w.endMs + this.opts.postRollMs < horizon) this.windows.delete(key);
    }
    return expired;
  }

  /** Everything still held (for shutdown clean-up). */
  drain(): CachedSegment[] {
    const all = this.held;
    this.held = [];
    return all;
  }

  private isWanted(segment: CachedSegment): boolean {
    for (const w of this.windows.values()) {
      const from = w.startMs - this.opts.preRollMs;
      const to = w.endMs === null ? Infinity : w.endMs + this.opts.postRollMs;
      if (segment.endMs >= from && segment.startMs <= to) return true;
    }
    return false;
  }
}
