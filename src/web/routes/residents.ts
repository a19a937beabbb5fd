import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ResidentService } from '../../faces/enrolment.ts';
import type { RouteGuards } from '../server.ts';
import { ApiError, body, idPattern, notFound, pathParam } from '../http/errors.ts';

/** Largest photo accepted for enrolment. */
export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;

export interface ResidentRouteDeps {
  residents: ResidentService;
  /** Whether face recognition runs (faces.enabled): enrolment needs its engine. */
  enabled: boolean;
  /** The event's full-frame snapshot (decrypted JPEG), undefined when it has none; throws VaultLockedError. */
  eventFrame(eventId: string): Promise<Buffer | undefined>;
}

const residentName = z.string().regex(/^[a-z0-9_-]{1,32}$/i, 'use 1–32 letters, digits, - and _ (as in privacy.residents)');

/**
 * Residents known by their face, administrators only: add and delete residents, enrol faces from
 * uploaded photos (JPEG/PNG) or an event's snapshot, see and remove enrolled faces. Photos are
 * shown only while the vault is unlocked.
 */
export function residentRoutes(deps: ResidentRouteDeps): (guards: RouteGuards) => Router {
  return (guards) => {
    const router = Router();
    const admin = [guards.session, guards.admin];
    const { residents } = deps;
    const photoBody = express.raw({ type: ['image/jpeg', 'image/png'], limit: MAX_PHOTO_BYTES });

    const residentParam = (req: Request) => {
      const id = pathParam(req, 'id', idPattern);
      const resident = residents.get(id);
      if (!resident) throw notFound(`No resident "${id}".`);
      return resident;
    };
    const faceParam = (req: Request) => {
      const resident = residentParam(req);
      const faceId = pathParam(req, 'faceId', idPattern);
      const face = residents.face(faceId);
      if (!face || face.residentId !== resident.id) throw notFound(`No face "${faceId}" of resident "${resident.name}".`);
      return { resident, face };
    };
    const enrol = async (req: Request, res: Response, image: Buffer, source: { kind: 'upload' } | { kind: 'event'; eventId: string }) => {
      const resident = residentParam(req);
      try {
        const face = await residents.addFace(resident.id, image, source);
        guards.audit('settings_changed', req, res, `resident:${resident.name}`, { face: face.id, added: source.kind });
        res.status(201).json({ face });
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'FaceInputError') throw new ApiError(400, 'invalid_request', (err as Error).message);
        if (name === 'FacesDisabledError') throw new ApiError(409, 'faces_disabled', (err as Error).message);
        const code = (err as { code?: string }).code;
        if (name === 'FaceEngineError' && (code === 'queue-full' || code === 'worker-stopped')) {
          throw new ApiError(503, 'faces_busy', 'Face recognition is busy or restarting: try again in a minute.', { 'Retry-After': '30' });
        }
        throw err;
      }
    };

    router.get('/residents', ...admin, (_req, res) => {
      res.json({ enabled: deps.enabled, residents: residents.list() });
    });

    // Names only, for anyone who may be notified ("tell me when alice arrives"), not just administrators.
    router.get('/residents/names', guards.session, guards.viewer, (_req, res) => {
      res.json({ residents: residents.list().map((r) => ({ id: r.id, name: r.name })) });
    });

    router.post('/residents', ...admin, (req, res) => {
      const input = body(z.strictObject({ name: residentName }), req);
      try {
        const resident = residents.add(input.name, guards.user(res).username);
        guards.audit('settings_changed', req, res, `resident:${resident.name}`, { resident: resident.id, added: true });
        res.status(201).json({ resident: { ...resident, faces: 0 } });
      } catch (err) {
        if ((err as Error).name === 'ResidentNameTakenError') throw new ApiError(409, 'name_taken', (err as Error).message);
        throw err;
      }
    });

    router.delete('/residents/:id', ...admin, async (req, res) => {
      const resident = residentParam(req);
      const removed = await residents.remove(resident.id);
      if (!removed) throw notFound(`No resident "${resident.id}".`);
      guards.audit('settings_changed', req, res, `resident:${resident.name}`, { resident: resident.id, deleted: true, faces: removed.faces });
      res.status(204).end();
    });

    router.get('/residents/:id/faces', ...admin, (req, res) => {
      res.json({ faces: residents.faces(residentParam(req).id) });
    });

    router.post('/residents/:id/faces', ...admin, photoBody, async (req, res) => {
      if (!Buffer.isBuffer(req.body) || req.body.length === 0) {
        throw new ApiError(400, 'invalid_request', 'Send the photo as the body, with Content-Type image/jpeg or image/png.');
      }
      await enrol(req, res, req.body, { kind: 'upload' });
    });

    router.post('/residents/:id/faces/from-event', ...admin, async (req, res) => {
      const { eventId } = body(z.strictObject({ eventId: z.string().regex(idPattern, 'not an event id') }), req);
      residentParam(req);
      const frame = await deps.eventFrame(eventId);
      if (!frame) throw notFound(`Event "${eventId}" has no snapshot.`);
      await enrol(req, res, frame, { kind: 'event', eventId });
    });

    router.get('/residents/:id/faces/:faceId/photo', ...admin, async (req, res) => {
      const { face } = faceParam(req);
      const jpeg = await residents.photo(face.id);
      res.setHeader('Content-Type', 'image/jpeg');
      res.setHeader('Cache-Control', 'private, no-store');
      res.end(jpeg);
    });

    router.delete('/residents/:id/faces/:faceId', ...admin, async (req, res) => {
      const { resident, face } = faceParam(req);
      await residents.removeFace(face.id);
      guards.audit('settings_changed', req, res, `resident:${resident.name}`, { face: face.id, deleted: true });
      res.status(204).end();
    });

    return router;
  };
}
