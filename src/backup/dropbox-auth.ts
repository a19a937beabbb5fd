import { createHash, randomBytes } from 'node:crypto';
import { BackupTargetError } from './target.ts';

export const DROPBOX_API_BASE_URL = 'https://api.dropboxapi.com';
export const DROPBOX_CONTENT_BASE_URL = 'https://content.dropboxapi.com';
export const DROPBOX_AUTHORIZE_URL = 'https://www.dropbox.com/oauth2/authorize';

/** Refresh this long before Dropbox says the access token expires. */
const EXPIRY_MARGIN_MS = 5 * 60 * 1000;

export interface DropboxTokens {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresAtMs: number;
  readonly accountId?: string;
}

interface TokenResponse {
  access_token?: unknown;
  refresh_token?: unknown;
  expires_in?: unknown;
  account_id?: unknown;
  error?: unknown;
  error_description?: unknown;
}

function base64Url(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A PKCE verifier (43–128 characters) and its S256 challenge. */
export function createPkcePair(): { codeVerifier: string; codeChallenge: string } {
  const codeVerifier = base64Url(randomBytes(48));
  return { codeVerifier, codeChallenge: pkceChallengeOf(codeVerifier) };
}

export function pkceChallengeOf(codeVerifier: string): string {
  return base64Url(createHash('sha256').update(codeVerifier).digest());
}

/**
 * Where to send the user to link their Dropbox: the PKCE flow for a public client (no app
 * secret), asking for offline access so the answer includes a refresh token.
 */
export function dropboxAuthorizeUrl(
  appKey: string,
  codeChallenge: string,
  redirectUri: string | undefined,
  options: { state?: string; authorizeUrl?: string } = {},
): string {
  const url = new URL(options.authorizeUrl ?? DROPBOX_AUTHORIZE_URL);
  url.searchParams.set('client_id', appKey);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('token_access_type', 'offline');
  if (redirectUri) url.searchParams.set('redirect_uri', redirectUri);
  if (options.state) url.searchParams.set('state', options.state);
  return url.toString();
}

async function postTokenForm(apiBaseUrl: string, form: Record<string, string>, what: string, now: number): Promise<DropboxTokens> {
  let response: Response;
  try {
    response = await fetch(new URL('/oauth2/token', apiBaseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new DropboxAuthError('unavailable', `${what}: cannot reach ${apiBaseUrl} (${cause?.code ?? cause?.message ?? String(error)})`);
  }
  const text = await response.text();
  let body: TokenResponse = {};
  try {
    body = JSON.parse(text) as TokenResponse;
  } catch {
    // reported below
  }
  if (!response.ok || typeof body.access_token !== 'string') {
    const reason = typeof body.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description})` : ''}` : `HTTP ${response.status}`;
    const kind = response.status === 400 || response.status === 401 ? 'auth' : 'unavailable';
    throw new DropboxAuthError(kind, `${what} was refused: ${reason}`);
  }
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : 4 * 3600;
  return {
    accessToken: body.access_token,
    expiresAtMs: now + expiresIn * 1000,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    ...(typeof body.account_id === 'string' ? { accountId: body.account_id } : {}),
  };
}

export class DropboxAuthError extends Error {
  constructor(
    readonly kind: 'auth' | 'unavailable',
    message: string,
  ) {
    super(message);
    this.name = 'DropboxAuthError';
  }
}

/** Second half of the PKCE flow: trades the code the user brought back for tokens. */
export async function exchangeDropboxCode(options: {
  appKey: string;
  code: string;
  codeVerifier: string;
  redirectUri?: string;
  apiBaseUrl?: string;
  now?: () => number;
}): Promise<DropboxTokens> {
  const form: Record<string, string> = {
    grant_type: 'authorization_code',
    code: options.code,
    client_id: options.appKey,
    code_verifier: options.codeVerifier,
  };
  if (options.redirectUri) form.redirect_uri = options.redirectUri;
  return postTokenForm(options.apiBaseUrl ?? DROPBOX_API_BASE_URL, form, 'Dropbox authorisation code exchange', (options.now ?? Date.now)());
}

/**
 * Short-lived access tokens from a long-lived refresh token (PKCE public client: app key only,
 * or app key + secret for a confidential one), cached until shortly before they expire.
 */
export class DropboxTokenSource {
  private cached: DropboxTokens | undefined;
  private refreshAtMs = 0;
  private refreshing: Promise<string> | undefined;

  constructor(
    private readonly targetName: string,
    private readonly config: { appKey: string; refreshToken: string; appSecret?: string; apiBaseUrl?: string },
    private readonly now: () => number = Date.now,
  ) {}

  async accessToken(): Promise<string> {
    if (this.cached && this.now() < this.refreshAtMs) return this.cached.accessToken;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Forget the cached token (Dropbox said it expired or was revoked). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async refresh(): Promise<string> {
    const form: Record<string, string> = {
      grant_type: 'refresh_token',
      refresh_token: this.config.refreshToken,
      client_id: this.config.appKey,
    };
    if (this.config.appSecret) form.client_secret = this.config.appSecret;
    try {
      const requestedAt = this.now();
      this.cached = await postTokenForm(this.config.apiBaseUrl ?? DROPBOX_API_BASE_URL, form, 'Dropbox token refresh', requestedAt);
      const lifetime = this.cached.expiresAtMs - requestedAt;
      this.refreshAtMs = this.cached.expiresAtMs - Math.min(EXPIRY_MARGIN_MS, lifetime / 2);
    } catch (error) {
      if (error instanceof DropboxAuthError) {
        const hint = error.kind === 'auth' ? ' — the Dropbox link may have been revoked; link Dropbox again' : '';
        throw new BackupTargetError(this.targetName, error.kind, `${error.message}${hint}`);
      }
      throw error;
    }
    return this.cached.accessToken;
  }
}
