import { z } from 'zod';
import type { PlainTextMessage } from './message.ts';
import { postOnce, withRetry, type AttemptOutcome, type RetryPolicy, type RetryRuntime } from './retry.ts';

/**
 * Self-hosted notification servers for people without browser push. They receive plain text
 * (camera, label, time) and the viewer link, so they should be the user's own servers.
 */
export type SelfHostedKind = 'ntfy' | 'gotify';

export interface SelfHostedTarget {
  kind: SelfHostedKind;
  /** ntfy: the topic URL (https://ntfy.example/volet-abc). Gotify: the server's base URL, without token. */
  url: string;
  /** ntfy: optional access token (Bearer). Gotify: the application token (required). */
  token?: string;
}

const httpUrl = z
  .string()
  .max(2048)
  .refine((text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL without user:password');

const token = z.string().min(1).max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const selfHostedTargetSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('ntfy'),
      url: httpUrl.refine((text) => new URL(text).pathname.length > 1, 'must include the topic, e.g. https://ntfy.example/volet'),
      token: token.optional(),
    }),
    z.strictObject({ kind: z.literal('gotify'), url: httpUrl, token: token.optional() }),
  ])
  .transform((target, ctx): SelfHostedTarget => {
    if (target.kind === 'ntfy') return target;
    // Accept the config's form too: https://gotify.example/?token=A1b2 (or …/message?token=…).
    const url = new URL(target.url);
    const inUrl = url.searchParams.get('token') ?? undefined;
    const appToken = target.token ?? inUrl;
    if (!appToken) {
      ctx.addIssue({ code: 'custom', message: 'Gotify needs an application token', path: ['token'] });
      return z.NEVER;
    }
    url.search = '';
    url.hash = '';
    url.pathname = url.pathname.replace(/\/message\/?$/, '/').replace(/\/?$/, '/');
    return { kind: 'gotify', url: url.href, token: appToken };
  });

/** RFC 2047 for header values that are not plain ASCII (ntfy decodes it). */
function headerValue(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

export function ntfyRequest(target: SelfHostedTarget, message: PlainTextMessage): { url: string; init: RequestInit } {
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain; charset=utf-8',
    Title: headerValue(message.title),
    Tags: 'rotating_light',
    Priority: 'high',
    Click: message.click,
  };
  if (target.token) headers.Authorization = `Bearer ${target.token}`;
  return { url: target.url, init: { method: 'POST', headers, body: message.body } };
}

export function gotifyRequest(target: SelfHostedTarget, message: PlainTextMessage): { url: string; init: RequestInit } {
  const url = new URL('message', target.url);
  url.searchParams.set('token', target.token ?? '');
  return {
    url: url.href,
    init: {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        title: message.title,
        message: message.body,
        priority: 8,
        extras: { 'client::notification': { click: { url: message.click } } },
      }),
    },
  };
}

export interface SelfHostedOptions {
  timeoutMs: number;
  retry: RetryPolicy;
  runtime: RetryRuntime;
}

/** POSTs the plain-text message to ntfy or Gotify with retries. Never rejects. */
export async function sendSelfHosted(target: SelfHostedTarget, message: PlainTextMessage, options: SelfHostedOptions): Promise<AttemptOutcome> {
  const { url, init } = target.kind === 'ntfy' ? ntfyRequest(target, message) : gotifyRequest(target, message);
  return withRetry(
    () => postOnce(url, init, options.timeoutMs, options.runtime.signal),
    options.retry,
    options.runtime,
  );
}
