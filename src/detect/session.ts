import { access } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';

/**
 * onnxruntime-node (since 1.29) uploads usage telemetry from Linux and macOS to
 * mobile.events.data.microsoft.com, and keeps a device id and an event cache under ~/.cache,
 * unless an environment variable says not to when its environment is created: that happens on
 * the first InferenceSession.create, and every session is created in this file. 1.30 reads
 * ORT_DISABLE_TELEMETRY, newer releases ORT_TELEMETRY_DISABLED; both are forced on, whatever the
 * user's environment says. test/app/egress.test.ts fails if anything is still sent.
 */
function disableOnnxRuntimeTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY = '1';
  process.env.ORT_TELEMETRY_DISABLED = '1';
}

disableOnnxRuntimeTelemetry();

/**
 * onnxruntime-node adapter for an image model with one `[1, 3, H, W]` float input and one
 * float output. Knows whether H and W are fixed by the model or free.
 */

export interface ModelSessionOptions {
  threads: number;
  /** onnxruntime execution providers in order of preference, default `['cpu']`. */
  providers?: string[];
}

export interface ModelSession {
  readonly path: string;
  /** The execution providers in use: the requested list from the first one that could be loaded. */
  readonly providers: readonly string[];
  /** Fixed input size, or null when the model accepts any height and width. */
  readonly fixedInput: { width: number; height: number } | null;
  /** Runs the model on a CHW tensor of the given size and returns the first output's data. */
  run(tensor: Float32Array, width: number, height: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Describes how to obtain a missing model file; appended to the "not found" error. */
export type MissingModelHint = (path: string) => string;

export async function openModelSession(
  path: string,
  opts: ModelSessionOptions,
  missingHint?: MissingModelHint,
): Promise<ModelSession> {
  if (!Number.isInteger(opts.threads) || opts.threads < 1) {
    throw new Error(`threads must be a positive integer, got ${opts.threads}`);
  }
  try {
    await access(path);
  } catch {
    throw new Error(`Model file ${path} not found${missingHint ? ` — ${missingHint(path)}` : ''}`);
  }
  const { session, providers } = await createWithPreferredProviders(path, opts);
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  let fixedInput: { width: number; height: number } | null;
  try {
    fixedInput = readFixedInput(session, path);
  } catch (err) {
    await session.release();
    throw err;
  }
  const tensors = new WeakMap<Float32Array, ort.Tensor>();

  return {
    path,
    providers,
    fixedInput,
    async run(tensor, width, height) {
      if (fixedInput && (fixedInput.width !== width || fixedInput.height !== height)) {
        throw new Error(`Model ${path} takes ${fixedInput.width}x${fixedInput.height} input, got ${width}x${height}`);
      }
      // One ort.Tensor view per reused buffer: the tensor data is not copied.
      let input = tensors.get(tensor);
      if (!input) {
        input = new ort.Tensor('float32', tensor, [1, 3, height, width]);
        tensors.set(tensor, input);
      }
      const result = await session.run({ [inputName]: input });
      const output = result[outputName];
      if (output.type !== 'float32') throw new Error(`Model ${path} output is ${output.type}, expected float32`);
      return output.data as Float32Array;
    },
    close: () => session.release(),
  };
}

/**
 * Opens the session with the requested providers this onnxruntime-node build has, else with that
 * list minus its first entries (so `['cuda', 'cpu']` falls back to the CPU when CUDA cannot load).
 * A model that the CPU provider cannot load either is corrupt.
 */
async function createWithPreferredProviders(path: string, opts: ModelSessionOptions) {
  const requested = opts.providers ?? ['cpu'];
  const built = new Set(ort.listSupportedBackends().map((b) => b.name));
  const usable = requested.filter((p) => built.has(p));
  const failures = requested.filter((p) => !built.has(p)).map((p) => `${p}: not in this build`);
  for (let i = 0; i < usable.length; i++) {
    const providers = usable.slice(i);
    try {
      return { session: await createSession(path, providers, opts.threads), providers };
    } catch (err) {
      failures.push(`${providers.join(', ')}: ${(err as Error).message}`);
    }
  }
  try {
    await (await createSession(path, ['cpu'], opts.threads)).release();
  } catch (err) {
    throw new Error(
      `Model file ${path} could not be loaded (corrupt or not an ONNX model): ${(err as Error).message}`,
      { cause: err },
    );
  }
  throw new Error(
    `None of the execution providers [${requested.join(', ')}] can run ${path} with this onnxruntime-node build ` +
      `(add 'cpu' to the list as a fallback): ${failures.join('; ')}`,
  );
}

function createSession(path: string, providers: string[], threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, {
    executionProviders: providers,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

function readFixedInput(session: ort.InferenceSession, path: string): { width: number; height: number } | null {
  const meta = session.inputMetadata[0];
  if (!meta?.isTensor || meta.shape.length !== 4 || meta.shape[1] !== 3) {
    throw new Error(`Model ${path} does not take a [1, 3, H, W] image tensor as input`);
  }
  const [, , height, width] = meta.shape;
  if (typeof height === 'number' && typeof width === 'number') return { width, height };
  if (typeof height === 'number' || typeof width === 'number') {
    throw new Error(`Model ${path} fixes only one of its input dimensions; expected both fixed or both free`);
  }
  return null;
}
