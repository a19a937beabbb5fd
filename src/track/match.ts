import { boxArea, boxCentre, iou, type Box } from '../geometry/box.ts';

export interface MatchCriteria {
  minIou: number;
  /** In diagonals (mean of both boxes). */
  maxCentreDistance: number;
}

/** Boxes more different in area than this never match on distance alone. */
const MAX_AREA_RATIO_FOR_DISTANCE_MATCH = 4;

/**
 * One-to-one greedy matching of track boxes to detection boxes: the best-overlapping pairs first,
 * then, for what is left, the nearest centres of similarly sized boxes (small or fast objects
 * whose boxes no longer overlap between frames). Returns [trackIndex, detectionIndex] pairs.
 */
export function matchBoxes(tracks: readonly Box[], detections: readonly Box[], criteria: MatchCriteria): [number, number][] {
  const trackTaken = new Array<boolean>(tracks.length).fill(false);
  const detectionTaken = new Array<boolean>(detections.length).fill(false);
  const pairs: [number, number][] = [];

  const take = (candidates: { track: number; detection: number; cost: number }[]): void => {
    candidates.sort((a, b) => a.cost - b.cost);
    for (const { track, detection } of candidates) {
      if (trackTaken[track] || detectionTaken[detection]) continue;
      trackTaken[track] = true;
      detectionTaken[detection] = true;
      pairs.push([track, detection]);
    }
  };

  const byOverlap: { track: number; detection: number; cost: number }[] = [];
  tracks.forEach((trackBox, track) => {
    detections.forEach((detectionBox, detection) => {
      const overlap = iou(trackBox, detectionBox);
      if (overlap >= criteria.minIou) byOverlap.push({ track, detection, cost: -overlap });
    });
  });
  take(byOverlap);

  const byDistance: { track: number; detection: number; cost: number }[] = [];
  tracks.forEach((trackBox, track) => {
    if (trackTaken[track]) return;
    detections.forEach((detectionBox, detection) => {
      if (detectionTaken[detection] || !similarSize(trackBox, detectionBox)) return;
      const distance = normalisedCentreDistance(trackBox, detectionBox);
      if (distance <= criteria.maxCentreDistance) byDistance.push({ track, detection, cost: distance });
    });
  });
  take(byDistance);

  return pairs;
}

function similarSize(a: Box, b: Box): boolean {
  const small = Math.min(boxArea(a), boxArea(b));
  return small > 0 && Math.max(boxArea(a), boxArea(b)) / small <= MAX_AREA_RATIO_FOR_DISTANCE_MATCH;
}

function normalisedCentreDistance(a: Box, b: Box): number {
  const [ax, ay] = boxCentre(a);
  const [bx, by] = boxCentre(b);
  const meanDiagonal = (Math.hypot(a.width, a.height) + Math.hypot(b.width, b.height)) / 2;
  return Math.hypot(ax - bx, ay - by) / meanDiagonal;
}
