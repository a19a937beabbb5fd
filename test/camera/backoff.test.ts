import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/camera/backoff.ts';
import { classifyFfmpegFailure } from '../../src/camera/ffmpeg-errors.ts';
import { maskUrl, maskUrlsIn } from '../../src/log/logger.ts';

const noJitter = () => new Backoff(1000, 30_000, 0.2, () => 0.5);

test('reconnect delays double from 1 s up to a 30 s cap and reset after a healthy stream', () => {
  const backoff = noJitter();
  assert.deepEqual(Array.from({ length: 7 }, () => backoff.next()), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  backoff.reset();
  assert.equal(backoff.next(), 1000);
});

test('each delay is spread ±20 % at random, so cameras behind one failed switch do not reconnect together', () => {
  const lowest = new Backoff(1000, 30_000, 0.2, () => 0);
  const highest = new Backoff(1000, 30_000, 0.2, () => 0.999999);
  assert.deepEqual([lowest.next(), lowest.next(), lowest.max()], [800, 1600, 24000]);
  assert.deepEqual([highest.next(), highest.next(), highest.max()], [1200, 2400, 36000]);
  const real = new Backoff();
  const spread = new Set(Array.from({ length: 20 }, () => (real.reset(), real.next())));
  assert.ok(spread.size > 5, `first delays vary: ${[...spread].join(', ')}`);
  for (const delay of spread) assert.ok(delay >= 800 && delay <= 1200, `${delay}`);
});

test('a failure that will not fix itself waits the longest, and so do the retries after it', () => {
  const backoff = noJitter();
  assert.equal(backoff.max(), 30000);
  assert.equal(backoff.next(), 30000);
});

test('ffmpeg failures are classified into specific, actionable reasons', () => {
  const cases: [string, number, string][] = [
    ['[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized', 1, 'unauthorized'],
    ['[rtsp @ 0x55] method DESCRIBE failed: 404 Not Found', 1, 'not-found'],
    ['[tcp @ 0x55] Connection to tcp://10.0.0.9:554?timeout=5000000 failed: No route to host', 1, 'unreachable'],
    ['[tcp @ 0x55] Connection to tcp://127.0.0.1:9 failed: Connection refused', 1, 'unreachable'],
    ['Output file #0 does not contain any stream', 1, 'no-video'],
    ['Stream map \'0:v:0\' matches no streams.', 1, 'no-video'],
    ['', 0, 'ended'],
    ['something odd happened', 1, 'error'],
  ];
  for (const [stderr, code, kind] of cases) assert.equal(classifyFfmpegFailure(stderr, code).kind, kind, stderr);
});

test('credentials never survive masking', () => {
  assert.equal(maskUrl('rtsp://admin:hunter2@cam.lan:554/stream'), 'rtsp://admin:***@cam.lan:554/stream');
  assert.equal(maskUrl('rtsp://cam.lan/stream'), 'rtsp://cam.lan/stream');
  const line = "[rtsp @ 0x1] Could not open rtsp://admin:hunter2@cam.lan/stream and ftp://u:p%40ss@nas/x";
  const masked = maskUrlsIn(line);
  assert.ok(!masked.includes('hunter2') && !masked.includes('p%40ss'), masked);
});
