import type { Polygon } from './polygon.ts';

/**
 * Rasterises polygons (source pixels) into a width×height mask where 1 marks a pixel whose
 * centre lies inside any polygon (even-odd rule). `scale` maps source to mask coordinates:
 * mask = source × scale, e.g. 0.5 for a mask at half the source resolution.
 */
export function rasterisePolygons(polygons: readonly Polygon[], width: number, height: number, scale: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  const crossings: number[] = [];
  for (const polygon of polygons) {
    if (polygon.length < 3) continue;
    for (let row = 0; row < height; row++) {
      const y = (row + 0.5) / scale;
      collectCrossings(polygon, y, crossings);
      for (let k = 0; k + 1 < crossings.length; k += 2) {
        fillSpan(mask, row * width, width, crossings[k] * scale, crossings[k + 1] * scale);
      }
    }
  }
  return mask;
}

/** Sorted x positions where the horizontal line at y crosses the polygon's edges. */
function collectCrossings(polygon: Polygon, y: number, out: number[]): void {
  out.length = 0;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > y !== yj > y) out.push(xi + ((y - yi) * (xj - xi)) / (yj - yi));
  }
  out.sort((a, b) => a - b);
}

/** Marks pixels whose centre lies in [from, to) along one mask row. */
function fillSpan(mask: Uint8Array, rowStart: number, width: number, from: number, to: number): void {
  const first = Math.max(0, Math.ceil(from - 0.5));
  const last = Math.min(width - 1, Math.ceil(to - 0.5) - 1);
  for (let col = first; col <= last; col++) mask[rowStart + col] = 1;
}
