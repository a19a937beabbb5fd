import { boxBottomCentre, boxCentre, type Box } from './box.ts';

/** [x, y] in source pixels. */
export type Point = [number, number];

/** Closed polygon in source pixels; the last point connects back to the first. */
export type Polygon = Point[];

/** Even-odd rule: works for concave and self-intersecting polygons. */
export function pointInPolygon(point: Point, polygon: Polygon): boolean {
  const [px, py] = point;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

/**
 * Which points of a box decide whether it is in a polygon:
 * - `bottom-centre`: where the object stands (zones, like Frigate);
 * - `any`: any of the corners, edge midpoints or centre (masks, loose overlap).
 */
export type BoxAnchor = 'bottom-centre' | 'any';

export function boxInPolygon(box: Box, polygon: Polygon, anchor: BoxAnchor = 'bottom-centre'): boolean {
  if (anchor === 'bottom-centre') return pointInPolygon(boxBottomCentre(box), polygon);
  return boxSamplePoints(box).some((point) => pointInPolygon(point, polygon));
}

function boxSamplePoints(box: Box): Point[] {
  const right = box.x + box.width;
  const bottom = box.y + box.height;
  const [cx, cy] = boxCentre(box);
  return [
    [box.x, box.y], [cx, box.y], [right, box.y],
    [box.x, cy], [cx, cy], [right, cy],
    [box.x, bottom], [cx, bottom], [right, bottom],
  ];
}
