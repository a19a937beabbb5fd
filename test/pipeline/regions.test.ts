import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectionRegions } from '../../src/pipeline/regions.ts';

const W = 1920;
const H = 1080;

test('no motion means no detection region', () => {
  assert.deepEqual(detectionRegions([], W, H, { minSide: 416 }), []);
});

test('a small motion box gets a model-sized square region centred on it', () => {
  const [region] = detectionRegions([{ x: 900, y: 500, width: 40, height: 80 }], W, H, { minSide: 416 });
  assert.deepEqual(region, { x: 712, y: 332, width: 416, height: 416 });
});

test('a region near the edge is shifted inside the frame, not cut', () => {
  const [region] = detectionRegions([{ x: 1900, y: 1060, width: 10, height: 10 }], W, H, { minSide: 416 });
  assert.deepEqual(region, { x: W - 416, y: H - 416, width: 416, height: 416 });
});

test('a region larger than the frame is clipped to the frame', () => {
  const [region] = detectionRegions([{ x: 100, y: 100, width: 50, height: 50 }], 640, 360, { minSide: 416 });
  assert.deepEqual(region, { x: 0, y: 0, width: 416, height: 360 });
});

test('overlapping regions merge into one square covering both', () => {
  const regions = detectionRegions(
    [
      { x: 400, y: 400, width: 50, height: 50 },
      { x: 700, y: 450, width: 50, height: 50 },
    ],
    W,
    H,
    { minSide: 416 },
  );
  assert.equal(regions.length, 1);
  const [r] = regions;
  assert.equal(r.width, r.height);
  assert.ok(r.x <= 400 && r.x + r.width >= 750, JSON.stringify(r));
});

test('distant motion keeps separate regions', () => {
  const regions = detectionRegions(
    [
      { x: 50, y: 50, width: 40, height: 40 },
      { x: 1800, y: 1000, width: 40, height: 40 },
    ],
    W,
    H,
    { minSide: 416 },
  );
  assert.equal(regions.length, 2);
});

test('motion over most of the frame becomes one full-frame pass', () => {
  const regions = detectionRegions([{ x: 0, y: 0, width: 600, height: 340 }], 640, 360, { minSide: 416 });
  assert.deepEqual(regions, [{ x: 0, y: 0, width: 640, height: 360 }]);
});
