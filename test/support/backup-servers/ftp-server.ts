/**
 * ftp-srv on 127.0.0.1 for tests: a random control port, passive ports on loopback, a temp root,
 * one user with a password, and optionally explicit TLS (AUTH TLS) with a self-signed certificate.
 */
import { X509Certificate } from 'node:crypto';
import type { Server as NetServer, Socket } from 'node:net';
import { FtpSrv } from 'ftp-srv';
import { generate } from 'selfsigned';
import { freePort } from './ports.ts';

export interface FtpTestServerOptions {
  root: string;
  username: string;
  password: string;
  tls?: boolean;
  /** Address for the control and passive data connections, default 127.0.0.1. */
  host?: string;
}

export interface FtpTestServer {
  readonly port: number;
  /** SHA-256 of the self-signed certificate ("AB:CD:…"), when TLS is on. */
  readonly certificateSha256: string | undefined;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

const silentLog = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  fatal: () => undefined,
  child() {
    return silentLog;
  },
};

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

export async function startFtpServer(options: FtpTestServerOptions): Promise<FtpTestServer> {
  const host = options.host ?? '127.0.0.1';
  const port = await freePort(host);
  const pasvMin = 20_000 + Math.floor(Math.random() * 400) * 100;
  let tls: { key: string; cert: string } | undefined;
  let certificateSha256: string | undefined;
  if (options.tls) {
    const pems = await generate([{ name: 'commonName', value: 'volet-test-ftp' }], { keySize: 2048, algorithm: 'sha256' });
    tls = { key: pems.private, cert: pems.cert };
    certificateSha256 = new X509Certificate(pems.cert).fingerprint256;
  }

  let server: FtpSrv;
  const sockets = new Set<Socket>();
  let ownSignalListeners: Array<[string, (...args: unknown[]) => void]> = [];
  const listen = async () => {
    const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
    server = new FtpSrv({
      url: `ftp://${host}:${port}`,
      pasv_url: host,
      pasv_min: pasvMin,
      pasv_max: pasvMin + 99,
      anonymous: false,
      greeting: 'volet test ftp',
      tls: tls ?? false,
      log: silentLog,
    });
    // ftp-srv installs process-wide signal handlers that exit the process; tests do not want them.
    ownSignalListeners = SIGNALS.flatMap((signal) =>
      process
        .listeners(signal)
        .filter((listener) => !before.get(signal)?.has(listener))
        .map((listener) => [signal, listener] as [string, (...args: unknown[]) => void]),
    );
    for (const [signal, listener] of ownSignalListeners) process.off(signal, listener);
    // Every socket, so stop() can drop them all: ftp-srv's close() only drops the connections it
    // knew when it started closing, and waits forever for one that arrived just after.
    const listener = (server as unknown as { server: NetServer }).server;
    listener.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    server.on('login', ({ username, password }, resolve, reject) => {
      if (username === options.username && password === options.password) resolve({ root: options.root });
      else reject(new Error('Login incorrect'));
    });
    const events = server as unknown as NodeJS.EventEmitter;
    events.on('client-error', () => undefined);
    events.on('server-error', () => undefined);
    await server.listen();
  };

  await listen();
  return {
    port,
    certificateSha256,
    async stop() {
      const listener = (server as unknown as { server: NetServer }).server;
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await server.close().catch(() => undefined);
    },
    restart: listen,
  };
}
