import type { Box } from '../geometry/box.ts';
import { matchBoxes } from './match.ts';
import { resolveTrackerOptions, type ResolvedTrackerOptions, type TrackerOptions } from './options.ts';
import { TrackState, type Detection, type Track } from './track.ts';

export type TrackedInput = Detection;

export interface TrackerUpdate {
  /** Tracks confirmed in this update: each one is a new event. */
  started: Track[];
  /** Tracks confirmed earlier that got a detection in this update. */
  updated: Track[];
  /** Confirmed tracks unseen for longer than `maxLostMs` (or all of them on flush); reported once. */
  ended: Track[];
  /** Every confirmed track still alive, seen in this update or not. */
  active: Track[];
  /**
   * Tentative tracks detected in this update: not objects yet (no id), shown to whoever must judge
   * a track from its first sighting (the event gate counts their motion).
   */
  tentative: Track[];
}

/**
 * Follows detections across frames: one track per object, per label. New tracks stay tentative
 * (invisible to callers) until seen `minHits` times, so a single false detection is never an event.
 * Pure: detections and timestamps in, track changes out.
 */
export class ObjectTracker {
  private readonly options: ResolvedTrackerOptions;
  private tracks: TrackState[] = [];
  private lastTimestampMs = -Infinity;

  constructor(options: TrackerOptions = {}) {
    this.options = resolveTrackerOptions(options);
  }

  update(detections: readonly TrackedInput[], timestampMs: number): TrackerUpdate {
    this.checkTimestamp(timestampMs);
    const ended = this.expire(timestampMs);
    const matched = new Set<TrackState>();

    for (const label of new Set(detections.map((d) => d.label))) {
      const labelled = detections.filter((d) => d.label === label);
      const ofLabel = this.tracks.filter((t) => t.label === label);
      // Confirmed tracks pick first so a tentative duplicate cannot take their detection.
      const left = this.assign(ofLabel.filter((t) => t.confirmed), labelled, timestampMs, matched);
      const unclaimed = this.assign(ofLabel.filter((t) => !t.confirmed), left, timestampMs, matched);
      for (const detection of unclaimed) {
        const track = new TrackState(detection, timestampMs, this.options);
        this.tracks.push(track);
        matched.add(track);
      }
    }

    const started: Track[] = [];
    const updated: Track[] = [];
    const tentative: Track[] = [];
    for (const track of matched) {
      if (track.confirmed) {
        updated.push(track.snapshot());
      } else if (track.hits >= this.options.minHits) {
        track.id = this.options.createId(track.label, track.firstSeen);
        started.push(track.snapshot());
      } else tentative.push(track.snapshot());
    }
    return { started, updated, ended, active: this.activeTracks(), tentative };
  }

  /** Ends every confirmed track and forgets tentative ones, e.g. at shutdown. */
  flush(timestampMs: number): TrackerUpdate {
    this.checkTimestamp(timestampMs);
    const ended = this.tracks.filter((t) => t.confirmed).map((t) => t.snapshot());
    this.tracks = [];
    return { started: [], updated: [], ended, active: [], tentative: [] };
  }

  /** Confirmed tracks as they are now. */
  activeTracks(): Track[] {
    return this.tracks.filter((t) => t.confirmed).map((t) => t.snapshot());
  }

  private checkTimestamp(timestampMs: number): void {
    if (!(timestampMs >= this.lastTimestampMs)) {
      throw new RangeError(
        `Tracker timestamps must not go backwards (got ${timestampMs} after ${this.lastTimestampMs}) — pass a monotonic clock`,
      );
    }
    this.lastTimestampMs = timestampMs;
  }

  /** Removes tracks whose time is up; returns the confirmed ones among them. */
  private expire(timestampMs: number): Track[] {
    const { maxLostMs, tentativeMaxLostMs, confirmWindowMs } = this.options;
    const ended: Track[] = [];
    this.tracks = this.tracks.filter((track) => {
      const lostMs = timestampMs - track.lastSeen;
      if (track.confirmed) {
        if (lostMs <= maxLostMs) return true;
        ended.push(track.snapshot());
        return false;
      }
      return lostMs <= tentativeMaxLostMs && timestampMs - track.firstSeen <= confirmWindowMs;
    });
    return ended;
  }

  /** Matches detections to tracks, applies them, and returns the detections nobody took. */
  private assign(
    tracks: TrackState[],
    detections: TrackedInput[],
    timestampMs: number,
    matched: Set<TrackState>,
  ): TrackedInput[] {
    if (tracks.length === 0 || detections.length === 0) return detections;
    const predicted: Box[] = tracks.map((t) => t.predictedBox(timestampMs, this.options.maxPredictionMs));
    const taken = new Set<number>();
    for (const [trackIndex, detectionIndex] of matchBoxes(predicted, detections.map((d) => d.box), this.options)) {
      tracks[trackIndex].applyDetection(detections[detectionIndex], timestampMs);
      matched.add(tracks[trackIndex]);
      taken.add(detectionIndex);
    }
    return detections.filter((_, i) => !taken.has(i));
  }
}
