/**
 * Binary 3×3 dilation of a 0/1 mask, in place, done as a horizontal then a vertical pass.
 * `scratch` is caller-owned and at least width×height long.
 */
export function dilate3x3(mask: Uint8Array, scratch: Uint8Array, width: number, height: number): void {
  for (let row = 0; row < height; row++) {
    const start = row * width;
    const end = start + width - 1;
    for (let i = start; i <= end; i++) {
      scratch[i] = mask[i] | (i > start ? mask[i - 1] : 0) | (i < end ? mask[i + 1] : 0);
    }
  }
  const last = (height - 1) * width;
  for (let i = 0; i < width * height; i++) {
    mask[i] = scratch[i] | (i >= width ? scratch[i - width] : 0) | (i < last ? scratch[i + width] : 0);
  }
}
