import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectTracker, type TrackerUpdate, type TrackedInput } from '../../src/track/tracker.ts';
import type { Track } from '../../src/track/track.ts';
import type { Box } from '../../src/geometry/box.ts';

const FRAME_MS = 200;

function person(x: number, y: number, score = 0.8, width = 40, height = 80): TrackedInput {
  return { label: 'person', score, box: { x, y, width, height } };
}

/** Runs one update per frame, FRAME_MS apart from t = 0. */
function run(tracker: ObjectTracker, frames: TrackedInput[][]): TrackerUpdate[] {
  return frames.map((detections, i) => tracker.update(detections, i * FRAME_MS));
}

function all(updates: TrackerUpdate[], kind: 'started' | 'updated' | 'ended'): Track[] {
  return updates.flatMap((u) => u[kind]);
}

function sameBox(a: Box, b: Box): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}

test('a box moving across frames keeps one id: started once after minHits, then updated every frame', () => {
  const updates = run(new ObjectTracker({ minHits: 3 }), Array.from({ length: 15 }, (_, i) => [person(20 + 12 * i, 100)]));
  assert.deepEqual(updates.map((u) => u.started.length), [0, 0, 1, ...Array(12).fill(0)]);
  const id = updates[2].started[0].id;
  assert.ok(id.length > 0);
  for (const update of updates.slice(3)) {
    assert.deepEqual(update.updated.map((t) => t.id), [id]);
    assert.deepEqual(update.active.map((t) => t.id), [id]);
  }
  assert.equal(updates[14].active[0].hits, 15);
  assert.equal(updates[14].active[0].velocity.x, 60);
});

test('two people walking past each other keep their own ids', () => {
  const jitter = (i: number) => ((i % 3) - 1) * 2;
  const frames = Array.from({ length: 25 }, (_, i) => ({
    left: person(40 + 20 * i + jitter(i), 100),
    right: person(500 - 20 * i - jitter(i), 110),
  }));
  const updates = run(new ObjectTracker({}), frames.map((f, i) => (i % 2 ? [f.left, f.right] : [f.right, f.left])));

  const idOf = (update: TrackerUpdate, detection: TrackedInput) => {
    const track = [...update.started, ...update.updated].find((t) => sameBox(t.box, detection.box));
    assert.ok(track, `no track at ${JSON.stringify(detection.box)}`);
    return track.id;
  };
  const leftId = idOf(updates[2], frames[2].left);
  const rightId = idOf(updates[2], frames[2].right);
  assert.notEqual(leftId, rightId);
  for (let i = 3; i < frames.length; i++) {
    assert.equal(idOf(updates[i], frames[i].left), leftId, `left walker at frame ${i}`);
    assert.equal(idOf(updates[i], frames[i].right), rightId, `right walker at frame ${i}`);
  }
  assert.equal(all(updates, 'started').length, 2);
});

test('two people walking side by side keep separate ids', () => {
  const frames = Array.from({ length: 12 }, (_, i) => [person(200, 20 + 15 * i), person(255, 22 + 15 * i)]);
  const updates = run(new ObjectTracker({}), frames);
  assert.equal(all(updates, 'started').length, 2);
  const [first, second] = updates[2].started;
  for (let i = 3; i < frames.length; i++) {
    const byX = new Map(updates[i].updated.map((t) => [t.box.x, t.id]));
    assert.equal(byX.get(200), first.box.x === 200 ? first.id : second.id);
    assert.equal(byX.get(255), first.box.x === 255 ? first.id : second.id);
  }
});

test('a single spurious detection never becomes an event', () => {
  const frames: TrackedInput[][] = Array.from({ length: 20 }, () => []);
  frames[3] = [person(300, 100, 0.95)];
  const tracker = new ObjectTracker({ minHits: 3 });
  const updates = run(tracker, frames);
  assert.equal(all(updates, 'started').length, 0);
  assert.equal(all(updates, 'ended').length, 0);
  assert.equal(tracker.flush(20 * FRAME_MS).ended.length, 0);
});

test('a new track must reach minHits within confirmWindowMs', () => {
  const detections = [0, 900, 1800].map((t) => ({ t, detections: [person(300, 100)] }));
  const lenient = new ObjectTracker({ minHits: 3, confirmWindowMs: 2000 });
  const strict = new ObjectTracker({ minHits: 3, confirmWindowMs: 1500 });
  assert.equal(detections.flatMap(({ t, detections: d }) => lenient.update(d, t).started).length, 1);
  assert.equal(detections.flatMap(({ t, detections: d }) => strict.update(d, t).started).length, 0);
});

test('a track lost for longer than maxLostMs ends exactly once, with its first and last sighting', () => {
  const frames = Array.from({ length: 40 }, (_, i) => (i < 5 ? [person(100 + 5 * i, 100)] : []));
  const updates = run(new ObjectTracker({ maxLostMs: 5000 }), frames);
  const ended = all(updates, 'ended');
  assert.equal(ended.length, 1);
  assert.equal(ended[0].firstSeen, 0);
  assert.equal(ended[0].lastSeen, 800);
  const endedIndex = updates.findIndex((u) => u.ended.length > 0);
  assert.equal(endedIndex * FRAME_MS, 6000, 'ends at the first update more than 5000 ms after the last sighting');
  assert.equal(updates[endedIndex - 1].active.length, 1);
  assert.equal(updates[endedIndex].active.length, 0);
});

