/** Messages between the face engine (src/faces/engine.ts) and its worker (src/faces/face-worker.ts). */

export interface WorkerData {
  /** The folder holding face-api's weight manifests and .bin files. */
  modelDir: string;
  /** pthreads of tfjs's WebAssembly backend (used only where the backend supports threads). */
  threads: number;
  detector: FaceDetectorKind;
}

/** face-api's Tiny Face Detector (416×416 input, ~50 ms) or SSD MobileNet v1 (512×512, ~400 ms, finds more faces). */
export type FaceDetectorKind = 'tiny' | 'ssd';

/** One RGB crop to search for faces; `pixels` is transferred (height × width × 3 bytes). */
export interface FaceRequest {
  id: number;
  pixels: ArrayBuffer;
  width: number;
  height: number;
  minConfidence: number;
}

export interface WorkerFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** 128 floats, transferred. */
  embedding: Float32Array;
}

export type FaceReply =
  | { kind: 'ready'; backend: string }
  | { kind: 'failed'; message: string }
  | { kind: 'faces'; id: number; faces: WorkerFace[] }
  | { kind: 'error'; id: number; message: string };
