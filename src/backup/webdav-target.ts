import { stat as statLocal } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { downloadAtomically, openUploadStream } from './local-file.ts';
import { assertRemoteName, assertRemotePrefix, folderOfPrefix, parentFoldersOf, partNameOf } from './remote-name.ts';
import { describeError, secretScrubber, type Scrubber } from './scrub.ts';
import { BackupTargetError, type BackupErrorKind, type BackupTarget, type PutOptions, type RemoteFile } from './target.ts';
import { parseMultistatus } from './webdav-multistatus.ts';

export interface WebdavTargetConfig {
  /** webdav://, webdavs://, http:// or https:// URL of an existing collection; user:pass@ allowed. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

const PROPFIND_BODY =
  '<?xml version="1.0" encoding="utf-8"?>\n' +
  '<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/><d:getlastmodified/></d:prop></d:propfind>';

function isStaleConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

/** WebDAV over fetch: PUT to name.part, MOVE into place with Overwrite: T, Basic auth. */
export class WebdavTarget implements BackupTarget {
  private readonly origin: string;
  /** Decoded path of the base collection, without a trailing slash ("" for the server root). */
  private readonly basePath: string;
  private readonly authorization: string | undefined;
  private readonly scrub: Scrubber;
  private readonly display: string;
  private readonly knownFolders = new Set<string>();

  constructor(
    readonly name: string,
    config: WebdavTargetConfig,
  ) {
    const url = new URL(config.url);
    const protocol = { 'webdav:': 'http:', 'webdavs:': 'https:', 'http:': 'http:', 'https:': 'https:' }[url.protocol];
    if (!protocol) throw new BackupTargetError(name, 'rejected', `expected a webdav(s):// or http(s):// URL, got ${url.protocol}`);
    const username = config.username ?? decodeURIComponent(url.username);
    const password = config.password ?? decodeURIComponent(url.password);
    this.authorization = username ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
    this.origin = `${protocol}//${url.host}`;
    this.basePath = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    this.scrub = secretScrubber([password, url.password, this.authorization?.slice(6)]);
    this.display = `${this.origin}${this.basePath || '/'}`;
  }

  async put(remoteName: string, localPath: string, options: PutOptions = {}): Promise<void> {
    assertRemoteName(remoteName);
    const what = `upload of ${remoteName}`;
    for (const folder of parentFoldersOf(remoteName)) await this.ensureFolder(folder, what);
    const partUrl = this.urlOf(partNameOf(remoteName));
    const { size } = await statLocal(localPath);
    const source = openUploadStream(localPath, options);
    try {
      const put = await this.request(what, partUrl, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
        body: source as unknown as BodyInit,
        duplex: 'half',
        signal: options.signal,
      } as RequestInit);
      await this.expect(what, put, [200, 201, 204]);
    } finally {
      source.destroy();
    }
    const move = await this.request(what, partUrl, {
      method: 'MOVE',
      headers: { Destination: this.urlOf(remoteName), Overwrite: 'T' },
      signal: options.signal,
    });
    await this.expect(what, move, [201, 204]);
  }

