import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Letterboxer, readImageRgb } from '../../src/detect/preprocess.ts';

function solidRgb(width: number, height: number, [r, g, b]: [number, number, number]) {
  const data = Buffer.alloc(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data.set([r, g, b], i);
  return { data, width, height };
}

/** Value of channel c at (x, y) of a CHW tensor of the given width and height. */
const at = (t: Float32Array, w: number, h: number, c: number, x: number, y: number) => t[c * w * h + y * w + x];

test('an RGB frame lands top-left as BGR planes, the rest padded with 114', () => {
  const { tensor, letterbox } = new Letterboxer().rgb(solidRgb(4, 2, [10, 20, 30]), undefined, 32, 32);
  assert.equal(letterbox.scale, 8);
  assert.deepEqual([0, 1, 2].map((c) => at(tensor, 32, 32, c, 31, 15)), [30, 20, 10]);
  assert.deepEqual([0, 1, 2].map((c) => at(tensor, 32, 32, c, 0, 16)), [114, 114, 114]);
});

test('a crop region letterboxes only that part of the frame', () => {
  const frame = solidRgb(8, 8, [255, 0, 0]);
  for (let y = 0; y < 8; y++) for (let x = 4; x < 8; x++) frame.data.set([0, 0, 255], (y * 8 + x) * 3);
  const { tensor, letterbox } = new Letterboxer().rgb(frame, { x: 4, y: 0, width: 4, height: 8 }, 32, 32);
  assert.deepEqual(letterbox, { scale: 4, region: { x: 4, y: 0, width: 4, height: 8 } });
  for (const x of [0, 8, 15]) assert.deepEqual([0, 1, 2].map((c) => at(tensor, 32, 32, c, x, 20)), [255, 0, 0]);
  assert.equal(at(tensor, 32, 32, 0, 16, 20), 114);
});

test('a region is rounded out to whole pixels and clipped to the frame', () => {
  const { letterbox } = new Letterboxer().rgb(solidRgb(8, 8, [0, 0, 0]), { x: 2.5, y: -3, width: 9, height: 5.2 }, 32, 32);
  assert.deepEqual(letterbox.region, { x: 2, y: 0, width: 6, height: 3 });
});

test('the tensor buffer is reused per input size and its padding follows the current frame', () => {
  const letterboxer = new Letterboxer();
  const wide = letterboxer.rgb(solidRgb(8, 2, [1, 1, 1]), undefined, 32, 32).tensor;
  const tall = letterboxer.rgb(solidRgb(2, 8, [1, 1, 1]), undefined, 32, 32).tensor;
  assert.equal(wide, tall);
  assert.equal(at(tall, 32, 32, 0, 20, 0), 114); // content of the wide frame, padding now
  assert.equal(at(tall, 32, 32, 0, 0, 20), 1);
  assert.notEqual(letterboxer.rgb(solidRgb(8, 2, [1, 1, 1]), undefined, 64, 32).tensor, wide);
});

test('a YUV420p frame is converted to BGR while resizing (BT.601 limited range)', () => {
  const width = 6;
  const height = 4;
  const data = Buffer.alloc(width * height + 2 * 3 * 2);
  data.fill(126, 0, width * height); // grey: (126-16)*1.164 ≈ 128
  data.fill(128, width * height);
  const { tensor } = new Letterboxer().yuv420({ data, width, height }, undefined, 32, 32);
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(tensor, 32, 32, c, 10, 10) - 128) < 0.1);
  assert.equal(at(tensor, 32, 32, 0, 10, 30), 114);
});

test('a frame buffer too short for its size, or a region outside it, is a clear error', () => {
  const letterboxer = new Letterboxer();
  assert.throws(() => letterboxer.rgb({ data: Buffer.alloc(10), width: 4, height: 4 }, undefined, 32, 32), /RGB24 frame 4x4 needs 48 bytes, got 10/);
  assert.throws(() => letterboxer.yuv420({ data: Buffer.alloc(16), width: 4, height: 4 }, undefined, 32, 32), /YUV420p frame 4x4 needs 24 bytes/);
  assert.throws(() => letterboxer.rgb(solidRgb(4, 4, [0, 0, 0]), { x: 5, y: 0, width: 4, height: 4 }, 32, 32), /does not overlap the 4x4 frame/);
  assert.throws(() => letterboxer.rgb(solidRgb(4, 4, [0, 0, 0]), { x: NaN, y: 0, width: 4, height: 4 }, 32, 32), /does not overlap/);
});

test('an unreadable image file is an error naming the file', async () => {
  await assert.rejects(readImageRgb('/nonexistent/missing.jpg'), /Cannot read image "\/nonexistent\/missing.jpg"/);
});
