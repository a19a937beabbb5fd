import type { Polygon } from '../geometry/polygon.ts';

/** A named area (source pixels); an object is in it when the bottom-centre of its box is. */
export interface Zone {
  name: string;
  polygon: Polygon;
}

export interface TrackerOptions {
  /** Detections a new track needs before it is confirmed and reported as started. */
  minHits?: number;
  /** Time from the first detection within which those hits must arrive. */
  confirmWindowMs?: number;
  /** An unconfirmed track not seen for longer than this is dropped silently. */
  tentativeMaxLostMs?: number;
  /** A confirmed track not seen for longer than this ends. */
  maxLostMs?: number;
  /** Smallest IoU between a track's predicted box and a detection to match them. */
  minIou?: number;
  /** Fallback for small or fast objects: largest centre distance, in box diagonals, to match. */
  maxCentreDistance?: number;
  /** How far ahead a lost track's position is extrapolated from its velocity. */
  maxPredictionMs?: number;
  /** Time a box must stay put before the track counts as stationary. */
  stationaryAfterMs?: number;
  /** IoU with the box where the object settled above which it has not moved. */
  stationaryIou?: number;
  zones?: Zone[];
  /** Id of a newly confirmed track; include the camera name when ids must be unique across cameras. */
  createId?: (label: string, firstSeenMs: number) => string;
}

export type ResolvedTrackerOptions = Required<TrackerOptions>;

export function resolveTrackerOptions(options: TrackerOptions): ResolvedTrackerOptions {
  let confirmed = 0;
  const resolved: ResolvedTrackerOptions = {
    minHits: 3,
    confirmWindowMs: 2000,
    tentativeMaxLostMs: 1000,
    maxLostMs: 5000,
    minIou: 0.2,
    maxCentreDistance: 1,
    maxPredictionMs: 1000,
    stationaryAfterMs: 10_000,
    stationaryIou: 0.7,
    zones: [],
    createId: (_label, firstSeenMs) => `${firstSeenMs}-${++confirmed}`,
  };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value });
  }
  if (!Number.isInteger(resolved.minHits) || resolved.minHits < 1) {
    throw new RangeError(`track.minHits must be a whole number of at least 1, got ${resolved.minHits}`);
  }
  for (const key of ['confirmWindowMs', 'tentativeMaxLostMs', 'maxLostMs', 'maxPredictionMs', 'stationaryAfterMs', 'maxCentreDistance'] as const) {
    if (!(resolved[key] >= 0)) throw new RangeError(`track.${key} must be zero or more, got ${resolved[key]}`);
  }
  for (const key of ['minIou', 'stationaryIou'] as const) {
    if (!(resolved[key] > 0 && resolved[key] <= 1)) throw new RangeError(`track.${key} must be above 0 and at most 1, got ${resolved[key]}`);
  }
  return resolved;
}