test('a briefly hidden object found again where its velocity predicts keeps its id', () => {
  const frames = Array.from({ length: 12 }, (_, i) => (i === 6 || i === 7 ? [] : [person(20 + 30 * i, 100)]));
  const updates = run(new ObjectTracker({}), frames);
  assert.equal(all(updates, 'started').length, 1);
  assert.deepEqual(updates[8].updated.map((t) => t.id), [updates[2].started[0].id]);
});

test('a small fast object whose boxes never overlap between frames keeps one id', () => {
  const ball = (i: number): TrackedInput => ({ label: 'sports ball', score: 0.7, box: { x: 10 + 25 * i, y: 200, width: 20, height: 20 } });
  const updates = run(new ObjectTracker({}), Array.from({ length: 10 }, (_, i) => [ball(i)]));
  assert.equal(all(updates, 'started').length, 1);
  assert.equal(all(updates, 'updated').length, 7);
});

test('entering a zone is recorded by the bottom-centre of the box, and kept after leaving', () => {
  const driveway: [number, number][] = [[300, 200], [500, 200], [500, 360], [300, 360]];
  const porch: [number, number][] = [[0, 0], [640, 0], [640, 160], [0, 160]];
  const tracker = new ObjectTracker({ zones: [{ name: 'driveway', polygon: driveway }, { name: 'porch', polygon: porch }] });
  const updates = run(tracker, Array.from({ length: 20 }, (_, i) => [person(100 + 30 * i, 150)]));
  const at = (i: number) => [...updates[i].started, ...updates[i].updated][0];

  assert.deepEqual(at(5).zones, [], 'bottom-centre x=270 is outside; the box top in the porch does not count');
  assert.deepEqual(at(6).zones, ['driveway']);
  assert.deepEqual(at(6).currentZones, ['driveway']);
  assert.deepEqual(at(19).currentZones, [], 'bottom-centre x=690 has left the driveway');
  assert.deepEqual(at(19).zones, ['driveway']);
});

test('a dog and a person at the same place are two tracks', () => {
  const box = { x: 200, y: 100, width: 60, height: 80 };
  const frames = Array.from({ length: 5 }, () => [
    { label: 'person', score: 0.9, box },
    { label: 'dog', score: 0.8, box },
  ]);
  const started = all(run(new ObjectTracker({}), frames), 'started');
  assert.deepEqual(started.map((t) => t.label).sort(), ['dog', 'person']);
  assert.notEqual(started[0].id, started[1].id);
});

test('topScore and bestBox follow the highest score, score follows the latest', () => {
  const scores = [0.6, 0.9, 0.7, 0.8, 0.75];
  const frames = scores.map((score, i) => [person(100 + 10 * i, 100, score)]);
  const tracker = new ObjectTracker({});
  run(tracker, frames);
  const [track] = tracker.flush(5 * FRAME_MS).ended;
  assert.equal(track.topScore, 0.9);
  assert.deepEqual(track.bestBox, frames[1][0].box);
  assert.equal(track.bestSeen, FRAME_MS);
  assert.equal(track.score, 0.75);
});

test('a box that stays put becomes stationary after stationaryAfterMs, and moving clears it', () => {
  const tracker = new ObjectTracker({ stationaryAfterMs: 10_000, maxLostMs: 5000 });
  const still = (t: number) => tracker.update([person(300 + (t % 3), 100)], t).active[0];
  for (let t = 0; t < 9500; t += 500) still(t);
  assert.equal(still(9500).stationary, false);
  const settled = still(10_000);
  assert.equal(settled.stationary, true);
  assert.equal(settled.stationarySince, 0);

  const moved = tracker.update([person(340, 100)], 10_500).active[0];
  assert.equal(moved.id, settled.id);
  assert.equal(moved.stationary, false);
  assert.equal(moved.stationarySince, null);
});

test('flush ends every confirmed track once and forgets tentative ones', () => {
  const tracker = new ObjectTracker({ minHits: 3 });
  run(tracker, [
    [person(100, 100)],
    [person(102, 100)],
    [person(104, 100), person(400, 100)],
  ]);
  const flushed = tracker.flush(600);
  assert.equal(flushed.ended.length, 1);
  assert.equal(flushed.ended[0].box.x, 104);
  assert.deepEqual(flushed.active, []);
  assert.deepEqual(tracker.update([], 800), { started: [], updated: [], ended: [], active: [], tentative: [] });
});

test('tentative tracks detected in an update are listed (without an id) until they are confirmed', () => {
  const tracker = new ObjectTracker({ minHits: 3 });
  const [first, second, third, fourth] = run(tracker, [[person(100, 100)], [person(102, 100)], [], [person(106, 100)]]);
  assert.deepEqual(first.tentative.map((t) => [t.id, t.box.x, t.hits]), [['', 100, 1]]);
  assert.deepEqual(second.tentative.map((t) => [t.id, t.box.x, t.hits]), [['', 102, 2]]);
  assert.deepEqual(third.tentative, [], 'not detected in this update');
  assert.deepEqual(fourth.tentative, [], 'confirmed: started, no longer tentative');
  assert.equal(fourth.started.length, 1);
  assert.equal(fourth.started[0].firstSeen, first.tentative[0].firstSeen);
});

test('ids come from createId when given', () => {
  let n = 0;
  const tracker = new ObjectTracker({ minHits: 1, createId: (label, firstSeen) => `porch-${label}-${firstSeen}-${++n}` });
  assert.equal(tracker.update([person(10, 10)], 1234).started[0].id, 'porch-person-1234-1');
});

test('timestamps that go backwards are rejected', () => {
  const tracker = new ObjectTracker({});
  tracker.update([], 1000);
  assert.throws(() => tracker.update([], 999), /must not go backwards/);
});
