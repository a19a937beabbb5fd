import { rename, unlink } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { remuxToMp4 } from '../camera/ffmpeg.ts';
import type { StorageIndex } from '../storage/storage-index.ts';
import { decryptFileToBuffer } from '../vault/files.ts';
import type { FileKeyOpener } from '../vault/format.ts';
import { join } from 'node:path';
import { killFfmpeg, runFfmpegOnce } from '../process/ffmpeg-supervisor.ts';
import { drainedOrClosed } from './drained.ts';
import { enterSegment } from './ts-keyframes.ts';

export interface ExportRequest {
  camera: string;
  fromMs: number;
  toMs: number;
  out: string;
  onProgress?: (done: number, total: number) => void;
  /** Start at the keyframe at or before fromMs and stop at toMs, instead of whole segments. */
  exact?: boolean;
  /** Stops the export (ffmpeg killed, nothing left behind); it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class ExportError extends Error {}

/**
 * Decrypts the segments of a time span and joins them by stream copy into a playable MP4.
 * Every segment is authenticated in full before any of its bytes reach ffmpeg, and the MP4 only
 * appears under its name once complete: nothing corrupt is ever exported.
 */
export async function exportClip(storageDir: string, index: StorageIndex, vault: FileKeyOpener, req: ExportRequest): Promise<{ segments: number; bytes: number }> {
  const segments = index.segmentsBetween(req.camera, req.fromMs, req.toMs);
  if (segments.length === 0) throw new ExportError(`no recording of camera "${req.camera}" between ${new Date(req.fromMs).toISOString()} and ${new Date(req.toMs).toISOString()}`);
  req.signal?.throwIfAborted();
  const first = await decryptFileToBuffer(join(storageDir, segments[0]!.name), vault);
  const entry = req.exact ? enterSegment(first, segments[0]!.startMs, req.fromMs) : { data: first, startMs: segments[0]!.startMs };
  const partial = `${req.out}.partial`;
  const input = new PassThrough();
  const command = remuxToMp4(input, partial, req.exact ? { durationSeconds: Math.max(0.001, (req.toMs - entry.startMs) / 1000) } : {});
  const finished = runFfmpegOnce(command).catch((err: Error) => {
    throw new ExportError(`ffmpeg could not write ${req.out}: ${err.message}`);
  });
  finished.catch(() => undefined); // handled where it is awaited; ffmpeg may fail while segments are still written
  const abort = () => {
    killFfmpeg(command); // also when ffmpeg has not started yet: it must not wait for stdin forever
    input.destroy();
  };
  req.signal?.addEventListener('abort', abort, { once: true });
  let bytes = 0;
  try {
    req.signal?.throwIfAborted();
    for (const [i, segment] of segments.entries()) {
      const plaintext = i === 0 ? entry.data : await decryptFileToBuffer(join(storageDir, segment.name), vault);
      req.signal?.throwIfAborted();
      bytes += plaintext.length;
      if (!input.write(plaintext)) await drainedOrClosed(input);
      req.onProgress?.(i + 1, segments.length);
    }
    input.end();
    await finished;
    req.signal?.throwIfAborted();
    await rename(partial, req.out);
    return { segments: segments.length, bytes };
  } catch (err) {
    abort();
    await finished.catch(() => {});
    await unlink(partial).catch(() => {});
    throw req.signal?.aborted ? req.signal.reason : err;
  } finally {
    req.signal?.removeEventListener('abort', abort);
  }
}
