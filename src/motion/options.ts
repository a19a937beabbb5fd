import type { Polygon } from '../geometry/polygon.ts';

export interface MotionOptions {
  /** Luma difference (0–255) from the background above which a pixel counts as changed. */
  threshold?: number;
  /** Smallest reported motion, as a fraction (0–1) of the frame area. */
  minArea?: number;
  /** Background learning rate per frame for pixels without motion. */
  alpha?: number;
  /** Learning rate where motion is seen, so moving objects leave no ghost trail but parked ones fade in. */
  foregroundAlpha?: number;
  /** 3×3 dilations that merge nearby changed pixels into one object. */
  dilateIterations?: number;
  /** Share of the frame (0–1) changing at once that means lights, IR switch or exposure, not motion. */
  globalChangeFraction?: number;
  /** Quiet frames to wait after a recalibration before motion is reported again. */
  calibrationFrames?: number;
  /** A gap between frames longer than this (stream stall, reconnect) recalibrates. */
  maxFrameGapMs?: number;
  /** Width limit of the internal grayscale frame; frames are shrunk by an integer factor to fit. */
  maxWidth?: number;
  /** Areas (source pixels) where changes are ignored. */
  masks?: Polygon[];
}

export type ResolvedMotionOptions = Required<MotionOptions>;

export const defaultMotionOptions: ResolvedMotionOptions = {
  threshold: 25,
  minArea: 0.0005,
  alpha: 0.05,
  foregroundAlpha: 0.01,
  dilateIterations: 2,
  globalChangeFraction: 0.4,
  calibrationFrames: 3,
  maxFrameGapMs: 5000,
  maxWidth: 320,
  masks: [],
};

export function resolveMotionOptions(options: MotionOptions): ResolvedMotionOptions {
  const resolved = { ...defaultMotionOptions };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) Object.assign(resolved, { [key]: value });
  }
  requireRange('threshold', resolved.threshold, 1, 255);
  requireRange('minArea', resolved.minArea, 0, 1);
  requireRange('alpha', resolved.alpha, Number.MIN_VALUE, 1);
  requireRange('foregroundAlpha', resolved.foregroundAlpha, 0, 1);
  requireInteger('dilateIterations', resolved.dilateIterations, 0, 10);
  requireRange('globalChangeFraction', resolved.globalChangeFraction, Number.MIN_VALUE, 1);
  requireInteger('calibrationFrames', resolved.calibrationFrames, 0, 1000);
  requireRange('maxFrameGapMs', resolved.maxFrameGapMs, 0, Infinity);
  requireInteger('maxWidth', resolved.maxWidth, 16, 4096);
  return resolved;
}

function requireRange(name: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) {
    throw new RangeError(`motion.${name} must be between ${min} and ${max}, got ${value}`);
  }
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`motion.${name} must be a whole number between ${min} and ${max}, got ${value}`);
  }
}
