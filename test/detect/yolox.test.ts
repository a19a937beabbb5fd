import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nonMaxSuppression, type ScoredBox } from '../../src/detect/nms.ts';
import { anchorCount, decodeYolox, postprocessYolox, toSourceBoxes } from '../../src/detect/yolox.ts';

const DOG = 16;
const PERSON = 0;

/** A 32×32 input: 4×4 anchors at stride 8, 2×2 at 16, 1 at 32 — all silent until set. */
function syntheticOutput(): Float32Array {
  return new Float32Array(anchorCount(32, 32) * 85);
}

function setAnchor(out: Float32Array, anchor: number, values: { x: number; y: number; logW: number; logH: number; obj: number; cls: number; score: number }) {
  const o = anchor * 85;
  out.set([values.x, values.y, values.logW, values.logH, values.obj], o);
  out[o + 5 + values.cls] = values.score;
}

function thresholds(min: number, classes: number[]): Float32Array {
  const t = new Float32Array(80).fill(2);
  for (const c of classes) t[c] = min;
  return t;
}

test('a 32x32 input has 21 anchors over strides 8, 16 and 32', () => {
  assert.equal(anchorCount(32, 32), 16 + 4 + 1);
  assert.equal(anchorCount(416, 416), 3549);
  assert.equal(anchorCount(416, 256), 52 * 32 + 26 * 16 + 13 * 8);
});

test('a known stride-8 grid cell decodes to its box, score = objectness × class score', () => {
  const out = syntheticOutput();
  // stride 8, row 2, column 1 → anchor 2*4+1
  setAnchor(out, 9, { x: 0.5, y: 0.5, logW: Math.log(2), logH: 0, obj: 0.9, cls: DOG, score: 0.8 });
  const [box, ...rest] = decodeYolox(out, 32, 32, thresholds(0.5, [DOG]));
  assert.equal(rest.length, 0);
  assert.equal(box.classIndex, DOG);
  assert.ok(Math.abs(box.score - 0.72) < 1e-6);
  // cx = (0.5+1)*8 = 12, cy = (0.5+2)*8 = 20, w = 2*8 = 16, h = 8
  assert.deepEqual([box.x1, box.y1, box.x2, box.y2].map((v) => +v.toFixed(4)), [4, 16, 20, 24]);
});

test('the stride-32 anchor comes after the stride-8 and stride-16 grids', () => {
  const out = syntheticOutput();
  setAnchor(out, 20, { x: 0.5, y: 0.5, logW: 0, logH: 0, obj: 1, cls: PERSON, score: 0.9 });
  const [box] = decodeYolox(out, 32, 32, thresholds(0.5, [PERSON]));
  assert.deepEqual([box.x1, box.y1, box.x2, box.y2], [0, 0, 32, 32]);
});

test('classes not asked for, and scores under their class threshold, are not decoded', () => {
  const out = syntheticOutput();
  setAnchor(out, 0, { x: 0, y: 0, logW: 0, logH: 0, obj: 0.9, cls: 2, score: 0.9 }); // car: not asked for
  setAnchor(out, 1, { x: 0, y: 0, logW: 0, logH: 0, obj: 0.5, cls: DOG, score: 0.9 }); // 0.45 < 0.5
  setAnchor(out, 2, { x: 0, y: 0, logW: 0, logH: 0, obj: 0.9, cls: PERSON, score: 0.9 }); // 0.81 < person's 0.85
  const t = thresholds(0.5, [DOG]);
  t[PERSON] = 0.85;
  assert.deepEqual(decodeYolox(out, 32, 32, t), []);
});

test('an output of the wrong length for the input size is an error naming both', () => {
  assert.throws(() => decodeYolox(new Float32Array(85), 32, 32, thresholds(0.5, [DOG])), /1785 for a 32x32 input/);
});

const box = (classIndex: number, score: number, x1: number, y1: number, x2: number, y2: number): ScoredBox =>
  ({ classIndex, score, x1, y1, x2, y2 });

test('NMS suppresses an overlapping box of the same class and keeps the best', () => {
  const kept = nonMaxSuppression([box(DOG, 0.6, 1, 1, 11, 11), box(DOG, 0.9, 0, 0, 10, 10)], 0.45);
  assert.deepEqual(kept, [box(DOG, 0.9, 0, 0, 10, 10)]);
});

test('NMS keeps overlapping boxes of different classes and distant boxes of one class', () => {
  const boxes = [box(DOG, 0.9, 0, 0, 10, 10), box(PERSON, 0.8, 0, 0, 10, 10), box(DOG, 0.7, 50, 50, 60, 60)];
  assert.deepEqual(nonMaxSuppression(boxes, 0.45), boxes);
});

test('boxes map back through the letterbox scale and crop offset, clipped to the crop', () => {
  const letterbox = { scale: 0.5, region: { x: 100, y: 50, width: 200, height: 100 } };
  const [inside, overflowing] = toSourceBoxes([box(DOG, 1, 10, 10, 20, 30), box(DOG, 1, -5, -5, 120, 60)], letterbox);
  assert.deepEqual([inside.x1, inside.y1, inside.x2, inside.y2], [120, 70, 140, 110]);
  assert.deepEqual([overflowing.x1, overflowing.y1, overflowing.x2, overflowing.y2], [100, 50, 300, 150]);
});

test('post-processing decodes, suppresses duplicates and maps to source pixels', () => {
  const out = syntheticOutput();
  setAnchor(out, 9, { x: 0.5, y: 0.5, logW: Math.log(2), logH: 0, obj: 0.9, cls: DOG, score: 0.8 });
  setAnchor(out, 10, { x: -0.5, y: 0.5, logW: Math.log(2), logH: 0, obj: 0.9, cls: DOG, score: 0.7 }); // same box, lower
  const result = postprocessYolox(out, 32, 32, { scale: 2, region: { x: 0, y: 0, width: 16, height: 16 } }, thresholds(0.5, [DOG]), 0.45);
  assert.equal(result.length, 1);
  assert.deepEqual([result[0].x1, result[0].y1, result[0].x2, result[0].y2].map((v) => +v.toFixed(4)), [2, 8, 10, 12]);
});
