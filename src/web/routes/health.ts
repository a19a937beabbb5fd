import { Router, type RequestHandler } from 'express';
import type { Logger } from '../../log/logger.ts';
import type { HealthAccess } from '../access.ts';
import { rightsOn } from '../auth/users.ts';
import { auth, requireSession, type WebContext } from '../context.ts';

/** Public: only `up` (200) or `degraded` (503), nothing an outsider could use. */
export function healthzHandler(health: HealthAccess, logger: Logger): RequestHandler {
  return async (_req, res) => {
    let status: 'up' | 'degraded' = 'degraded';
    try {
      status = (await health.report()).status;
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'health check failed');
    }
    res.setHeader('Cache-Control', 'no-store');
    res.status(status === 'up' ? 200 : 503).json({ status });
  };
}

/** GET /api/health: any signed-in user, for the cameras they may watch; box-level detail for administrators. */
export function healthRoutes(ctx: WebContext, health: HealthAccess): Router {
  return Router().get('/health', requireSession(ctx), async (_req, res) => {
    const { user } = auth(res);
    const report = await health.report();
    const cameras = report.cameras.filter((c) => rightsOn(user, c.name).length > 0);
    const visible = new Set(cameras.map((c) => c.name));
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      status: report.status,
      checkedAt: report.checkedAt,
      problems: report.problems
        .filter((p) => (p.camera === undefined ? user.admin : visible.has(p.camera)))
        .map((p) => ({ code: p.code, camera: p.camera ?? null, message: p.message })),
      cameras: cameras.map((c) => ({
        name: c.name,
        shutter: c.shutter,
        recordMode: c.recordMode,
        streaming: c.streaming,
        recording: c.recording,
        recordingAgeSeconds: c.recordingAgeSeconds,
        sealedAgeSeconds: c.sealedAgeSeconds,
      })),
      vault: { initialised: report.vault.initialised, unlocked: report.vault.unlocked },
      ...(user.admin ? { disk: report.disk, index: report.index, eventLoop: report.eventLoop, ...(report.mqtt ? { mqtt: report.mqtt } : {}) } : {}),
    });
  });
}
