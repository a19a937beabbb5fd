/** How a delivery is retried: a few attempts with exponential backoff, never past its deadline. */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  /** Delay before the first retry; doubles after each one. */
  baseDelayMs: number;
  /** Upper bound of any single delay, Retry-After included. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 15_000 };

/** Worth another try: timeouts, rate limiting and server errors. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Retry-After as milliseconds from `now`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (1 for the first retry): the server's Retry-After when given,
 * else base·2^(retry−1) with "equal jitter" (half fixed, half random), both capped at maxDelayMs.
 */
export function retryDelay(retry: number, policy: RetryPolicy, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const exponential = Math.min(policy.baseDelayMs * 2 ** (retry - 1), policy.maxDelayMs);
  return exponential / 2 + (exponential / 2) * random();
}

/** One HTTP attempt as the retry loop sees it. */
export interface AttemptResponse {
  status: number;
  retryAfter?: string | null;
}

export type AttemptOutcome =
  | { ok: true; status: number; attempts: number }
  | { ok: false; status?: number; error?: string; attempts: number };

export interface RetryRuntime {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** No retry is started after this instant (a notification past its TTL is worthless). */
  deadline: number;
  /** Aborted on shutdown: stops waiting and retrying. */
  signal?: AbortSignal;
  random?: () => number;
}

/**
 * Runs `attempt` until it answers 2xx, answers a non-transient status, throws on the last try, or
 * the deadline would be passed. A throw (network error, timeout) counts as transient. Never rejects.
 */
export async function withRetry(
  attempt: (n: number) => Promise<AttemptResponse>,
  policy: RetryPolicy,
  runtime: RetryRuntime,
): Promise<AttemptOutcome> {
  let last: { status?: number; error?: string } = {};
  for (let n = 1; n <= policy.attempts; n++) {
    let retryAfterMs: number | undefined;
    try {
      const response = await attempt(n);
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status, attempts: n };
      last = { status: response.status };
      if (!isTransientStatus(response.status)) return { ok: false, status: response.status, attempts: n };
      retryAfterMs = parseRetryAfter(response.retryAfter, runtime.now());
    } catch (err) {
      last = { error: describeError(err) };
    }
    if (n === policy.attempts || runtime.signal?.aborted) return { ok: false, ...last, attempts: n };
    const delay = retryDelay(n, policy, retryAfterMs, runtime.random);
    if (runtime.now() + delay > runtime.deadline) return { ok: false, ...last, attempts: n };
    try {
      await runtime.sleep(delay, runtime.signal);
    } catch {
      return { ok: false, ...last, attempts: n };
    }
  }
  return { ok: false, ...last, attempts: policy.attempts };
}

/**
 * A short reason fit for logs: error codes and names only. Messages of fetch errors are avoided on
 * purpose, since some clients quote the URL, and URLs can hold tokens.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return 'unknown error';
  if (err.name === 'TimeoutError') return 'timed out';
  if (err.name === 'AbortError') return 'aborted';
  const cause = (err as { cause?: unknown }).cause;
  const code = (cause as { code?: unknown } | undefined)?.code ?? (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (cause instanceof Error) return cause.name === 'Error' ? 'network error' : cause.name;
  return err.name === 'TypeError' ? 'network error' : err.name;
}

/**
 * One POST with its own timeout (and the shutdown signal), answering status and Retry-After.
 * Redirects are never followed: a 3xx is the answer, so an allowed host cannot send us elsewhere.
 */
export async function postOnce(url: string, init: RequestInit, timeoutMs: number, shutdown?: AbortSignal): Promise<AttemptResponse> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = shutdown ? AbortSignal.any([shutdown, timeout]) : timeout;
  const response = await fetch(url, { ...init, method: 'POST', redirect: 'manual', signal });
  await response.arrayBuffer().catch(() => undefined);
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}
