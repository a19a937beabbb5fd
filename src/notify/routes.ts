import { Router, type Request, type Response } from 'express';
import type { UserRepository } from '../web/auth/users.ts';
import { ApiError } from '../web/http/errors.ts';
import type { RouteGuards } from '../web/server.ts';
import { NotifyInputError, type Notifier } from './notifier.ts';

/** /api/notifications: each signed-in user manages their own devices, rules and self-hosted targets. */
export function notificationRoutes(notifier: Notifier, users: UserRepository): (guards: RouteGuards) => Router {
  return (guards) => {
    const router = Router();
    router.use('/notifications', guards.session);
    const userId = (res: Response): number => {
      const user = users.byName(guards.user(res).username);
      if (!user) throw new ApiError(401, 'unauthenticated', 'Sign in again.');
      return user.id;
    };
    const handle = (fn: (req: Request, res: Response) => unknown) => async (req: Request, res: Response) => {
      try {
        const result = await fn(req, res);
        if (result === undefined) res.status(204).end();
        else res.status(req.method === 'POST' && !req.path.endsWith('/test') ? 201 : 200).json(result);
      } catch (err) {
        if (err instanceof NotifyInputError) {
          res.status(400).json({ error: { code: 'invalid_request', message: err.message, problems: err.problems } });
        } else if (err instanceof ApiError) {
          res.status(err.status).json({ error: { code: err.code, message: err.message } });
        } else {
          throw err;
        }
      }
    };
    router.get('/notifications/vapid-public-key', handle(() => ({ publicKey: notifier.vapidPublicKey() })));
    router.get('/notifications/subscriptions', handle((_req, res) => notifier.subscriptions(userId(res))));
    router.post('/notifications/subscriptions', handle((req, res) => notifier.subscribe(userId(res), req.body, req.get('user-agent'))));
    router.delete(
      '/notifications/subscriptions',
      handle((req, res) => {
        const endpoint = typeof req.body?.endpoint === 'string' ? req.body.endpoint : '';
        if (!notifier.unsubscribe(userId(res), endpoint)) throw new ApiError(404, 'not_found', 'No such subscription.');
        return undefined;
      }),
    );
    router.post('/notifications/test', handle((_req, res) => notifier.sendTest(userId(res))));
    router.get('/notifications/rules', handle((_req, res) => notifier.rules(userId(res))));
    router.put('/notifications/rules/:camera', handle((req, res) => notifier.setRule(userId(res), { ...req.body, camera: req.params.camera })));
    router.delete(
      '/notifications/rules/:camera',
      handle((req, res) => {
        if (!notifier.removeRule(userId(res), String(req.params.camera))) throw new ApiError(404, 'not_found', 'No such rule.');
        return undefined;
      }),
    );
    router.get('/notifications/targets', handle((_req, res) => notifier.targets(userId(res))));
    router.post('/notifications/targets', handle((req, res) => notifier.addTarget(userId(res), req.body)));
    router.delete(
      '/notifications/targets/:id',
      handle((req, res) => {
        const id = Number(req.params.id);
        if (!Number.isInteger(id) || !notifier.removeTarget(userId(res), id)) throw new ApiError(404, 'not_found', 'No such target.');
        return undefined;
      }),
    );
    return router;
  };
}
