import sharp from 'sharp';
import type { Letterbox } from './yolox.ts';

/**
 * Letterboxing of frames into the model's input tensor: planar CHW, BGR, float 0–255,
 * the (cropped) source scaled to the top-left and the rest padded with 114.
 * Resizing is bilinear, done in one pass straight into a tensor buffer that is reused
 * for every call of the same input size.
 */

export interface RawFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

const PAD = 114;

/** Per-axis bilinear sampling plan: source indices either side of each output pixel and the weight of the far one. */
class AxisPlan {
  readonly near: Int32Array;
  readonly far: Int32Array;
  readonly weight: Float32Array;
  readonly nearest: Int32Array;
  length = 0;

  constructor(capacity: number) {
    this.near = new Int32Array(capacity);
    this.far = new Int32Array(capacity);
    this.weight = new Float32Array(capacity);
    this.nearest = new Int32Array(capacity);
  }

  /** Plans `outLength` output pixels sampling source pixels offset..offset+srcLength-1 at `scale`. */
  fill(outLength: number, offset: number, srcLength: number, scale: number): void {
    this.length = outLength;
    const last = srcLength - 1;
    for (let o = 0; o < outLength; o++) {
      let s = (o + 0.5) / scale - 0.5;
      if (s < 0) s = 0;
      else if (s > last) s = last;
      const i = Math.floor(s);
      this.near[o] = offset + i;
      this.far[o] = offset + Math.min(i + 1, last);
      this.weight[o] = s - i;
      this.nearest[o] = offset + Math.round(s);
    }
  }
}

interface InputBuffers {
  tensor: Float32Array;
  xs: AxisPlan;
  ys: AxisPlan;
}

export interface LetterboxResult {
  /** The reused tensor buffer of this input size: valid until the next call with the same size. */
  tensor: Float32Array;
  letterbox: Letterbox;
}

/** Owns the tensor buffers, one per input size. Not re-entrant: callers serialise use of one instance. */
export class Letterboxer {
  private readonly buffers = new Map<string, InputBuffers>();

  /** Letterboxes a packed RGB24 frame (3 bytes per pixel, no row padding — ffmpeg's `rgb24`). */
  rgb(frame: RawFrame, region: Region | undefined, inputWidth: number, inputHeight: number): LetterboxResult {
    checkFrameBytes(frame, frame.width * frame.height * 3, 'RGB24');
    const { buffers, letterbox, contentWidth, contentHeight } = this.plan(frame, region, inputWidth, inputHeight);
    const { tensor, xs, ys } = buffers;
    const { near, far, weight } = xs;
    const src = frame.data;
    const rowBytes = frame.width * 3;
    const green = inputWidth * inputHeight;
    const red = 2 * green;
    for (let oy = 0; oy < contentHeight; oy++) {
      const top = ys.near[oy] * rowBytes;
      const bottom = ys.far[oy] * rowBytes;
      const wy = ys.weight[oy];
      let t = oy * inputWidth;
      for (let ox = 0; ox < contentWidth; ox++, t++) {
        const left = near[ox] * 3;
        const right = far[ox] * 3;
        const wx = weight[ox];
        const w11 = wx * wy;
        const w10 = wy - w11;
        const w01 = wx - w11;
        const w00 = 1 - wx - wy + w11;
        const a = top + left;
        const b = top + right;
        const c = bottom + left;
        const d = bottom + right;
        tensor[t] = src[a + 2] * w00 + src[b + 2] * w01 + src[c + 2] * w10 + src[d + 2] * w11;
        tensor[t + green] = src[a + 1] * w00 + src[b + 1] * w01 + src[c + 1] * w10 + src[d + 1] * w11;
        tensor[t + red] = src[a] * w00 + src[b] * w01 + src[c] * w10 + src[d] * w11;
      }
    }
    padOutside(tensor, inputWidth, inputHeight, contentWidth, contentHeight);
    return { tensor, letterbox };
  }

