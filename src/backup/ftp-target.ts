import { isIP } from 'node:net';
import { posix } from 'node:path';
import type { TLSSocket, ConnectionOptions } from 'node:tls';
import { Client, FTPError, FileType } from 'basic-ftp';
import { downloadAtomically, openUploadStream } from './local-file.ts';
import { parseUnixListDate } from './ftp-list-date.ts';
import { assertRemoteName, assertRemotePrefix, folderOfPrefix, joinRemote, partNameOf } from './remote-name.ts';
import { describeError, errorCode, secretScrubber, type Scrubber } from './scrub.ts';
import { BackupTargetError, type BackupErrorKind, type BackupTarget, type PutOptions, type RemoteFile } from './target.ts';

export interface FtpTargetConfig {
  /** ftp://user:pass@host:port/base/dir (the path is relative to the login folder). */
  readonly url: string;
  /** Explicit TLS (AUTH TLS). Also implied by an ftps:// URL. */
  readonly secure?: boolean;
  /** Overrides the password in the URL. */
  readonly password?: string;
  /** Accept exactly this server certificate (SHA-256, "AB:CD:…" as openssl prints it), self-signed or not. */
  readonly certificateSha256?: string;
  /** Accept any certificate. Encrypts, but does not know who it talks to. */
  readonly insecure?: boolean;
  readonly timeoutMs?: number;
}

/** 550 is the standard answer for a missing file; some servers use 450/451 with a telling message. */
function isMissing(error: unknown): boolean {
  if (!(error instanceof FTPError)) return false;
  return error.code === 550 || (error.code >= 450 && error.code < 460 && /no such file|not found|does not exist|ENOENT/i.test(error.message));
}

