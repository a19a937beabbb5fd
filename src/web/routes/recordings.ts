import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ExportsAccess, RecordingsAccess } from '../access.ts';
import { hasRight, type Right } from '../auth/users.ts';
import { auth, requireRight, requireSession, who, type WebContext } from '../context.ts';
import { ApiError, body, cameraPattern, forbidden, idPattern, notFound, pathParam, query } from '../http/errors.ts';

/** Longest timeline window. */
const MAX_TIMELINE_MS = 7 * 86_400_000;
/** Longest export (kept in RAM until downloaded). */
const MAX_EXPORT_MS = 60 * 60_000;

const notAvailable = (what: string) => new ApiError(503, 'not_available', `${what} is not running in this Volet.`);
const ms = z.coerce.number().int().min(0).max(8.64e15);

/** 24/7 review: the timeline of recorded time, playback from any instant, and exports to MP4. */
export function recordingRoutes(ctx: WebContext): Router {
  const router = Router();
  const session = requireSession(ctx);

  const recordings = (): RecordingsAccess => {
    if (!ctx.recordings) throw notAvailable('Recording');
    return ctx.recordings;
  };

  /** A configured camera the user has `right` on, checked before anything is read. */
  const checkCamera = (res: Response, camera: string, right: Right) => {
    if (!ctx.cameras().some((c) => c.name === camera)) throw notFound(`No camera "${camera}".`);
    if (!hasRight(auth(res).user, camera, right)) throw forbidden(`No ${right} right on camera "${camera}".`);
    return camera;
  };
  const recordingsRight = requireRight('recordings');
  const exportRight = requireRight('export');

  router.get('/timeline', session, recordingsRight, async (req, res) => {
    const q = query(z.strictObject({ camera: z.string().regex(cameraPattern, 'not a camera name'), from: ms, to: ms }), req);
    if (q.to <= q.from) throw new ApiError(400, 'invalid_request', 'to: must be after from');
    if (q.to - q.from > MAX_TIMELINE_MS) throw new ApiError(400, 'invalid_request', 'to: the window may span at most 7 days');
    checkCamera(res, q.camera, 'recordings');
    const r = recordings();
    if (!r.timeline) throw notAvailable('The timeline');
    res.setHeader('Cache-Control', 'private, no-store');
    res.json(await r.timeline(q.camera, q.from, q.to));
  });

  router.get('/playback/:camera', session, recordingsRight, async (req, res) => {
    const { at } = query(z.strictObject({ at: ms }), req);
    const camera = checkCamera(res, pathParam(req, 'camera', cameraPattern), 'recordings');
    const r = recordings();
    if (!r.playback) throw notAvailable('Playback');
    let playback;
    try {
      playback = await r.playback(camera, at);
    } catch (err) {
      if ((err as Error).name === 'PlaybackBusyError') throw new ApiError(503, 'busy', (err as Error).message, { 'Retry-After': '5' });
      throw err;
    }
    if (!playback) throw notFound(`Nothing of camera "${camera}" is recorded at or after ${new Date(at).toISOString()}.`);
    const source = playback;
    res.on('close', () => source.close());
    res.setHeader('Content-Type', 'video/mp4');
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('X-Playback-Start', String(source.startMs));
    res.setHeader('Access-Control-Expose-Headers', 'X-Playback-Start');
    res.flushHeaders();
    await pipeline(source.output, res).catch(() => source.close()); // the viewer closing the stream is the normal end
  });

  // --- exports ----------------------------------------------------------------------------------

  const exportsOf = (): ExportsAccess => {
    const e = recordings().exports;
    if (!e) throw notAvailable('Export');
    return e;
  };
  const me = (res: Response) => auth(res).user.username;
  const exportParam = (req: Request, res: Response) => {
    const id = pathParam(req, 'id', idPattern);
    const job = exportsOf().get(me(res), id);
    if (!job) throw notFound(`No export "${id}".`);
    checkCamera(res, job.camera, 'export'); // the right may have been taken away since the request
    return job;
  };

  router.post('/exports', session, exportRight, (req, res) => {
    const input = body(z.strictObject({ camera: z.string().regex(cameraPattern, 'not a camera name'), from: z.number().int().min(0).max(8.64e15), to: z.number().int().min(0).max(8.64e15) }), req);
    if (input.to <= input.from) throw new ApiError(400, 'invalid_request', 'to: must be after from');
    if (input.to - input.from > MAX_EXPORT_MS) throw new ApiError(400, 'invalid_request', 'to: an export may span at most 1 hour');
    checkCamera(res, input.camera, 'export');
    let job;
    try {
      job = exportsOf().request(me(res), input.camera, input.from, input.to);
    } catch (err) {
      if ((err as Error).name === 'ExportLimitError') throw new ApiError(429, 'too_many_exports', (err as Error).message);
      throw err;
    }
    ctx.audit.record('recording_exported', who(req, res), input.camera, { id: job.id, from: input.from, to: input.to });
    res.status(202).json({ id: job.id });
  });

  router.get('/exports', session, exportRight, (_req, res) => {
    res.json({ exports: exportsOf().list(me(res)) });
  });

  router.get('/exports/:id', session, exportRight, (req, res) => {
    res.json(exportParam(req, res));
  });

  router.get('/exports/:id/download', session, exportRight, async (req, res) => {
    const job = exportParam(req, res);
    const file = await exportsOf().file(me(res), job.id);
    if (!file) throw new ApiError(409, 'not_ready', `Export "${job.id}" is ${job.state}, not ready.`);
    res.setHeader('Content-Type', 'video/mp4');
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Content-Length', String(file.size));
    res.setHeader('Content-Disposition', `attachment; filename="volet-${job.camera}-${new Date(job.from).toISOString().replace(/[:.]/g, '-')}.mp4"`);
    try {
      await pipeline(createReadStream(file.path), res);
    } catch {
      return; // an interrupted download may be tried again until the export expires
    }
    await exportsOf().remove(me(res), job.id); // downloaded: nothing stays in RAM
  });

  router.delete('/exports/:id', session, exportRight, async (req, res) => {
    const id = pathParam(req, 'id', idPattern);
    if (!(await exportsOf().remove(me(res), id))) throw notFound(`No export "${id}".`);
    res.status(204).end();
  });

  return router;
}
