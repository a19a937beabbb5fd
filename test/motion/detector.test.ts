import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MotionDetector, type MotionResult } from '../../src/motion/detector.ts';
import type { MotionOptions } from '../../src/motion/options.ts';
import { iou, type Box } from '../../src/geometry/box.ts';
import { brightened, seededRandom, texture, withNoise, withSquares } from './synthetic-frames.ts';

const WIDTH = 640;
const HEIGHT = 360;
const FRAME_MS = 200;
const background = texture(WIDTH, HEIGHT);

/** Feeds frames 200 ms apart, starting with enough static frames to finish calibration. */
function run(frames: Uint8Array[], options: MotionOptions = {}): MotionResult[] {
  const detector = new MotionDetector(options);
  const warmUp = Array.from({ length: 5 }, () => background);
  return [...warmUp, ...frames]
    .map((data, i) => detector.update({ data, width: WIDTH, height: HEIGHT }, i * FRAME_MS))
    .slice(warmUp.length);
}

function square(x: number, y: number, size = 40): Box {
  return { x, y, width: size, height: size };
}

function assertOneBoxAround(result: MotionResult, expected: Box): void {
  assert.equal(result.calibrating, false);
  assert.equal(result.boxes.length, 1, `expected one box, got ${JSON.stringify(result.boxes)}`);
  assert.ok(iou(result.boxes[0], expected) > 0.5, `box ${JSON.stringify(result.boxes[0])} misses ${JSON.stringify(expected)}`);
}

test('a static scene reports calibration on the first frames, then no motion', () => {
  const detector = new MotionDetector({ calibrationFrames: 3 });
  const results = Array.from({ length: 10 }, (_, i) => detector.update({ data: background, width: WIDTH, height: HEIGHT }, i * FRAME_MS));
  assert.deepEqual(results.map((r) => r.calibrating), [true, true, true, true, false, false, false, false, false, false]);
  for (const result of results) assert.deepEqual(result.boxes, []);
  assert.equal(results[9].changedFraction, 0);
});

test('a bright square moving over a textured scene gives one box around it in source pixels, with no trail', () => {
  const squares = Array.from({ length: 12 }, (_, i) => square(101 + 13 * i, 150));
  const results = run(squares.map((s) => withSquares(background, WIDTH, [s])));
  results.forEach((result, i) => assertOneBoxAround(result, squares[i]));
});

test('two separated moving objects give two boxes', () => {
  const frames = Array.from({ length: 6 }, (_, i) => [square(60 + 10 * i, 60), square(420 - 10 * i, 240, 50)]);
  const results = run(frames.map((squares) => withSquares(background, WIDTH, squares)));
  results.forEach((result, i) => {
    assert.equal(result.boxes.length, 2);
    for (const expected of frames[i]) {
      assert.ok(result.boxes.some((box) => iou(box, expected) > 0.5), `no box around ${JSON.stringify(expected)}`);
    }
  });
});

test('sensor noise of ±3 is never motion', () => {
  const random = seededRandom(7);
  const results = run(Array.from({ length: 15 }, () => withNoise(background, 3, random)));
  for (const result of results) {
    assert.equal(result.calibrating, false);
    assert.deepEqual(result.boxes, []);
  }
});

test('a whole-frame brightness jump recalibrates instead of reporting motion, and motion is seen again afterwards', () => {
  const lit = brightened(background, 60);
  const movingAfterwards = square(300, 100);
  const results = run([lit, lit, lit, lit, lit, lit, withSquares(lit, WIDTH, [movingAfterwards])], { calibrationFrames: 3 });

  assert.equal(results[0].calibrating, true);
  assert.ok(results[0].changedFraction > 0.4);
  assert.deepEqual(results.slice(0, 4).map((r) => r.calibrating), [true, true, true, true]);
  for (const result of results.slice(0, 6)) assert.deepEqual(result.boxes, []);
  assert.equal(results[4].calibrating, false);
  assert.equal(results[5].calibrating, false);
  assertOneBoxAround(results[6], movingAfterwards);
});

test('calibration lasts while the light keeps changing', () => {
  const steps = [60, 120, 0, 0, 0, 0, 0].map((delta) => brightened(background, delta));
  const results = run(steps, { calibrationFrames: 2 });
  assert.deepEqual(results.map((r) => r.calibrating), [true, true, true, true, true, false, false]);
});

test('motion inside a mask is ignored and does not count into the changed fraction', () => {
  const leftHalfMask: [number, number][] = [[0, 0], [320, 0], [320, 360], [0, 360]];
  const insideOnly = run([withSquares(background, WIDTH, [square(100, 100)])], { masks: [leftHalfMask] });
  assert.deepEqual(insideOnly[0].boxes, []);
  assert.equal(insideOnly[0].changedFraction, 0);

  const outside = square(500, 200);
  const both = run([withSquares(background, WIDTH, [square(100, 100), outside])], { masks: [leftHalfMask] });
  assertOneBoxAround(both[0], outside);
});

test('an object that stops moving fades into the background', () => {
  const parked = withSquares(background, WIDTH, [square(200, 120)]);
  const results = run(Array.from({ length: 250 }, () => parked));
  assert.equal(results[0].boxes.length, 1);
  assert.deepEqual(results.at(-1)?.boxes, []);
});

test('a frame after a long gap (stream stall) recalibrates instead of reporting the changed scene', () => {
  const detector = new MotionDetector({ maxFrameGapMs: 5000 });
  for (let i = 0; i < 5; i++) detector.update({ data: background, width: WIDTH, height: HEIGHT }, i * FRAME_MS);
  const changed = withSquares(background, WIDTH, [square(200, 120)]);
  const afterGap = detector.update({ data: changed, width: WIDTH, height: HEIGHT }, 60_000);
  assert.equal(afterGap.calibrating, true);
  assert.deepEqual(afterGap.boxes, []);
});

test('a yuv420p frame is read through its luma plane only', () => {
  const random = seededRandom(3);
  const chroma = () => Uint8Array.from({ length: (WIDTH * HEIGHT) / 2 }, () => Math.floor(random() * 256));
  const detector = new MotionDetector({});
  const results = Array.from({ length: 8 }, (_, i) => {
    const data = new Uint8Array(WIDTH * HEIGHT * 1.5);
    data.set(background);
    data.set(chroma(), WIDTH * HEIGHT);
    return detector.update({ data, width: WIDTH, height: HEIGHT }, i * FRAME_MS);
  });
  assert.equal(results.at(-1)?.calibrating, false);
  for (const result of results) assert.deepEqual(result.boxes, []);
});

test('a frame whose buffer is shorter than width×height is rejected with its expected size', () => {
  const detector = new MotionDetector({});
  assert.throws(
    () => detector.update({ data: new Uint8Array(100), width: WIDTH, height: HEIGHT }, 0),
    /640×360 needs 230400 luma bytes, got 100/,
  );
});

test('invalid options are rejected with the option name', () => {
  assert.throws(() => new MotionDetector({ alpha: 2 }), /motion\.alpha/);
  assert.throws(() => new MotionDetector({ dilateIterations: 1.5 }), /motion\.dilateIterations/);
});
