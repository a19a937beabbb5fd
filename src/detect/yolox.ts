import { nonMaxSuppression, type ScoredBox } from './nms.ts';

/**
 * YOLOX output decoding, pure: raw output tensor in, scored boxes in source pixels out.
 *
 * Output layout `[1, anchors, 85]`: per anchor cx, cy (grid offsets), log w, log h,
 * objectness, then 80 class scores (already sigmoided). Anchors run over the stride-8 grid
 * row-major, then stride 16, then stride 32.
 */

export const YOLOX_STRIDES = [8, 16, 32] as const;
export const YOLOX_CLASS_COUNT = 80;
const VALUES_PER_ANCHOR = 5 + YOLOX_CLASS_COUNT;
/** Candidates kept (best first) before NMS, so a very low threshold cannot make NMS quadratic in thousands. */
const MAX_CANDIDATES = 300;

/** Where the model input came from: a rectangle of the source frame, scaled by `scale` to the input's top-left. */
export interface Letterbox {
  scale: number;
  region: { x: number; y: number; width: number; height: number };
}

/** Number of anchors the model emits for an input of this size (both sides multiples of 32). */
export function anchorCount(inputWidth: number, inputHeight: number): number {
  let n = 0;
  for (const s of YOLOX_STRIDES) n += (inputWidth / s) * (inputHeight / s);
  return n;
}

/**
 * Decodes anchors whose score (objectness × class score) reaches the threshold of their class.
 * `classThresholds[c]` is class c's minimum score; a value above 1 disables the class.
 * Each anchor yields at most one box: its best qualifying class. Boxes are in input pixels.
 */
export function decodeYolox(
  output: Float32Array,
  inputWidth: number,
  inputHeight: number,
  classThresholds: ArrayLike<number>,
): ScoredBox[] {
  const expected = anchorCount(inputWidth, inputHeight) * VALUES_PER_ANCHOR;
  if (output.length !== expected) {
    throw new Error(
      `YOLOX output has ${output.length} values, expected ${expected} for a ${inputWidth}x${inputHeight} input`,
    );
  }
  const enabled: number[] = [];
  let minThreshold = Infinity;
  for (let c = 0; c < YOLOX_CLASS_COUNT; c++) {
    if (classThresholds[c] <= 1) {
      enabled.push(c);
      minThreshold = Math.min(minThreshold, classThresholds[c]);
    }
  }
  const boxes: ScoredBox[] = [];
  if (enabled.length === 0) return boxes;

  let o = 0;
  for (const stride of YOLOX_STRIDES) {
    const gw = inputWidth / stride;
    const gh = inputHeight / stride;
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++, o += VALUES_PER_ANCHOR) {
        const objectness = output[o + 4];
        if (objectness < minThreshold) continue; // score = objectness × class ≤ objectness
        let best = -1;
        let bestScore = 0;
        for (const c of enabled) {
          const score = objectness * output[o + 5 + c];
          if (score >= classThresholds[c] && score > bestScore) {
            best = c;
            bestScore = score;
          }
        }
        if (best < 0) continue;
        const cx = (output[o] + gx) * stride;
        const cy = (output[o + 1] + gy) * stride;
        const hw = (Math.exp(output[o + 2]) * stride) / 2;
        const hh = (Math.exp(output[o + 3]) * stride) / 2;
        boxes.push({ classIndex: best, score: bestScore, x1: cx - hw, y1: cy - hh, x2: cx + hw, y2: cy + hh });
      }
    }
  }
  return boxes;
}

/** Maps boxes from input pixels back to source-frame pixels, clipped to the letterboxed region. */
export function toSourceBoxes(boxes: readonly ScoredBox[], letterbox: Letterbox): ScoredBox[] {
  const { scale, region } = letterbox;
  const right = region.x + region.width;
  const bottom = region.y + region.height;
  const clip = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
  return boxes.map((b) => ({
    ...b,
    x1: clip(b.x1 / scale + region.x, region.x, right),
    y1: clip(b.y1 / scale + region.y, region.y, bottom),
    x2: clip(b.x2 / scale + region.x, region.x, right),
    y2: clip(b.y2 / scale + region.y, region.y, bottom),
  }));
}

/** Decode → class-aware NMS → source pixels: the whole post-processing of one inference. */
export function postprocessYolox(
  output: Float32Array,
  inputWidth: number,
  inputHeight: number,
  letterbox: Letterbox,
  classThresholds: ArrayLike<number>,
  nmsThreshold: number,
): ScoredBox[] {
  let candidates = decodeYolox(output, inputWidth, inputHeight, classThresholds);
  if (candidates.length > MAX_CANDIDATES) {
    candidates = candidates.sort((a, b) => b.score - a.score).slice(0, MAX_CANDIDATES);
  }
  const kept = nonMaxSuppression(candidates, nmsThreshold);
  return toSourceBoxes(kept, letterbox).filter((b) => b.x2 > b.x1 && b.y2 > b.y1);
}
