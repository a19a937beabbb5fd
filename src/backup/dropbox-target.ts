import { stat as statLocal } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DropboxApi, DropboxApiError, DropboxNetworkError, type UploadBody } from './dropbox-api.ts';
import { DROPBOX_API_BASE_URL, DROPBOX_CONTENT_BASE_URL, DropboxTokenSource } from './dropbox-auth.ts';
import { dropboxContentHash } from './dropbox-content-hash.ts';
import { downloadAtomically, openUploadStream } from './local-file.ts';
import { assertRemoteName, assertRemotePrefix, folderOfPrefix } from './remote-name.ts';
import { describeError, secretScrubber, type Scrubber } from './scrub.ts';
import { BackupTargetError, type BackupErrorKind, type BackupTarget, type PutOptions, type RemoteFile } from './target.ts';

export const DEFAULT_DROPBOX_CHUNK_SIZE = 8 * 1024 * 1024;
/** Dropbox accepts at most 150 MB in one request. */
const MAX_DROPBOX_REQUEST_BYTES = 150 * 1024 * 1024;

export interface DropboxTargetConfig {
  /** dropbox:///folder (inside the app folder for an app-folder app). */
  readonly url: string;
  readonly appKey: string;
  readonly refreshToken: string;
  /** Only for a confidential client; a PKCE public client has none. */
  readonly appSecret?: string;
  /** Upload size above which an upload session is used, and its chunk size. Default 8 MiB. */
  readonly chunkSizeBytes?: number;
  readonly apiBaseUrl?: string;
  readonly contentBaseUrl?: string;
}

interface FileMetadata {
  '.tag': 'file' | 'folder' | 'deleted';
  name: string;
  path_lower?: string;
  path_display?: string;
  size?: number;
  server_modified?: string;
  content_hash?: string;
}

interface ListFolderResult {
  entries: FileMetadata[];
  cursor: string;
  has_more: boolean;
}

const COMMIT = { mode: 'overwrite', autorename: false, mute: true, strict_conflict: false } as const;

/**
 * Dropbox API v2. Uploads are atomic on Dropbox's side (a file appears only when the upload or
 * the session's finish commits it), so there is no .part name; each upload is checked against
 * Dropbox's content_hash of what it stored.
 */
export class DropboxTarget implements BackupTarget {
  private readonly api: DropboxApi;
  /** "" for the root, else "/folder" without a trailing slash. */
  private readonly base: string;
  private readonly chunkSize: number;
  private readonly scrub: Scrubber;

  constructor(
    readonly name: string,
    config: DropboxTargetConfig,
  ) {
    const url = new URL(config.url);
    if (url.protocol !== 'dropbox:') throw new BackupTargetError(name, 'rejected', `expected a dropbox:/// URL, got ${url.protocol}`);
    const path = `/${decodeURIComponent(url.hostname)}/${decodeURIComponent(url.pathname)}`;
    this.base = path.split('/').filter(Boolean).map((segment) => `/${segment}`).join('');
    this.chunkSize = config.chunkSizeBytes ?? DEFAULT_DROPBOX_CHUNK_SIZE;
    if (!(this.chunkSize > 0 && this.chunkSize <= MAX_DROPBOX_REQUEST_BYTES)) {
      throw new BackupTargetError(name, 'rejected', `chunkSizeBytes must be between 1 and ${MAX_DROPBOX_REQUEST_BYTES}`);
    }
    const tokens = new DropboxTokenSource(name, { ...config, apiBaseUrl: config.apiBaseUrl ?? DROPBOX_API_BASE_URL });
    this.api = new DropboxApi(tokens, config.apiBaseUrl ?? DROPBOX_API_BASE_URL, config.contentBaseUrl ?? DROPBOX_CONTENT_BASE_URL);
    this.scrub = secretScrubber([config.refreshToken, config.appSecret]);
  }

  async put(remoteName: string, localPath: string, options: PutOptions = {}): Promise<void> {
    assertRemoteName(remoteName);
    const what = `upload of ${remoteName}`;
    const path = this.pathOf(remoteName);
    const { size } = await statLocal(localPath);
    const expectedHash = await dropboxContentHash(localPath);
    const range = (start: number, end: number) => (): UploadBody => ({
      stream: openUploadStream(localPath, options, { start, end }),
      length: end - start,
    });
    const metadata = await this.call(what, async () => {
      if (size <= this.chunkSize) {
        return this.api.upload<FileMetadata>('files/upload', { path, ...COMMIT }, range(0, size), options.signal);
      }
      const { session_id } = await this.api.upload<{ session_id: string }>(
        'files/upload_session/start',
        { close: false },
        range(0, this.chunkSize),
        options.signal,
      );
      let offset = this.chunkSize;
      while (size - offset > this.chunkSize) {
        await this.api.upload<null>(
          'files/upload_session/append_v2',
          { cursor: { session_id, offset }, close: false },
          range(offset, offset + this.chunkSize),
          options.signal,
        );
        offset += this.chunkSize;
      }
      return this.api.upload<FileMetadata>(
        'files/upload_session/finish',
        { cursor: { session_id, offset }, commit: { path, ...COMMIT } },
        range(offset, size),
        options.signal,
      );
    }, options.signal);
    if (metadata.size !== size || metadata.content_hash !== expectedHash) {
      throw new BackupTargetError(
        this.name,
        'verification',
        `${what}: Dropbox stored ${metadata.size ?? '?'} bytes with content_hash ${metadata.content_hash ?? '?'}, ` +
          `expected ${size} bytes with ${expectedHash}`,
      );
    }
  }

