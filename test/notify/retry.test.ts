import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeError, isTransientStatus, parseRetryAfter, retryDelay, withRetry, type AttemptResponse, type RetryRuntime } from '../../src/notify/retry.ts';

const policy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

/** A fake clock: sleeping advances it, so deadlines are exercised without waiting. */
function fakeRuntime(deadlineIn = 60_000): RetryRuntime & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    deadline: deadlineIn,
    random: () => 1,
  };
}

function answers(...script: (number | AttemptResponse | Error)[]) {
  let i = 0;
  return async () => {
    const next = script[Math.min(i++, script.length - 1)];
    if (next instanceof Error) throw next;
    return typeof next === 'number' ? { status: next } : next;
  };
}

test('transient: 408, 425, 429 and 5xx; 4xx otherwise are final', () => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isTransientStatus(s), true, String(s));
  for (const s of [400, 401, 403, 404, 410, 413]) assert.equal(isTransientStatus(s), false, String(s));
});

test('Retry-After is read as seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('3', 0), 3000);
  assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000), 6000);
  assert.equal(parseRetryAfter('soon', 0), undefined);
  assert.equal(parseRetryAfter(null, 0), undefined);
});

test('backoff doubles from the base, with jitter, and is capped', () => {
  assert.equal(retryDelay(1, policy, undefined, () => 0), 50);
  assert.equal(retryDelay(1, policy, undefined, () => 1), 100);
  assert.equal(retryDelay(3, policy, undefined, () => 1), 400);
  assert.equal(retryDelay(10, policy, undefined, () => 1), 1000);
  assert.equal(retryDelay(1, policy, 300), 300);
  assert.equal(retryDelay(1, policy, 60_000), 1000);
});

test('a 500 is retried with growing delays until it succeeds', async () => {
  const runtime = fakeRuntime();
  const outcome = await withRetry(answers(500, 503, 201), policy, runtime);
  assert.deepEqual(outcome, { ok: true, status: 201, attempts: 3 });
  assert.deepEqual(runtime.slept, [100, 200]);
});

test('429 waits for Retry-After', async () => {
  const runtime = fakeRuntime();
  const outcome = await withRetry(answers({ status: 429, retryAfter: '0' }, { status: 429, retryAfter: '1' }, 201), policy, runtime);
  assert.deepEqual(outcome, { ok: true, status: 201, attempts: 3 });
  assert.deepEqual(runtime.slept, [0, 1000]);
});

test('network errors are retried; the last reason is reported', async () => {
  const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
  const outcome = await withRetry(answers(refused), policy, fakeRuntime());
  assert.deepEqual(outcome, { ok: false, error: 'ECONNREFUSED', attempts: 4 });
});

test('a final status (410, 400) stops at once', async () => {
  assert.deepEqual(await withRetry(answers(410), policy, fakeRuntime()), { ok: false, status: 410, attempts: 1 });
  assert.deepEqual(await withRetry(answers(400), policy, fakeRuntime()), { ok: false, status: 400, attempts: 1 });
});

test('no retry is started past the deadline (the notification would be stale)', async () => {
  const runtime = fakeRuntime(250);
  const outcome = await withRetry(answers(500), policy, runtime);
  assert.deepEqual(outcome, { ok: false, status: 500, attempts: 2 });
  assert.deepEqual(runtime.slept, [100]);
});

test('shutdown stops retrying', async () => {
  const controller = new AbortController();
  controller.abort();
  const outcome = await withRetry(answers(503), policy, { ...fakeRuntime(), signal: controller.signal });
  assert.deepEqual(outcome, { ok: false, status: 503, attempts: 1 });
});

test('error descriptions never quote a URL', () => {
  const err = new TypeError('fetch failed: https://gotify.example/message?token=SECRET');
  assert.equal(describeError(err), 'network error');
  assert.equal(describeError(Object.assign(new Error('x'), { name: 'TimeoutError' })), 'timed out');
});
