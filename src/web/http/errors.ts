import type { ErrorRequestHandler, Request } from 'express';
import { z } from 'zod';
import type { Logger } from '../../log/logger.ts';

/** The one error shape of the API: `{ error: { code, message } }` with a fitting HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const unauthenticated = () => new ApiError(401, 'unauthenticated', 'Sign in first.');
export const forbidden = (message = 'Your account may not do this.') => new ApiError(403, 'forbidden', message);
export const notFound = (what = 'Not found.') => new ApiError(404, 'not_found', what);
export const vaultLocked = () =>
  new ApiError(423, 'vault_locked', 'The vault is locked: enter the passphrase to view recordings.');

/** Parses `value` with `schema` or throws a 400 naming the first bad field. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new ApiError(400, 'invalid_request', `${path}${issue?.message ?? 'invalid request'}`);
}

export const body = <T extends z.ZodType>(schema: T, req: Request) => parse(schema, req.body ?? {});
export const query = <T extends z.ZodType>(schema: T, req: Request) => parse(schema, req.query);

/** Ids are checked against this before any lookup: no dots, slashes or percent signs can reach storage. */
export const idPattern = /^[A-Za-z0-9_-]{1,64}$/;
export const cameraPattern = /^[a-z0-9_-]{1,32}$/;

/** Validates a path parameter; anything else (e.g. `../x`) is a 400 before any lookup. */
export function pathParam(req: Request, name: string, pattern: RegExp): string {
  const value = req.params[name];
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw new ApiError(400, 'invalid_id', `${name} is not a valid identifier.`);
  }
  return value;
}

export function sendError(res: import('express').Response, err: ApiError): void {
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.status(err.status).json({ error: { code: err.code, message: err.message } });
}

/** Last handler: known errors keep their status; anything else is a 500 whose details stay in the log. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof ApiError) return sendError(res, err);
    const named = (err as { name?: string })?.name;
    if (named === 'VaultLockedError') return sendError(res, vaultLocked());
    const status = (err as { status?: number; type?: string })?.status;
    if (status === 413) return sendError(res, new ApiError(413, 'too_large', 'Request body is too large.'));
    if (status === 400 && (err as { type?: string }).type === 'entity.parse.failed') {
      return sendError(res, new ApiError(400, 'invalid_json', 'Request body is not valid JSON.'));
    }
    logger.error({ err: (err as Error)?.message, method: req.method, path: req.path }, 'web request failed');
    sendError(res, new ApiError(500, 'internal', 'Something went wrong; see the Volet log.'));
  };
}
