/**
 * An in-process SFTP server for tests: ssh2's Server with a fresh ed25519 host key, password
 * authentication, and the SFTP v3 operations ssh2-sftp-client uses, served from a temp folder.
 * Like OpenSSH's sftp-server, RENAME refuses to replace an existing file.
 */
import { close, fstat, lstat, mkdir, open, read, readdir, rename, rmdir, stat, statSync, unlink, write, type Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, Connection, SFTPWrapper } from 'ssh2';
import { hostKeyIdentity } from '../../../src/backup/ssh-host-key.ts';

const { Server, utils } = ssh2;
const { STATUS_CODE } = utils.sftp;

export interface SftpTestServerOptions {
  root: string;
  username: string;
  password: string;
  /** An OpenSSH public key ("ssh-ed25519 AAAA…") also allowed to log in as `username`. */
  authorizedKey?: string;
  port?: number;
}

export interface SftpTestServer {
  readonly port: number;
  /** "SHA256:…" fingerprint of the host key, as OpenSSH prints it. */
  readonly hostKeySha256: string;
  /** Drops every connection and stops listening (a crashed or rebooted server). */
  stop(): Promise<void>;
  /** Listens again on the same port with the same host key. */
  restart(): Promise<void>;
}

type OpenHandle = { kind: 'file'; fd: number } | { kind: 'dir'; path: string; done: boolean };

