import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { ClipSource } from '../access.ts';

export type ByteRange = { start: number; end: number };

/**
 * One `bytes=` range of RFC 9110 (first-last, first-, -suffix). Multiple ranges are answered with
 * the whole body (allowed by the RFC); an unsatisfiable one gives 'unsatisfiable'.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** Sends an MP4 with Range support so the browser can seek without downloading the whole clip. */
export async function sendClip(req: Request, res: Response, clip: ClipSource, filename?: string): Promise<void> {
  const range = parseRange(req.get('range'), clip.size);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', 'video/mp4');
  res.setHeader('Cache-Control', 'private, no-store');
  if (filename) res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  if (range === 'unsatisfiable') {
    res.status(416).setHeader('Content-Range', `bytes */${clip.size}`).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: clip.size - 1 };
  if (range) {
    res.status(206);
    res.setHeader('Content-Range', `bytes ${start}-${end}/${clip.size}`);
  }
  res.setHeader('Content-Length', String(clip.size === 0 ? 0 : end - start + 1));
  if (req.method === 'HEAD' || clip.size === 0) {
    res.end();
    return;
  }
  const stream = 'path' in clip ? createReadStream(clip.path, { start, end }) : clip.open(range ?? undefined);
  try {
    await pipeline(stream, res);
  } catch {
    // The browser cancels ranges all the time while seeking; nothing to report.
  }
}
