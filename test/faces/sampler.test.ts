import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FaceSampler } from '../../src/faces/sampler.ts';

const tall = { width: 80, height: 200 };

test('a tall enough person box is checked once per interval, up to the number of tries', () => {
  const sampler = new FaceSampler({ minBoxHeight: 120, perTrackIntervalMs: 1000, maxTriesPerTrack: 3 });
  assert.equal(sampler.shouldCheck('t1', tall, 0), true);
  assert.equal(sampler.shouldCheck('t1', tall, 999), false, 'too soon');
  assert.equal(sampler.shouldCheck('t1', tall, 1000), true);
  assert.equal(sampler.shouldCheck('t1', tall, 2500), true);
  assert.equal(sampler.shouldCheck('t1', tall, 9000), false, 'three tries spent');
  assert.equal(sampler.shouldCheck('t2', tall, 9000), true, 'another track has its own budget');
});

test('a small person box is never checked and spends no try', () => {
  const sampler = new FaceSampler({ minBoxHeight: 120, maxTriesPerTrack: 1 });
  assert.equal(sampler.shouldCheck('t', { width: 40, height: 119 }, 0), false);
  assert.equal(sampler.shouldCheck('t', { width: 0, height: 300 }, 0), false);
  assert.equal(sampler.shouldCheck('t', { width: Number.NaN, height: Number.NaN }, 0), false);
  assert.equal(sampler.shouldCheck('t', tall, 0), true);
});

test('a recognised track is not checked again; a forgotten one starts afresh', () => {
  const sampler = new FaceSampler({ perTrackIntervalMs: 0, maxTriesPerTrack: 2 });
  assert.equal(sampler.shouldCheck('t', tall, 0), true);
  sampler.recognised('t');
  assert.equal(sampler.shouldCheck('t', tall, 5000), false);
  sampler.forget('t');
  assert.equal(sampler.size, 0);
  assert.equal(sampler.shouldCheck('t', tall, 5000), true);
  sampler.recognised('never-seen');
  assert.equal(sampler.shouldCheck('never-seen', tall, 0), false, 'recognised before its first check');
});

test('bad options are refused', () => {
  assert.throws(() => new FaceSampler({ maxTriesPerTrack: 0 }), /maxTriesPerTrack/);
  assert.throws(() => new FaceSampler({ perTrackIntervalMs: -1 }), /perTrackIntervalMs/);
  assert.throws(() => new FaceSampler({ minBoxHeight: Number.NaN }), /minBoxHeight/);
});

test('whatever the calls, a track gets at most maxTries checks, spaced by at least the interval', () => {
  const call = fc.record({ track: fc.constantFrom('a', 'b', 'c'), height: fc.integer({ min: 0, max: 400 }), dt: fc.integer({ min: 0, max: 1500 }), recognise: fc.boolean() });
  fc.assert(
    fc.property(fc.array(call, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), (calls, maxTries) => {
      const sampler = new FaceSampler({ minBoxHeight: 100, perTrackIntervalMs: 700, maxTriesPerTrack: maxTries });
      const checks = new Map<string, number[]>();
      const recognised = new Set<string>();
      let now = 0;
      for (const { track, height, dt, recognise } of calls) {
        now += dt;
        if (sampler.shouldCheck(track, { width: 50, height }, now)) {
          assert.ok(height >= 100);
          assert.ok(!recognised.has(track), 'no check after recognition');
          checks.set(track, [...(checks.get(track) ?? []), now]);
          if (recognise) {
            sampler.recognised(track);
            recognised.add(track);
          }
        }
      }
      for (const times of checks.values()) {
        assert.ok(times.length <= maxTries);
        for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 700);
      }
    }),
  );
});
