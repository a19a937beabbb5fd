import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRetention, type RetentionPolicy } from '../../src/storage/retention.ts';
import type { EventRow, FileRow } from '../../src/storage/storage-index.ts';

const DAY = 86_400_000;
const NOW = 100 * DAY;
const policy: RetentionPolicy = { continuousDays: 7, eventDays: 30, minFreeBytes: 0, eventPaddingMs: { before: 5000, after: 5000 } };

function segment(startMs: number, size = 100, camera = 'porch'): FileRow {
  return { name: `${camera}/${startMs}`, camera, kind: 'segment', startMs, endMs: startMs + 4000, size, eventId: null };
}
function event(id: string, startMs: number, endMs: number | null, kept = false): EventRow {
  return { id, camera: 'porch', startMs, endMs, kept };
}
const names = (plan: ReturnType<typeof planRetention>) => plan.deletions.map((d) => d.file.name);

test('continuous footage older than its retention goes, younger stays', () => {
  const old = segment(NOW - 8 * DAY);
  const young = segment(NOW - 6 * DAY);
  const plan = planRetention([old, young], [], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan), [old.name]);
  assert.equal(plan.deletions[0].reason, 'continuous-age');
});

test('a segment covered by an event under retention outlives continuous retention', () => {
  const start = NOW - 10 * DAY;
  const covered = segment(start);
  const snapshot: FileRow = { ...segment(start), name: 'snap', kind: 'snapshot', eventId: 'e1' };
  const plan = planRetention([covered, snapshot], [event('e1', start + 1000, start + 3000)], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(plan.deletions, []);
});

test('event footage and its row go together once the event is older than its retention', () => {
  const start = NOW - 31 * DAY;
  const covered = segment(start);
  const snapshot: FileRow = { ...segment(start), name: 'snap', kind: 'snapshot', eventId: 'e1' };
  const plan = planRetention([covered, snapshot], [event('e1', start + 1000, start + 3000)], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan).sort(), [covered.name, 'snap'].sort());
  assert.deepEqual(plan.forgetEvents, ['e1']);
});

test('a kept event is never deleted, not even when the disk is full', () => {
  const start = NOW - 300 * DAY;
  const covered = segment(start, 1000);
  const plan = planRetention([covered], [event('e1', start, start + 2000, true)], { ...policy, minFreeBytes: 5000 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(plan.deletions, []);
  assert.equal(plan.shortfallBytes, 5000);
});

test('footage of a running event is never deleted', () => {
  const start = NOW - 60_000;
  const plan = planRetention([segment(start, 1000)], [event('e1', start, null)], { ...policy, minFreeBytes: 10 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(plan.deletions, []);
});

test('when space runs out, oldest continuous footage goes first, then oldest events', () => {
  const c1 = segment(NOW - 3 * DAY, 100);
  const c2 = segment(NOW - 2 * DAY, 100);
  const e1Seg = segment(NOW - 5 * DAY, 100);
  const e2Seg = segment(NOW - 4 * DAY, 100);
  const events = [event('e1', e1Seg.startMs, e1Seg.endMs), event('e2', e2Seg.startMs, e2Seg.endMs)];
  const files = [c1, c2, e1Seg, e2Seg];

  const small = planRetention(files, events, { ...policy, minFreeBytes: 150 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(names(small), [c1.name, c2.name]);
  assert.ok(small.deletions.every((d) => d.reason === 'space'));

  const large = planRetention(files, events, { ...policy, minFreeBytes: 350 }, { freeBytes: 0 }, NOW);
  assert.deepEqual(names(large), [c1.name, c2.name, e1Seg.name, e2Seg.name]);
  assert.deepEqual(large.forgetEvents, ['e1', 'e2']);
});

test('a byte budget is enforced like a disk watermark', () => {
  const files = [segment(NOW - 3 * DAY, 400), segment(NOW - 2 * DAY, 400), segment(NOW - 1 * DAY, 400)];
  const plan = planRetention(files, [], { ...policy, maxBytes: 900 }, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan), [files[0].name]);
});

test('cameras do not share events', () => {
  const other = segment(NOW - 10 * DAY, 100, 'garden');
  const plan = planRetention([other], [event('e1', other.startMs, other.endMs)], policy, { freeBytes: 1e12 }, NOW);
  assert.deepEqual(names(plan), [other.name]);
});
