import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FaceDetectorKind, FaceReply, FaceRequest, WorkerData } from './face-protocol.ts';

/**
 * On-device face detection and embeddings: face-api's Tiny Face Detector (or its SSD MobileNet
 * v1), 68-point landmarks (to align) and its 128-d ResNet descriptor, run by tfjs's WebAssembly
 * backend in a worker thread. The weights ship inside the npm package (@vladmandic/face-api/model, MIT);
 * nothing is downloaded. onnxruntime cannot run them: they exist only as tfjs graphs, and
 * converting them to ONNX needs tools (tf2onnx) that Volet does not ship.
 */

export interface DetectedFace {
  /** In the pixels of the image given to detect(). */
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** 128 floats; compare with faceDistance (Euclidean, src/faces/match.ts). */
  embedding: Float32Array;
}

export interface FaceImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3;
}

export interface FaceEngine {
  /** Faces in an RGB image (usually a person box cut from a frame). Never blocks the event loop. */
  detect(image: FaceImage): Promise<DetectedFace[]>;
  /** Rejects what is queued, stops the worker; idempotent. */
  close(): Promise<void>;
}

export interface FaceEngineOptions {
  /** Detector score below which a face is ignored, default 0.4. */
  minConfidence?: number;
  /** Images waiting or in work at once; one more is refused with FaceEngineError('queue-full'). Default 8. */
  maxQueue?: number;
  /** pthreads of the WebAssembly backend, default 1 (tfjs 4.22 runs single-threaded under Node anyway). */
  threads?: number;
  /** Default 'tiny': about a tenth of SSD's cost per crop (BENCHMARKS.md, `faces`). */
  detector?: FaceDetectorKind;
  /** Folder of face-api weights, default the npm package's model folder. */
  modelDir?: string;
}

export type { FaceDetectorKind };

export type FaceEngineErrorCode = 'queue-full' | 'closed' | 'bad-image' | 'load-failed' | 'worker-stopped' | 'inference-failed';

export class FaceEngineError extends Error {
  constructor(readonly code: FaceEngineErrorCode, message: string) {
    super(message);
    this.name = 'FaceEngineError';
  }
}

export const DEFAULT_MIN_CONFIDENCE = 0.4;
export const DEFAULT_MAX_QUEUE = 8;
/** Larger images are refused: the detector shrinks its input to 416×416 (SSD: 512×512) anyway. */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

const require = createRequire(import.meta.url);

export function faceModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/**
 * The worker beside this file: face-worker.js in dist/; under tsx (tests, benchmarks) a worker
 * does not inherit the TypeScript loader, so a bootstrap registers it before importing the .ts file.
 */
function startWorker(workerData: WorkerData): Worker {
  const options = { workerData, stdout: true, stderr: true };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./face-worker.js', import.meta.url), options);
  const script = new URL('./face-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(script)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

interface Job {
  request: FaceRequest;
  resolve: (faces: DetectedFace[]) => void;
  reject: (error: Error) => void;
}

export async function createFaceEngine(opts: FaceEngineOptions = {}): Promise<FaceEngine> {
  const minConfidence = opts.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
  const threads = opts.threads ?? 1;
  if (!(minConfidence > 0 && minConfidence < 1)) throw new RangeError(`minConfidence must be between 0 and 1, got ${minConfidence}`);
  if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new RangeError(`maxQueue must be a positive whole number, got ${maxQueue}`);
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive whole number, got ${threads}`);

  const detector = opts.detector ?? 'tiny';
  if (detector !== 'tiny' && detector !== 'ssd') throw new RangeError(`detector must be 'tiny' or 'ssd', got ${String(detector)}`);
  const workerData: WorkerData = { modelDir: opts.modelDir ?? faceModelDir(), threads, detector };
  const worker = startWorker(workerData);
  // tfjs greets on the console ("install the node backend"); the worker's output goes nowhere.
  worker.stdout.resume();
  worker.stderr.resume();

  const queue: Job[] = [];
  let inFlight: Job | undefined;
  let nextId = 1;
  let stopped: FaceEngineError | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: FaceReply) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (message.kind === 'ready') resolve();
      else reject(new FaceEngineError('load-failed', `Face models could not be loaded from ${workerData.modelDir}: ${message.kind === 'failed' ? message.message : message.kind}`));
    };
    const onError = (error: Error) => reject(new FaceEngineError('load-failed', `Face engine worker failed while loading: ${error.message}`));
    const onExit = (code: number) => reject(new FaceEngineError('load-failed', `Face engine worker exited with code ${code} while loading`));
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  function failAll(error: FaceEngineError): void {
    stopped ??= error;
    const jobs = inFlight ? [inFlight, ...queue] : [...queue];
    inFlight = undefined;
    queue.length = 0;
    for (const job of jobs) job.reject(error);
  }

  function sendNext(): void {
    if (inFlight || stopped) return;
    const job = queue.shift();
    if (!job) return;
    inFlight = job;
    worker.postMessage(job.request, [job.request.pixels]);
  }

  worker.on('message', (message: FaceReply) => {
    const job = inFlight;
    if (!job || !('id' in message) || message.id !== job.request.id) return;
    inFlight = undefined;
    if (message.kind === 'faces') job.resolve(message.faces);
    else if (message.kind === 'error') job.reject(new FaceEngineError('inference-failed', `Face detection failed on a ${job.request.width}×${job.request.height} image: ${message.message}`));
    sendNext();
  });
  worker.on('error', (error) => failAll(new FaceEngineError('worker-stopped', `Face engine worker crashed: ${error.message}`)));
  worker.on('exit', (code) => failAll(new FaceEngineError('worker-stopped', `Face engine worker exited with code ${code}`)));

  return {
    detect(image) {
      if (stopped) return Promise.reject(stopped);
      const problem = imageProblem(image);
      if (problem) return Promise.reject(new FaceEngineError('bad-image', problem));
      if (queue.length + (inFlight ? 1 : 0) >= maxQueue) {
        return Promise.reject(new FaceEngineError('queue-full', `Face engine is busy: ${maxQueue} images already waiting; this one was dropped`));
      }
      // A copy the worker can own: the caller keeps its buffer, the copy is transferred, not cloned.
      const pixels = new ArrayBuffer(image.width * image.height * 3);
      new Uint8Array(pixels).set(image.data.subarray(0, pixels.byteLength));
      const request: FaceRequest = { id: nextId++, pixels, width: image.width, height: image.height, minConfidence };
      return new Promise<DetectedFace[]>((resolve, reject) => {
        queue.push({ request, resolve, reject });
        sendNext();
      });
    },
    async close() {
      failAll(new FaceEngineError('closed', 'Face engine is closed'));
      await worker.terminate();
      await exited;
    },
  };
}

function imageProblem(image: FaceImage): string | undefined {
  const { data, width, height, channels } = image ?? {};
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    return `Image size must be positive whole numbers, got ${width}×${height}`;
  }
  if (channels !== 3) return `Images must be RGB (3 channels), got ${channels}`;
  if (width * height > MAX_IMAGE_PIXELS) return `Image of ${width}×${height} is larger than ${MAX_IMAGE_PIXELS} pixels`;
  if (!(data instanceof Uint8Array) || data.length !== width * height * 3) {
    return `Image data must be ${width}×${height}×3 = ${width * height * 3} bytes, got ${data instanceof Uint8Array ? data.length : typeof data}`;
  }
  return undefined;
}
