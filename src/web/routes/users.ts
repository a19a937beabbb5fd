import { Router } from 'express';
import { z } from 'zod';
import { PRESETS, RIGHTS, type Preset, type Right, type User } from '../auth/users.ts';
import { auth, requireAdmin, requireSession, who, type WebContext } from '../context.ts';
import { ApiError, body, notFound, pathParam } from '../http/errors.ts';
import { passwordSchema, publicUser, usernameSchema } from './auth.ts';

const rightsSchema = z.union([
  z.enum(Object.keys(PRESETS) as [Preset, ...Preset[]]).transform((preset): Right[] => [...PRESETS[preset]]),
  z
    .array(z.enum(RIGHTS))
    .max(RIGHTS.length)
    .transform((rights) => RIGHTS.filter((r) => rights.includes(r))),
], { error: `a list of ${RIGHTS.join(', ')} or a preset: ${Object.keys(PRESETS).join(', ')}` });

const grantsSchema = z
  .record(z.string().regex(/^(\*|[a-z0-9_-]{1,32})$/, 'a camera name or *'), rightsSchema)
  .refine((grants) => Object.keys(grants).length <= 256, 'at most 256 cameras')
  .describe(`camera (or * for all) → a list of ${RIGHTS.join(', ')} or a preset (${Object.keys(PRESETS).join(', ')})`);

const usernameParam = /^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}$/;

export function userRoutes(ctx: WebContext): Router {
  const router = Router();
  router.use('/users', requireSession(ctx), requireAdmin);

  const target = (username: string): User => {
    const user = ctx.users.byName(username);
    if (!user) throw notFound(`No user "${username}".`);
    return user;
  };
  const param = (req: import('express').Request) => {
    const name = pathParam(req, 'username', usernameParam);
    if (name.includes('..')) throw new ApiError(400, 'invalid_id', 'username is not a valid identifier.');
    return name;
  };

  router.get('/users', (_req, res) => {
    res.json({ users: ctx.users.list().map(publicUser) });
  });

  router.post('/users', async (req, res) => {
    const input = body(
      z.strictObject({ username: usernameSchema, password: passwordSchema, admin: z.boolean().default(false), grants: grantsSchema.default({}) }),
      req,
    );
    if (ctx.users.byName(input.username)) throw new ApiError(409, 'exists', `User "${input.username}" already exists.`);
    const passwordHash = await ctx.hasher.hash(input.password);
    const user = ctx.users.create({ username: input.username, passwordHash, admin: input.admin, grants: input.grants })!;
    ctx.audit.record('user_created', who(req, res), user.username, { admin: user.admin, grants: user.grants });
    res.status(201).json({ user: publicUser(user) });
  });

  router.patch('/users/:username', async (req, res) => {
    const user = target(param(req));
    const input = body(
      z.strictObject({ admin: z.boolean().optional(), grants: grantsSchema.optional(), password: passwordSchema.optional() }),
      req,
    );
    if (input.admin === false && user.admin && ctx.users.countAdmins() === 1) {
      throw new ApiError(409, 'last_admin', 'Volet needs at least one administrator.');
    }
    if (input.admin !== undefined || input.grants !== undefined) {
      ctx.users.update(user.id, { admin: input.admin, grants: input.grants });
      const after = ctx.users.byId(user.id)!;
      ctx.audit.record('role_changed', who(req, res), user.username, {
        before: { admin: user.admin, grants: user.grants },
        after: { admin: after.admin, grants: after.grants },
      });
    }
    if (input.password !== undefined) {
      ctx.users.update(user.id, { passwordHash: await ctx.hasher.hash(input.password) });
      const ended = ctx.sessions.revokeUser(user.id, user.id === auth(res).user.id ? auth(res).session.idHash : undefined);
      ctx.audit.record('user_changed', who(req, res), user.username, { passwordReset: true, sessionsEnded: ended });
    }
    res.json({ user: publicUser(ctx.users.byId(user.id)!) });
  });

  router.post('/users/:username/totp/reset', (req, res) => {
    const user = target(param(req));
    ctx.users.disableTotp(user.id);
    ctx.audit.record('totp_disabled', who(req, res), user.username, { by: 'administrator' });
    res.json({ user: publicUser(ctx.users.byId(user.id)!) });
  });

  router.delete('/users/:username', (req, res) => {
    const user = target(param(req));
    if (user.id === auth(res).user.id) throw new ApiError(409, 'self', 'You cannot delete your own account.');
    if (user.admin && ctx.users.countAdmins() === 1) throw new ApiError(409, 'last_admin', 'Volet needs at least one administrator.');
    ctx.sessions.revokeUser(user.id);
    ctx.users.remove(user.id);
    ctx.audit.record('user_deleted', who(req, res), user.username);
    res.status(204).end();
  });

  return router;
}
