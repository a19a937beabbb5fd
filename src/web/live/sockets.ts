import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ObjectEvent } from '../../events/bus.ts';
import { hasRight, rightsOn } from '../auth/users.ts';
import { authenticate, sameOrigin, type Auth, type WebContext } from '../context.ts';
import { logBadRequest } from '../http/errors.ts';
import type { LiveFormat, LiveVariant, Watcher } from './hub.ts';

const KEEPALIVE_MS = 30_000;

/** The path of a request target, without parsing it as a URL (`//` or `%zz` must not throw). */
function pathOf(req: IncomingMessage): string {
  const target = req.url ?? '/';
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * WebSocket endpoints, authenticated at the upgrade by the session cookie (same-origin only):
 *   /ws/live/:camera   fragmented MP4 for Media Source Extensions (/ws/live/:camera/sub: the sub stream)
 *   /ws/mpeg1/:camera  MPEG-TS with MPEG-1 video for JSMpeg (fallback)
 *   /ws/events         JSON: event:start/update/end and camera:status for the user's cameras
 * Sockets close (4401) the moment their session is revoked or expires.
 */
export class SocketGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  private readonly open = new Map<WebSocket, Auth>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly onRevoked = (hashes: string[]) => {
    const set = new Set(hashes);
    for (const [ws, a] of this.open) if (set.has(a.session.idHash)) ws.close(4401, 'signed out');
  };

  constructor(private readonly ctx: WebContext) {
    // A handshake ws refuses (method, Upgrade, Sec-WebSocket-Key/-Version...): 400 and a log line.
    this.wss.on('wsClientError', (err, socket, req) => {
      logBadRequest(ctx.logger)({ upgrade: true, reason: err.message, method: req.method, path: pathOf(req).slice(0, 200) });
      refuse(socket, 400, 'Bad Request');
    });
    ctx.sessions.on('revoked', this.onRevoked);
    this.sweeper = setInterval(() => this.sweep(), KEEPALIVE_MS);
    this.sweeper.unref();
  }

  /** Never throws: bad input is refused with a 4xx, anything unexpected with a 500 and an error line. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    try {
      this.upgrade(req, socket, head);
    } catch (err) {
      this.ctx.logger.error({ err: (err as Error)?.message, path: pathOf(req).slice(0, 200) }, 'WebSocket upgrade failed');
      if (!socket.destroyed) refuse(socket, 500, 'Internal Server Error');
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = pathOf(req);
    const live = /^\/ws\/(live|mpeg1)\/([a-z0-9_-]{1,32})(\/sub)?$/.exec(path);
    if (!live && path !== '/ws/events') return refuse(socket, 404, 'Not Found');
    if (!sameOrigin(req)) return refuse(socket, 403, 'Forbidden');
    const a = authenticate(this.ctx, req);
    if (!a) return refuse(socket, 401, 'Unauthorized');

    if (live) {
      const camera = live[2];
      if (!this.ctx.cameras().some((c) => c.name === camera)) return refuse(socket, 404, 'Not Found');
      if (!hasRight(a.user, camera, 'live')) return refuse(socket, 403, 'Forbidden');
      if (this.ctx.shutter?.state(camera) === 'closed') return refuse(socket, 409, 'Conflict');
      const source = this.ctx.liveSource(camera);
      if (!source) return refuse(socket, 503, 'Service Unavailable');
      this.accept(req, socket, head, (ws) => this.startLive(ws, a, camera, source, live[1] === 'live' ? 'fmp4' : 'mpeg1', live[3] ? 'sub' : 'main'));
      return;
    }
    this.accept(req, socket, head, (ws) => this.startEvents(ws, a));
  }

  /** Completes the handshake (ws answers a bad key or version with 400 itself), then starts the stream. */
  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, start: (ws: WebSocket) => void): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {}); // bad frames: ws closes the socket with 1002/1009 itself
      try {
        start(ws);
      } catch (err) {
        this.ctx.logger.error({ err: (err as Error)?.message }, 'WebSocket stream could not start');
        ws.close(1011, 'internal error');
      }
    });
  }

  private track(ws: WebSocket, a: Auth, onClose: () => void): void {
    this.open.set(ws, a);
    ws.on('message', () => {}); // clients only send pings; content is ignored
    ws.on('close', () => {
      this.open.delete(ws);
      onClose();
    });
  }

  private startLive(ws: WebSocket, a: Auth, camera: string, url: string, format: LiveFormat, variant: LiveVariant): void {
    const watcher: Watcher = {
      sendText: (m) => ws.readyState === ws.OPEN && ws.send(m),
      sendBinary: (d) => ws.readyState === ws.OPEN && ws.send(d, { binary: true }),
      bufferedAmount: () => ws.bufferedAmount,
      close: (code, reason) => ws.close(code, reason),
    };
    const leave = this.ctx.hub.watch(camera, url, format, watcher, variant);
    this.track(ws, a, leave);
  }

  private startEvents(ws: WebSocket, a: Auth): void {
    const { bus } = this.ctx;
    const send = (message: unknown) => {
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < 1024 * 1024) ws.send(JSON.stringify(message));
    };
    // Status for every camera the user has any right on; detections where they watch live or see recordings.
    const may = (camera: string) => rightsOn(a.user, camera).length > 0;
    const sees = (camera: string) => hasRight(a.user, camera, 'live') || hasRight(a.user, camera, 'recordings');
    const strip = (e: ObjectEvent) => ({ id: e.id, camera: e.camera, label: e.label, score: e.score, start: e.start, end: e.end, zones: e.zones, box: e.box });
    const onStart = (e: ObjectEvent) => sees(e.camera) && send({ type: 'event:start', event: strip(e) });
    const onUpdate = (e: ObjectEvent) => sees(e.camera) && send({ type: 'event:update', event: strip(e) });
    const onEnd = (e: ObjectEvent) => sees(e.camera) && send({ type: 'event:end', event: strip(e) });
    const onStatus = (s: import('../../events/bus.ts').CameraStatus) =>
      may(s.camera) && send({ type: 'camera:status', status: { camera: s.camera, state: s.state, fps: s.fps, lastError: s.lastError ?? null, since: s.since } });
    bus.on('event:start', onStart);
    bus.on('event:update', onUpdate);
    bus.on('event:end', onEnd);
    bus.on('camera:status', onStatus);
    send({ type: 'hello', cameras: this.ctx.cameras().filter((c) => may(c.name)).map((c) => c.name) });
    this.track(ws, a, () => {
      bus.off('event:start', onStart);
      bus.off('event:update', onUpdate);
      bus.off('event:end', onEnd);
      bus.off('camera:status', onStatus);
    });
  }

  /** Keeps sessions of people watching alive, closes sockets whose session ended, pings the rest. */
  private sweep(): void {
    for (const [ws, a] of this.open) {
      if (!this.ctx.sessions.isAlive(a.session.idHash)) {
        ws.close(4401, 'session expired');
        continue;
      }
      this.ctx.sessions.touch(a.session.idHash);
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.ctx.sessions.off('revoked', this.onRevoked);
    for (const ws of this.open.keys()) ws.terminate();
    this.wss.close();
  }
}
