import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseCookie, stringifySetCookie } from 'cookie';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { EventBus } from '../events/bus.ts';
import type { Logger } from '../log/logger.ts';
import type { LabelMaskRepository } from '../objects/label-masks.ts';
import type { CameraInfo, RecordingsAccess, ShutterAccess, VaultAccess } from './access.ts';
import type { AuditLog } from './audit.ts';
import type { PasswordHasher } from './auth/password.ts';
import type { Session, SessionRepository } from './auth/sessions.ts';
import type { LoginThrottle } from './auth/throttle.ts';
import { hasRightAnywhere, type Right, type User, type UserRepository } from './auth/users.ts';
import { ApiError, forbidden, unauthenticated } from './http/errors.ts';
import type { LiveHub } from './live/hub.ts';

/** Everything a route needs, built once by createWebServer. */
export interface WebContext {
  bus: EventBus;
  logger: Logger;
  users: UserRepository;
  sessions: SessionRepository;
  audit: AuditLog;
  throttle: LoginThrottle;
  /** Separate counter for vault passphrase guesses. */
  vaultThrottle: LoginThrottle;
  hasher: PasswordHasher;
  hub: LiveHub;
  cameras: () => CameraInfo[];
  liveSource: (camera: string) => string | undefined;
  vault: VaultAccess;
  recordings?: RecordingsAccess;
  shutter?: ShutterAccess;
  /** Per-label masks; the same instance the camera pipelines read, so a change applies at once. */
  labelMasks: LabelMaskRepository;
  secureCookies: boolean;
  cookieName: string;
}

export interface Auth {
  session: Session;
  user: User;
}

export function auth(res: Response): Auth {
  const a = res.locals.auth as Auth | undefined;
  if (!a) throw unauthenticated();
  return a;
}

/** A cookie's value; a malformed header or value never throws (an undecodable value is kept as sent). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  return parseCookie(header)[name];
}

/** The session and user behind a request's cookie, for HTTP and for WebSocket upgrades alike. */
export function authenticate(ctx: WebContext, req: IncomingMessage): Auth | undefined {
  const session = ctx.sessions.resolve(readCookie(req.headers.cookie, ctx.cookieName));
  if (!session) return undefined;
  const user = ctx.users.byId(session.userId);
  if (!user) return undefined;
  return { session, user };
}

export function sessionCookie(ctx: WebContext, id: string, maxAgeMs: number): string {
  return stringifySetCookie(ctx.cookieName, id, { path: '/', httpOnly: true, sameSite: 'strict', maxAge: Math.floor(maxAgeMs / 1000), secure: ctx.secureCookies });
}

export function clearedCookie(ctx: WebContext): string {
  return stringifySetCookie(ctx.cookieName, '', { path: '/', httpOnly: true, sameSite: 'strict', maxAge: 0, secure: ctx.secureCookies });
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A browser always names the page that caused a request in Origin (or Sec-Fetch-Site): anything
 * from another site is refused, before any cookie or body is looked at.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export const originCheck: RequestHandler = (req, _res, next) => {
  if (!SAFE_METHODS.has(req.method) && !sameOrigin(req)) {
    return next(new ApiError(403, 'bad_origin', 'Request from another site refused.'));
  }
  next();
};

/** Requires a live session; state-changing requests also need the session's CSRF token in X-CSRF-Token. */
export function requireSession(ctx: WebContext): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const a = authenticate(ctx, req);
    if (!a) return next(unauthenticated());
    if (!SAFE_METHODS.has(req.method)) {
      const sent = req.get('x-csrf-token') ?? '';
      const expected = Buffer.from(a.session.csrfToken);
      const given = Buffer.from(sent);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return next(new ApiError(403, 'csrf', 'Missing or wrong X-CSRF-Token; reload the page.'));
      }
    }
    res.locals.auth = a;
    next();
  };
}

export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (!auth(res).user.admin) return next(forbidden('Only an administrator may do this.'));
  next();
};

/** Admins and anyone holding one of `rights` on at least one camera (each route then checks its camera). */
export const requireRight =
  (...rights: Right[]): RequestHandler =>
  (_req, res, next) => {
    if (!rights.some((right) => hasRightAnywhere(auth(res).user, right))) {
      return next(forbidden(`Your account has no ${rights.join(' or ')} right on any camera.`));
    }
    next();
  };

/** Admins and anyone who may see recordings of at least one camera. */
export const requireViewer = requireRight('recordings');

export function who(req: Request, res: Response): { actor: string | null; ip: string | null } {
  const a = res.locals.auth as Auth | undefined;
  return { actor: a?.user.username ?? null, ip: req.ip ?? null };
}
