import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  mode?: number;
  /** When false, fails with EEXIST instead of replacing an existing file. */
  overwrite?: boolean;
}

/**
 * Writes `destPath` so that readers only ever see the old file or the complete new one:
 * `write` fills `destPath + '.tmp'`, which is fsynced, then renamed (or hard-linked when
 * overwriting is refused) into place, and the directory entry is fsynced.
 * `prepare` runs while the temporary file is being opened; its result is passed to `write`.
 */
export async function writeFileAtomically<T, P = undefined>(
  destPath: string,
  write: (file: FileHandle, prepared: P) => Promise<T>,
  options: AtomicWriteOptions & { prepare?: () => P } = {},
): Promise<T> {
  const tmpPath = `${destPath}.tmp`;
  const opening = open(tmpPath, 'w', options.mode ?? 0o644);
  let prepared: P;
  try {
    prepared = options.prepare ? options.prepare() : (undefined as P);
  } catch (error) {
    await opening.then((file) => file.close()).catch(() => {});
    await unlink(tmpPath).catch(() => {});
    throw error;
  }
  const file = await opening;
  try {
    let result: T;
    try {
      result = await write(file, prepared);
      await file.sync();
    } finally {
      await file.close();
    }
    if (options.overwrite === false) {
      await link(tmpPath, destPath);
      await unlink(tmpPath);
    } else {
      await rename(tmpPath, destPath);
    }
    await syncDirectory(dirname(destPath));
    return result;
  } catch (error) {
    await unlink(tmpPath).catch(() => {});
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
