import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DEFAULT_LABELS } from '../../src/config/schema.ts';
import type { Detection } from '../../src/detect/detector.ts';
import type { RawFrame } from '../../src/detect/preprocess.ts';

/** Shared test inputs: the models and images in ../shared beside the repository. */

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedModelsDir = join(repoRoot, '../shared/models');
export const imagesDir = join(repoRoot, '../shared/testdata/images');
export const image = (name: string) => join(imagesDir, name);

process.env.VOLET_MODELS_DIR = sharedModelsDir;

type Box = [number, number, number, number];

/** Volet's default labels (person and the animals), all at one min score. */
export const defaultLabels = (minScore: number) =>
  Object.fromEntries(Object.keys(DEFAULT_LABELS).map((label) => [label, minScore]));

/** Boxes checked by eye once (drawn onto the image and looked at), in source pixels. */
export const EXPECTED: Record<string, { label: string; box: Box }[]> = {
  'dog.jpg': [{ label: 'dog', box: [133, 207, 326, 543] }],
  'person.jpg': [
    { label: 'person', box: [188, 97, 277, 373] },
    { label: 'horse', box: [403, 138, 603, 343] },
    { label: 'dog', box: [61, 263, 200, 350] },
  ],
};

export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** Each expected object is found once, with its label, at IoU ≥ 0.8 with the checked box; nothing else. */
export function assertFinds(detections: Detection[], expected: { label: string; box: Box }[], where: string): void {
  const summary = JSON.stringify(detections.map((d) => [d.label, +d.score.toFixed(2), d.box.map(Math.round)]));
  if (detections.length !== expected.length) {
    throw new Error(`${where}: expected ${expected.length} detections, got ${summary}`);
  }
  for (const want of expected) {
    const match = detections.find((d) => d.label === want.label && boxIou(d.box, want.box) >= 0.8);
    if (!match) throw new Error(`${where}: no ${want.label} near [${want.box}] in ${summary}`);
  }
}

export async function decodeRgb(path: string): Promise<RawFrame> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Packed RGB24 → planar I420 (BT.601 limited range), as ffmpeg's yuv420p would hand it over. */
export function rgbToI420(frame: RawFrame): RawFrame {
  const { width, height, data } = frame;
  const cw = (width + 1) >> 1;
  const ch = (height + 1) >> 1;
  const out = Buffer.alloc(width * height + 2 * cw * ch);
  const u = width * height;
  const v = u + cw * ch;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      out[y * width + x] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
      if (y % 2 === 0 && x % 2 === 0) {
        const c = (y >> 1) * cw + (x >> 1);
        out[u + c] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
        out[v + c] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
      }
    }
  }
  return { data: out, width, height };
}