  async get(remoteName: string, localPath: string): Promise<void> {
    assertRemoteName(remoteName);
    const what = `download of ${remoteName}`;
    const response = await this.request(what, this.urlOf(remoteName), { method: 'GET' });
    await this.expect(what, response, [200], false);
    try {
      await downloadAtomically(localPath, (destination) =>
        pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), destination),
      );
    } catch (error) {
      throw new BackupTargetError(this.name, 'unavailable', `${what} from ${this.display} failed: ${this.scrub(describeError(error))}`);
    }
  }

  async list(prefix = ''): Promise<RemoteFile[]> {
    assertRemotePrefix(prefix);
    const files: RemoteFile[] = [];
    const walk = async (relativeFolder: string): Promise<void> => {
      const entries = await this.propfind('listing', `${relativeFolder}/`, '1');
      for (const entry of entries ?? []) {
        const relative = this.relativeNameOf(entry.path);
        if (relative === undefined || relative === relativeFolder) continue;
        if (entry.isCollection) {
          if (relative.startsWith(prefix) || prefix.startsWith(`${relative}/`)) await walk(relative);
        } else if (relative.startsWith(prefix)) {
          files.push({ name: relative, size: entry.size ?? 0, ...(entry.modifiedMs !== undefined ? { modifiedMs: entry.modifiedMs } : {}) });
        }
      }
    };
    await walk(folderOfPrefix(prefix));
    return files.sort((a, b) => a.name.localeCompare(b.name));
  }

  async stat(remoteName: string): Promise<RemoteFile | undefined> {
    assertRemoteName(remoteName);
    const entries = await this.propfind(`stat of ${remoteName}`, remoteName, '0');
    const entry = entries?.[0];
    if (!entry || entry.isCollection) return undefined;
    return { name: remoteName, size: entry.size ?? 0, ...(entry.modifiedMs !== undefined ? { modifiedMs: entry.modifiedMs } : {}) };
  }

  async remove(remoteName: string): Promise<void> {
    assertRemoteName(remoteName);
    const what = `removal of ${remoteName}`;
    const response = await this.request(what, this.urlOf(remoteName), { method: 'DELETE' });
    await this.expect(what, response, [200, 202, 204, 404]);
  }

  async close(): Promise<void> {}

  /** PROPFIND on a file, or on a folder when `relative` ends with "/"; undefined when it does not exist. */
  private async propfind(what: string, relative: string, depth: '0' | '1') {
    const url = relative.endsWith('/') ? `${this.urlOf(relative).replace(/\/+$/, '')}/` : this.urlOf(relative);
    const response = await this.request(what, url, {
      method: 'PROPFIND',
      headers: { Depth: depth, 'Content-Type': 'application/xml; charset=utf-8' },
      body: PROPFIND_BODY,
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    await this.expect(what, response, [207], false);
    return parseMultistatus(await response.text());
  }

  private async ensureFolder(folder: string, what: string): Promise<void> {
    if (this.knownFolders.has(folder)) return;
    const response = await this.request(what, `${this.urlOf(folder)}/`, { method: 'MKCOL' });
    // 405: already exists. 409: its parent is missing — for the first level, the base collection itself.
    if (response.status === 409) {
      await response.body?.cancel();
      throw new BackupTargetError(this.name, 'rejected', `${what} failed: the folder ${this.display} does not exist on the server — create it first`);
    }
    await this.expect(what, response, [200, 201, 204, 405]);
    this.knownFolders.add(folder);
  }

  private urlOf(relative: string): string {
    const encoded = [...this.basePath.split('/').filter(Boolean), ...relative.split('/').filter(Boolean)]
      .map(encodeURIComponent)
      .join('/');
    return `${this.origin}/${encoded}`;
  }

  /** "/dav/volet/porch/x.volet" → "porch/x.volet"; undefined when outside the base collection. */
  private relativeNameOf(path: string): string | undefined {
    const trimmed = path.replace(/\/+$/, '');
    if (trimmed === this.basePath) return '';
    if (!trimmed.startsWith(`${this.basePath}/`)) return undefined;
    return trimmed.slice(this.basePath.length + 1);
  }

  private async request(what: string, url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.authorization) headers.set('Authorization', this.authorization);
    try {
      try {
        return await fetch(url, { ...init, headers, redirect: 'manual' });
      } catch (error) {
        // A kept-alive connection the server closed in the meantime: retry once when the body allows it.
        const replayable = init.body === undefined || typeof init.body === 'string';
        if (!replayable || init.signal?.aborted || !isStaleConnection(error)) throw error;
        return await fetch(url, { ...init, headers, redirect: 'manual' });
      }
    } catch (error) {
      this.knownFolders.clear();
      if (init.signal?.aborted) throw new BackupTargetError(this.name, 'aborted', `${what} to ${this.display} was aborted`);
      const cause = (error as { cause?: unknown }).cause;
      const reason = cause ? describeError(cause) : describeError(error);
      throw new BackupTargetError(this.name, 'unavailable', `${what} on ${this.display} failed: ${this.scrub(reason)}`);
    }
  }

  private async expect(what: string, response: Response, accepted: number[], consume = true): Promise<void> {
    if (accepted.includes(response.status)) {
      if (consume) await response.body?.cancel();
      return;
    }
    await response.body?.cancel();
    this.knownFolders.clear();
    let kind: BackupErrorKind = response.status >= 500 ? 'unavailable' : 'rejected';
    let hint = '';
    if (response.status === 401) {
      kind = 'auth';
      hint = ' — check the user name and password of this target';
    } else if (response.status === 403) {
      hint = ' — the account may not write to this folder';
    } else if (response.status === 507) {
      hint = ' — the server is out of space';
    }
    throw new BackupTargetError(
      this.name,
      kind,
      `${what} on ${this.display} failed: HTTP ${response.status} ${response.statusText}${hint}`,
    );
  }
}
