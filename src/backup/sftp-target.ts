import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { downloadAtomically, openUploadStream } from './local-file.ts';
import { assertRemoteName, assertRemotePrefix, folderOfPrefix, joinRemote, partNameOf } from './remote-name.ts';
import { describeError, secretScrubber, type Scrubber } from './scrub.ts';
import { hostKeyIdentity, normalizeHostKeySha256, type HostKeyIdentity } from './ssh-host-key.ts';
import { BackupTargetError, type BackupErrorKind, type BackupTarget, type PutOptions, type RemoteFile } from './target.ts';

export interface SftpTargetConfig {
  /** sftp://user@host:port/base/dir — an absolute path; /~/dir is relative to the login folder. */
  readonly url: string;
  readonly password?: string;
  readonly privateKeyPath?: string;
  readonly passphrase?: string;
  /** The server's host key, "SHA256:…" as OpenSSH prints it. Required: without it nothing connects. */
  readonly hostKeySha256?: string;
  readonly connectTimeoutMs?: number;
}

/** SFTP with a pinned host key; one SSH connection, reopened when it drops. */
export class SftpTarget implements BackupTarget {
  private readonly host: string;
  private readonly port: number;
  private readonly username: string;
  private readonly password: string | undefined;
  private readonly basePath: string;
  private readonly pinned: string | undefined;
  private readonly scrub: Scrubber;
  private client: SftpClient | undefined;
  private connected = false;
  private connecting: Promise<SftpClient> | undefined;
  private base: string | undefined;
  private readonly knownFolders = new Set<string>();

  constructor(
    readonly name: string,
    private readonly config: SftpTargetConfig,
  ) {
    const url = new URL(config.url);
    if (url.protocol !== 'sftp:') throw new BackupTargetError(name, 'rejected', `expected an sftp:// URL, got ${url.protocol}`);
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port ? Number(url.port) : 22;
    this.username = decodeURIComponent(url.username);
    this.password = config.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    this.basePath = decodeURIComponent(url.pathname) || '/';
    this.pinned = config.hostKeySha256 ? normalizeHostKeySha256(config.hostKeySha256) : undefined;
    this.scrub = secretScrubber([this.password, config.passphrase, url.password]);
    if (!this.username) throw new BackupTargetError(name, 'rejected', 'the sftp:// URL needs a user name (sftp://user@host/dir)');
  }

  async put(remoteName: string, localPath: string, options: PutOptions = {}): Promise<void> {
    assertRemoteName(remoteName);
    await this.withConnection(`upload of ${remoteName}`, async (client, base) => {
      const finalPath = joinRemote(base, remoteName);
      const partPath = partNameOf(finalPath);
      await this.ensureFolder(client, posix.dirname(finalPath));
      const source = openUploadStream(localPath, options);
      try {
        await client.put(source, partPath);
      } catch (error) {
        if (options.signal?.aborted) throw new BackupTargetError(this.name, 'aborted', `upload of ${remoteName} was aborted`);
        throw error;
      } finally {
        source.destroy();
      }
      await this.renameIntoPlace(client, partPath, finalPath);
    });
  }

  async get(remoteName: string, localPath: string): Promise<void> {
    assertRemoteName(remoteName);
    await this.withConnection(`download of ${remoteName}`, async (client, base) => {
      await downloadAtomically(localPath, async (destination) => {
        await client.get(joinRemote(base, remoteName), destination);
      });
    });
  }

  async list(prefix = ''): Promise<RemoteFile[]> {
    assertRemotePrefix(prefix);
    return this.withConnection('listing', async (client, base) => {
      const files: RemoteFile[] = [];
      const walk = async (relativeFolder: string): Promise<void> => {
        const folder = joinRemote(base, relativeFolder);
        if ((await client.exists(folder)) !== 'd') return;
        for (const entry of await client.list(folder)) {
          const relative = relativeFolder ? `${relativeFolder}/${entry.name}` : entry.name;
          if (entry.type === 'd') {
            if (relative.startsWith(prefix) || prefix.startsWith(`${relative}/`)) await walk(relative);
          } else if (entry.type === '-' && relative.startsWith(prefix)) {
            files.push({ name: relative, size: entry.size, modifiedMs: entry.modifyTime });
          }
        }
      };
      await walk(folderOfPrefix(prefix));
      return files.sort((a, b) => a.name.localeCompare(b.name));
    });
  }

  async stat(remoteName: string): Promise<RemoteFile | undefined> {
    assertRemoteName(remoteName);
    return this.withConnection(`stat of ${remoteName}`, async (client, base) => {
      try {
        const info = await client.stat(joinRemote(base, remoteName));
        return info.isFile ? { name: remoteName, size: info.size, modifiedMs: info.modifyTime } : undefined;
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT') return undefined;
        throw error;
      }
    });
  }

