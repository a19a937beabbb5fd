import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { LabelMaskError, MAX_MASK_POINTS, proposeMaskAround, type LabelMask } from '../../objects/label-masks.ts';
import type { CameraInfo } from '../access.ts';
import { hasRight } from '../auth/users.ts';
import { auth, requireAdmin, requireSession, requireViewer, who, type WebContext } from '../context.ts';
import { ApiError, body, cameraPattern, forbidden, idPattern, notFound, pathParam } from '../http/errors.ts';

/** A mask as the API shows it. */
const maskJson = (m: LabelMask) => ({
  id: m.id,
  camera: m.camera,
  label: m.label,
  polygon: m.polygon,
  eventId: m.eventId,
  createdBy: m.createdBy,
  createdMs: m.createdMs,
});

const coordinate = z.number().min(0, 'must be ≥ 0');
const maskBody = z.strictObject({
  label: z.string().regex(/^[a-z0-9 _-]{1,32}$/i, '1–32 letters, digits, spaces, _ or -'),
  polygon: z
    .array(z.tuple([coordinate, coordinate]))
    .min(3, 'a polygon needs at least 3 points [x, y]')
    .max(MAX_MASK_POINTS, `at most ${MAX_MASK_POINTS} points`),
  eventId: z.string().regex(idPattern, 'not a valid event id').optional(),
});

/**
 * Per-label masks ("not a dog" here): anyone who may see a camera's recordings sees its masks and
 * may ask for a proposal from an event; only administrators add and remove them, each audited.
 */
export function labelMaskRoutes(ctx: WebContext): Router {
  const router = Router();
  const session = requireSession(ctx);

  const cameraOf = (name: string): CameraInfo => {
    const camera = ctx.cameras().find((c) => c.name === name);
    if (!camera) throw notFound(`No camera "${name}".`);
    return camera;
  };
  const viewableCamera = (req: Request, res: Response): CameraInfo => {
    const camera = cameraOf(pathParam(req, 'camera', cameraPattern));
    if (!hasRight(auth(res).user, camera.name, 'recordings')) throw forbidden(`No recordings right on camera "${camera.name}".`);
    return camera;
  };
  const recordings = () => {
    if (!ctx.recordings) throw new ApiError(503, 'not_available', 'Recording is not running in this Volet.');
    return ctx.recordings;
  };

  router.get('/cameras/:camera/label-masks', session, (req, res) => {
    const camera = viewableCamera(req, res);
    res.json({ masks: ctx.labelMasks.list(camera.name).map(maskJson) });
  });

  router.get('/events/:id/mask-proposal', session, requireViewer, async (req, res) => {
    const id = pathParam(req, 'id', idPattern);
    const r = recordings();
    const cameraName = await r.eventCamera(id);
    if (!cameraName) throw notFound(`No event "${id}".`);
    if (!hasRight(auth(res).user, cameraName, 'recordings')) throw forbidden(`No recordings right on camera "${cameraName}".`);
    const event = r.getEvent ? await r.getEvent(id) : (await r.listEvents({ cameras: [cameraName], limit: 500 })).find((e) => e.id === id);
    if (!event) throw notFound(`No event "${id}".`);
    if (!event.box) throw new ApiError(409, 'no_box', `Event "${id}" has no box to draw a mask around.`);
    const { detect } = cameraOf(cameraName);
    const frame = { width: detect.width, height: detect.height };
    res.json({ camera: cameraName, label: event.label, polygon: proposeMaskAround(event.box, frame), frame });
  });

  router.post('/cameras/:camera/label-masks', session, requireAdmin, async (req, res) => {
    const camera = viewableCamera(req, res);
    const input = body(maskBody, req);
    const { width, height } = camera.detect;
    input.polygon.forEach(([x, y], i) => {
      if (x > width || y > height) {
        throw new ApiError(400, 'invalid_request', `polygon.${i}: outside the ${width}×${height} detect frame of "${camera.name}"`);
      }
    });
    if (input.eventId !== undefined && (await recordings().eventCamera(input.eventId)) !== camera.name) {
      throw notFound(`No event "${input.eventId}" on camera "${camera.name}".`);
    }
    let mask: LabelMask;
    try {
      mask = ctx.labelMasks.add({ camera: camera.name, label: input.label, polygon: input.polygon, eventId: input.eventId ?? null, createdBy: auth(res).user.username });
    } catch (err) {
      if (!(err instanceof LabelMaskError)) throw err;
      throw err.kind === 'limit' ? new ApiError(409, 'too_many', err.message) : new ApiError(400, 'invalid_request', err.message);
    }
    ctx.audit.record('label_mask_added', who(req, res), mask.id, { camera: mask.camera, label: mask.label, eventId: mask.eventId, points: mask.polygon.length });
    res.status(201).json({ mask: maskJson(mask) });
  });

  router.delete('/label-masks/:id', session, requireAdmin, (req, res) => {
    const id = pathParam(req, 'id', idPattern);
    const removed = ctx.labelMasks.remove(id);
    if (!removed) throw notFound(`No label mask "${id}".`);
    ctx.audit.record('label_mask_removed', who(req, res), id, { camera: removed.camera, label: removed.label });
    res.status(204).end();
  });

  return router;
}
