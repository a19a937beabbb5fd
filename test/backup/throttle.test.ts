import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { TokenBucket, throttledStream, type TokenBucketClock } from '../../src/backup/throttle.ts';

/**
 * A clock that only moves when someone sleeps (to the end of the longest sleep so far, once the
 * sleeper resumes), and remembers how long everyone slept.
 */
function fakeClock(): TokenBucketClock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      const wakeAt = now + ms;
      slept.push(ms);
      await Promise.resolve();
      now = Math.max(now, wakeAt);
    },
  };
}

test('the token bucket lets one burst through, then paces to the rate', async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(1000, 1000, clock);
  await bucket.take(1000);
  assert.deepEqual(clock.slept, [], 'the first second is the burst');
  await bucket.take(500);
  await bucket.take(1500);
  assert.equal(clock.slept.reduce((a, b) => a + b, 0), 2000, '2000 more bytes at 1000 B/s take two seconds');
});

test('concurrent takers share the rate instead of each getting it', async () => {
  const clock = fakeClock();
  const bucket = new TokenBucket(1000, 0, clock);
  clock.slept.length = 0;
  const waits = [bucket.take(1000), bucket.take(1000)];
  await Promise.all(waits);
  assert.deepEqual(clock.slept, [1000, 2000], 'the second taker waits for the first one’s bytes too');
});

test('the throttled stream passes every byte through unchanged', async () => {
  const clock = fakeClock();
  const input = Buffer.from('abcdefghij'.repeat(1000));
  const chunks: Buffer[] = [];
  await pipeline(
    Readable.from([input.subarray(0, 4000), input.subarray(4000)]),
    throttledStream(new TokenBucket(2000, 2000, clock)),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
  );
  assert.ok(Buffer.concat(chunks).equals(input));
  assert.equal(clock.slept.reduce((a, b) => a + b, 0), 4000, '10 000 bytes at 2000 B/s after a 2000-byte burst');
});

test('an abort ends the wait', async () => {
  const bucket = new TokenBucket(1);
  await bucket.take(1);
  const controller = new AbortController();
  const waiting = bucket.take(1_000_000, controller.signal);
  controller.abort();
  await assert.rejects(waiting, { name: 'AbortError' });
});
