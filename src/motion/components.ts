/** Inclusive pixel bounds of one connected region, with the number of changed pixels in it. */
export interface Component {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  changedPixels: number;
}

/**
 * Groups the 8-connected set pixels of `grouping` (the dilated mask) into regions, and bounds each
 * region by the pixels of `changed` (the undilated mask) it contains: dilation merges fragments of
 * one object without inflating its box. Regions with fewer than `minChangedPixels` are dropped.
 * `grouping` is consumed (cleared while visited); `stack` is caller-owned scratch of width×height.
 */
export function findComponents(
  grouping: Uint8Array,
  changed: Uint8Array,
  width: number,
  height: number,
  stack: Int32Array,
  minChangedPixels: number,
): Component[] {
  const components: Component[] = [];
  for (let seed = 0; seed < width * height; seed++) {
    if (!grouping[seed]) continue;
    grouping[seed] = 0;
    stack[0] = seed;
    let top = 1;
    let minX = width, minY = height, maxX = -1, maxY = -1, changedPixels = 0;
    while (top > 0) {
      const i = stack[--top];
      const x = i % width;
      const y = (i - x) / width;
      if (changed[i]) {
        changedPixels++;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
      const left = x > 0 ? -1 : 0;
      const right = x < width - 1 ? 1 : 0;
      const up = y > 0 ? -1 : 0;
      const down = y < height - 1 ? 1 : 0;
      for (let dy = up; dy <= down; dy++) {
        for (let dx = left; dx <= right; dx++) {
          const j = i + dy * width + dx;
          if (grouping[j]) {
            grouping[j] = 0;
            stack[top++] = j;
          }
        }
      }
    }
    if (changedPixels > 0 && changedPixels >= minChangedPixels) {
      components.push({ minX, minY, maxX, maxY, changedPixels });
    }
  }
  return components;
}
