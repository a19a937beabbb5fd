import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rasterisePolygons } from '../../src/geometry/mask.ts';
import { pointInPolygon, type Polygon } from '../../src/geometry/polygon.ts';

test('a rectangle mask at half resolution covers exactly the pixels whose centres it contains', () => {
  const leftHalf: Polygon = [[0, 0], [320, 0], [320, 360], [0, 360]];
  const mask = rasterisePolygons([leftHalf], 320, 180, 0.5);
  for (let row = 0; row < 180; row += 37) {
    for (let col = 0; col < 320; col++) assert.equal(mask[row * 320 + col], col < 160 ? 1 : 0, `pixel ${col},${row}`);
  }
});

test('a concave polygon rasterises like point-in-polygon on pixel centres, and several polygons add up', () => {
  const notch: Polygon = [[10, 10], [90, 10], [90, 90], [50, 40], [10, 90]];
  const corner: Polygon = [[150, 150], [200, 150], [200, 200]];
  const scale = 0.25;
  const mask = rasterisePolygons([notch, corner], 50, 50, scale);
  let set = 0;
  for (let row = 0; row < 50; row++) {
    for (let col = 0; col < 50; col++) {
      const centre: [number, number] = [(col + 0.5) / scale, (row + 0.5) / scale];
      const expected = pointInPolygon(centre, notch) || pointInPolygon(centre, corner) ? 1 : 0;
      assert.equal(mask[row * 50 + col], expected, `pixel ${col},${row}`);
      set += expected;
    }
  }
  assert.ok(set > 100);
  assert.equal(mask[15 * 50 + 12], 0, 'the notch between the two prongs stays open');
});
