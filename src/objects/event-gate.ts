import { boxArea, boxCentre, boxContains, intersectBox, intersectionArea, iou, type Box } from '../geometry/box.ts';
import type { TrackerUpdate } from '../track/tracker.ts';
import type { Track } from '../track/track.ts';

export interface EventGateOptions {
  /** The label's event threshold on the median of its recent scores; undefined: the label is not tracked. */
  threshold: (label: string) => number | undefined;
  /** Share of its box that motion no other object explains must cover for a still object to move by itself. */
  ownMotionShare?: number;
  /** Detections with such motion before a still object counts as moving by itself. */
  ownMotionHits?: number;
  /** IoU with an event of another label above which a track is that object under a second label. */
  duplicateIou?: number;
}

/** Why a confirmed track is not (yet) an event. */
export type Holdback = 'score' | 'scene' | 'duplicate';

interface Candidate {
  moved: boolean;
  ownMotionHits: number;
  event: boolean;
}

/**
 * Decides which confirmed tracks are events (pure: tracker updates and motion boxes in, the
 * events' part of the updates out). A track becomes an event once the median of its recent scores
 * reaches its label's threshold and it is not part of the scene: it moved from where it was first
 * seen, or motion of its own (not explained by another tracked object) was inside its box. An
 * object present since start-up, or a statue a person walks past, stays scene until it moves. A
 * track on the box of an event of another label is that object named twice, not a new event.
 * Once an event, always an event.
 */
export class EventGate {
  private readonly candidates = new Map<string, Candidate>();
  private readonly ownMotionShare: number;
  private readonly ownMotionHits: number;
  private readonly duplicateIou: number;

  constructor(private readonly opts: EventGateOptions) {
    this.ownMotionShare = opts.ownMotionShare ?? 0.15;
    this.ownMotionHits = opts.ownMotionHits ?? 2;
    this.duplicateIou = opts.duplicateIou ?? 0.6;
  }

  /** `motion`: boxes of the frame the detections came from; null when motion is unknown (calibrating). */
  update(update: TrackerUpdate, motion: readonly Box[] | null): TrackerUpdate {
    const tracked = [...update.active, ...update.tentative];
    // A track is judged from its first sighting: motion seen while it was tentative counts.
    for (const track of update.tentative) this.observe(track, this.candidate(track), motion, tracked);
    const started: Track[] = [];
    const updated: Track[] = [];
    for (const track of [...update.started, ...update.updated]) {
      const candidate = this.candidate(track);
      if (candidate.event) {
        updated.push(track);
        continue;
      }
      this.observe(track, candidate, motion, tracked);
      if (this.holdback(track, candidate, update.active) === undefined) {
        candidate.event = true;
        started.push(track);
      }
    }
    const ended = update.ended.filter((track) => this.candidates.get(trackKey(track))?.event ?? false);
    // Ended tracks, and tentative ones the tracker dropped or missed in this frame, are forgotten.
    const alive = new Set(tracked.map(trackKey));
    for (const key of this.candidates.keys()) if (!alive.has(key)) this.candidates.delete(key);
    return { started, updated, ended, active: update.active.filter((t) => this.candidates.get(trackKey(t))?.event), tentative: [] };
  }

  private candidate(track: Track): Candidate {
    const key = trackKey(track);
    let candidate = this.candidates.get(key);
    if (!candidate) this.candidates.set(key, (candidate = { moved: false, ownMotionHits: 0, event: false }));
    return candidate;
  }

  private observe(track: Track, candidate: Candidate, motion: readonly Box[] | null, tracked: readonly Track[]): void {
    candidate.moved ||= hasMoved(track);
    const others = tracked.filter((t) => trackKey(t) !== trackKey(track));
    if (motion && hasOwnMotion(track, motion, others, this.ownMotionShare)) candidate.ownMotionHits += 1;
  }

  /** Forgets every track, e.g. when the tracker is flushed. */
  reset(): void {
    this.candidates.clear();
  }

  private holdback(track: Track, candidate: Candidate, active: readonly Track[]): Holdback | undefined {
    const threshold = this.opts.threshold(track.label);
    if (threshold === undefined || median(track.recentScores) < threshold) return 'score';
    if (!candidate.moved && candidate.ownMotionHits < this.ownMotionHits) return 'scene';
    // The detector sometimes names one object twice (a bird, and a giraffe on the same box).
    const isEvent = (t: Track) => this.candidates.get(trackKey(t))?.event === true;
    if (active.some((t) => t.label !== track.label && isEvent(t) && iou(t.box, track.box) >= this.duplicateIou)) return 'duplicate';
    return undefined;
  }
}

/** A track's identity from its first sighting: tentative tracks have no id yet. */
function trackKey(track: Pick<Track, 'label' | 'firstSeen' | 'firstBox'>): string {
  const { x, y, width, height } = track.firstBox;
  return `${track.label} ${track.firstSeen} ${x} ${y} ${width} ${height}`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * The object left the place it was first seen: neither box holds the other's centre. A still
 * object partly hidden by someone walking past keeps a box inside its first one, so it has not moved.
 */
export function hasMoved(track: Pick<Track, 'box' | 'firstBox'>): boolean {
  return !boxContains(track.firstBox, boxCentre(track.box)) && !boxContains(track.box, boxCentre(track.firstBox));
}

/**
 * Motion inside the track's box that no other tracked object's box explains covers at least
 * `share` of the box. Motion mostly inside another object's box (a person walking past) is theirs.
 */
export function hasOwnMotion(track: Pick<Track, 'box'>, motion: readonly Box[], others: readonly Pick<Track, 'box'>[], share: number): boolean {
  const area = boxArea(track.box);
  if (area === 0) return false;
  let unexplained = 0;
  for (const m of motion) {
    const overlap = intersectBox(track.box, m);
    const overlapArea = boxArea(overlap);
    if (overlapArea === 0) continue;
    const explained = Math.max(0, ...others.map((o) => intersectionArea(overlap, o.box) / overlapArea));
    if (explained < 0.5) unexplained += overlapArea * (1 - explained);
  }
  return unexplained >= share * area;
}
