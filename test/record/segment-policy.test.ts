import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SegmentPolicy, type CachedSegment } from '../../src/record/segment-policy.ts';

const seg = (startS: number): CachedSegment => ({ path: `s${startS}.ts`, startMs: startS * 1000, endMs: (startS + 4) * 1000 });
const paths = (segments: CachedSegment[]) => segments.map((s) => s.path);

test('continuous mode stores every segment', () => {
  const policy = new SegmentPolicy({ mode: 'continuous', preRollMs: 5000, postRollMs: 5000 });
  assert.equal(policy.addSegment(seg(0)), true);
});

test('in events mode, segments wait in RAM and a starting event pulls its pre-roll into storage', () => {
  const policy = new SegmentPolicy({ mode: 'events', preRollMs: 5000, postRollMs: 5000 });
  for (const s of [0, 4, 8, 12]) assert.equal(policy.addSegment(seg(s)), false);
  const pulled = policy.trigger('e1', 15_000, null);
  assert.deepEqual(paths(pulled), ['s8.ts', 's12.ts']);
  assert.equal(policy.addSegment(seg(16)), true, 'a running event stores everything');
});

test('post-roll: segments after the event end are stored until post-roll runs out', () => {
  const policy = new SegmentPolicy({ mode: 'events', preRollMs: 0, postRollMs: 5000 });
  policy.trigger('e1', 10_000, null);
  policy.trigger('e1', 10_000, 20_000);
  assert.equal(policy.addSegment(seg(20)), true);
  assert.equal(policy.addSegment(seg(24)), true);
  assert.equal(policy.addSegment(seg(28)), false);
});

test('held segments older than the pre-roll are evicted; those that may still be pre-roll stay', () => {
  const policy = new SegmentPolicy({ mode: 'events', preRollMs: 5000, postRollMs: 5000 });
  for (const s of [0, 4, 8]) policy.addSegment(seg(s));
  assert.deepEqual(paths(policy.evict(14_000)), ['s0.ts', 's4.ts']);
  assert.deepEqual(paths(policy.drain()), ['s8.ts']);
});

test('off mode stores nothing and holds nothing past the current moment', () => {
  const policy = new SegmentPolicy({ mode: 'off', preRollMs: 5000, postRollMs: 5000 });
  assert.equal(policy.addSegment(seg(0)), false);
  assert.deepEqual(policy.trigger('e1', 1000, null), []);
  assert.deepEqual(paths(policy.evict(10_000)), ['s0.ts']);
});

test('a slack keeps held segments a little longer than the pre-roll', () => {
  const policy = new SegmentPolicy({ mode: 'events', preRollMs: 5000, postRollMs: 5000, holdSlackMs: 4000 });
  for (const s of [0, 4, 8]) policy.addSegment(seg(s));
  assert.deepEqual(paths(policy.evict(12_000)), [], 'without slack s0 would be gone');
  assert.deepEqual(paths(policy.trigger('e1', 11_000, null)), ['s4.ts', 's8.ts']);
});
