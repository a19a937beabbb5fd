import { createHash, timingSafeEqual } from 'node:crypto';
import express, { Router, type Request, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../../log/logger.ts';
import type { PrivacyAudit, ShutterController } from '../../privacy/controller.ts';
import type { PrivacyConfig } from '../../privacy/triggers.ts';
import { DEFAULT_THROTTLE, LoginThrottle, type ThrottleLimits } from '../auth/throttle.ts';
import { ApiError, body } from '../http/errors.ts';

/** What the endpoints need from the controller. */
export type PrivacyEndpoints = Pick<ShutterController, 'reportPresence' | 'setArmed' | 'setTriggered' | 'state' | 'cameras'>;

/** Wrong or missing tokens allowed from one address within the window before it is refused for a while. */
export const DEFAULT_TOKEN_THROTTLE: ThrottleLimits = { ...DEFAULT_THROTTLE, perIp: 10 };

export interface PrivacyRoutesDeps {
  privacy: PrivacyConfig;
  logger: Logger;
  audit?: PrivacyAudit;
  throttle?: Partial<ThrottleLimits>;
  now?: () => number;
}

const presenceBody = z.strictObject({ state: z.enum(['home', 'away']) });
const source = z
  .string()
  .regex(/^[\w .:-]{1,64}$/, 'up to 64 letters, digits, spaces and . : _ -')
  .optional()
  .describe('Names the sensor or panel in the log, e.g. "front door".');
const intrusionBody = z.union([z.strictObject({ armed: z.boolean(), source }), z.strictObject({ trigger: z.boolean(), source })]);

/**
 * The token-authenticated endpoints for devices rather than people, mounted at /api/privacy:
 *
 * - `POST /presence` — `Authorization: Bearer <resident token>`, body `{"state": "home"|"away"}`.
 * - `POST /intrusion` — `Authorization: Bearer <intrusion token>`, body `{"armed": true|false}`
 *   or `{"trigger": true|false}`, each with an optional `"source": "front door"`.
 *
 * The token is checked before any byte of the body is read; bodies are at most 4 KB. Tokens are
 * compared in constant time against every candidate. A missing or wrong token is a 401 (no hint
 * which part was wrong) and an audit row; an address with too many of them gets 429 for a while,
 * whatever it sends.
 */
export function privacyRoutes(controller: PrivacyEndpoints, deps: PrivacyRoutesDeps): Router {
  const throttle = new LoginThrottle({ ...DEFAULT_TOKEN_THROTTLE, ...deps.throttle }, deps.now);
  const residentTokens = Object.entries(deps.privacy.residents).map(([name, r]) => [name, digest(r.token)] as const);
  const intrusionToken = deps.privacy.intrusion.token;
  const intrusionTokens = intrusionToken ? [['intrusion', digest(intrusionToken)] as const] : [];

  const authenticate = (endpoint: string, candidates: ReadonlyArray<readonly [string, Buffer]>): RequestHandler => {
    return (req, res, next) => {
      const ip = req.ip ?? req.socket.remoteAddress ?? '';
      const lockedMs = throttle.lockedFor(ip);
      if (lockedMs > 0) {
        throw new ApiError(429, 'locked_out', 'Too many wrong tokens from this address; try again later.', {
          'Retry-After': String(Math.ceil(lockedMs / 1000)),
        });
      }
      const name = matchToken(bearer(req), candidates);
      if (name === undefined) {
        deps.logger.warn({ ip, endpoint }, 'privacy endpoint: missing or wrong token');
        safely(deps, () => deps.audit?.record('login_failed', { actor: null, ip }, `privacy.${endpoint}`));
        if (throttle.fail(ip).lockedIp) {
          deps.logger.warn({ ip, endpoint }, 'privacy endpoint: address locked out after repeated wrong tokens');
          safely(deps, () => deps.audit?.record('lockout', { actor: null, ip }, `privacy.${endpoint}`));
        }
        throw new ApiError(401, 'unauthenticated', 'Missing or wrong token.', { 'WWW-Authenticate': 'Bearer realm="volet"' });
      }
      res.locals.tokenOwner = name;
      next();
    };
  };

  const router = Router();
  const json = express.json({ limit: '4kb' });

  router.post('/presence', authenticate('presence', residentTokens), json, (req, res) => {
    const resident = res.locals.tokenOwner as string;
    const input = body(presenceBody, req);
    const changed = controller.reportPresence(resident, input.state, 'api');
    res.json({ resident, state: input.state, changed });
  });

  router.post('/intrusion', authenticate('intrusion', intrusionTokens), json, (req, res) => {
    const input = body(intrusionBody, req);
    const by = input.source ? `alarm: ${input.source}` : 'alarm';
    const state = 'armed' in input ? controller.setArmed(input.armed, by) : controller.setTriggered(input.trigger, by);
    if (!state) throw new ApiError(409, 'not_armed', 'The alarm is not armed: the trigger was ignored.');
    const cameras = deps.privacy.intrusion.cameras ?? controller.cameras;
    res.json({
      armed: state.armed,
      triggered: state.triggered,
      cameras: Object.fromEntries(cameras.map((c) => [c, controller.state(c)])),
    });
  });

  return router;
}

function bearer(req: Request): string {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer[ \t]+(\S{1,512})\s*$/i.exec(header);
  return match ? match[1] : '';
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Compares against every candidate, equal-length digests in constant time, whatever matches first. */
function matchToken(given: string, candidates: ReadonlyArray<readonly [string, Buffer]>): string | undefined {
  if (given === '') return undefined;
  const mine = digest(given);
  let found: string | undefined;
  for (const [name, token] of candidates) {
    if (timingSafeEqual(mine, token) && found === undefined) found = name;
  }
  return found;
}

function safely(deps: PrivacyRoutesDeps, run: () => void): void {
  try {
    run();
  } catch (err) {
    deps.logger.error({ err: (err as Error).message }, 'privacy endpoint: audit failed');
  }
}
