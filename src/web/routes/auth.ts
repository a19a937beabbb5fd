import { createHash, randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { checkTotp, newTotpEnrolment } from '../auth/totp.ts';
import type { SetupCodeGate } from '../auth/setup-code.ts';
import type { User } from '../auth/users.ts';
import { auth, clearedCookie, requireSession, sessionCookie, who, type WebContext } from '../context.ts';
import { ApiError, body } from '../http/errors.ts';

export const usernameSchema = z
  .string()
  .regex(/^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,63}$/, 'use 1–64 letters, digits, . _ @ - (not starting with a dot)')
  .refine((s) => !s.includes('..'), 'must not contain ..');
export const passwordSchema = z.string().min(10, 'use at least 10 characters').max(256, 'use at most 256 characters');
const secretSchema = z.string().min(1).max(256);

/** The user as the API shows it; internal fields never leak by accident. */
export function publicUser(user: User) {
  return { username: user.username, admin: user.admin, grants: user.grants, totpEnabled: user.totpEnabled, createdAt: user.createdAt };
}

interface Ticket {
  userId: number;
  username: string;
  expires: number;
  attempts: number;
}

const TICKET_MS = 5 * 60_000;
const TICKET_ATTEMPTS = 5;

export function authRoutes(ctx: WebContext, setupCode: SetupCodeGate): Router {
  const router = Router();
  /** Password checked, second factor pending: keyed by the SHA-256 of the ticket handed to the browser. */
  const tickets = new Map<string, Ticket>();
  let setupRunning = false;
  const session = requireSession(ctx);

  const startSession = (req: Request, res: Response, user: User) => {
    const { id, session: s } = ctx.sessions.create(user.id, req.ip ?? '', req.get('user-agent') ?? '');
    res.setHeader('Set-Cookie', sessionCookie(ctx, id, ctx.sessions.limits.absoluteMs));
    ctx.throttle.succeed(user.username);
    ctx.audit.record('login_ok', { actor: user.username, ip: req.ip });
    return { user: publicUser(user), csrfToken: s.csrfToken };
  };

  /** Without a username only the address is counted (setup codes belong to no account). */
  const refuseIfLocked = (req: Request, username?: string) => {
    const ms = ctx.throttle.lockedFor(req.ip ?? '', username);
    if (ms > 0) {
      const seconds = Math.ceil(ms / 1000);
      throw new ApiError(429, 'locked_out', `Too many failed attempts; try again in ${Math.ceil(seconds / 60)} min.`, {
        'Retry-After': String(seconds),
      });
    }
  };

  const failLogin = (req: Request, username: string, reason: string) => {
    const attempted = username.slice(0, 64);
    ctx.audit.record('login_failed', { actor: attempted, ip: req.ip }, null, { reason });
    const locked = ctx.throttle.fail(req.ip ?? '', attempted);
    if (locked.lockedUser) ctx.audit.record('lockout', { actor: attempted, ip: req.ip }, attempted, { scope: 'user' });
    if (locked.lockedIp) ctx.audit.record('lockout', { actor: attempted, ip: req.ip }, req.ip ?? null, { scope: 'address' });
  };

  // --- first start ------------------------------------------------------------------------------

  router.get('/setup', (_req, res) => {
    res.json({ needed: ctx.users.count() === 0, vaultInitialised: ctx.vault.status().initialised });
  });

  router.post('/setup', async (req, res) => {
    const input = body(
      z.strictObject({
        setupCode: z.string().min(1).max(64),
        username: usernameSchema,
        password: passwordSchema,
        vaultPassphrase: passwordSchema.optional(),
      }),
      req,
    );
    if (ctx.users.count() > 0 || setupRunning) throw new ApiError(409, 'already_set_up', 'Volet is already set up; sign in.');
    refuseIfLocked(req);
    if (!setupCode.matches(input.setupCode)) {
      ctx.audit.record('login_failed', { actor: input.username, ip: req.ip }, null, { reason: 'setup code' });
      const locked = ctx.throttle.fail(req.ip ?? '');
      if (locked.lockedIp) ctx.audit.record('lockout', { actor: input.username, ip: req.ip }, req.ip ?? null, { scope: 'address' });
      throw new ApiError(403, 'wrong_setup_code', 'Wrong setup code: it is in the Volet log ("setup code: …") and shown by "volet setup-code".');
    }
    const vaultNeeded = !ctx.vault.status().initialised;
    if (vaultNeeded && !input.vaultPassphrase) {
      throw new ApiError(400, 'invalid_request', 'vaultPassphrase: choose the passphrase that encrypts recordings.');
    }
    setupRunning = true;
    try {
      const passwordHash = await ctx.hasher.hash(input.password);
      if (vaultNeeded) await ctx.vault.init(input.vaultPassphrase!);
      const user = ctx.users.create({ username: input.username, passwordHash, admin: true, grants: {} }, true);
      if (!user) throw new ApiError(409, 'already_set_up', 'Volet is already set up; sign in.');
      await setupCode.consume();
      ctx.audit.record('setup', { actor: user.username, ip: req.ip }, user.username, { vaultInitialised: vaultNeeded });
      res.status(201).json(startSession(req, res, user));
    } finally {
      setupRunning = false;
    }
  });

  // --- login ------------------------------------------------------------------------------------

  router.post('/auth/login', async (req, res) => {
    const input = body(z.strictObject({ username: z.string().min(1).max(64), password: secretSchema }), req);
    refuseIfLocked(req, input.username);
    const user = ctx.users.byName(input.username);
    const hash = user && ctx.users.passwordHash(user.id);
    const ok = hash ? await ctx.hasher.verify(hash, input.password) : await ctx.hasher.verifyNobody(input.password);
    if (!ok || !user) {
      failLogin(req, input.username, user ? 'password' : 'unknown user');
      throw new ApiError(401, 'invalid_credentials', 'Wrong username or password.');
    }
    if (hash && ctx.hasher.needsRehash(hash)) ctx.users.update(user.id, { passwordHash: await ctx.hasher.hash(input.password) });
    if (user.totpEnabled) {
      const ticket = randomBytes(24).toString('base64url');
      const now = Date.now();
      for (const [k, t] of tickets) if (t.expires < now) tickets.delete(k);
      tickets.set(createHash('sha256').update(ticket).digest('hex'), {
        userId: user.id,
        username: user.username,
        expires: now + TICKET_MS,
        attempts: 0,
      });
      res.json({ totpRequired: true, ticket });
      return;
    }
    res.json(startSession(req, res, user));
  });

  router.post('/auth/login/totp', async (req, res) => {
    const input = body(z.strictObject({ ticket: z.string().min(1).max(64), code: z.string().min(6).max(32) }), req);
    const key = createHash('sha256').update(input.ticket).digest('hex');
    const ticket = tickets.get(key);
    if (!ticket || ticket.expires < Date.now()) {
      tickets.delete(key);
      throw new ApiError(401, 'ticket_expired', 'The sign-in took too long; enter your password again.');
    }
    refuseIfLocked(req, ticket.username);
    const user = ctx.users.byId(ticket.userId);
    if (!user) throw new ApiError(401, 'ticket_expired', 'The sign-in took too long; enter your password again.');
    const totp = ctx.users.totpSecret(user.id);
    let ok = false;
    if (/^\d{6}$/.test(input.code) && totp.secret) {
      const step = await checkTotp(totp.secret, input.code, totp.lastStep);
      if (step !== undefined) {
        ctx.users.setTotpLastStep(user.id, step);
        ok = true;
      }
    } else if (ctx.users.useRecoveryCode(user.id, input.code)) {
      ctx.audit.record('recovery_code_used', { actor: user.username, ip: req.ip }, user.username, {
        left: ctx.users.recoveryCodesLeft(user.id),
      });
      ok = true;
    }
    if (!ok) {
      ticket.attempts += 1;
      if (ticket.attempts >= TICKET_ATTEMPTS) tickets.delete(key);
      failLogin(req, user.username, 'second factor');
      throw new ApiError(401, 'invalid_code', 'Wrong or already used code.');
    }
    tickets.delete(key);
    res.json(startSession(req, res, user));
  });

  router.get('/auth/session', session, (_req, res) => {
    const { user, session: s } = auth(res);
    res.json({ user: publicUser(user), csrfToken: s.csrfToken, vault: ctx.vault.status() });
  });

  router.post('/auth/logout', session, (req, res) => {
    const { session: s } = auth(res);
    ctx.sessions.revoke([s.idHash]);
    ctx.audit.record('logout', who(req, res));
    res.setHeader('Set-Cookie', clearedCookie(ctx));
    res.status(204).end();
  });

  router.post('/auth/logout-everywhere', session, (req, res) => {
    const { user } = auth(res);
    const count = ctx.sessions.revokeUser(user.id);
    ctx.audit.record('logout_everywhere', who(req, res), user.username, { sessions: count });
    res.setHeader('Set-Cookie', clearedCookie(ctx));
    res.status(204).end();
  });

  // --- own account ------------------------------------------------------------------------------

  const checkOwnPassword = async (req: Request, res: Response, password: string) => {
    const { user } = auth(res);
    refuseIfLocked(req, user.username);
    const hash = ctx.users.passwordHash(user.id);
    if (!hash || !(await ctx.hasher.verify(hash, password))) {
      failLogin(req, user.username, 'password re-check');
      throw new ApiError(403, 'wrong_password', 'Your current password is wrong.');
    }
  };

  router.get('/account/sessions', session, (_req, res) => {
    const { user, session: s } = auth(res);
    res.json({
      sessions: ctx.sessions.listForUser(user.id).map((x) => ({
        current: x.idHash === s.idHash,
        createdAt: x.createdAt,
        lastSeen: x.lastSeen,
        ip: x.ip,
        userAgent: x.userAgent,
      })),
    });
  });

  router.post('/account/password', session, async (req, res) => {
    const input = body(z.strictObject({ current: secretSchema, next: passwordSchema }), req);
    await checkOwnPassword(req, res, input.current);
    const { user, session: s } = auth(res);
    ctx.users.update(user.id, { passwordHash: await ctx.hasher.hash(input.next) });
    const ended = ctx.sessions.revokeUser(user.id, s.idHash);
    ctx.audit.record('password_changed', who(req, res), user.username, { otherSessionsEnded: ended });
    res.status(204).end();
  });

  router.post('/account/totp/begin', session, async (req, res) => {
    const input = body(z.strictObject({ password: secretSchema }), req);
    await checkOwnPassword(req, res, input.password);
    const { user } = auth(res);
    const enrolment = newTotpEnrolment(user.username);
    ctx.users.setPendingTotp(user.id, enrolment.secret);
    res.json(enrolment);
  });

  router.post('/account/totp/confirm', session, async (req, res) => {
    const input = body(z.strictObject({ code: z.string().regex(/^\d{6}$/, 'enter the 6-digit code') }), req);
    const { user } = auth(res);
    const { pending } = ctx.users.totpSecret(user.id);
    if (!pending) throw new ApiError(409, 'no_enrolment', 'Start the set-up of the authenticator app first.');
    const step = await checkTotp(pending, input.code, 0);
    if (step === undefined) throw new ApiError(400, 'invalid_code', 'That code does not match; check the time on your phone.');
    const recoveryCodes = ctx.users.enableTotp(user.id, pending, step);
    ctx.audit.record('totp_enabled', who(req, res), user.username);
    res.json({ recoveryCodes });
  });

  router.post('/account/totp/disable', session, async (req, res) => {
    const input = body(z.strictObject({ password: secretSchema }), req);
    await checkOwnPassword(req, res, input.password);
    const { user } = auth(res);
    ctx.users.disableTotp(user.id);
    ctx.audit.record('totp_disabled', who(req, res), user.username);
    res.status(204).end();
  });

  router.post('/account/recovery-codes', session, async (req, res) => {
    const input = body(z.strictObject({ password: secretSchema }), req);
    await checkOwnPassword(req, res, input.password);
    const { user } = auth(res);
    if (!user.totpEnabled) throw new ApiError(409, 'totp_not_enabled', 'Recovery codes belong to an authenticator app; set one up first.');
    const recoveryCodes = ctx.users.replaceRecoveryCodes(user.id);
    ctx.audit.record('recovery_codes_replaced', who(req, res), user.username);
    res.json({ recoveryCodes });
  });

  return router;
}
