/**
 * A real RTSP camera on 127.0.0.1 for Volet's integration tests: it runs
 * `rtsp_server.py` (GStreamer's RTSP server, system python) and serves clips
 * from ./clips.ts as live H.264 streams over RTSP/TCP (UDP also works).
 *
 *   const clip = await personWalkClip();
 *   const camera = await startRtspCamera({ mounts: { '/sub': clip.path }, loop: true });
 *   try {
 *     const url = camera.url('/sub'); // rtsp://127.0.0.1:PORT/sub
 *     ...
 *   } finally {
 *     await camera.stop();
 *   }
 *
 * Like a live camera, each mount's clip starts when its first client
 * connects and then keeps running in real time; later clients join it live,
 * from the next keyframe. Without `loop`, the clip ends the stream once
 * (clients see end of stream and exit normally) and the next client starts
 * it over.
 *
 * The server never outlives the test process: it exits when its stdin pipe
 * closes, and live cameras are killed on process exit.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RtspCameraOptions {
  /** Mount path → clip file (.mkv, .mp4 or .ts with H.264, optional AAC), e.g. { '/main': a, '/sub': b }. */
  mounts: Record<string, string>;
  /** Address to listen on, default 127.0.0.1 (any 127.x.y.z works: all of 127/8 is loopback). */
  host?: string;
  /** TCP port on the host; 0 or absent picks a free one. */
  port?: number;
  /** With `password`, every request needs credentials (401 otherwise). */
  user?: string;
  password?: string;
  /** Which auth schemes the camera offers; default both Basic and Digest. */
  authMethods?: ReadonlyArray<'basic' | 'digest'>;
  /** Loop the clips forever without re-encoding. Default false. */
  loop?: boolean;
  /**
   * Each client stream stops receiving media data this many seconds after its
   * first frame; the RTSP connection and session stay open (a stalled
   * camera). A new connection gets a fresh stream.
   */
  freezeAfterSeconds?: number;
  /** How long to wait for the server to listen. Default 20 s. */
  readyTimeoutMs?: number;
}

export interface RtspCamera {
  /** The TCP port; the same after restart(). */
  readonly port: number;
  /** The server's process id (changes on restart()). */
  readonly pid: number;
  /**
   * `rtsp://127.0.0.1:PORT/mount`; with `withCredentials` (default false) the
   * user and password go in the URL, percent-encoded.
   */
  url(mount: string, withCredentials?: boolean): string;
  /** Kill the server and wait for it to exit. Connected clients see the connection close. */
  stop(): Promise<void>;
  /** stop(), then start again on the same port with the same options. */
  restart(): Promise<void>;
  /** Stop sending media data on every mount, keeping connections and sessions open. */
  freeze(): Promise<void>;
  /** Send media again after freeze(), from the next keyframe. */
  resume(): Promise<void>;
  /** The server's recent stderr log, for failure messages. */
  logs(): string;
}

const here = dirname(fileURLToPath(import.meta.url));
const serverScript = join(here, 'rtsp_server.py');
/** GStreamer's Python bindings come with the system python, not a pyenv one. */
const systemPython = '/usr/bin/python3';

const liveServers = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Belt and braces: the server also exits by itself when its stdin closes.
  process.on('exit', () => {
    for (const child of liveServers) child.kill('SIGKILL');
  });
}

export async function startRtspCamera(options: RtspCameraOptions): Promise<RtspCamera> {
  if ((options.user === undefined) !== (options.password === undefined)) {
    throw new Error('startRtspCamera: give both user and password, or neither');
  }
  const mounts = Object.entries(options.mounts).map(([mount, clip]) => [normalizeMount(mount), clip] as const);
  if (mounts.length === 0) throw new Error('startRtspCamera: at least one mount is needed');
  for (const [mount, clip] of mounts) {
    if (!existsSync(clip)) throw new Error(`startRtspCamera: clip for ${mount} not found: ${clip}`);
  }
  installExitHook();

  let server = await launch(options, mounts, options.port ?? 0);
  const port = server.port;

  const camera: RtspCamera = {
    port,
    get pid() {
      return server.child.pid ?? -1;
    },
    url(mount: string, withCredentials = false): string {
      const auth =
        withCredentials && options.user !== undefined
          ? `${encodeURIComponent(options.user)}:${encodeURIComponent(options.password ?? '')}@`
          : '';
      return `rtsp://${auth}${options.host ?? '127.0.0.1'}:${port}${normalizeMount(mount)}`;
    },
    stop: () => server.stop(),
    async restart() {
      await server.stop();
      // The port was just released; a short retry covers a slow socket close.
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          server = await launch(options, mounts, port);
          return;
        } catch (error) {
          lastError = error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      throw lastError;
    },
    freeze: () => server.command('freeze'),
    resume: () => server.command('resume'),
    logs: () => server.logs(),
  };
  return camera;
}

