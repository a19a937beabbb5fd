import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, pipeline as pipelineCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { throttledStream } from './throttle.ts';
import type { PutOptions } from './target.ts';

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/**
 * Reads a local file (or the byte range [start, end), end exclusive) for upload, through the
 * target's throttle when there is one. The stream is destroyed when the signal aborts.
 */
export function openUploadStream(
  localPath: string,
  options: PutOptions = {},
  range?: { start: number; end: number },
): Readable {
  const file: Readable =
    range && range.end <= range.start
      ? Readable.from([])
      : createReadStream(localPath, range ? { start: range.start, end: range.end - 1 } : {});
  let stream = file;
  if (options.throttle) {
    // pipeline() destroys both ends together, so a failed upload never leaves the file open.
    const throttled = throttledStream(options.throttle, options.signal);
    pipelineCallback(file, throttled, () => undefined);
    stream = throttled;
  }
  // Consumers attach their own listeners; this one only keeps a late error from crashing the process.
  stream.on('error', () => undefined);
  if (options.signal) {
    const signal = options.signal;
    const abort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', abort));
  }
  return stream;
}

/** A temporary sibling of `path`, so the final rename stays on one file system. */
export function temporarySiblingOf(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a download to `localPath` atomically: into a temporary sibling, fsync, rename. A failed
 * download leaves whatever was at `localPath` untouched.
 */
export async function downloadAtomically(
  localPath: string,
  write: (destination: Writable) => Promise<void>,
): Promise<void> {
  await mkdir(dirname(localPath), { recursive: true });
  const temporary = temporarySiblingOf(localPath);
  const destination = createWriteStream(temporary);
  try {
    await write(destination);
    if (!destination.closed) {
      await new Promise<void>((resolve, reject) => {
        destination.once('close', resolve);
        destination.once('error', reject);
        destination.end();
      });
    }
    await fsyncFile(temporary);
    await rename(temporary, localPath);
  } catch (error) {
    destination.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
}

export async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Best-effort fsync of a directory so a rename inside it survives a power cut. */
export async function fsyncDirectory(path: string): Promise<void> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems (SMB, some FUSE mounts) cannot fsync a directory; the rename still happened.
  }
}
