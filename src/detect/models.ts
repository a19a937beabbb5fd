import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Model files: the manifest (models/manifest.json), where files live, checking and fetching them. */

const REPO_MODELS_DIR = fileURLToPath(new URL('../../models/', import.meta.url));
const FETCH_TIMEOUT_MS = 5 * 60_000;

const entrySchema = z.object({
  file: z.string().regex(/^[\w.-]+\.onnx$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  url: z.url().nullable(),
  license: z.string(),
  input: z.union([z.object({ width: z.number().int(), height: z.number().int() }), z.literal('dynamic')]),
  note: z.string().optional(),
});
const manifestSchema = z.object({ models: z.record(z.string(), entrySchema) });

export type ModelEntry = z.infer<typeof entrySchema> & { name: string };

let manifest: ModelEntry[] | undefined;

/** The entries of models/manifest.json (read once). */
export function modelManifest(): readonly ModelEntry[] {
  if (!manifest) {
    const file = join(REPO_MODELS_DIR, 'manifest.json');
    const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) throw new Error(`${file} is invalid: ${z.prettifyError(parsed.error)}`);
    manifest = Object.entries(parsed.data.models).map(([name, entry]) => ({ name, ...entry }));
  }
  return manifest;
}

export function modelEntry(name: string): ModelEntry | undefined {
  return modelManifest().find((m) => m.name === name);
}

/** `VOLET_MODELS_DIR` when set, else the repository's `models/` folder. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.VOLET_MODELS_DIR ? resolve(env.VOLET_MODELS_DIR) : REPO_MODELS_DIR;
}

/**
 * A manifest name (`yolox_nano`) or a bare file name (`yolox_nano.onnx`) is a file in `modelsDir`;
 * anything with a folder in it is a path.
 */
export function resolveModelPath(nameOrPath: string, modelsDir: string): string {
  const entry = modelEntry(nameOrPath);
  if (entry) return join(modelsDir, entry.file);
  if (/[\\/]/.test(nameOrPath)) return resolve(nameOrPath);
  if (nameOrPath.endsWith('.onnx')) return join(modelsDir, nameOrPath);
  const known = modelManifest().map((m) => m.name).join(', ');
  throw new Error(`Unknown model "${nameOrPath}" — use one of ${known}, a file name in ${modelsDir}, or a path to an .onnx file`);
}

/** What to tell a user whose model file is missing: how to fetch or provide it. */
export function missingModelHint(path: string): string {
  const entry = modelManifest().find((m) => m.file === basename(path));
  if (!entry) return 'check the path';
  if (!entry.url) return `it cannot be downloaded: ${entry.note ?? `copy ${entry.file} into the models folder`}`;
  return `fetch it with "volet models fetch ${entry.name}" (or set VOLET_MODELS_DIR to a folder that has it)`;
}

/** Hashes the file as a stream and compares with the expected sha256. */
export async function verifyModel(path: string, sha256: string): Promise<{ ok: boolean; actual: string }> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch (err) {
    throw new Error(`Cannot read model file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const actual = hash.digest('hex');
  return { ok: actual === sha256.toLowerCase(), actual };
}

export type ModelStatus = 'missing' | 'ok' | 'hash mismatch';

export async function modelStatus(entry: ModelEntry, modelsDir: string): Promise<ModelStatus> {
  const path = join(modelsDir, entry.file);
  if (!(await isFile(path))) return 'missing';
  return (await verifyModel(path, entry.sha256)).ok ? 'ok' : 'hash mismatch';
}

/**
 * Makes sure `modelsDir` holds the entry's file with the right hash: kept when already good,
 * else downloaded to a temporary file, verified, then renamed into place. A download whose
 * hash is wrong is an error and leaves no file behind.
 */
export async function fetchModel(
  entry: ModelEntry,
  modelsDir: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ path: string; status: 'present' | 'fetched' }> {
  const path = join(modelsDir, entry.file);
  if ((await modelStatus(entry, modelsDir)) === 'ok') return { path, status: 'present' };
  if (!entry.url) {
    throw new Error(`Model "${entry.name}" cannot be downloaded: ${entry.note ?? `copy ${entry.file} into ${modelsDir}`}`);
  }
  await mkdir(modelsDir, { recursive: true });
  const temp = join(modelsDir, `.${entry.file}.${randomBytes(4).toString('hex')}.part`);
  try {
    const response = await fetchImpl(entry.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok || !response.body) {
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), hashing, createWriteStream(temp));
    const actual = hash.digest('hex');
    if (actual !== entry.sha256) {
      throw new Error(`the download has sha256 ${actual}, expected ${entry.sha256}; it was discarded`);
    }
    await rename(temp, path);
    return { path, status: 'fetched' };
  } catch (err) {
    await rm(temp, { force: true });
    throw new Error(`Fetching model "${entry.name}" from ${entry.url} failed: ${(err as Error).message}`, { cause: err });
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