function statusFor(error: NodeJS.ErrnoException): number {
  if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return STATUS_CODE.NO_SUCH_FILE;
  if (error.code === 'EACCES' || error.code === 'EPERM') return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

function attributesOf(info: Stats): Attributes {
  return {
    mode: info.mode,
    uid: info.uid,
    gid: info.gid,
    size: info.size,
    atime: Math.floor(info.atimeMs / 1000),
    mtime: Math.floor(info.mtimeMs / 1000),
  };
}

function longnameOf(name: string, info: Stats): string {
  const type = info.isDirectory() ? 'd' : '-';
  return `${type}rw-r--r--    1 volet    volet    ${String(info.size).padStart(10)} Jan  1 00:00 ${name}`;
}

function serveSftp(sftp: SFTPWrapper, root: string): void {
  const handles = new Map<number, OpenHandle>();
  let nextHandle = 1;
  const realPathOf = (path: string) => join(root, posix.normalize(`/${path}`));
  const newHandle = (handle: OpenHandle): Buffer => {
    const id = nextHandle++;
    handles.set(id, handle);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const handleOf = (buffer: Buffer) => (buffer.length === 4 ? handles.get(buffer.readUInt32BE(0)) : undefined);
  const reply = (reqId: number) => (error: NodeJS.ErrnoException | null) =>
    error ? sftp.status(reqId, statusFor(error)) : sftp.status(reqId, STATUS_CODE.OK);

  sftp.on('OPEN', (reqId, filename, flags) => {
    const mode = utils.sftp.flagsToString(flags);
    if (!mode) return sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED);
    open(realPathOf(filename), mode, 0o644, (error, fd) => {
      if (error) return sftp.status(reqId, statusFor(error));
      sftp.handle(reqId, newHandle({ kind: 'file', fd }));
    });
  });
  sftp.on('READ', (reqId, handleBuffer, offset, length) => {
    const handle = handleOf(handleBuffer);
    if (handle?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE);
    const buffer = Buffer.alloc(length);
    read(handle.fd, buffer, 0, length, offset, (error, bytesRead) => {
      if (error) return sftp.status(reqId, statusFor(error));
      if (bytesRead === 0) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, buffer.subarray(0, bytesRead));
    });
  });
  sftp.on('WRITE', (reqId, handleBuffer, offset, data) => {
    const handle = handleOf(handleBuffer);
    if (handle?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE);
    write(handle.fd, data, 0, data.length, offset, (error) => reply(reqId)(error));
  });
  sftp.on('FSTAT', (reqId, handleBuffer) => {
    const handle = handleOf(handleBuffer);
    if (handle?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE);
    fstat(handle.fd, (error, info) => (error ? sftp.status(reqId, statusFor(error)) : sftp.attrs(reqId, attributesOf(info))));
  });
  sftp.on('FSETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
  sftp.on('SETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
  sftp.on('CLOSE', (reqId, handleBuffer) => {
    const handle = handleOf(handleBuffer);
    if (!handle) return sftp.status(reqId, STATUS_CODE.FAILURE);
    handles.delete(handleBuffer.readUInt32BE(0));
    if (handle.kind === 'file') close(handle.fd, (error) => reply(reqId)(error));
    else sftp.status(reqId, STATUS_CODE.OK);
  });
  for (const event of ['STAT', 'LSTAT'] as const) {
    sftp.on(event, (reqId: number, path: string) => {
      (event === 'STAT' ? stat : lstat)(realPathOf(path), (error, info) =>
        error ? sftp.status(reqId, statusFor(error)) : sftp.attrs(reqId, attributesOf(info)),
      );
    });
  }
  sftp.on('OPENDIR', (reqId, path) => {
    stat(realPathOf(path), (error, info) => {
      if (error) return sftp.status(reqId, statusFor(error));
      if (!info.isDirectory()) return sftp.status(reqId, STATUS_CODE.FAILURE);
      sftp.handle(reqId, newHandle({ kind: 'dir', path: realPathOf(path), done: false }));
    });
  });
  sftp.on('READDIR', (reqId, handleBuffer) => {
    const handle = handleOf(handleBuffer);
    if (handle?.kind !== 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE);
    if (handle.done) return sftp.status(reqId, STATUS_CODE.EOF);
    handle.done = true;
    readdir(handle.path, (error, names) => {
      if (error) return sftp.status(reqId, statusFor(error));
      const entries = names.flatMap((name) => {
        try {
          const info = statSyncSafe(join(handle.path, name));
          return info ? [{ filename: name, longname: longnameOf(name, info), attrs: attributesOf(info) }] : [];
        } catch {
          return [];
        }
      });
      if (entries.length === 0) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.name(reqId, entries);
    });
  });
  sftp.on('REMOVE', (reqId, path) => unlink(realPathOf(path), reply(reqId)));
  sftp.on('RMDIR', (reqId, path) => rmdir(realPathOf(path), reply(reqId)));
  sftp.on('MKDIR', (reqId, path) => mkdir(realPathOf(path), reply(reqId)));
  sftp.on('RENAME', (reqId, oldPath, newPath) => {
    const target = realPathOf(newPath);
    stat(target, (missing) => {
      if (!missing) return sftp.status(reqId, STATUS_CODE.FAILURE, 'destination exists');
      rename(realPathOf(oldPath), target, reply(reqId));
    });
  });
  sftp.on('REALPATH', (reqId, path) => {
    const normalized = posix.normalize(`/${path}`);
    sftp.name(reqId, [{ filename: normalized, longname: normalized, attrs: {} as Attributes }]);
  });
  sftp.on('READLINK', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  sftp.on('SYMLINK', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  sftp.on('close', () => {
    for (const handle of handles.values()) if (handle.kind === 'file') close(handle.fd, () => undefined);
    handles.clear();
  });
}

function statSyncSafe(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

export async function startSftpServer(options: SftpTestServerOptions): Promise<SftpTestServer> {
  const keys = utils.generateKeyPairSync('ed25519');
  const parsed = utils.parseKey(keys.public);
  if (parsed instanceof Error) throw parsed;
  const hostKeySha256 = `SHA256:${hostKeyIdentity(parsed.getPublicSSH()).sha256}`;
  const connections = new Set<Connection>();
  const parsedAuthorized = options.authorizedKey ? utils.parseKey(options.authorizedKey) : undefined;
  if (parsedAuthorized instanceof Error) throw parsedAuthorized;
  const authorized = parsedAuthorized;
  let server: InstanceType<typeof Server>;
  let port = options.port ?? 0;

  const listen = async () => {
    server = new Server({ hostKeys: [keys.private] }, (client) => {
      connections.add(client);
      client.on('error', () => undefined);
      client.on('close', () => connections.delete(client));
      const methods: Array<'password' | 'publickey'> = authorized ? ['publickey', 'password'] : ['password'];
      client.on('authentication', (context) => {
        if (context.username !== options.username) return context.reject(methods);
        if (context.method === 'password' && context.password === options.password) return context.accept();
        if (context.method === 'publickey' && authorized) {
          const sameKey = context.key.algo === authorized.type && context.key.data.equals(authorized.getPublicSSH());
          if (!sameKey) return context.reject(methods);
          // Without a signature the client only asks whether this key would do.
          if (!context.signature || !context.blob) return context.accept();
          if (authorized.verify(context.blob, context.signature, context.hashAlgo)) return context.accept();
        }
        context.reject(methods);
      });
      client.on('ready', () => {
        client.on('session', (acceptSession) => {
          const session = acceptSession();
          session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), options.root));
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    port = (server.address() as AddressInfo).port;
  };

  await listen();
  return {
    get port() {
      return port;
    },
    hostKeySha256,
    async stop() {
      for (const client of connections) client.end();
      connections.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    restart: listen,
  };
}
