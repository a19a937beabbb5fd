import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, Request, Response } from 'express';
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

export function sendError(res: Response, err: ApiError): void {
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.status(err.status).json({ error: { code: err.code, message: err.message } });
}

/** Statuses that mean "the request itself was malformed": worth a (rate-limited) log line. */
const MALFORMED = new Set([400, 408, 413, 414, 415, 431]);
const LIBRARY_ERRORS: Record<number, [string, string]> = {
  400: ['bad_request', 'Malformed request.'],
  403: ['forbidden', 'Your account may not do this.'],
  413: ['too_large', 'Request body is too large.'],
  415: ['unsupported_media', 'Unsupported content type, charset or content encoding.'],
};

/**
 * A client error from a library (body-parser, send, the router, http-errors in general) as our
 * ApiError, without echoing its message: a 4xx stays a 4xx, anything else is undefined.
 */
function clientErrorOf(err: unknown): ApiError | undefined {
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown } | undefined;
  const status = Number(e?.status ?? e?.statusCode);
  if (!Number.isInteger(status) || status < 400 || status > 499) return undefined;
  if (status === 400 && e?.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'Request body is not valid JSON.');
  if (status === 404) return notFound();
  const [code, message] = LIBRARY_ERRORS[status] ?? ['refused', 'Request refused.'];
  return new ApiError(status, code, message);
}

const budgets = new WeakMap<Logger, (detail: Record<string, unknown>) => void>();

/**
 * Logs refused bad input as `bad request refused`, at most 30 lines a minute per logger (then one
 * line with the count), so a flood of garbage cannot fill the disk with log.
 */
export function logBadRequest(logger: Logger): (detail: Record<string, unknown>) => void {
  let log = budgets.get(logger);
  if (log) return log;
  let windowStart = 0;
  let logged = 0;
  let suppressed = 0;
  log = (detail) => {
    const now = Date.now();
    if (now - windowStart >= 60_000) {
      if (suppressed > 0) logger.warn({ suppressed }, 'bad requests refused without a log line in the last minute');
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged < 30) {
      logged++;
      logger.warn(detail, 'bad request refused');
    } else {
      suppressed++;
    }
  };
  budgets.set(logger, log);
  return log;
}

/**
 * Last handler: known errors keep their status, library client errors stay 4xx (malformed input is
 * logged); anything else is a 500 whose details stay in the log.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  const badRequest = logBadRequest(logger);
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const named = (err as { name?: string })?.name;
    const known = err instanceof ApiError ? err : named === 'VaultLockedError' ? vaultLocked() : clientErrorOf(err);
    if (known) {
      if (MALFORMED.has(known.status)) badRequest({ status: known.status, code: known.code, method: req.method, path: req.path.slice(0, 200) });
      return sendError(res, known);
    }
    logger.error({ err: (err as Error)?.message, method: req.method, path: req.path }, 'web request failed');
    sendError(res, new ApiError(500, 'internal', 'Something went wrong; see the Volet log.'));
  };
}

const CLIENT_ERROR_RESPONSES: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/**
 * Requests Node's HTTP parser refuses before Express sees them (bad request lines, headers,
 * framing, timeouts) get the usual 4xx and a log line; a slow request body times out; a server
 * error after listening (e.g. EMFILE on accept) is logged instead of thrown.
 */
export function refuseBadClients(server: Server, logger: Logger): void {
  const badRequest = logBadRequest(logger);
  server.requestTimeout = 60_000; // receiving a request, not sending a response: downloads are unaffected
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code !== 'ECONNRESET') badRequest({ code: err.code, reason: (err as { reason?: string }).reason });
    if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) {
      socket.write(`HTTP/1.1 ${CLIENT_ERROR_RESPONSES[err.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
    }
    socket.destroy();
  });
  server.on('listening', () => {
    server.on('error', (err) => logger.error({ err: err.message }, 'web server error'));
  });
}
