import { clipBox, type Box } from '../geometry/box.ts';
import { rasterisePolygons } from '../geometry/mask.ts';
import { findComponents } from './components.ts';
import { dilate3x3 } from './dilate.ts';
import { downscaleLuma } from './downscale.ts';
import { resolveMotionOptions, type MotionOptions, type ResolvedMotionOptions } from './options.ts';

/** An 8-bit grayscale frame; only the first width×height bytes of `data` are read. */
export interface GrayFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A yuv420p frame as ffmpeg writes it: the Y plane comes first, so it is read like a GrayFrame. */
export type Yuv420Frame = GrayFrame;

export interface MotionResult {
  /** Moving regions in source pixels. Always empty while calibrating. */
  boxes: Box[];
  /** True while the background is (re)learnt: first frames, global light changes, stream gaps. */
  calibrating: boolean;
  /** Share (0–1) of unmasked pixels that differ from the background in this frame. */
  changedFraction: number;
}

/** Buffers sized for one source resolution, allocated once and reused for every frame. */
interface Layout {
  sourceWidth: number;
  sourceHeight: number;
  factor: number;
  width: number;
  height: number;
  current: Uint8Array;
  background: Float32Array;
  changed: Uint8Array;
  grouping: Uint8Array;
  scratch: Uint8Array;
  rowSums: Uint32Array;
  stack: Int32Array;
  masked: Uint8Array;
  unmaskedPixels: number;
  minChangedPixels: number;
}

/**
 * Finds moving regions by comparing each frame with a running-average background.
 * Pure: frames and timestamps in, boxes out; no clock, no I/O.
 */
export class MotionDetector {
  private readonly options: ResolvedMotionOptions;
  private layout: Layout | null = null;
  private hasBackground = false;
  private calibrationFramesLeft = 0;
  private lastTimestampMs = 0;

  constructor(options: MotionOptions = {}) {
    this.options = resolveMotionOptions(options);
  }

  update(frame: GrayFrame | Yuv420Frame, timestampMs: number): MotionResult {
    const layout = this.layoutFor(frame);
    downscaleLuma(frame.data, frame.width, layout.factor, layout.current, layout.width, layout.height, layout.rowSums);

    const gapMs = timestampMs - this.lastTimestampMs;
    this.lastTimestampMs = timestampMs;
    if (!this.hasBackground || gapMs < 0 || gapMs > this.options.maxFrameGapMs) {
      this.recalibrate(layout);
      return { boxes: [], calibrating: true, changedFraction: 0 };
    }

    const changedFraction = this.markChangedPixels(layout);
    if (this.calibrationFramesLeft > 0) {
      this.continueCalibration(layout, changedFraction);
      return { boxes: [], calibrating: true, changedFraction };
    }
    if (changedFraction > this.options.globalChangeFraction) {
      this.recalibrate(layout);
      return { boxes: [], calibrating: true, changedFraction };
    }

    layout.grouping.set(layout.changed);
    for (let i = 0; i < this.options.dilateIterations; i++) {
      dilate3x3(layout.grouping, layout.scratch, layout.width, layout.height);
    }
    for (let i = 0; i < layout.grouping.length; i++) layout.grouping[i] &= layout.masked[i] ^ 1;
    this.learnBackground(layout);

    const components = findComponents(
      layout.grouping, layout.changed, layout.width, layout.height, layout.stack, layout.minChangedPixels,
    );
    const boxes = components.map((c) =>
      clipBox(
        {
          x: c.minX * layout.factor,
          y: c.minY * layout.factor,
          width: (c.maxX - c.minX + 1) * layout.factor,
          height: (c.maxY - c.minY + 1) * layout.factor,
        },
        layout.sourceWidth,
        layout.sourceHeight,
      ),
    );
    return { boxes, calibrating: false, changedFraction };
  }

  private layoutFor(frame: GrayFrame): Layout {
    const { width, height, data } = frame;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`Motion frame size must be positive whole numbers, got ${width}×${height}`);
    }
    if (data.length < width * height) {
      throw new RangeError(
        `Motion frame ${width}×${height} needs ${width * height} luma bytes, got ${data.length} — check the decoder output size`,
      );
    }
    const current = this.layout;
    if (current && current.sourceWidth === width && current.sourceHeight === height) return current;
    this.layout = this.createLayout(width, height);
    this.hasBackground = false;
    return this.layout;
  }

  private createLayout(sourceWidth: number, sourceHeight: number): Layout {
    const factor = Math.max(1, Math.ceil(sourceWidth / this.options.maxWidth));
    const width = Math.max(1, Math.floor(sourceWidth / factor));
    const height = Math.max(1, Math.floor(sourceHeight / factor));
    const pixels = width * height;
    const masked = rasterisePolygons(this.options.masks, width, height, 1 / factor);
    let unmaskedPixels = 0;
    for (let i = 0; i < pixels; i++) unmaskedPixels += masked[i] ^ 1;
    return {
      sourceWidth,
      sourceHeight,
      factor,
      width,
      height,
      current: new Uint8Array(pixels),
      background: new Float32Array(pixels),
      changed: new Uint8Array(pixels),
      grouping: new Uint8Array(pixels),
      scratch: new Uint8Array(pixels),
      rowSums: new Uint32Array(width),
      stack: new Int32Array(pixels),
      masked,
      unmaskedPixels,
      minChangedPixels: Math.max(1, Math.ceil(this.options.minArea * pixels)),
    };
  }

  /** Fills `changed` and returns the share of unmasked pixels that differ from the background. */
  private markChangedPixels(layout: Layout): number {
    const { current, background, changed, masked } = layout;
    const threshold = this.options.threshold;
    let count = 0;
    for (let i = 0; i < current.length; i++) {
      const isChanged = masked[i] === 0 && Math.abs(current[i] - background[i]) > threshold ? 1 : 0;
      changed[i] = isChanged;
      count += isChanged;
    }
    return layout.unmaskedPixels === 0 ? 0 : count / layout.unmaskedPixels;
  }

  private recalibrate(layout: Layout): void {
    layout.background.set(layout.current);
    this.hasBackground = true;
    this.calibrationFramesLeft = this.options.calibrationFrames;
  }

  /** While calibrating the background follows the frame; only quiet frames count towards the end. */
  private continueCalibration(layout: Layout, changedFraction: number): void {
    layout.background.set(layout.current);
    if (changedFraction > this.options.globalChangeFraction) {
      this.calibrationFramesLeft = this.options.calibrationFrames;
    } else {
      this.calibrationFramesLeft--;
    }
  }

  private learnBackground(layout: Layout): void {
    const { current, background, grouping } = layout;
    const { alpha, foregroundAlpha } = this.options;
    for (let i = 0; i < current.length; i++) {
      background[i] += (grouping[i] ? foregroundAlpha : alpha) * (current[i] - background[i]);
    }
  }
}
