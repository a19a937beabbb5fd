/**
 * Which person detections get a face check: a face search costs 100–300 ms of a core, so a
 * track is checked only when its box is tall enough to hold a usable face, at most once per
 * interval, a bounded number of times, and no more once it has been recognised.
 */

export interface FaceSamplerOptions {
  /** Person boxes shorter than this (pixels) are not checked: their face would be a few pixels. Default 120. */
  minBoxHeight?: number;
  /** Least time between two checks of one track. Default 1000 ms. */
  perTrackIntervalMs?: number;
  /** Checks per track before giving up on it (it stays "unknown"). Default 5. */
  maxTriesPerTrack?: number;
}

interface TrackState {
  tries: number;
  lastCheck: number;
  recognised: boolean;
}

export class FaceSampler {
  private readonly minBoxHeight: number;
  private readonly intervalMs: number;
  private readonly maxTries: number;
  private readonly tracks = new Map<string, TrackState>();

  constructor(opts: FaceSamplerOptions = {}) {
    this.minBoxHeight = opts.minBoxHeight ?? 120;
    this.intervalMs = opts.perTrackIntervalMs ?? 1000;
    this.maxTries = opts.maxTriesPerTrack ?? 5;
    if (!(this.minBoxHeight >= 0)) throw new RangeError(`minBoxHeight must be 0 or more, got ${this.minBoxHeight}`);
    if (!(this.intervalMs >= 0)) throw new RangeError(`perTrackIntervalMs must be 0 or more, got ${this.intervalMs}`);
    if (!Number.isInteger(this.maxTries) || this.maxTries < 1) throw new RangeError(`maxTriesPerTrack must be a positive whole number, got ${this.maxTries}`);
  }

  /** Whether to search this box for a face now; a true answer counts as one try. */
  shouldCheck(trackId: string, box: { width: number; height: number }, now: number): boolean {
    if (!(box.height >= this.minBoxHeight) || !(box.width > 0)) return false;
    const state = this.tracks.get(trackId);
    if (state) {
      if (state.recognised || state.tries >= this.maxTries || now - state.lastCheck < this.intervalMs) return false;
      state.tries++;
      state.lastCheck = now;
      return true;
    }
    this.tracks.set(trackId, { tries: 1, lastCheck: now, recognised: false });
    return true;
  }

  /** The track's face was matched to a resident: no more checks for it. */
  recognised(trackId: string): void {
    const state = this.tracks.get(trackId);
    if (state) state.recognised = true;
    else this.tracks.set(trackId, { tries: 0, lastCheck: -Infinity, recognised: true });
  }

  /** The track ended: its state goes (call it, or the map grows with every track ever seen). */
  forget(trackId: string): void {
    this.tracks.delete(trackId);
  }

  /** Tracks remembered, for tests and health. */
  get size(): number {
    return this.tracks.size;
  }
}
