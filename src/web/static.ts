import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';

export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));
/** The notifications module's service worker (push) replaces our offline-shell one when present. */
const NOTIFY_SW = fileURLToPath(new URL('../notify/sw.js', import.meta.url));
/**
 * The MPEG-1 fallback's player: JSMpeg's browser build from its npm package, served from our own
 * origin (no CDN) at the version package-lock.json pins. It needs no eval: JSMpeg's WebAssembly
 * decoder, which would need 'wasm-unsafe-eval', is turned off by web/js/live.js.
 */
const JSMPEG = join(dirname(createRequire(import.meta.url).resolve('@cycjimmy/jsmpeg-player')), 'jsmpeg-player.umd.min.js');

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const securityHeaders: RequestHandler = (req, res, next) => {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Permissions-Policy', 'camera=(), microphone=(), geolocation=()');
  if (req.path.startsWith('/api/')) res.setHeader('Cache-Control', 'no-store');
  next();
};

/** The browser app: plain files from web/, the service worker at /sw.js, index.html for the app shell. */
export function staticRoutes(): Router {
  const router = Router();
  router.get('/sw.js', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.sendFile(existsSync(NOTIFY_SW) ? NOTIFY_SW : `${WEB_ROOT}sw.js`);
  });
  router.get('/vendor/jsmpeg.min.js', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
    res.sendFile(JSMPEG);
  });
  router.use(
    express.static(WEB_ROOT, {
      index: 'index.html',
      dotfiles: 'deny',
      redirect: false,
      setHeaders: (res, path) => {
        res.setHeader('Cache-Control', 'no-cache');
        if (path.endsWith('.webmanifest')) res.setHeader('Content-Type', 'application/manifest+json');
      },
    }),
  );
  return router;
}
