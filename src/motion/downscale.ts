/**
 * Box-averages `factor`×`factor` blocks of an 8-bit plane into `out` (outWidth×outHeight).
 * Source pixels beyond outWidth×factor or outHeight×factor are ignored.
 * `rowSums` is caller-owned scratch of at least outWidth entries, so nothing is allocated per frame.
 */
export function downscaleLuma(
  source: Uint8Array,
  sourceWidth: number,
  factor: number,
  out: Uint8Array,
  outWidth: number,
  outHeight: number,
  rowSums: Uint32Array,
): void {
  if (factor === 1) {
    for (let row = 0; row < outHeight; row++) {
      out.set(source.subarray(row * sourceWidth, row * sourceWidth + outWidth), row * outWidth);
    }
    return;
  }
  const half = (factor * factor) >> 1;
  const divisor = factor * factor;
  for (let row = 0; row < outHeight; row++) {
    rowSums.fill(0, 0, outWidth);
    for (let dy = 0; dy < factor; dy++) {
      const start = (row * factor + dy) * sourceWidth;
      for (let col = 0, x = start; col < outWidth; col++) {
        let sum = 0;
        for (let dx = 0; dx < factor; dx++) sum += source[x++];
        rowSums[col] += sum;
      }
    }
    const outStart = row * outWidth;
    for (let col = 0; col < outWidth; col++) out[outStart + col] = ((rowSums[col] + half) / divisor) | 0;
  }
}
