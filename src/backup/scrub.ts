import { maskUrlsIn } from '../log/logger.ts';

export type Scrubber = (text: string) => string;

/**
 * Removes credentials from text that is about to become an error message or a log line: URLs
 * with user:password, and every known secret (plain and percent-encoded) the adapter holds.
 */
export function secretScrubber(secrets: ReadonlyArray<string | undefined>): Scrubber {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 3) continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
    variants.add(Buffer.from(secret).toString('base64'));
  }
  const ordered = [...variants].sort((a, b) => b.length - a.length);
  return (text) => {
    let result = maskUrlsIn(text);
    for (const secret of ordered) result = result.split(secret).join('***');
    return result;
  };
}

/** A one-line description of anything thrown, for messages: "ECONNREFUSED connect ECONNREFUSED …". */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
  }
  return String(error);
}

/** The Node error code (ECONNREFUSED, ENOENT …) if there is one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
