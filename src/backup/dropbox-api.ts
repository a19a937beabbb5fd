import type { Readable } from 'node:stream';
import type { DropboxTokenSource } from './dropbox-auth.ts';

/**
 * JSON for the Dropbox-API-Arg header. HTTP headers carry ASCII, so Dropbox wants every
 * character outside it (and DEL) written as a \uXXXX escape.
 */
export function httpHeaderSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A non-2xx answer from Dropbox, with its error_summary ("path/not_found/..") when it sent one. */
export class DropboxApiError extends Error {
  constructor(
    readonly status: number,
    readonly summary: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`Dropbox answered HTTP ${status}: ${summary}`);
    this.name = 'DropboxApiError';
  }

  /** True for a 409 whose error_summary starts with one of the given tags ("path/not_found"). */
  is(...summaries: string[]): boolean {
    return this.status === 409 && summaries.some((summary) => this.summary.startsWith(summary));
  }
}

/** A failure to talk to Dropbox at all (DNS, refused, reset), as opposed to an answer. */
export class DropboxNetworkError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DropboxNetworkError';
  }
}

export interface UploadBody {
  readonly stream: Readable;
  readonly length: number;
}

async function errorFrom(response: Response): Promise<DropboxApiError> {
  const text = await response.text().catch(() => '');
  let summary = text.slice(0, 300) || response.statusText;
  try {
    const body = JSON.parse(text) as { error_summary?: unknown; error?: { '.tag'?: unknown } };
    if (typeof body.error_summary === 'string') summary = body.error_summary;
    else if (typeof body.error?.['.tag'] === 'string') summary = body.error['.tag'];
  } catch {
    // a plain-text error (HTTP 400 describes bad input that way)
  }
  const retryAfter = Number(response.headers.get('Retry-After'));
  return new DropboxApiError(response.status, summary, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined);
}

/**
 * The three request styles of Dropbox API v2: RPC (JSON in, JSON out, api host), content upload
 * (argument in Dropbox-API-Arg, bytes in the body, content host) and content download (bytes
 * out, result in Dropbox-API-Result). An expired access token is refreshed and the call retried once.
 */
export class DropboxApi {
  constructor(
    private readonly tokens: DropboxTokenSource,
    private readonly apiBaseUrl: string,
    private readonly contentBaseUrl: string,
  ) {}

  async rpc<T>(endpoint: string, arg: unknown, signal?: AbortSignal): Promise<T> {
    const response = await this.send(
      new URL(`/2/${endpoint}`, this.apiBaseUrl),
      () => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(arg) }),
      signal,
    );
    return (await response.json()) as T;
  }

  async upload<T>(endpoint: string, arg: unknown, body: () => UploadBody, signal?: AbortSignal): Promise<T> {
    const response = await this.send(
      new URL(`/2/${endpoint}`, this.contentBaseUrl),
      () => {
        const { stream, length } = body();
        return {
          method: 'POST',
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(length),
            'Dropbox-API-Arg': httpHeaderSafeJson(arg),
          },
          body: stream as unknown as BodyInit,
          duplex: 'half',
        } as RequestInit;
      },
      signal,
    );
    return (await response.json()) as T;
  }

  /** Returns the response whose body is the file; its metadata is in Dropbox-API-Result. */
  async download(endpoint: string, arg: unknown, signal?: AbortSignal): Promise<Response> {
    return this.send(
      new URL(`/2/${endpoint}`, this.contentBaseUrl),
      () => ({ method: 'POST', headers: { 'Dropbox-API-Arg': httpHeaderSafeJson(arg) } }),
      signal,
    );
  }

  private async send(url: URL, init: () => RequestInit, signal: AbortSignal | undefined, retried = false): Promise<Response> {
    const token = await this.tokens.accessToken();
    const request = init();
    const headers = new Headers(request.headers);
    headers.set('Authorization', `Bearer ${token}`);
    const releaseBody = () => (request.body as { destroy?: () => void } | null | undefined)?.destroy?.();
    let response: Response;
    try {
      response = await fetch(url, { ...request, headers, signal, redirect: 'error' });
    } catch (error) {
      releaseBody();
      if (signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new DropboxNetworkError(`cannot reach ${url.origin} (${cause?.code ?? cause?.message ?? String(error)})`);
    }
    if (response.ok) return response;
    releaseBody();
    const error = await errorFrom(response);
    if (response.status === 401 && !retried && /expired_access_token|invalid_access_token/.test(error.summary)) {
      this.tokens.invalidate();
      return this.send(url, init, signal, true);
    }
    throw error;
  }
}
