import { boxArea, clipBox, enclosingBox, intersectionArea, type Box } from '../geometry/box.ts';

export interface RegionOptions {
  /** Smallest region side: the model's input size, so small objects are not shrunk further. */
  minSide: number;
  /** Margin around motion, as a factor of the motion box's long side. */
  margin?: number;
  /** More regions than this, or regions covering most of the frame, become one full-frame pass. */
  maxRegions?: number;
  fullFrameShare?: number;
}

/**
 * Where to run the detector on a frame: square regions around the motion boxes, at least
 * `minSide` wide, kept inside the frame, merged while they overlap.
 */
export function detectionRegions(motion: readonly Box[], frameWidth: number, frameHeight: number, opts: RegionOptions): Box[] {
  const margin = opts.margin ?? 1.2;
  const full: Box = { x: 0, y: 0, width: frameWidth, height: frameHeight };
  let regions = motion.map((box) => squareAround(box, Math.max(opts.minSide, Math.max(box.width, box.height) * margin), frameWidth, frameHeight));
  let merged = true;
  while (merged) {
    merged = false;
    outer: for (let i = 0; i < regions.length; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        if (intersectionArea(regions[i], regions[j]) === 0) continue;
        const both = enclosingBox(regions[i], regions[j]);
        regions[i] = squareAround(both, Math.max(both.width, both.height), frameWidth, frameHeight);
        regions.splice(j, 1);
        merged = true;
        break outer;
      }
    }
  }
  const covered = regions.reduce((sum, r) => sum + boxArea(r), 0);
  if (regions.length > (opts.maxRegions ?? 3) || covered >= (opts.fullFrameShare ?? 0.8) * boxArea(full)) {
    regions = regions.length > 0 ? [full] : [];
  }
  return regions;
}

/** A square of `side` centred on the box, shifted (not shrunk) to stay inside the frame where it fits. */
function squareAround(box: Box, side: number, frameWidth: number, frameHeight: number): Box {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const x = Math.min(Math.max(cx - side / 2, 0), Math.max(frameWidth - side, 0));
  const y = Math.min(Math.max(cy - side / 2, 0), Math.max(frameHeight - side, 0));
  const clipped = clipBox({ x, y, width: side, height: side }, frameWidth, frameHeight);
  return { x: Math.round(clipped.x), y: Math.round(clipped.y), width: Math.round(clipped.width), height: Math.round(clipped.height) };
}
