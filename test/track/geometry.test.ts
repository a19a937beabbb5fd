import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boxBottomCentre, boxCentre, clipBox, enclosingBox, iou } from '../../src/geometry/box.ts';
import { boxInPolygon, pointInPolygon, type Polygon } from '../../src/geometry/polygon.ts';

test('iou is 1 for equal boxes, 0 for disjoint or touching ones, and the overlap ratio otherwise', () => {
  const a = { x: 0, y: 0, width: 10, height: 10 };
  assert.equal(iou(a, { ...a }), 1);
  assert.equal(iou(a, { x: 10, y: 0, width: 10, height: 10 }), 0);
  assert.equal(iou(a, { x: 5, y: 0, width: 10, height: 10 }), 50 / 150);
  assert.equal(iou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 }), 0);
});

test('clipBox keeps the part inside the frame, enclosingBox covers both boxes', () => {
  assert.deepEqual(clipBox({ x: -5, y: 350, width: 20, height: 20 }, 640, 360), { x: 0, y: 350, width: 15, height: 10 });
  assert.deepEqual(clipBox({ x: 700, y: 10, width: 20, height: 20 }, 640, 360), { x: 640, y: 10, width: 0, height: 20 });
  assert.deepEqual(
    enclosingBox({ x: 0, y: 5, width: 10, height: 10 }, { x: 20, y: 0, width: 5, height: 5 }),
    { x: 0, y: 0, width: 25, height: 15 },
  );
  assert.deepEqual(boxCentre({ x: 10, y: 20, width: 30, height: 40 }), [25, 40]);
  assert.deepEqual(boxBottomCentre({ x: 10, y: 20, width: 30, height: 40 }), [25, 60]);
});

test('pointInPolygon follows the even-odd rule on a concave polygon', () => {
  const u: Polygon = [[0, 0], [30, 0], [30, 30], [20, 30], [20, 10], [10, 10], [10, 30], [0, 30]];
  assert.equal(pointInPolygon([5, 20], u), true);
  assert.equal(pointInPolygon([15, 20], u), false, 'inside the notch of the U');
  assert.equal(pointInPolygon([15, 5], u), true);
  assert.equal(pointInPolygon([40, 5], u), false);
});

test('a box is in a zone by its bottom-centre, or by any sample point when asked', () => {
  const lawn: Polygon = [[0, 100], [200, 100], [200, 200], [0, 200]];
  const standingOnLawn = { x: 50, y: 40, width: 20, height: 80 };
  const headOverLawnEdge = { x: 50, y: 60, width: 20, height: 30 };
  const overlappingAtCorner = { x: 190, y: 190, width: 30, height: 30 };
  assert.equal(boxInPolygon(standingOnLawn, lawn), true);
  assert.equal(boxInPolygon(headOverLawnEdge, lawn), false);
  assert.equal(boxInPolygon(overlappingAtCorner, lawn, 'bottom-centre'), false);
  assert.equal(boxInPolygon(overlappingAtCorner, lawn, 'any'), true);
});
