import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { VoletConfig } from '../config/schema.ts';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { LabelMaskRepository } from '../objects/label-masks.ts';
import type { Db } from '../storage/database.ts';
import type { CameraInfo, HealthAccess, RecordingsAccess, ShutterAccess, VaultAccess } from './access.ts';
import { AuditLog, type AuditAction } from './audit.ts';
import { PasswordHasher, type PasswordStrength } from './auth/password.ts';
import { SessionRepository } from './auth/sessions.ts';
import { SetupCodeGate } from './auth/setup-code.ts';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleLimits } from './auth/throttle.ts';
import { UserRepository, type Grants } from './auth/users.ts';
import { auth, originCheck, requireAdmin, requireSession, requireViewer, who, type WebContext } from './context.ts';
import { ApiError, errorHandler, refuseBadClients, sendError } from './http/errors.ts';
import { LiveHub, type LiveFormat, type LiveVariant } from './live/hub.ts';
import { SocketGateway } from './live/sockets.ts';
import { authRoutes } from './routes/auth.ts';
import { healthRoutes, healthzHandler } from './routes/health.ts';
import { labelMaskRoutes } from './routes/label-masks.ts';
import { cameraRoutes } from './routes/cameras.ts';
import { recordingRoutes } from './routes/recordings.ts';
import { userRoutes } from './routes/users.ts';
import { securityHeaders, staticRoutes } from './static.ts';
import { loadTlsMaterial } from './tls.ts';
import type { LiveTap } from '../restream/tap.ts';

export type { CameraInfo, HealthAccess, RecordingsAccess, ShutterAccess, VaultAccess } from './access.ts';

/** The viewer's repositories, built once by the app from its database and injected. */
export interface WebRepositories {
  users: UserRepository;
  sessions: SessionRepository;
  audit: AuditLog;
}

export function createWebRepositories(db: Db, config: Pick<VoletConfig['web'], 'sessionIdleHours' | 'sessionMaxDays'>): WebRepositories {
  return {
    users: new UserRepository(db),
    sessions: new SessionRepository(db, { idleMs: config.sessionIdleHours * 3_600_000, absoluteMs: config.sessionMaxDays * 86_400_000 }),
    audit: new AuditLog(db),
  };
}

export interface WebDeps {
  config: VoletConfig['web'];
  repositories: WebRepositories;
  bus: EventBus;
  logger: Logger;
  /** Where the generated self-signed certificate and key (0600) are kept. */
  dataDir: string;
  cameras: () => CameraInfo[];
  /** RTSP URL of the camera's main stream to repackage for live view, or undefined when unavailable. */
  liveSource: (camera: string) => string | undefined;
  /** The recorder's live tap of a camera: fMP4 viewers share its connection instead of opening their own. */
  /** Volet's own connection to a camera stream (recorder: main; detector: sub), shared by viewers. */
  liveTap?: (camera: string, variant: LiveVariant) => LiveTap | undefined;
  vault: VaultAccess;
  recordings?: RecordingsAccess;
  shutter?: ShutterAccess;
  /** Per-label masks ("not a dog" here), shared with the camera pipelines that apply them. */
  labelMasks: LabelMaskRepository;
  health: HealthAccess;
  /**
   * More API routers from other modules, either
   * - `(guards) => Router`, mounted at /api: for people; put `guards.session` (and a role guard) in
   *   front of every route (e.g. notifications' /api/notifications/...);
   * - `{ path: '/api/…', router }`, mounted at that path as is: for devices that authenticate each
   *   request themselves (e.g. the privacy module's bearer-token /api/privacy endpoints). They come
   *   before the 64 KB JSON body parser: each checks its token first, then parses its own body.
   * The origin check applies to both.
   */
  apiRoutes?: (((guards: RouteGuards) => Router) | ApiMount)[];
  /** Tests only: cheaper Argon2id and other throttle limits. Production uses the defaults. */
  security?: { passwordStrength?: PasswordStrength; throttle?: Partial<ThrottleLimits> };
}

/** A router that authenticates its own requests (tokens, not sessions), mounted at `path`. */
export interface ApiMount {
  path: `/api/${string}`;
  router: Router;
}

/** Middleware and helpers for routes other modules add under /api. */
export interface RouteGuards {
  /** A signed-in session; on POST/PUT/PATCH/DELETE also the X-CSRF-Token. 401/403 otherwise. */
  session: RequestHandler;
  /** After `session`: administrators only. */
  admin: RequestHandler;
  /** After `session`: administrators and anyone with the `recordings` right on at least one camera (check the camera with hasRight). */
  viewer: RequestHandler;
  /** After `session`: who is asking. */
  user(res: Response): { username: string; admin: boolean; grants: Grants };
  audit(action: AuditAction, req: Request, res: Response, target?: string, detail?: Record<string, unknown>): void;
}

