import type { Point } from './polygon.ts';

/** Axis-aligned rectangle in source pixels; (x, y) is the top-left corner. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function boxArea(box: Box): number {
  return Math.max(0, box.width) * Math.max(0, box.height);
}

/** The part both boxes cover (zero width or height when they do not overlap). */
export function intersectBox(a: Box, b: Box): Box {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  return { x, y, width: Math.max(0, Math.min(a.x + a.width, b.x + b.width) - x), height: Math.max(0, Math.min(a.y + a.height, b.y + b.height) - y) };
}

export function intersectionArea(a: Box, b: Box): number {
  return boxArea(intersectBox(a, b));
}

export function boxContains(box: Box, [x, y]: Point): boolean {
  return x >= box.x && x <= box.x + box.width && y >= box.y && y <= box.y + box.height;
}

/** Intersection over union, 0 when the boxes do not overlap (or both are empty). */
export function iou(a: Box, b: Box): number {
  const intersection = intersectionArea(a, b);
  if (intersection === 0) return 0;
  return intersection / (boxArea(a) + boxArea(b) - intersection);
}

/** Smallest box that contains both boxes. */
export function enclosingBox(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

/** The part of the box inside a frame of the given size (empty boxes get zero width/height). */
export function clipBox(box: Box, frameWidth: number, frameHeight: number): Box {
  const x = Math.min(Math.max(box.x, 0), frameWidth);
  const y = Math.min(Math.max(box.y, 0), frameHeight);
  const right = Math.min(Math.max(box.x + box.width, x), frameWidth);
  const bottom = Math.min(Math.max(box.y + box.height, y), frameHeight);
  return { x, y, width: right - x, height: bottom - y };
}

export function boxCentre(box: Box): Point {
  return [box.x + box.width / 2, box.y + box.height / 2];
}

/** Where an object touches the ground: the point zones are tested with. */
export function boxBottomCentre(box: Box): Point {
  return [box.x + box.width / 2, box.y + box.height];
}

export function translateBox(box: Box, dx: number, dy: number): Box {
  return { x: box.x + dx, y: box.y + dy, width: box.width, height: box.height };
}