  async remove(remoteName: string): Promise<void> {
    assertRemoteName(remoteName);
    await this.withConnection(`removal of ${remoteName}`, async (client, base) => {
      await client.delete(joinRemote(base, remoteName), true);
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    if (client) await client.end().catch(() => undefined);
  }

  private async withConnection<T>(what: string, operation: (client: SftpClient, base: string) => Promise<T>): Promise<T> {
    const client = await this.connection();
    try {
      return await operation(client, this.base ?? '/');
    } catch (error) {
      this.knownFolders.clear();
      if (error instanceof BackupTargetError) throw error;
      const lost = !this.connected;
      if (lost) await this.close();
      throw new BackupTargetError(
        this.name,
        lost ? 'unavailable' : 'rejected',
        `${what} on ${this.where()} failed: ${this.scrub(describeError(error))}`,
      );
    }
  }

  private connection(): Promise<SftpClient> {
    if (this.client && this.connected) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<SftpClient> {
    await this.close();
    const markLost = () => {
      this.connected = false;
    };
    const client = new SftpClient(this.name, { error: markLost, end: markLost, close: markLost });
    let presented: HostKeyIdentity | undefined;
    let privateKey: Buffer | undefined;
    if (this.config.privateKeyPath) {
      try {
        privateKey = await readFile(this.config.privateKeyPath);
      } catch (error) {
        throw new BackupTargetError(this.name, 'auth', `cannot read private key ${this.config.privateKeyPath}: ${describeError(error)}`);
      }
    }
    try {
      await client.connect({
        host: this.host,
        port: this.port,
        username: this.username,
        password: this.password,
        privateKey,
        passphrase: this.config.passphrase,
        readyTimeout: this.config.connectTimeoutMs ?? 20_000,
        keepaliveInterval: 30_000,
        hostVerifier: (key: Buffer) => {
          presented = hostKeyIdentity(key);
          return this.pinned !== undefined && presented.sha256 === this.pinned;
        },
      });
    } catch (error) {
      await client.end().catch(() => undefined);
      throw this.connectFailure(error, presented);
    }
    this.client = client;
    this.connected = true;
    this.base = await this.resolveBase(client);
    return client;
  }

  private connectFailure(error: unknown, presented: HostKeyIdentity | undefined): BackupTargetError {
    if (presented && this.pinned === undefined) {
      return new BackupTargetError(
        this.name,
        'host-key',
        `refusing to connect to ${this.where()}: no host key is pinned. The server presented a ${presented.type} key ` +
          `with fingerprint SHA256:${presented.sha256}. If that is your server (compare with ssh-keygen -lf on it), ` +
          `set hostKeySha256: "SHA256:${presented.sha256}" for this target.`,
      );
    }
    if (presented && presented.sha256 !== this.pinned) {
      return new BackupTargetError(
        this.name,
        'host-key',
        `refusing to connect to ${this.where()}: host key mismatch. Expected SHA256:${this.pinned}, ` +
          `the server presented a ${presented.type} key SHA256:${presented.sha256}. Someone may be intercepting ` +
          `the connection; if the server's key really changed, update hostKeySha256.`,
      );
    }
    const message = this.scrub(describeError(error));
    let kind: BackupErrorKind = 'unavailable';
    let hint = '';
    if (/authentication methods failed/i.test(message)) {
      kind = 'auth';
      hint = ` — check the user name and ${this.config.privateKeyPath ? 'private key' : 'password'} of this target`;
    }
    return new BackupTargetError(this.name, kind, `cannot connect to ${this.where()} as ${this.username}: ${message}${hint}`);
  }

  private async resolveBase(client: SftpClient): Promise<string> {
    if (this.basePath === '/~' || this.basePath.startsWith('/~/')) {
      const home = await client.cwd();
      return joinRemote(home, this.basePath.slice(3));
    }
    return this.basePath.replace(/\/+$/, '') || '/';
  }

  private async ensureFolder(client: SftpClient, folder: string): Promise<void> {
    if (folder === '/' || this.knownFolders.has(folder)) return;
    const exists = await client.exists(folder);
    if (exists !== 'd') await client.mkdir(folder, true);
    this.knownFolders.add(folder);
  }

  private async renameIntoPlace(client: SftpClient, partPath: string, finalPath: string): Promise<void> {
    const extensions = (client as unknown as { sftp?: { _extensions?: Record<string, string> } }).sftp?._extensions;
    if (extensions?.['posix-rename@openssh.com']) {
      await client.posixRename(partPath, finalPath);
      return;
    }
    // Plain SFTP v3 rename refuses to replace an existing file.
    if (await client.exists(finalPath)) await client.delete(finalPath);
    await client.rename(partPath, finalPath);
  }

  private where(): string {
    return `sftp://${this.username}@${this.host}:${this.port}${this.basePath}`;
  }
}