  async get(remoteName: string, localPath: string): Promise<void> {
    assertRemoteName(remoteName);
    const what = `download of ${remoteName}`;
    await this.call(what, async () => {
      const response = await this.api.download('files/download', { path: this.pathOf(remoteName) });
      await downloadAtomically(localPath, (destination) =>
        pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), destination),
      );
    });
  }

  async list(prefix = ''): Promise<RemoteFile[]> {
    assertRemotePrefix(prefix);
    const folder = folderOfPrefix(prefix);
    return this.call('listing', async () => {
      const files: RemoteFile[] = [];
      let page: ListFolderResult;
      try {
        page = await this.api.rpc<ListFolderResult>('files/list_folder', {
          path: folder ? this.pathOf(folder) : this.base,
          recursive: true,
          include_deleted: false,
        });
      } catch (error) {
        if (error instanceof DropboxApiError && error.is('path/not_found')) return [];
        throw error;
      }
      for (;;) {
        for (const entry of page.entries) {
          if (entry['.tag'] !== 'file') continue;
          const relative = this.relativeNameOf(entry);
          if (relative !== undefined && relative.startsWith(prefix)) files.push(this.remoteFileOf(relative, entry));
        }
        if (!page.has_more) break;
        page = await this.api.rpc<ListFolderResult>('files/list_folder/continue', { cursor: page.cursor });
      }
      return files.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  async stat(remoteName: string): Promise<RemoteFile | undefined> {
    assertRemoteName(remoteName);
    return this.call(`stat of ${remoteName}`, async () => {
      try {
        const entry = await this.api.rpc<FileMetadata>('files/get_metadata', { path: this.pathOf(remoteName) });
        return entry['.tag'] === 'file' ? this.remoteFileOf(remoteName, entry) : undefined;
      } catch (error) {
        if (error instanceof DropboxApiError && error.is('path/not_found')) return undefined;
        throw error;
      }
    });
  }

  async remove(remoteName: string): Promise<void> {
    assertRemoteName(remoteName);
    await this.call(`removal of ${remoteName}`, async () => {
      try {
        await this.api.rpc('files/delete_v2', { path: this.pathOf(remoteName) });
      } catch (error) {
        if (error instanceof DropboxApiError && error.is('path_lookup/not_found')) return;
        throw error;
      }
    });
  }

  async close(): Promise<void> {}

  contentHashOf(localPath: string): Promise<string> {
    return dropboxContentHash(localPath);
  }

  private pathOf(remoteName: string): string {
    return `${this.base}/${remoteName}`;
  }

  private relativeNameOf(entry: FileMetadata): string | undefined {
    const display = entry.path_display;
    const lower = entry.path_lower ?? display?.toLowerCase();
    if (!display || !lower?.startsWith(`${this.base.toLowerCase()}/`)) return undefined;
    return display.slice(this.base.length + 1);
  }

  private remoteFileOf(name: string, entry: FileMetadata): RemoteFile {
    const modifiedMs = entry.server_modified ? Date.parse(entry.server_modified) : Number.NaN;
    return {
      name,
      size: entry.size ?? 0,
      ...(Number.isNaN(modifiedMs) ? {} : { modifiedMs }),
      ...(entry.content_hash ? { contentHash: entry.content_hash } : {}),
    };
  }

  private async call<T>(what: string, operation: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof BackupTargetError) throw error;
      if (signal?.aborted) throw new BackupTargetError(this.name, 'aborted', `${what} to Dropbox was aborted`);
      let kind: BackupErrorKind = 'unavailable';
      let hint = '';
      if (error instanceof DropboxApiError) {
        if (error.status === 401) {
          kind = 'auth';
          hint = ' — the Dropbox link may have been revoked; link Dropbox again';
        } else if (error.status === 400 || error.status === 403 || error.status === 409) {
          kind = 'rejected';
          if (error.summary.startsWith('path/insufficient_space')) hint = ' — the Dropbox account is full';
        }
      } else if (!(error instanceof DropboxNetworkError)) {
        kind = 'unavailable';
      }
      throw new BackupTargetError(this.name, kind, `${what} on Dropbox${this.base || '/'} failed: ${this.scrub(describeError(error))}${hint}`);
    }
  }
}