export interface WebServer {
  url: string;
  /** SHA-256 fingerprint of the served certificate (HTTPS only). */
  fingerprint?: string;
  /** Ends a camera's live view now (its sockets close with 4403), e.g. when its shutter closes. */
  stopLive(camera: string): void;
  /** Live-view streams running now (one ffmpeg each), for status pages and tests. */
  liveStreams(): { camera: string; format: LiveFormat; variant: LiveVariant; watchers: number }[];
  close(): Promise<void>;
}

/** The local web viewer: REST API, live-view WebSockets and the installable browser app. */
export async function createWebServer(deps: WebDeps): Promise<WebServer> {
  const { config, logger } = deps;
  const throttleLimits = { ...DEFAULT_THROTTLE, ...deps.security?.throttle };
  const { users, sessions, audit } = deps.repositories;
  const ctx: WebContext = {
    bus: deps.bus,
    logger,
    users,
    sessions,
    audit,
    throttle: new LoginThrottle(throttleLimits),
    vaultThrottle: new LoginThrottle(throttleLimits),
    // libsodium's INTERACTIVE limits (64 MiB, 2 passes) for sign-in: 5 logins at once stay under 1 s on
    // 2 cores. The vault passphrase, which guards footage against offline guessing, keeps MODERATE.
    hasher: new PasswordHasher(deps.security?.passwordStrength ?? 'interactive'),
    hub: new LiveHub({ lingerMs: config.liveLingerSeconds * 1000, logger, tap: deps.liveTap }),
    cameras: deps.cameras,
    liveSource: deps.liveSource,
    vault: deps.vault,
    recordings: deps.recordings,
    shutter: deps.shutter,
    labelMasks: deps.labelMasks,
    secureCookies: config.https,
    cookieName: config.https ? '__Host-volet_session' : 'volet_session',
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(securityHeaders);
  app.get('/healthz', healthzHandler(deps.health, logger));
  const setupCode = await SetupCodeGate.open(deps.dataDir, ctx.users.count() === 0, logger);

  const api = express.Router();
  api.use(originCheck);
  for (const mount of deps.apiRoutes ?? []) {
    if (typeof mount === 'function') continue;
    if (!/^\/api\/[a-z0-9/_-]+$/.test(mount.path)) throw new Error(`apiRoutes: ${mount.path} must be a path under /api/`);
    api.use(mount.path.slice('/api'.length), mount.router);
  }
  api.use(express.json({ limit: '64kb' }));
  api.use(authRoutes(ctx, setupCode));
  api.use(healthRoutes(ctx, deps.health));
  api.use(userRoutes(ctx));
  api.use(cameraRoutes(ctx));
  api.use(recordingRoutes(ctx));
  api.use(labelMaskRoutes(ctx));
  const guards: RouteGuards = {
    session: requireSession(ctx),
    admin: requireAdmin,
    viewer: requireViewer,
    user: (res) => {
      const { user } = auth(res);
      return { username: user.username, admin: user.admin, grants: user.grants };
    },
    audit: (action, req, res, target, detail) => ctx.audit.record(action, who(req, res), target, detail),
  };
  for (const routes of deps.apiRoutes ?? []) if (typeof routes === 'function') api.use(routes(guards));
  api.use((_req, res) => sendError(res, new ApiError(404, 'not_found', 'No such API route.')));
  app.use('/api', api);
  app.use(staticRoutes());
  app.use((_req, res) => sendError(res, new ApiError(404, 'not_found', 'Not found.')));
  app.use(errorHandler(logger));

  let server: Server;
  let fingerprint: string | undefined;
  if (config.https) {
    const tls = await loadTlsMaterial({ cert: config.cert, key: config.key, dataDir: deps.dataDir, logger });
    fingerprint = tls.fingerprint;
    server = createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, app);
  } else {
    server = createHttpServer(app);
  }
  server.headersTimeout = 20_000;
  refuseBadClients(server, logger);
  const gateway = new SocketGateway(ctx);
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const purge = setInterval(() => sessions.purgeExpired(), 3_600_000);
  purge.unref();

  const { port } = server.address() as AddressInfo;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `${config.https ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, https: config.https, fingerprint }, 'web viewer listening');

  return {
    url,
    fingerprint,
    liveStreams: () => ctx.hub.streams(),
    stopLive: (camera) => ctx.hub.stopCamera(camera, 'privacy shutter closed'),
    async close() {
      clearInterval(purge);
      gateway.close();
      ctx.hub.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
