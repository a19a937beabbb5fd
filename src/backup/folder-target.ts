import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { assertRemoteName, assertRemotePrefix, folderOfPrefix, partNameOf } from './remote-name.ts';
import { downloadAtomically, fsyncDirectory, fsyncFile, openUploadStream } from './local-file.ts';
import { describeError, errorCode } from './scrub.ts';
import { BackupTargetError, type BackupTarget, type PutOptions, type RemoteFile } from './target.ts';

export interface FolderTargetConfig {
  /** A local path where the OS mounted the share (SMB, NFS …), or a file:// URL. */
  readonly url: string;
}

/**
 * A folder on a mounted share. The base folder must already exist: if the share is not mounted,
 * backing up into the empty mount point would fill the local disk, so that is refused instead.
 */
export class FolderTarget implements BackupTarget {
  private readonly base: string;

  constructor(
    readonly name: string,
    config: FolderTargetConfig,
  ) {
    this.base = resolvePath(config.url.startsWith('file:') ? fileURLToPath(config.url) : config.url);
  }

  async put(remoteName: string, localPath: string, options: PutOptions = {}): Promise<void> {
    const finalPath = this.pathOf(remoteName);
    const partPath = partNameOf(finalPath);
    await this.requireBase();
    try {
      await mkdir(dirname(finalPath), { recursive: true });
      await pipeline(openUploadStream(localPath, options), createWriteStream(partPath), { signal: options.signal });
      await fsyncFile(partPath);
      await rename(partPath, finalPath);
      await fsyncDirectory(dirname(finalPath));
    } catch (error) {
      throw this.failure(`upload of ${remoteName}`, error, options.signal);
    }
  }

  async get(remoteName: string, localPath: string): Promise<void> {
    const source = this.pathOf(remoteName);
    await this.requireBase();
    try {
      await downloadAtomically(localPath, (destination) => pipeline(createReadStream(source), destination));
    } catch (error) {
      throw this.failure(`download of ${remoteName}`, error);
    }
  }

  async list(prefix = ''): Promise<RemoteFile[]> {
    assertRemotePrefix(prefix);
    await this.requireBase();
    const files: RemoteFile[] = [];
    const walk = async (relativeFolder: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.base, relativeFolder), { withFileTypes: true });
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
        throw error;
      }
      for (const entry of entries) {
        const relative = relativeFolder ? `${relativeFolder}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (relative.startsWith(prefix) || prefix.startsWith(`${relative}/`)) await walk(relative);
        } else if (entry.isFile() && relative.startsWith(prefix)) {
          const info = await stat(join(this.base, relative));
          files.push({ name: relative, size: info.size, modifiedMs: info.mtimeMs });
        }
      }
    };
    try {
      await walk(folderOfPrefix(prefix));
    } catch (error) {
      throw this.failure('listing', error);
    }
    return files.sort((a, b) => a.name.localeCompare(b.name));
  }

  async stat(remoteName: string): Promise<RemoteFile | undefined> {
    const path = this.pathOf(remoteName);
    await this.requireBase();
    try {
      const info = await stat(path);
      return info.isFile() ? { name: remoteName, size: info.size, modifiedMs: info.mtimeMs } : undefined;
    } catch (error) {
      if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
      throw this.failure(`stat of ${remoteName}`, error);
    }
  }

  async remove(remoteName: string): Promise<void> {
    const path = this.pathOf(remoteName);
    await this.requireBase();
    try {
      await rm(path, { force: true });
    } catch (error) {
      throw this.failure(`removal of ${remoteName}`, error);
    }
  }

  async close(): Promise<void> {}

  private pathOf(remoteName: string): string {
    const path = join(this.base, ...assertRemoteName(remoteName).split('/'));
    if (!path.startsWith(this.base + sep)) throw new BackupTargetError(this.name, 'rejected', `name ${remoteName} leaves the folder`);
    return path;
  }

  private async requireBase(): Promise<void> {
    try {
      if ((await stat(this.base)).isDirectory()) return;
    } catch {
      // reported below
    }
    throw new BackupTargetError(
      this.name,
      'unavailable',
      `folder ${this.base} does not exist or is not a folder — is the share mounted?`,
    );
  }

  private failure(what: string, error: unknown, signal?: AbortSignal): BackupTargetError {
    if (error instanceof BackupTargetError) return error;
    if (signal?.aborted) return new BackupTargetError(this.name, 'aborted', `${what} in ${this.base} was aborted`);
    const code = errorCode(error);
    const kind = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'rejected' : 'unavailable';
    return new BackupTargetError(this.name, kind, `${what} in ${this.base} failed: ${describeError(error)}`);
  }
}