function normalizeCertificateFingerprint(value: string): string {
  return value.replace(/^sha256\s*fingerprint\s*=\s*/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/** FTP or FTPS (explicit TLS) through basic-ftp: one control connection, reopened after a failure. */
export class FtpTarget implements BackupTarget {
  private readonly host: string;
  private readonly port: number;
  private readonly user: string;
  private readonly password: string;
  private readonly basePath: string;
  private readonly secure: boolean;
  private readonly pinned: string | undefined;
  private readonly scrub: Scrubber;
  private client: Client | undefined;
  private base = '/';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly knownFolders = new Set<string>();

  constructor(
    readonly name: string,
    private readonly config: FtpTargetConfig,
  ) {
    const url = new URL(config.url);
    if (url.protocol !== 'ftp:' && url.protocol !== 'ftps:') {
      throw new BackupTargetError(name, 'rejected', `expected an ftp:// or ftps:// URL, got ${url.protocol}`);
    }
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port ? Number(url.port) : 21;
    this.user = decodeURIComponent(url.username) || 'anonymous';
    this.password = config.password ?? decodeURIComponent(url.password);
    this.basePath = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
    this.secure = config.secure === true || url.protocol === 'ftps:' || config.certificateSha256 !== undefined;
    this.pinned = config.certificateSha256 ? normalizeCertificateFingerprint(config.certificateSha256) : undefined;
    this.scrub = secretScrubber([this.password, url.password]);
  }

  async put(remoteName: string, localPath: string, options: PutOptions = {}): Promise<void> {
    assertRemoteName(remoteName);
    await this.run(`upload of ${remoteName}`, options.signal, async (client) => {
      const finalPath = joinRemote(this.base, remoteName);
      const partPath = partNameOf(finalPath);
      const folder = posix.dirname(finalPath);
      if (!this.knownFolders.has(folder)) {
        await client.ensureDir(folder);
        this.knownFolders.add(folder);
      }
      const source = openUploadStream(localPath, options);
      try {
        await client.uploadFrom(source, partPath);
      } finally {
        source.destroy();
      }
      try {
        await client.rename(partPath, finalPath);
      } catch (error) {
        // Some servers refuse to rename onto an existing file.
        if (!(error instanceof FTPError)) throw error;
        await client.remove(finalPath, true);
        await client.rename(partPath, finalPath);
      }
    });
  }

  async get(remoteName: string, localPath: string): Promise<void> {
    assertRemoteName(remoteName);
    await this.run(`download of ${remoteName}`, undefined, (client) =>
      downloadAtomically(localPath, async (destination) => {
        await client.downloadTo(destination, joinRemote(this.base, remoteName));
      }),
    );
  }

  async list(prefix = ''): Promise<RemoteFile[]> {
    assertRemotePrefix(prefix);
    return this.run('listing', undefined, async (client) => {
      const now = Date.now();
      const files: RemoteFile[] = [];
      const walk = async (relativeFolder: string): Promise<void> => {
        let entries;
        try {
          entries = await client.list(joinRemote(this.base, relativeFolder));
        } catch (error) {
          if (isMissing(error)) return;
          throw error;
        }
        for (const entry of entries) {
          if (entry.name === '.' || entry.name === '..') continue;
          const relative = relativeFolder ? `${relativeFolder}/${entry.name}` : entry.name;
          if (entry.type === FileType.Directory) {
            if (relative.startsWith(prefix) || prefix.startsWith(`${relative}/`)) await walk(relative);
          } else if (entry.type === FileType.File && relative.startsWith(prefix)) {
            const modifiedMs = entry.modifiedAt?.getTime() ?? parseUnixListDate(entry.rawModifiedAt, now);
            files.push({ name: relative, size: entry.size, ...(modifiedMs !== undefined ? { modifiedMs } : {}) });
          }
        }
      };
      await walk(folderOfPrefix(prefix));
      return files.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  async stat(remoteName: string): Promise<RemoteFile | undefined> {
    assertRemoteName(remoteName);
    return this.run(`stat of ${remoteName}`, undefined, async (client) => {
      const path = joinRemote(this.base, remoteName);
      let size: number;
      try {
        size = await client.size(path);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      // Some servers answer SIZE for a folder too; a folder is what CWD can enter.
      const isFolder = await client.cd(path).then(
        () => true,
        () => false,
      );
      if (isFolder) return undefined;
      const modified = await client.lastMod(path).catch(() => undefined);
      return { name: remoteName, size, ...(modified ? { modifiedMs: modified.getTime() } : {}) };
    });
  }

  async remove(remoteName: string): Promise<void> {
    assertRemoteName(remoteName);
    await this.run(`removal of ${remoteName}`, undefined, async (client) => {
      try {
        await client.remove(joinRemote(this.base, remoteName));
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.client?.close();
    this.client = undefined;
  }

  /** One operation at a time on the one connection; a stale reused connection is retried once. */
  private run<T>(what: string, signal: AbortSignal | undefined, operation: (client: Client) => Promise<T>): Promise<T> {
    const attempt = async (): Promise<T> => {
      const reused = this.client !== undefined && !this.client.closed;
      const client = await this.connection();
      const abort = () => client.close();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        if (signal?.aborted) throw new Error('aborted');
        return await operation(client);
      } catch (error) {
        this.knownFolders.clear();
        if (error instanceof BackupTargetError) throw error;
        if (signal?.aborted) {
          this.client = undefined;
          throw new BackupTargetError(this.name, 'aborted', `${what} on ${this.where()} was aborted`);
        }
        if (client.closed) {
          this.client = undefined;
          if (reused) return this.retryOnFreshConnection(what, operation);
        }
        throw this.failure(what, error);
      } finally {
        signal?.removeEventListener('abort', abort);
      }
    };
    const result = this.queue.then(attempt, attempt);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async retryOnFreshConnection<T>(what: string, operation: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connection();
    try {
      return await operation(client);
    } catch (error) {
      if (client.closed) this.client = undefined;
      if (error instanceof BackupTargetError) throw error;
      throw this.failure(what, error);
    }
  }

  private async connection(): Promise<Client> {
    if (this.client && !this.client.closed) return this.client;
    const client = new Client(this.config.timeoutMs ?? 30_000);
    try {
      await client.connect(this.host, this.port);
      if (this.secure) await this.startTls(client);
      await client.sendIgnoringError('OPTS UTF8 ON');
      await client.login(this.user, this.password);
      await client.useDefaultSettings();
      const home = await client.pwd();
      this.base = this.basePath ? joinRemote(home, this.basePath) : home;
    } catch (error) {
      client.close();
      if (error instanceof BackupTargetError) throw error;
      throw this.failure('connection', error);
    }
    this.client = client;
    return client;
  }

  /**
   * Upgrades the control connection and checks the certificate before any credential is sent:
   * CA-trusted and matching the host name, or exactly the pinned one, or anything if `insecure`.
   */
  private async startTls(client: Client): Promise<void> {
    const tlsOptions: ConnectionOptions = {
      host: this.host,
      ...(isIP(this.host) ? {} : { servername: this.host }),
      rejectUnauthorized: false,
    };
    await client.useTLS(tlsOptions);
    const socket = client.ftp.socket as TLSSocket;
    const presented = normalizeCertificateFingerprint(socket.getPeerCertificate()?.fingerprint256 ?? '');
    const readable = presented.match(/../g)?.join(':') ?? 'none';
    if (this.pinned !== undefined) {
      if (presented !== this.pinned) {
        throw new BackupTargetError(
          this.name,
          'tls',
          `refusing to log in to ${this.where()}: the server certificate (SHA-256 ${readable}) is not the pinned one — ` +
            'someone may be intercepting the connection; if the certificate really changed, update certificateSha256',
        );
      }
      return;
    }
    if (this.config.insecure) return;
    if (!socket.authorized) {
      throw new BackupTargetError(
        this.name,
        'tls',
        `refusing to log in to ${this.where()}: the server certificate is not trusted (${String(socket.authorizationError)}). ` +
          `If it is your server's self-signed certificate, pin it with certificateSha256: "${readable}"`,
      );
    }
    // Trusted through the CA store: data connections must be verified the same way.
    client.ftp.tlsOptions = { ...tlsOptions, rejectUnauthorized: true };
  }

  private failure(what: string, error: unknown): BackupTargetError {
    const message = this.scrub(describeError(error));
    let kind: BackupErrorKind = 'unavailable';
    let hint = '';
    if (error instanceof FTPError) {
      if (error.code === 530) {
        kind = 'auth';
        hint = ' — check the user name and password of this target';
      } else if (error.code >= 500) {
        kind = 'rejected';
      }
    } else if (errorCode(error)?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(message)) {
      kind = 'tls';
    }
    return new BackupTargetError(this.name, kind, `${what} on ${this.where()} failed: ${message}${hint}`);
  }

  private where(): string {
    return `${this.secure ? 'ftps' : 'ftp'}://${this.user}@${this.host}:${this.port}/${this.basePath}`;
  }
}
