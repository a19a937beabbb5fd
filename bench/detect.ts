import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { DEFAULT_LABELS } from '../src/config/schema.ts';
import { COCO_LABELS } from '../src/detect/coco-labels.ts';
import { defaultModelsDir } from '../src/detect/models.ts';
import { Letterboxer, type RawFrame } from '../src/detect/preprocess.ts';
import { openModelSession } from '../src/detect/session.ts';
import { postprocessYolox } from '../src/detect/yolox.ts';

/**
 * `npm run bench -- detect [--iterations N]`: p50/p95 of each detector stage on a 640×360 frame —
 * letterboxing (RGB24 and YUV420p), session.run and post-processing — at 1 and 2 threads, for the
 * fixed 416×416 model and the dynamic model at 416×256, plus (pre + post) / run.
 */

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const FRAME = { width: 640, height: 360 };
const WARMUP = 5;
const CASES = [
  { model: 'yolox_nano.onnx', input: { width: 416, height: 416 } },
  { model: 'yolox_nano_dynamic.onnx', input: { width: 416, height: 256 } },
];

export async function benchDetect(args: string[]): Promise<void> {
  const at = args.indexOf('--iterations');
  const iterations = at >= 0 ? Number(args[at + 1]) : 50;
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('--iterations needs a positive whole number');

  const modelsDir = findModelsDir();
  const rgb = await benchFrame();
  const yuv = toI420(rgb);
  const thresholds = new Float32Array(COCO_LABELS.length).fill(2);
  for (const label of Object.keys(DEFAULT_LABELS)) thresholds[COCO_LABELS.indexOf(label)] = 0.3;
  const letterboxer = new Letterboxer();

  print(`frame ${FRAME.width}x${FRAME.height}, ${iterations} iterations after ${WARMUP} warm-up, models from ${modelsDir}`);
  print('model                    input    thr | pre rgb p50/p95 | pre yuv p50/p95 | run p50/p95     | post p50/p95 | (pre+post)/run');
  for (const { model, input } of CASES) {
    for (const threads of [1, 2]) {
      const session = await openModelSession(join(modelsDir, model), { threads });
      const times = { rgb: [] as number[], yuv: [] as number[], run: [] as number[], post: [] as number[] };
      for (let i = 0; i < WARMUP + iterations; i++) {
        const t0 = performance.now();
        letterboxer.yuv420(yuv, undefined, input.width, input.height);
        const t1 = performance.now();
        const { tensor, letterbox } = letterboxer.rgb(rgb, undefined, input.width, input.height);
        const t2 = performance.now();
        const output = await session.run(tensor, input.width, input.height);
        const t3 = performance.now();
        postprocessYolox(output, input.width, input.height, letterbox, thresholds, 0.45);
        const t4 = performance.now();
        if (i < WARMUP) continue;
        times.yuv.push(t1 - t0);
        times.rgb.push(t2 - t1);
        times.run.push(t3 - t2);
        times.post.push(t4 - t3);
      }
      await session.close();
      const [rgbP, yuvP, runP, postP] = [times.rgb, times.yuv, times.run, times.post].map(percentiles);
      const ratio = (rgbP.p50 + postP.p50) / runP.p50;
      print(
        `${model.padEnd(24)} ${`${input.width}x${input.height}`.padEnd(8)} ${String(threads).padStart(3)} | ` +
          `${fmt(rgbP)}     | ${fmt(yuvP)}     | ${fmt(runP).padEnd(15)} | ${fmt(postP)}  | ${(ratio * 100).toFixed(1)}%`,
      );
    }
  }
}

/** The shared models beside the repository when the configured folder lacks the files (a fresh clone). */
function findModelsDir(): string {
  const configured = defaultModelsDir();
  const shared = join(repoRoot, '../shared/models');
  const has = (dir: string) => CASES.every((c) => existsSync(join(dir, c.model)));
  if (has(configured) || !has(shared)) return configured;
  return shared;
}

async function benchFrame(): Promise<RawFrame> {
  const source = join(repoRoot, '../shared/testdata/images/person.jpg');
  const image = existsSync(source) ? sharp(source) : sharp({ create: { ...FRAME, channels: 3, background: '#7a8' } });
  const { data, info } = await image.resize(FRAME.width, FRAME.height, { fit: 'fill' }).removeAlpha().raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** RGB24 → I420 (BT.601 limited range), only to feed the YUV letterbox timing. */
function toI420({ data, width, height }: RawFrame): RawFrame {
  const chroma = (width >> 1) * (height >> 1);
  const out = Buffer.alloc(width * height + 2 * chroma);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      out[y * width + x] = 16 + 0.257 * data[i] + 0.504 * data[i + 1] + 0.098 * data[i + 2];
      if ((x | y) % 2 === 0) {
        const c = (y >> 1) * (width >> 1) + (x >> 1);
        out[width * height + c] = 128 - 0.148 * data[i] - 0.291 * data[i + 1] + 0.439 * data[i + 2];
        out[width * height + chroma + c] = 128 + 0.439 * data[i] - 0.368 * data[i + 1] - 0.071 * data[i + 2];
      }
    }
  }
  return { data: out, width, height };
}

function percentiles(values: number[]): { p50: number; p95: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: pick(0.5), p95: pick(0.95) };
}

const fmt = ({ p50, p95 }: { p50: number; p95: number }) => `${p50.toFixed(2)}/${p95.toFixed(2)}`;
const print = (line: string) => process.stdout.write(`${line}\n`);
