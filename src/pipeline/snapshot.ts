import sharp from 'sharp';
import type { Box } from '../geometry/box.ts';
import { clipBox } from '../geometry/box.ts';
import type { EventSnapshot } from '../events/bus.ts';

export interface Yuv420Image {
  data: Buffer;
  width: number;
  height: number;
}

export interface PixelRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** BT.601 limited-range yuv420p → packed RGB24 (what cameras send), of the whole frame or of a region of it. */
export function yuv420pToRgb(frame: Yuv420Image, region: PixelRegion = { left: 0, top: 0, width: frame.width, height: frame.height }): Buffer {
  const { data, width, height } = frame;
  const { left, top } = region;
  const chromaWidth = Math.ceil(width / 2);
  const uOffset = width * height;
  const vOffset = uOffset + chromaWidth * Math.ceil(height / 2);
  const rgb = Buffer.allocUnsafe(region.width * region.height * 3);
  let out = 0;
  for (let y = top; y < top + region.height; y++) {
    const chromaRow = (y >> 1) * chromaWidth;
    for (let x = left; x < left + region.width; x++) {
      const c = 1.164 * (data[y * width + x] - 16);
      const u = data[uOffset + chromaRow + (x >> 1)] - 128;
      const v = data[vOffset + chromaRow + (x >> 1)] - 128;
      rgb[out++] = clampByte(c + 1.596 * v);
      rgb[out++] = clampByte(c - 0.392 * u - 0.813 * v);
      rgb[out++] = clampByte(c + 2.017 * u);
    }
  }
  return rgb;
}

function clampByte(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

/** JPEGs of the whole frame and of the object with some context around it. */
export async function encodeSnapshot(frame: Yuv420Image, box: Box): Promise<EventSnapshot> {
  const rgb = yuv420pToRgb(frame);
  const raw = { raw: { width: frame.width, height: frame.height, channels: 3 as const } };
  const padX = box.width * 0.25;
  const padY = box.height * 0.25;
  const crop = clipBox({ x: box.x - padX, y: box.y - padY, width: box.width + 2 * padX, height: box.height + 2 * padY }, frame.width, frame.height);
  const region = {
    left: Math.floor(crop.x),
    top: Math.floor(crop.y),
    width: Math.max(1, Math.min(frame.width - Math.floor(crop.x), Math.ceil(crop.width))),
    height: Math.max(1, Math.min(frame.height - Math.floor(crop.y), Math.ceil(crop.height))),
  };
  const [full, cropped] = await Promise.all([
    sharp(rgb, raw).jpeg({ quality: 80 }).toBuffer(),
    sharp(rgb, raw).extract(region).jpeg({ quality: 85 }).toBuffer(),
  ]);
  return { frame: full, crop: cropped };
}
