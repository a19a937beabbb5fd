import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePool } from '../../src/camera/frame-pool.ts';
import { FrameReader, yuv420pFrameSize } from '../../src/camera/frame-reader.ts';

function framesFrom(chunks: Buffer[], frameSize: number): Buffer[] {
  const frames: Buffer[] = [];
  const reader = new FrameReader(frameSize, (f) => frames.push(Buffer.from(f)));
  for (const c of chunks) reader.push(c);
  return frames;
}

test('frames are cut at exact byte lengths whatever the chunking', () => {
  const stream = Buffer.from(Array.from({ length: 30 }, (_, i) => i));
  const expected = [stream.subarray(0, 10), stream.subarray(10, 20), stream.subarray(20, 30)];
  for (const sizes of [[30], [1, 29], [7, 7, 7, 9], [10, 10, 10], [3, 25, 2], Array(30).fill(1)]) {
    let offset = 0;
    const chunks = sizes.map((n) => stream.subarray(offset, (offset += n)));
    assert.deepEqual(framesFrom(chunks, 10), expected, `chunks ${sizes}`);
  }
});

test('a partial frame is never emitted and is dropped on reset', () => {
  const frames: Buffer[] = [];
  const reader = new FrameReader(4, (f) => frames.push(f));
  reader.push(Buffer.from([1, 2, 3]));
  assert.equal(frames.length, 0);
  assert.equal(reader.partialBytes, 3);
  reader.reset();
  reader.push(Buffer.from([5, 6, 7, 8]));
  assert.deepEqual(frames, [Buffer.from([5, 6, 7, 8])]);
});

test('an emitted frame is not overwritten by later bytes', () => {
  const frames: Buffer[] = [];
  const reader = new FrameReader(2, (f) => frames.push(f));
  reader.push(Buffer.from([1, 1, 2, 2, 3]));
  reader.push(Buffer.from([3]));
  assert.deepEqual(frames, [Buffer.from([1, 1]), Buffer.from([2, 2]), Buffer.from([3, 3])]);
});

test('yuv420p frame size counts the quarter-size chroma planes, rounding odd sizes up', () => {
  assert.equal(yuv420pFrameSize(640, 360), 640 * 360 * 1.5);
  assert.equal(yuv420pFrameSize(3, 3), 9 + 2 * 4);
});

test('with a pool, frames fill pooled buffers that are reused once released and never while held', () => {
  const pool = new FramePool(2, 2);
  const frames: Buffer[] = [];
  let keep: (() => void) | undefined;
  const reader = new FrameReader(2, (f) => {
    frames.push(f);
    if (frames.length === 1) keep = pool.hold(f);
    pool.release(f);
  }, pool);
  reader.push(Buffer.from([1, 1, 2, 2, 3]));
  reader.push(Buffer.from([3, 4, 4]));
  assert.deepEqual(frames[0], Buffer.from([1, 1]), 'the held frame keeps its bytes');
  assert.ok(frames.slice(1).every((f) => f !== frames[0]), 'the held buffer is not reused');
  assert.equal(frames[1], frames[2], 'a released buffer is reused for the next frame');
  assert.deepEqual(frames[3], Buffer.from([4, 4]));
  assert.equal(pool.overflows, 0);
  keep!();
  reader.push(Buffer.from([5, 5]));
  assert.ok(frames[4] === frames[0] || frames[4] === frames[1], 'only pooled buffers are used');
  assert.deepEqual(frames[4], Buffer.from([5, 5]));
});

test('a pool must match the frame size', () => {
  assert.throws(() => new FrameReader(4, () => {}, new FramePool(2)), RangeError);
});
