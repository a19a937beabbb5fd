import { boxCentre, iou, translateBox, type Box } from '../geometry/box.ts';
import { boxInPolygon } from '../geometry/polygon.ts';
import type { Zone } from './options.ts';

/** What callers see of a confirmed track: a snapshot, not changed by later updates. */
export interface Track {
  id: string;
  label: string;
  box: Box;
  /** Score of the latest detection. */
  score: number;
  /** Scores of the latest detections, oldest first (at most `SCORE_HISTORY`). */
  recentScores: number[];
  topScore: number;
  /** Box of the first detection. */
  firstBox: Box;
  /** Box of the detection with the top score: the one to take the snapshot from. */
  bestBox: Box;
  /** Timestamp (ms) of the frame of `bestBox`. */
  bestSeen: number;
  firstSeen: number;
  lastSeen: number;
  hits: number;
  /** Centre velocity in source pixels per second. */
  velocity: { x: number; y: number };
  /** Zones ever entered, in order of first entry. */
  zones: string[];
  /** Zones the latest box is in. */
  currentZones: string[];
  /** The box has barely moved for at least `stationaryAfterMs`. */
  stationary: boolean;
  /** Since when the box has barely moved (ms); null while it moves. */
  stationarySince: number | null;
}

export interface Detection {
  label: string;
  score: number;
  box: Box;
}

export interface TrackSettings {
  zones: readonly Zone[];
  stationaryIou: number;
  stationaryAfterMs: number;
}

/** Detections whose scores a track remembers (Frigate's score history). */
export const SCORE_HISTORY = 10;

/** How much a new velocity measurement moves the smoothed velocity. */
const VELOCITY_SMOOTHING = 0.5;

/** Mutable state of one tracked object, owned by the tracker. */
export class TrackState {
  id: string | null = null;
  readonly label: string;
  box: Box;
  score: number;
  readonly recentScores: number[] = [];
  topScore: number;
  bestBox: Box;
  readonly firstBox: Box;
  bestSeen: number;
  readonly firstSeen: number;
  lastSeen: number;
  hits = 1;
  velocityX = 0;
  velocityY = 0;
  readonly zones = new Set<string>();
  currentZones: string[] = [];
  private restingBox: Box;
  private restingSince: number;

  constructor(detection: Detection, timestampMs: number, private readonly settings: TrackSettings) {
    this.label = detection.label;
    this.box = { ...detection.box };
    this.score = this.topScore = detection.score;
    this.recentScores.push(detection.score);
    this.bestBox = this.firstBox = this.box;
    this.firstSeen = this.lastSeen = this.bestSeen = timestampMs;
    this.restingBox = this.box;
    this.restingSince = timestampMs;
    this.updateZones();
  }

  get confirmed(): boolean {
    return this.id !== null;
  }

  /** Where the box should be now if it kept its velocity, extrapolated at most `maxPredictionMs`. */
  predictedBox(timestampMs: number, maxPredictionMs: number): Box {
    const seconds = Math.min(timestampMs - this.lastSeen, maxPredictionMs) / 1000;
    return translateBox(this.box, this.velocityX * seconds, this.velocityY * seconds);
  }

  applyDetection(detection: Detection, timestampMs: number): void {
    const seconds = (timestampMs - this.lastSeen) / 1000;
    if (seconds > 0) {
      const [oldX, oldY] = boxCentre(this.box);
      const [newX, newY] = boxCentre(detection.box);
      const weight = this.hits === 1 ? 1 : VELOCITY_SMOOTHING;
      this.velocityX += weight * ((newX - oldX) / seconds - this.velocityX);
      this.velocityY += weight * ((newY - oldY) / seconds - this.velocityY);
    }
    this.box = { ...detection.box };
    this.score = detection.score;
    this.recentScores.push(detection.score);
    if (this.recentScores.length > SCORE_HISTORY) this.recentScores.shift();
    this.lastSeen = timestampMs;
    this.hits++;
    if (detection.score > this.topScore) {
      this.topScore = detection.score;
      this.bestBox = this.box;
      this.bestSeen = timestampMs;
    }
    if (iou(this.restingBox, this.box) < this.settings.stationaryIou) {
      this.restingBox = this.box;
      this.restingSince = timestampMs;
    }
    this.updateZones();
  }

  snapshot(): Track {
    const stationary = this.lastSeen - this.restingSince >= this.settings.stationaryAfterMs;
    return {
      id: this.id ?? '',
      label: this.label,
      box: { ...this.box },
      score: this.score,
      recentScores: [...this.recentScores],
      topScore: this.topScore,
      firstBox: { ...this.firstBox },
      bestBox: { ...this.bestBox },
      bestSeen: this.bestSeen,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      hits: this.hits,
      velocity: { x: this.velocityX, y: this.velocityY },
      zones: [...this.zones],
      currentZones: [...this.currentZones],
      stationary,
      stationarySince: stationary ? this.restingSince : null,
    };
  }

  private updateZones(): void {
    this.currentZones = this.settings.zones.filter((zone) => boxInPolygon(this.box, zone.polygon)).map((zone) => zone.name);
    for (const name of this.currentZones) this.zones.add(name);
  }
}
