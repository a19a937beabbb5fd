import { mkdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import { encryptBuffer, encryptFile } from '../vault/files.ts';
import { vaultFileName, type StoredFileName } from './file-names.ts';
import type { FileRow, StorageIndex } from './storage-index.ts';

const REMOVE_CHUNK = 64;
/** Retries of a write that failed for lack of space, each after a retention pass. */
const DISK_FULL_RETRIES = 3;
/**
 * Room asked of retention per retry, in multiples of the failed file: other cameras keep writing
 * into the space freed for this one.
 */
const HEADROOM_FILES = 4;

export interface VaultStoreOptions {
  dir: string;
  index: StorageIndex;
  publicKey: Uint8Array;
  logger: Logger;
  /** Called when a write fails for lack of space, before each retry: free this many bytes beyond the floor now; false: retrying is pointless. */
  onDiskFull?: (headroomBytes: number) => Promise<boolean>;
  /** Told about every file once it is stored and indexed (backup queues it). */
  onStored?: (row: FileRow) => void;
}

/**
 * Writes vault files into the storage directory with the one write protocol:
 * encrypt into a temp file → fsync → rename → index row. A file is indexed only once it is whole.
 */
export class VaultStore {
  constructor(private readonly opts: VaultStoreOptions) {}

  get dir(): string {
    return this.opts.dir;
  }

  pathOf(name: string): string {
    return join(this.opts.dir, name);
  }

  /** Encrypts a plaintext file from the RAM cache into storage; the plaintext is always deleted. */
  async storeFile(plaintextPath: string, file: StoredFileName): Promise<FileRow | undefined> {
    try {
      const { size } = await stat(plaintextPath);
      return await this.write(file, size, (dest) => encryptFile(plaintextPath, dest, this.opts.publicKey, file.kind));
    } finally {
      await unlink(plaintextPath).catch(() => {});
    }
  }

  async storeBuffer(plaintext: Uint8Array, file: StoredFileName): Promise<FileRow | undefined> {
    return this.write(file, plaintext.byteLength, (dest) => encryptBuffer(plaintext, dest, this.opts.publicKey, file.kind));
  }

  /** Deletes the file first, then its row: a crash in between leaves a row that recovery drops. */
  async remove(name: string): Promise<void> {
    await unlink(this.pathOf(name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.opts.index.removeFile(name);
  }

  /**
   * Deletes many files, then their rows in one transaction; returns the rows that are gone. A file
   * that cannot be deleted keeps its row and is logged (the next pass tries again).
   */
  async removeFiles(files: readonly FileRow[]): Promise<FileRow[]> {
    const gone: FileRow[] = [];
    // Small chunks: each costs the loop a few ms of unlink requests and one short transaction.
    for (let i = 0; i < files.length; i += REMOVE_CHUNK) {
      const chunk = files.slice(i, i + REMOVE_CHUNK);
      const results = await Promise.all(chunk.map((file) => this.unlinkQuietly(file.name)));
      const removed = chunk.filter((_, j) => results[j]);
      this.opts.index.removeFiles(removed.map((f) => f.name));
      gone.push(...removed);
    }
    return gone;
  }

  private unlinkQuietly(name: string): Promise<boolean> {
    return unlink(this.pathOf(name)).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return true;
        this.opts.logger.error({ file: name, err: err.message }, 'could not delete vault file');
        return false;
      },
    );
  }

  private async write(file: StoredFileName, plaintextBytes: number, encrypt: (dest: string) => Promise<{ encryptedBytes: number }>): Promise<FileRow | undefined> {
    const name = vaultFileName(file);
    const dest = this.pathOf(name);
    await mkdir(dirname(dest), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      let unindexed = false;
      try {
        const { encryptedBytes } = await encrypt(dest);
        unindexed = true;
        const row: FileRow = { name, camera: file.camera, kind: file.kind, startMs: file.startMs, endMs: file.endMs, size: encryptedBytes, eventId: file.eventId ?? null };
        this.opts.index.addFile(row);
        unindexed = false;
        this.opts.onStored?.(row);
        return row;
      } catch (err) {
        // Never leave a vault file the index does not know (e.g. the index itself hit a full disk).
        if (unindexed) await unlink(dest).catch(() => undefined);
        const diskFull = isDiskFull(err);
        if (diskFull && attempt < DISK_FULL_RETRIES && this.opts.onDiskFull) {
          this.opts.logger.error({ file: name, attempt: attempt + 1 }, 'storage full: deleting old footage by retention policy, then retrying');
          if (await this.opts.onDiskFull(HEADROOM_FILES * (plaintextBytes + 4096) * (attempt + 1))) continue;
        }
        this.opts.logger.error(
          { file: name, err: (err as Error).message },
          diskFull ? 'storage full: this recording is lost — free space or lower retention' : 'could not store vault file',
        );
        return undefined;
      }
    }
  }
}

function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || /short write/.test((err as Error).message);
}