/** Pipes to a child are sockets; unref lets the test process exit without them. */
function unref(stream: object): void {
  (stream as { unref?: () => void }).unref?.();
}

function normalizeMount(mount: string): string {
  return mount.startsWith('/') ? mount : `/${mount}`;
}

interface RunningServer {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stop(): Promise<void>;
  command(name: string): Promise<void>;
  logs(): string;
}

function launch(
  options: RtspCameraOptions,
  mounts: ReadonlyArray<readonly [string, string]>,
  port: number,
): Promise<RunningServer> {
  const args = [serverScript, '--host', options.host ?? '127.0.0.1', '--port', String(port)];
  for (const [mount, clip] of mounts) args.push('--mount', `${mount}=${clip}`);
  if (options.user !== undefined && options.password !== undefined) {
    args.push('--user', options.user, '--password', options.password);
    if (options.authMethods) args.push('--auth-methods', options.authMethods.join(','));
  }
  if (options.loop) args.push('--loop');
  if (options.freezeAfterSeconds !== undefined) args.push('--freeze-after', String(options.freezeAfterSeconds));

  const child = spawn(systemPython, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  liveServers.add(child);
  let stderr = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.on('exit', () => {
      exited = true;
      liveServers.delete(child);
      resolve();
    });
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20000);
  });
  child.stdin.on('error', () => {}); // EPIPE once the server is gone
  child.stdout.setEncoding('utf8');

  const lineWaiters: Array<{ line: string; resolve: () => void }> = [];
  let stdoutBuffer = '';
  let onReady: ((port: number) => void) | undefined;
  child.stdout.on('data', (chunk: string) => {
    stdoutBuffer += chunk;
    let newline: number;
    while ((newline = stdoutBuffer.indexOf('\n')) >= 0) {
      const line = stdoutBuffer.slice(0, newline).trim();
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
      const ready = /^READY (\d+)$/.exec(line);
      if (ready && onReady) onReady(Number(ready[1]));
      const waiter = lineWaiters.findIndex((w) => w.line === line);
      if (waiter >= 0) lineWaiters.splice(waiter, 1)[0].resolve();
    }
  });

  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exitPromise;
    clearTimeout(escalate);
  };

  const timeoutMs = options.readyTimeoutMs ?? 20000;
  return new Promise<RunningServer>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`RTSP test camera did not become ready within ${timeoutMs} ms.\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${systemPython} ${serverScript}: ${error.message}`));
    });
    void exitPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`RTSP test camera exited before it was ready (exit ${child.exitCode ?? child.signalCode}).\nstderr:\n${stderr}`));
    });
    onReady = (boundPort) => {
      clearTimeout(timer);
      // A forgotten camera must not keep the test process alive.
      child.unref();
      for (const stream of [child.stdin, child.stdout, child.stderr]) unref(stream);
      resolve({
        child,
        port: boundPort,
        stop,
        logs: () => stderr,
        command(name: string) {
          if (exited) return Promise.reject(new Error(`RTSP test camera is not running; cannot ${name}`));
          return new Promise<void>((resolveCommand, rejectCommand) => {
            const ack = setTimeout(() => rejectCommand(new Error(`RTSP test camera did not acknowledge ${name}`)), 5000);
            lineWaiters.push({
              line: `OK ${name}`,
              resolve: () => {
                clearTimeout(ack);
                resolveCommand();
              },
            });
            child.stdin.write(`${name}\n`);
          });
        },
      });
    };
  });
}
