import { EventEmitter } from 'node:events';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { LiveFeed } from './feed.ts';

/**
 * Receives a stream an ffmpeg sends to a unix socket (the detector's sub-stream connection, see
 * decodeToRawFrames' liveSocket) as a LiveFeed. Each ffmpeg run connects anew and replaces the
 * previous connection. The socket lives in a private folder of the RAM cache (0700, socket 0600).
 */
export class SocketFeed extends EventEmitter<{ restart: []; data: [Buffer] }> implements LiveFeed {
  private server?: Server;
  private current?: Socket;

  constructor(readonly path: string) {
    super();
  }

  async listen(): Promise<void> {
    if (this.server) return;
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await rm(this.path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => {});
    this.server = server;
    await chmod(this.path, 0o600);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.current?.destroy();
    this.current = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private accept(socket: Socket): void {
    this.current?.destroy();
    this.current = socket;
    socket.on('error', () => {});
    this.emit('restart');
    socket.on('data', (chunk: Buffer) => {
      if (this.current === socket) this.emit('data', chunk);
    });
  }
}
