import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '../../src/geometry/box.ts';
import { EventGate, hasMoved, hasOwnMotion, median } from '../../src/objects/event-gate.ts';
import { ObjectTracker, type TrackedInput } from '../../src/track/tracker.ts';

const FRAME_MS = 200;
const THRESHOLDS: Record<string, number> = { person: 0.6, dog: 0.7 };

interface Step {
  detections: TrackedInput[];
  /** Motion boxes of the frame; null while motion is calibrating. */
  motion?: Box[] | null;
}

/** The real tracker (confirmation after 2 hits, as the pipeline runs it) followed by the gate. */
function run(steps: Step[]) {
  const tracker = new ObjectTracker({ minHits: 2 });
  const gate = new EventGate({ threshold: (label) => THRESHOLDS[label] });
  const started: { label: string; at: number }[] = [];
  const ended: string[] = [];
  steps.forEach((step, i) => {
    const update = gate.update(tracker.update(step.detections, i * FRAME_MS), step.motion === undefined ? [] : step.motion);
    for (const t of update.started) started.push({ label: t.label, at: i * FRAME_MS });
    for (const t of update.ended) ended.push(t.label);
  });
  const flushed = gate.update(tracker.flush(steps.length * FRAME_MS), null);
  for (const t of flushed.ended) ended.push(t.label);
  return { started, ended };
}

const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });
const dog = (b: Box, score = 0.85): TrackedInput => ({ label: 'dog', score, box: b });
const person = (b: Box, score = 0.8): TrackedInput => ({ label: 'person', score, box: b });
const statueBox = box(300, 200, 60, 50);
/** A person walking left to right past the statue, in front of it between steps 8 and 12. */
const walker = (i: number) => box(100 + 25 * i, 150, 45, 130);
/** The motion the walker makes: a little larger than their box (shadow, dilation). */
const walkerMotion = (i: number) => box(95 + 25 * i, 145, 60, 140);

test('a person walking past a still dog statue: the person is an event, the statue never is', () => {
  const steps: Step[] = Array.from({ length: 25 }, (_, i) => {
    // Partly hidden by the walker now and then: a smaller box inside the statue's.
    const hidden = i >= 8 && i <= 12;
    return { detections: [person(walker(i)), dog(hidden ? box(320, 205, 40, 45) : statueBox, hidden ? 0.6 : 0.85)], motion: [walkerMotion(i)] };
  });
  const { started, ended } = run(steps);
  assert.deepEqual(started.map((s) => s.label), ['person']);
  assert.ok(started[0].at <= 2 * FRAME_MS, `person event at once (${started[0].at} ms)`);
  assert.deepEqual(ended, ['person'], 'the statue track ends silently');
});

test('motion from the first sighting counts: a person walking towards the camera is an event at the detection that confirms the track', () => {
  // Coming closer: the box grows around the same centre, so it has not "moved"; its motion is its own.
  const closer = (i: number) => box(300 - 4 * i, 150 - 8 * i, 45 + 8 * i, 130 + 16 * i);
  const { started } = run(Array.from({ length: 6 }, (_, i) => ({ detections: [person(closer(i))], motion: [closer(i)] })));
  assert.deepEqual(started, [{ label: 'person', at: FRAME_MS }], 'at the second detection, the first being tentative');
});

test('an object present from the start is scene until it moves, then it is an event', () => {
  const steps: Step[] = Array.from({ length: 30 }, (_, i) => ({
    detections: [dog(i < 15 ? statueBox : box(statueBox.x + 20 * (i - 14), statueBox.y, 60, 50))],
    motion: i < 3 ? null : i < 15 ? [] : [box(statueBox.x + 20 * (i - 15), statueBox.y, 80, 50)],
  }));
  const { started } = run(steps);
  assert.equal(started.length, 1);
  assert.ok(started[0].at >= 15 * FRAME_MS && started[0].at <= 18 * FRAME_MS, `the dog is an event soon after it starts to move (${started[0].at} ms)`);
});

