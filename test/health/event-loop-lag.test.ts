import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventLoopLag, WindowedMax } from '../../src/health/event-loop-lag.ts';

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a synchronous stall, as a long SQL statement or a big JSON.parse would be
  }
}

test('the windowed maximum keeps a value for the window after it was recorded, then forgets it', () => {
  const max = new WindowedMax(60_000);
  assert.equal(max.worst(0), 0, 'nothing recorded: no lag');
  max.record(0, 1900);
  max.record(10_000, 12);
  max.record(20_000, 40);
  assert.equal(max.worst(60_000), 1900, 'exactly one window later it still counts');
  assert.equal(max.worst(60_001), 40, 'the stall has left the window; the next worst remains');
  assert.equal(max.worst(80_001), 0);
  max.record(90_000, 7);
  assert.equal(max.worst(90_000), 7);
});

test('a stall shows as the worst lag, and leaves the window once it has passed', async () => {
  let now = 0;
  const lag = new EventLoopLag({ windowMs: 1000, rotateMs: 1_000_000, now: () => now });
  lag.start();
  try {
    await sleep(50);
    block(150);
    await sleep(30);
    const stalled = lag.worstLagMs();
    assert.ok(stalled >= 120 && stalled < 1000, `lag ${stalled} ms after a 150 ms stall`);
    lag.rotate();
    now = 500;
    lag.rotate(); // the histogram that saw the stall is retired into the window
    assert.ok(lag.worstLagMs() >= 120, 'still within the window');
    await sleep(30);
    now = 1501;
    assert.ok(lag.worstLagMs() < 50, `forgotten after the window: ${lag.worstLagMs()} ms`);
  } finally {
    lag.stop();
  }
});

test('a stall right after a rotation is still seen: the previous histogram is sampling through it', async () => {
  const lag = new EventLoopLag({ windowMs: 60_000, rotateMs: 1_000_000 });
  lag.start();
  try {
    await sleep(50);
    lag.rotate();
    block(150); // before the fresh histogram has taken its first sample
    await sleep(30);
    lag.rotate();
    lag.rotate(); // both histograms that were live during the stall are retired
    const seen = lag.worstLagMs();
    assert.ok(seen >= 120, `lag ${seen} ms after a 150 ms stall just after a rotation`);
  } finally {
    lag.stop();
  }
});

test('an idle loop shows little lag', async () => {
  const lag = new EventLoopLag({ windowMs: 60_000, rotateMs: 100 });
  lag.start();
  try {
    await sleep(350);
    assert.ok(lag.worstLagMs() < 50, `idle lag ${lag.worstLagMs()} ms`);
  } finally {
    lag.stop();
  }
});
