// The face engine's worker thread: owns tfjs (WebAssembly backend) and face-api's nets (a face
// detector, landmarks, descriptor), loaded once from the npm package's folder, and answers one
// request at a time. A crop costs 100–500 ms of CPU, which must never run on Volet's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import type { FaceReply, FaceRequest, WorkerData, WorkerFace } from './face-protocol.ts';

const port = parentPort;
if (!port) throw new Error('face-worker.ts runs only as a worker thread (see src/faces/engine.ts)');

const { modelDir, threads, detector } = workerData as WorkerData;
const TINY_INPUT_SIZE = 416;
/** face-api re-exports tfjs, but its typings leave out the backend functions. */
const tf = faceapi.tf as unknown as { setBackend(name: string): Promise<boolean>; ready(): Promise<void>; getBackend(): string };

async function load(): Promise<void> {
  // Before the backend starts: tfjs's wasm backend otherwise starts one pthread per core.
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { setThreadsCount?: (n: number) => void };
  wasm.setThreadsCount?.(threads);
  await tf.setBackend('wasm');
  await tf.ready();
  await (detector === 'ssd' ? faceapi.nets.ssdMobilenetv1 : faceapi.nets.tinyFaceDetector).loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
}

function detectorOptions(minConfidence: number) {
  return detector === 'ssd'
    ? new faceapi.SsdMobilenetv1Options({ minConfidence })
    : new faceapi.TinyFaceDetectorOptions({ inputSize: TINY_INPUT_SIZE, scoreThreshold: minConfidence });
}

async function detect(request: FaceRequest): Promise<WorkerFace[]> {
  const { width, height, minConfidence } = request;
  const input = faceapi.tf.tensor3d(new Uint8Array(request.pixels), [height, width, 3], 'int32');
  try {
    const found = await faceapi
      .detectAllFaces(input, detectorOptions(minConfidence))
      .withFaceLandmarks()
      .withFaceDescriptors();
    return found.map(({ detection, descriptor }) => ({
      box: { x: detection.box.x, y: detection.box.y, width: detection.box.width, height: detection.box.height },
      score: detection.score,
      embedding: descriptor,
    }));
  } finally {
    input.dispose();
  }
}

function reply(message: FaceReply): void {
  const transfer = message.kind === 'faces' ? message.faces.map((f) => f.embedding.buffer as ArrayBuffer) : [];
  port!.postMessage(message, transfer);
}

const loaded = load().then(
  () => reply({ kind: 'ready', backend: tf.getBackend() }),
  (error: unknown) => reply({ kind: 'failed', message: error instanceof Error ? error.message : String(error) }),
);

// Requests come one at a time (the engine waits for each answer), so no two inferences interleave.
port.on('message', (request: FaceRequest) => {
  void loaded
    .then(() => detect(request))
    .then(
      (faces) => reply({ kind: 'faces', id: request.id, faces }),
      (error: unknown) => reply({ kind: 'error', id: request.id, message: error instanceof Error ? error.message : String(error) }),
    );
});
