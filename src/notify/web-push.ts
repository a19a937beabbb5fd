import webpush from 'web-push';
import { z } from 'zod';
import { httpOrigin } from './destinations.ts';
import { postOnce, withRetry, type AttemptOutcome, type RetryPolicy, type RetryRuntime } from './retry.ts';

/** `PushSubscription.toJSON()` as the browser sends it. */
export interface PushSubscriptionJSON {
  endpoint: string;
  expirationTime?: number | null;
  keys: { p256dh: string; auth: string };
}

const base64url = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `must be base64url`)
    .refine((text) => Buffer.from(text, 'base64url').length === bytes, `must be a ${bytes}-byte ${what}`);

export const pushSubscriptionSchema = z.object({
  /** Which hosts it may point to is for destinations.ts to decide. */
  endpoint: z.string().max(2048).refine((text) => httpOrigin(text) !== undefined, 'must be an https:// push service URL'),
  expirationTime: z.number().nullable().optional(),
  keys: z.object({
    p256dh: base64url(65, 'uncompressed P-256 public key').refine(
      (text) => Buffer.from(text, 'base64url')[0] === 0x04,
      'must be an uncompressed P-256 public key',
    ),
    auth: base64url(16, 'auth secret'),
  }),
});

export interface VapidKeys {
  /** base64url, uncompressed P-256 point: what the browser needs as applicationServerKey. */
  publicKey: string;
  /** base64url, 32 bytes. Never logged, never leaves the database. */
  privateKey: string;
}

export interface VapidDetails extends VapidKeys {
  /** mailto: or https: contact shown to push services. */
  subject: string;
}

export function generateVapidKeys(): VapidKeys {
  return webpush.generateVAPIDKeys();
}

/** The push service's origin: the only part of an endpoint that is ever logged. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid-url';
  }
}

export interface WebPushOptions {
  /** Seconds the push service may hold the message for an offline device. */
  ttlSeconds: number;
  /** Per-request timeout. */
  timeoutMs: number;
  retry: RetryPolicy;
  runtime: RetryRuntime;
}

/**
 * Encrypts `payload` for one subscription (RFC 8291, aes128gcm, so the push service sees only
 * ciphertext), signs a VAPID JWT for the endpoint's origin and POSTs it, retrying transient failures.
 * Never rejects; a 404/410 outcome means the subscription is gone.
 */
export async function sendWebPush(
  subscription: { endpoint: string; p256dh: string; auth: string },
  payload: string,
  vapid: VapidDetails,
  options: WebPushOptions,
): Promise<AttemptOutcome> {
  let request: { endpoint: string; headers: Record<string, string>; body: Uint8Array<ArrayBuffer> };
  try {
    const details = webpush.generateRequestDetails(
      { endpoint: subscription.endpoint, keys: { p256dh: subscription.p256dh, auth: subscription.auth } },
      payload,
      {
        vapidDetails: vapid,
        TTL: options.ttlSeconds,
        urgency: 'high',
        contentEncoding: 'aes128gcm',
      },
    );
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(details.headers)) {
      if (key.toLowerCase() !== 'content-length') headers[key] = String(value);
    }
    request = { endpoint: details.endpoint, headers, body: Uint8Array.from(details.body) };
  } catch {
    return { ok: false, error: 'cannot encrypt for this subscription', attempts: 0 };
  }
  return withRetry(
    () => postOnce(request.endpoint, { headers: request.headers, body: request.body }, options.timeoutMs, options.runtime.signal),
    options.retry,
    options.runtime,
  );
}