test('a still animal moving by itself (motion nobody else explains inside its box) is an event; one moving frame is not enough', () => {
  const tail = box(340, 210, 20, 30); // 20 % of the statue box
  const once = run(Array.from({ length: 12 }, (_, i) => ({ detections: [dog(statueBox)], motion: i === 5 ? [tail] : [] })));
  assert.deepEqual(once.started, []);
  const wagging = run(Array.from({ length: 12 }, (_, i) => ({ detections: [dog(statueBox)], motion: i >= 5 ? [tail] : [] })));
  assert.deepEqual(wagging.started.map((s) => s.label), ['dog']);
});

test('score history: a moving "dog" whose median stays under the threshold is never an event, even with one high score', () => {
  const scores = [0.55, 0.62, 0.58, 0.91, 0.6, 0.67, 0.57, 0.64, 0.59, 0.66, 0.61, 0.63];
  const moving = (i: number) => box(100 + 30 * i, 200, 60, 50);
  const hydrantLike = run(scores.map((score, i) => ({ detections: [dog(moving(i), score)], motion: [moving(i)] })));
  assert.deepEqual(hydrantLike.started, []);
  const realDog = run(scores.map((score, i) => ({ detections: [dog(moving(i), score + 0.15)], motion: [moving(i)] })));
  assert.deepEqual(realDog.started.map((s) => s.label), ['dog']);
});

test('once an event, always an event: low scores and standing still later do not end it early', () => {
  const steps: Step[] = Array.from({ length: 20 }, (_, i) => {
    const b = box(100 + 30 * Math.min(i, 6), 200, 60, 50);
    return { detections: [dog(b, i < 6 ? 0.9 : 0.5)], motion: i < 6 ? [b] : [] };
  });
  const { started, ended } = run(steps);
  assert.deepEqual(started.map((s) => s.label), ['dog']);
  assert.deepEqual(ended, ['dog']);
});

test('hasMoved: hidden parts shrink a box inside the first one (not moved); leaving its place is moving', () => {
  const first = box(100, 100, 60, 60);
  assert.equal(hasMoved({ firstBox: first, box: box(120, 110, 30, 40) }), false);
  assert.equal(hasMoved({ firstBox: first, box: box(90, 90, 80, 80) }), false, 'seen whole after a partial first view');
  assert.equal(hasMoved({ firstBox: first, box: box(135, 100, 60, 60) }), true, 'moved more than half its width');
});

test('hasOwnMotion: motion mostly inside another tracked object is theirs', () => {
  const statue = { id: 's', box: statueBox };
  const walkerTrack = { id: 'w', box: box(290, 150, 45, 130) };
  const motion = [box(285, 145, 60, 140)];
  assert.equal(hasOwnMotion(statue, motion, [walkerTrack], 0.15), false);
  assert.equal(hasOwnMotion(statue, motion, [], 0.15), true, 'nobody else to explain it');
});

test('median of an even and odd number of scores', () => {
  assert.equal(median([0.5, 0.9, 0.7]), 0.7);
  assert.ok(Math.abs(median([0.5, 0.9, 0.7, 0.6]) - 0.65) < 1e-9);
  assert.equal(median([]), 0);
});

test('one object named twice (a bird, and a giraffe on the same box) makes one event, the first one', () => {
  const flying = (i: number) => box(100 + 30 * i, 80, 90, 60);
  const steps: Step[] = Array.from({ length: 12 }, (_, i) => ({
    detections: [
      { label: 'bird', score: 0.85, box: flying(i) },
      ...(i >= 3 ? [{ label: 'giraffe', score: 0.8, box: { ...flying(i), width: 86 } }] : []),
    ],
    motion: [flying(i)],
  }));
  const tracker = new ObjectTracker({ minHits: 2 });
  const gate = new EventGate({ threshold: () => 0.7 });
  const started = steps.flatMap((step, i) => gate.update(tracker.update(step.detections, i * FRAME_MS), step.motion ?? null).started.map((t) => t.label));
  assert.deepEqual(started, ['bird']);
  const apart = new EventGate({ threshold: () => 0.7 });
  const tracker2 = new ObjectTracker({ minHits: 2 });
  const both = steps.flatMap((step, i) =>
    apart.update(tracker2.update(step.detections.map((d) => (d.label === 'giraffe' ? { ...d, box: { ...d.box, y: 200 } } : d)), i * FRAME_MS), [flying(i), { ...flying(i), y: 200 }]).started.map((t) => t.label),
  );
  assert.deepEqual(both, ['bird', 'giraffe'], 'two objects apart are two events');
});
