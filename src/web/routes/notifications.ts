import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Notifier } from '../../notify/notifier.ts';
import { ruleSchema } from '../../notify/rules.ts';
import type { UserRepository } from '../auth/users.ts';
import { ApiError, body, notFound, parse, pathParam } from '../http/errors.ts';
import type { RouteGuards } from '../server.ts';

const endpointBody = z.object({ endpoint: z.string().max(2048) });

/**
 * /api/notifications: every signed-in user manages their own browsers and rules. Only
 * administrators add ntfy/Gotify targets (and only on notifications.allowedHosts), and push
 * endpoints must be on a push service the config allows: no account can make the box POST into the LAN.
 */
export function notificationRoutes(notifier: Notifier, users: UserRepository): (guards: RouteGuards) => Router {
  return (guards) => {
    const router = Router();
    router.use('/notifications', guards.session);
    const userId = (res: Response): number => {
      const user = users.byName(guards.user(res).username);
      if (!user) throw new ApiError(401, 'unauthenticated', 'Sign in again.');
      return user.id;
    };
    const targetId = (req: Request): number => Number(pathParam(req, 'id', /^[1-9]\d{0,15}$/));

    router.get('/notifications/vapid-public-key', (_req, res) => {
      res.json({ publicKey: notifier.vapidPublicKey() });
    });

    router.get('/notifications/subscriptions', (_req, res) => {
      res.json(notifier.subscriptions(userId(res)));
    });
    router.post('/notifications/subscriptions', (req, res) => {
      const subscription = body(notifier.subscriptionSchema, req);
      res.status(201).json(notifier.subscribe(userId(res), subscription, req.get('user-agent')));
    });
    router.delete('/notifications/subscriptions', (req, res) => {
      const { endpoint } = body(endpointBody, req);
      if (!notifier.unsubscribe(userId(res), endpoint)) throw notFound('No such subscription.');
      res.status(204).end();
    });

    router.post('/notifications/test', async (_req, res) => {
      res.json(await notifier.sendTest(userId(res)));
    });

    router.get('/notifications/rules', (_req, res) => {
      res.json(notifier.rules(userId(res)));
    });
    router.put('/notifications/rules/:camera', (req, res) => {
      const rule = parse(ruleSchema, { ...req.body, camera: req.params.camera });
      res.json(notifier.setRule(userId(res), rule));
    });
    router.delete('/notifications/rules/:camera', (req, res) => {
      if (!notifier.removeRule(userId(res), String(req.params.camera))) throw notFound('No such rule.');
      res.status(204).end();
    });

    router.get('/notifications/targets', (_req, res) => {
      res.json(notifier.targets(userId(res)));
    });
    router.post('/notifications/targets', guards.admin, (req, res) => {
      const target = body(notifier.targetSchema, req);
      res.status(201).json(notifier.addTarget(userId(res), target));
    });
    router.delete('/notifications/targets/:id', (req, res) => {
      if (!notifier.removeTarget(userId(res), targetId(req))) throw notFound('No such target.');
      res.status(204).end();
    });
    return router;
  };
}