  /**
   * Letterboxes a planar YUV 4:2:0 frame (I420 — ffmpeg's `yuv420p`: Y plane, then U, then V,
   * chroma planes ceil(w/2)×ceil(h/2)), converting BT.601 limited range to RGB while resizing:
   * luma bilinear, chroma nearest.
   */
  yuv420(frame: RawFrame, region: Region | undefined, inputWidth: number, inputHeight: number): LetterboxResult {
    const chromaWidth = (frame.width + 1) >> 1;
    const chromaHeight = (frame.height + 1) >> 1;
    const lumaBytes = frame.width * frame.height;
    checkFrameBytes(frame, lumaBytes + 2 * chromaWidth * chromaHeight, 'YUV420p');
    const { buffers, letterbox, contentWidth, contentHeight } = this.plan(frame, region, inputWidth, inputHeight);
    const { tensor, xs, ys } = buffers;
    const src = frame.data;
    const uStart = lumaBytes;
    const vStart = lumaBytes + chromaWidth * chromaHeight;
    const plane = inputWidth * inputHeight;
    for (let oy = 0; oy < contentHeight; oy++) {
      const top = ys.near[oy] * frame.width;
      const bottom = ys.far[oy] * frame.width;
      const chromaRow = (ys.nearest[oy] >> 1) * chromaWidth;
      const wy = ys.weight[oy];
      let t = oy * inputWidth;
      for (let ox = 0; ox < contentWidth; ox++, t++) {
        const left = xs.near[ox];
        const right = xs.far[ox];
        const wx = xs.weight[ox];
        const upper = src[top + left] + (src[top + right] - src[top + left]) * wx;
        const lower = src[bottom + left] + (src[bottom + right] - src[bottom + left]) * wx;
        const luma = 1.164 * (upper + (lower - upper) * wy - 16);
        const chroma = chromaRow + (xs.nearest[ox] >> 1);
        const u = src[uStart + chroma] - 128;
        const v = src[vStart + chroma] - 128;
        tensor[t] = clampByte(luma + 2.017 * u);
        tensor[t + plane] = clampByte(luma - 0.392 * u - 0.813 * v);
        tensor[t + 2 * plane] = clampByte(luma + 1.596 * v);
      }
    }
    padOutside(tensor, inputWidth, inputHeight, contentWidth, contentHeight);
    return { tensor, letterbox };
  }

  private plan(frame: RawFrame, region: Region | undefined, inputWidth: number, inputHeight: number) {
    const area = frameArea(region, frame.width, frame.height);
    const key = `${inputWidth}x${inputHeight}`;
    let buffers = this.buffers.get(key);
    if (!buffers) {
      buffers = {
        tensor: new Float32Array(3 * inputWidth * inputHeight),
        xs: new AxisPlan(inputWidth),
        ys: new AxisPlan(inputHeight),
      };
      this.buffers.set(key, buffers);
    }
    const scale = Math.min(inputWidth / area.width, inputHeight / area.height);
    const contentWidth = Math.min(inputWidth, Math.round(area.width * scale));
    const contentHeight = Math.min(inputHeight, Math.round(area.height * scale));
    buffers.xs.fill(contentWidth, area.x, area.width, scale);
    buffers.ys.fill(contentHeight, area.y, area.height, scale);
    return { buffers, letterbox: { scale, region: area }, contentWidth, contentHeight };
  }
}

/** Decodes an image file (any format sharp reads, EXIF orientation applied) to packed RGB24. */
export async function readImageRgb(path: string): Promise<RawFrame> {
  try {
    const { data, info } = await sharp(path)
      .rotate()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw new Error(`Cannot read image "${path}": ${(err as Error).message}`, { cause: err });
  }
}

function checkFrameBytes(frame: RawFrame, expected: number, format: string): void {
  if (!Number.isInteger(frame.width) || !Number.isInteger(frame.height) || frame.width < 1 || frame.height < 1) {
    throw new Error(`${format} frame size ${frame.width}x${frame.height} is not a positive integer size`);
  }
  if (frame.data.length < expected) {
    throw new Error(
      `${format} frame ${frame.width}x${frame.height} needs ${expected} bytes, got ${frame.data.length}`,
    );
  }
}

/** The frame area to letterbox: the region rounded out to whole pixels and clipped to the frame. */
export function frameArea(region: Region | undefined, width: number, height: number): Region {
  if (!region) return { x: 0, y: 0, width, height };
  const x1 = Math.max(0, Math.floor(region.x));
  const y1 = Math.max(0, Math.floor(region.y));
  const x2 = Math.min(width, Math.ceil(region.x + region.width));
  const y2 = Math.min(height, Math.ceil(region.y + region.height));
  if (!(x2 - x1 >= 1 && y2 - y1 >= 1)) {
    const { x, y, width: w, height: h } = region;
    throw new Error(`Region {x:${x}, y:${y}, width:${w}, height:${h}} does not overlap the ${width}x${height} frame`);
  }
  return { x: x1, y: y1, width: x2 - x1, height: y2 - y1 };
}

/** Fills the right strip and the bottom rows of every channel plane with the pad value. */
function padOutside(tensor: Float32Array, width: number, height: number, contentWidth: number, contentHeight: number) {
  const plane = width * height;
  for (let c = 0; c < 3; c++) {
    const base = c * plane;
    if (contentWidth < width) {
      for (let y = 0; y < contentHeight; y++) {
        tensor.fill(PAD, base + y * width + contentWidth, base + (y + 1) * width);
      }
    }
    tensor.fill(PAD, base + contentHeight * width, base + plane);
  }
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
