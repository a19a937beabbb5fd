import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FramePool } from '../../src/camera/frame-pool.ts';

test('a released buffer is reused; a held one is not until every hold is released', () => {
  const pool = new FramePool(4, 2);
  const a = pool.acquire();
  const releaseHold = pool.hold(a);
  pool.release(a);
  const b = pool.acquire();
  assert.notEqual(b, a, 'a is still held by its second holder');
  pool.release(b);
  assert.equal(pool.acquire(), b, 'b went back to the pool');
  releaseHold();
  assert.equal(pool.inUse, 1);
  assert.equal(pool.acquire(), a, 'a is reused once its last hold is released');
  assert.equal(pool.overflows, 0);
});

test('when every pooled buffer is held, fresh unpooled buffers are handed out and never reused', () => {
  const pool = new FramePool(4, 2);
  const held = [pool.acquire(), pool.acquire()];
  const extra = pool.acquire();
  assert.equal(pool.overflows, 1);
  assert.ok(!held.includes(extra));
  assert.equal(extra.length, 4);
  pool.hold(extra)();
  pool.release(extra);
  for (const buffer of held) pool.release(buffer);
  const next = [pool.acquire(), pool.acquire()];
  assert.deepEqual(new Set(next), new Set(held), 'only the pooled buffers come back');
  assert.notEqual(pool.acquire(), extra);
});

test('a hold releases once however often its release is called', () => {
  const pool = new FramePool(4, 1);
  const a = pool.acquire();
  const release = pool.hold(a);
  release();
  release();
  assert.equal(pool.inUse, 1, 'the acquire hold is still there');
  pool.release(a);
  assert.equal(pool.inUse, 0);
});

test('releasing a free buffer twice, or holding it, is refused', () => {
  const pool = new FramePool(4, 1);
  const a = pool.acquire();
  pool.release(a);
  assert.throws(() => pool.release(a), /released twice/);
  assert.throws(() => pool.hold(a), /already released/);
});

test('sizes and capacities must be positive integers', () => {
  assert.throws(() => new FramePool(0), RangeError);
  assert.throws(() => new FramePool(4, 0), RangeError);
});
