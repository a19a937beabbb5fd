import { COCO_LABELS } from './coco-labels.ts';
import { missingModelHint } from './models.ts';
import { frameArea, Letterboxer, readImageRgb, type RawFrame, type Region } from './preprocess.ts';
import { openModelSession } from './session.ts';
import { postprocessYolox, YOLOX_CLASS_COUNT } from './yolox.ts';

/** The object-detection capability the rest of Volet uses: frames in, labelled boxes in source pixels out. */

export interface Detection {
  label: string;
  score: number;
  /** x1, y1, x2, y2 in source-frame pixels. */
  box: [number, number, number, number];
}

export interface DetectorOptions {
  modelPath: string;
  threads: number;
  providers?: string[];
  /** Model input size; 'auto' (default) = the model's fixed size, or for a dynamic model 416 on the source's long side. */
  inputSize?: { width: number; height: number } | 'auto';
  /** Floor for every label's score. */
  scoreThreshold: number;
  /** IoU above which a lower-scoring box of the same label is dropped. */
  nmsThreshold: number;
  /** Labels to report, each with its own min score (raised to scoreThreshold if lower); other labels are dropped. */
  labels: Record<string, number>;
}

/**
 * Calls may come from several cameras at once; they run one after another. A frame's data must stay
 * unchanged until its promise settles. `region` (frame pixels, rounded out and clipped to the frame)
 * limits detection to that crop; boxes still come back in frame coordinates.
 */
export interface ObjectDetector {
  detectRgb(frame: RawFrame, region?: Region): Promise<Detection[]>;
  detectYuv420(frame: RawFrame, region?: Region): Promise<Detection[]>;
  detectFile(path: string): Promise<{ width: number; height: number; detections: Detection[] }>;
  inputSizeFor(sourceWidth: number, sourceHeight: number): { width: number; height: number };
  /** onnxruntime execution providers in use (the first loadable suffix of the requested list). */
  readonly providers: readonly string[];
  close(): Promise<void>;
}

const AUTO_LONG_SIDE = 416;
const DYNAMIC_MULTIPLE = 32;

export async function createDetector(opts: DetectorOptions): Promise<ObjectDetector> {
  const classThresholds = classThresholdsFor(opts);
  checkUnit('nmsThreshold', opts.nmsThreshold);
  const session = await openModelSession(opts.modelPath, opts, missingModelHint);
  const requested = opts.inputSize ?? 'auto';
  if (requested !== 'auto') checkInputSize(requested, session.fixedInput, opts.modelPath);
  const letterboxer = new Letterboxer();
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  /** One inference at a time: the tensor buffers are shared between calls. */
  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('Detector is closed'));
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  }

  function inputSizeFor(sourceWidth: number, sourceHeight: number) {
    if (session.fixedInput) return session.fixedInput;
    if (requested !== 'auto') return requested;
    if (!(sourceWidth >= 1 && sourceHeight >= 1)) {
      throw new Error(`Source size ${sourceWidth}x${sourceHeight} is not a positive size`);
    }
    const short = (AUTO_LONG_SIDE * Math.min(sourceWidth, sourceHeight)) / Math.max(sourceWidth, sourceHeight);
    const shortSide = Math.max(DYNAMIC_MULTIPLE, Math.ceil(short / DYNAMIC_MULTIPLE) * DYNAMIC_MULTIPLE);
    return sourceWidth >= sourceHeight
      ? { width: AUTO_LONG_SIDE, height: shortSide }
      : { width: shortSide, height: AUTO_LONG_SIDE };
  }

  function detect(format: 'rgb' | 'yuv420', frame: RawFrame, region?: Region): Promise<Detection[]> {
    return exclusive(async () => {
      const area = frameArea(region, frame.width, frame.height);
      const size = inputSizeFor(area.width, area.height);
      const { tensor, letterbox } = letterboxer[format](frame, area, size.width, size.height);
      const output = await session.run(tensor, size.width, size.height);
      const boxes = postprocessYolox(output, size.width, size.height, letterbox, classThresholds, opts.nmsThreshold);
      return boxes.map((b) => ({ label: COCO_LABELS[b.classIndex], score: b.score, box: [b.x1, b.y1, b.x2, b.y2] }));
    });
  }

  return {
    detectRgb: (frame, region) => detect('rgb', frame, region),
    detectYuv420: (frame, region) => detect('yuv420', frame, region),
    async detectFile(path) {
      const frame = await readImageRgb(path);
      return { width: frame.width, height: frame.height, detections: await detect('rgb', frame) };
    },
    inputSizeFor,
    providers: session.providers,
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      await session.close();
    },
  };
}

/** Per-class minimum score for decoding; classes not asked for get 2 (never reached). */
function classThresholdsFor(opts: DetectorOptions): Float32Array {
  checkUnit('scoreThreshold', opts.scoreThreshold);
  const entries = Object.entries(opts.labels);
  if (entries.length === 0) throw new Error('labels is empty: name at least one label to detect');
  const thresholds = new Float32Array(YOLOX_CLASS_COUNT).fill(2);
  for (const [label, minScore] of entries) {
    const index = COCO_LABELS.indexOf(label);
    if (index < 0) throw new Error(`Unknown label "${label}" — known labels: ${COCO_LABELS.join(', ')}`);
    checkUnit(`labels.${label}`, minScore);
    thresholds[index] = Math.max(opts.scoreThreshold, minScore);
  }
  return thresholds;
}

function checkUnit(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be a number from 0 to 1, got ${value}`);
}

function checkInputSize(
  size: { width: number; height: number },
  fixed: { width: number; height: number } | null,
  modelPath: string,
): void {
  if (fixed) {
    if (size.width !== fixed.width || size.height !== fixed.height) {
      throw new Error(
        `inputSize ${size.width}x${size.height} does not fit ${modelPath}, whose input is fixed at ${fixed.width}x${fixed.height}`,
      );
    }
    return;
  }
  const ok = (v: number) => Number.isInteger(v) && v >= DYNAMIC_MULTIPLE && v % DYNAMIC_MULTIPLE === 0;
  if (!ok(size.width) || !ok(size.height)) {
    throw new Error(`inputSize ${size.width}x${size.height} must be whole multiples of ${DYNAMIC_MULTIPLE}`);
  }
}
