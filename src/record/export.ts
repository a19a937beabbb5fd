import { rename, unlink } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { remuxToMp4 } from '../camera/ffmpeg.ts';
import type { StorageIndex } from '../storage/storage-index.ts';
import { decryptFileToBuffer } from '../vault/files.ts';
import type { FileKeyOpener } from '../vault/format.ts';
import { join } from 'node:path';
import { runFfmpegOnce } from '../process/ffmpeg-supervisor.ts';

export interface ExportRequest {
  camera: string;
  fromMs: number;
  toMs: number;
  out: string;
  onProgress?: (done: number, total: number) => void;
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
  const partial = `${req.out}.partial`;
  const input = new PassThrough();
  const command = remuxToMp4(input, partial);
  const finished = runFfmpegOnce(command).catch((err: Error) => {
    throw new ExportError(`ffmpeg could not write ${req.out}: ${err.message}`);
  });
  finished.catch(() => undefined); // handled where it is awaited; ffmpeg may fail while segments are still written
  let bytes = 0;
  try {
    for (const [i, segment] of segments.entries()) {
      const plaintext = await decryptFileToBuffer(join(storageDir, segment.name), vault);
      bytes += plaintext.length;
      if (!input.write(plaintext)) await new Promise((resolve) => input.once('drain', resolve));
      req.onProgress?.(i + 1, segments.length);
    }
    input.end();
    await finished;
    await rename(partial, req.out);
    return { segments: segments.length, bytes };
  } catch (err) {
    command.kill('SIGKILL');
    input.destroy();
    await finished.catch(() => {});
    await unlink(partial).catch(() => {});
    throw err;
  }
}
