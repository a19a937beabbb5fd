import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { RecordingsAccess } from '../access.ts';
import { hasRight, rightsOn, type Right } from '../auth/users.ts';
import { auth, requireAdmin, requireRight, requireSession, requireViewer, who, type WebContext } from '../context.ts';
import { ApiError, body, cameraPattern, forbidden, idPattern, notFound, pathParam, query } from '../http/errors.ts';
import { sendClip } from '../http/range.ts';

const notAvailable = (what: string) => new ApiError(503, 'not_available', `${what} is not running in this Volet.`);

export function cameraRoutes(ctx: WebContext): Router {
  const router = Router();
  const session = requireSession(ctx);

  const cameraParam = (req: Request, res: Response, right: Right) => {
    const camera = pathParam(req, 'camera', cameraPattern);
    if (!ctx.cameras().some((c) => c.name === camera)) throw notFound(`No camera "${camera}".`);
    if (!hasRight(auth(res).user, camera, right)) throw forbidden(`No ${right} right on camera "${camera}".`);
    return camera;
  };

  // --- cameras ----------------------------------------------------------------------------------

  router.get('/cameras', session, (_req, res) => {
    const user = auth(res).user;
    const cameras = ctx
      .cameras()
      .map((c) => ({ camera: c, rights: rightsOn(user, c.name) }))
      .filter(({ rights }) => rights.length > 0)
      .map(({ camera: c, rights }) => ({
        name: c.name,
        rights,
        // The role of earlier versions, for pages that only ask "may this person see recordings?".
        role: user.admin ? 'admin' : rights.includes('recordings') ? 'viewer' : 'live',
        state: c.status.state,
        fps: Math.round(c.status.fps * 10) / 10,
        lastError: c.status.lastError ?? null,
        since: c.status.since,
        detect: c.detect,
        shutter: ctx.shutter ? ctx.shutter.state(c.name) : null,
        live: rights.includes('live') && ctx.liveSource(c.name) !== undefined,
        liveSub: rights.includes('live') && ctx.hub.hasSubStream(c.name),
      }));
    res.json({ cameras });
  });

  router.put('/cameras/:camera/shutter', session, async (req, res) => {
    const camera = cameraParam(req, res, 'shutter');
    const input = body(z.strictObject({ state: z.enum(['open', 'closed']) }), req);
    if (!ctx.shutter) throw notAvailable('The privacy shutter');
    const before = ctx.shutter.state(camera);
    await ctx.shutter.set(camera, input.state, auth(res).user.username);
    if (input.state === 'closed') ctx.hub.stopCamera(camera, 'privacy shutter closed');
    if (!ctx.shutter.auditsChanges) ctx.audit.record('shutter_changed', who(req, res), camera, { from: before, to: input.state });
    res.json({ camera, shutter: ctx.shutter.state(camera) });
  });

  // --- vault ------------------------------------------------------------------------------------

  router.get('/vault', session, (_req, res) => {
    res.json(ctx.vault.status());
  });

  router.post('/vault/unlock', session, requireRight('recordings', 'export'), async (req, res) => {
    const input = body(z.strictObject({ passphrase: z.string().min(1).max(256) }), req);
    const user = auth(res).user;
    const lockedMs = ctx.vaultThrottle.lockedFor(req.ip ?? '', user.username);
    if (lockedMs > 0) {
      throw new ApiError(429, 'locked_out', 'Too many wrong passphrases; try again later.', { 'Retry-After': String(Math.ceil(lockedMs / 1000)) });
    }
    try {
      await ctx.vault.unlock(input.passphrase);
    } catch (err) {
      if ((err as Error).name !== 'WrongPassphraseError') throw err;
      ctx.audit.record('vault_unlock_failed', who(req, res));
      const locked = ctx.vaultThrottle.fail(req.ip ?? '', user.username);
      if (locked.lockedUser || locked.lockedIp) ctx.audit.record('lockout', who(req, res), 'vault', { scope: 'vault' });
      throw new ApiError(403, 'wrong_passphrase', 'Wrong passphrase.');
    }
    ctx.vaultThrottle.succeed(user.username);
    ctx.audit.record('vault_unlock', who(req, res));
    res.json(ctx.vault.status());
  });

  router.post('/vault/lock', session, requireRight('recordings', 'export'), (req, res) => {
    ctx.vault.lock();
    ctx.audit.record('vault_lock', who(req, res));
    res.json(ctx.vault.status());
  });

  // --- events and recordings --------------------------------------------------------------------

  const recordings = (): RecordingsAccess => {
    if (!ctx.recordings) throw notAvailable('Recording');
    return ctx.recordings;
  };

  /** The event's camera, checked against the user's rights before anything is decrypted. */
  const eventParam = async (req: Request, res: Response) => {
    const id = pathParam(req, 'id', idPattern);
    const camera = await recordings().eventCamera(id);
    if (!camera) throw notFound(`No event "${id}".`);
    if (!hasRight(auth(res).user, camera, 'recordings')) throw forbidden(`No recordings right on camera "${camera}".`);
    return { id, camera };
  };

  const ms = z.coerce.number().int().min(0).max(8.64e15);
  const eventQuery = z.strictObject({
    camera: z.string().regex(cameraPattern).optional(),
    label: z.string().regex(/^[a-z0-9 _-]{1,32}$/i).optional(),
    resident: z.string().regex(idPattern).optional(),
    from: ms.optional(),
    to: ms.optional(),
    before: ms.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  });

  router.get('/events', session, requireViewer, async (req, res) => {
    const q = query(eventQuery, req);
    const user = auth(res).user;
    const may = (camera: string) => hasRight(user, camera, 'recordings');
    if (q.camera && !may(q.camera)) throw forbidden(`No recordings right on camera "${q.camera}".`);
    const cameras = q.camera ? [q.camera] : ctx.cameras().map((c) => c.name).filter(may);
    const events = cameras.length === 0 ? [] : await recordings().listEvents({ ...q, cameras });
    res.json({ events: events.filter((e) => may(e.camera)), vault: ctx.vault.status() });
  });

  router.get('/events/:id', session, requireViewer, async (req, res) => {
    const { id, camera } = await eventParam(req, res);
    const r = recordings();
    const event = r.getEvent
      ? await r.getEvent(id)
      : (await r.listEvents({ cameras: [camera], limit: 500 })).find((e) => e.id === id);
    if (!event) throw notFound(`No event "${id}".`);
    res.json({ event, vault: ctx.vault.status() });
  });

  router.get('/events/:id/snapshot', session, requireViewer, async (req, res) => {
    const { kind } = query(z.strictObject({ kind: z.enum(['crop', 'frame']).default('crop') }), req);
    const { id } = await eventParam(req, res);
    const jpeg = await recordings().eventSnapshot(id, kind);
    if (!jpeg) throw notFound(`Event "${id}" has no snapshot.`);
    res.setHeader('Content-Type', 'image/jpeg');
    res.setHeader('Cache-Control', 'private, no-store');
    res.end(jpeg);
  });

  router.get('/events/:id/clip', session, requireViewer, async (req, res) => {
    const { download } = query(z.strictObject({ download: z.enum(['0', '1']).optional() }), req);
    const { id, camera } = await eventParam(req, res);
    const clip = await recordings().eventClip(id);
    if (!clip) throw notFound(`Event "${id}" has no clip.`);
    await sendClip(req, res, clip, download === '1' ? `volet-${camera}-${id}.mp4` : undefined);
  });

  router.put('/events/:id/kept', session, requireViewer, async (req, res) => {
    const input = body(z.strictObject({ kept: z.boolean() }), req);
    const { id, camera } = await eventParam(req, res);
    if (!(await recordings().keepEvent(id, input.kept))) throw notFound(`No event "${id}".`);
    ctx.audit.record('event_kept', who(req, res), id, { camera, kept: input.kept });
    res.json({ id, kept: input.kept });
  });

  router.get('/storage', session, requireViewer, async (_req, res) => {
    const usage = await recordings().storageUsage();
    const user = auth(res).user;
    // Per-camera figures only for cameras the person may see.
    const perCamera = Object.fromEntries(Object.entries(usage.perCamera).filter(([camera]) => hasRight(user, camera, 'recordings')));
    res.json({ ...usage, perCamera });
  });

  // --- audit ------------------------------------------------------------------------------------

  router.get('/audit', session, requireAdmin, (req, res) => {
    const q = query(
      z.strictObject({
        limit: z.coerce.number().int().min(1).max(1000).default(200),
        before: z.coerce.number().int().min(1).optional(),
        action: z.string().regex(/^[a-z_]{1,40}$/).optional(),
      }),
      req,
    );
    res.json({ entries: ctx.audit.list(q) });
  });

  return router;
}
