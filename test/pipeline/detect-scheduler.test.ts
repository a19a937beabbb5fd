import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FramePool } from '../../src/camera/frame-pool.ts';
import { yuv420pFrameSize } from '../../src/camera/frame-reader.ts';
import type { Frame } from '../../src/camera/supervisor.ts';
import { createDetector, type ObjectDetector } from '../../src/detect/detector.ts';
import { DetectScheduler } from '../../src/pipeline/detect-scheduler.ts';

const modelPath = join(fileURLToPath(new URL('../../../shared/models', import.meta.url)), 'yolox_nano_dynamic.onnx');
const WIDTH = 320;
const HEIGHT = 180;

let detector: ObjectDetector;
before(async () => {
  detector = await createDetector({ modelPath, threads: 1, scoreThreshold: 0.3, nmsThreshold: 0.45, labels: { person: 0.5 } });
});
after(async () => detector.close());

/** A grey frame in a pooled buffer; `emit` hands it over and then drops the acquire hold, as the supervisor does. */
function pooledFrame(pool: FramePool, seq: number, height = HEIGHT): Frame {
  const data = pool.acquire().fill(128);
  return { camera: 'porch', data, width: WIDTH, height, timestamp: seq, seq, hold: () => pool.hold(data) };
}

function emit(pool: FramePool, frame: Frame, listener: (frame: Frame) => void): Frame {
  listener(frame);
  pool.release(frame.data);
  return frame;
}

test('the scheduler holds a frame while it is detected or waiting, and releases it once done or replaced', async () => {
  const pool = new FramePool(yuv420pFrameSize(WIDTH, HEIGHT), 3);
  const scheduler = new DetectScheduler(detector);
  const results: number[] = [];
  const dropped: number[] = [];
  let done!: () => void;
  const lastResult = new Promise<void>((r) => (done = r));
  const submit = (frame: Frame) =>
    scheduler.submit({
      frame,
      regions: [{ x: 0, y: 0, width: WIDTH, height: HEIGHT }],
      onResult: (_detections, f) => {
        assert.ok(f.data.every((b) => b === 128), 'the bytes were not overwritten while held');
        results.push(f.seq);
        if (f.seq === 2) done();
      },
      onDropped: () => dropped.push(frame.seq),
    });

  const running = emit(pool, pooledFrame(pool, 0), submit);
  const replaced = emit(pool, pooledFrame(pool, 1), submit);
  assert.equal(pool.inUse, 2, 'the running and the waiting frame are held');
  emit(pool, pooledFrame(pool, 2), submit);
  assert.deepEqual(dropped, [1]);
  assert.equal(pool.inUse, 2, 'the replaced frame was released at once');
  const reused = pool.acquire();
  assert.equal(reused, replaced.data, 'the replaced frame buffer is the one free for reuse');
  assert.notEqual(reused, running.data);
  pool.release(reused);

  await lastResult;
  await scheduler.close();
  assert.deepEqual(results, [0, 2]);
  assert.equal(pool.inUse, 0, 'every frame went back to the pool');
  assert.equal(pool.overflows, 0);
});

test('a failed detection and a closed scheduler release their frames too', async () => {
  const pool = new FramePool(yuv420pFrameSize(WIDTH, HEIGHT), 3);
  const errors: unknown[] = [];
  const scheduler = new DetectScheduler(detector, (_camera, err) => errors.push(err));
  // Claims twice the rows its buffer holds: the detector refuses it.
  emit(pool, pooledFrame(pool, 0, HEIGHT * 2), (bad) =>
    scheduler.submit({ frame: bad, regions: [{ x: 0, y: 0, width: WIDTH, height: HEIGHT * 2 }], onResult: () => {}, onDropped: () => {} }),
  );
  let droppedOnClose = false;
  emit(pool, pooledFrame(pool, 1), (waiting) =>
    scheduler.submit({ frame: waiting, regions: [{ x: 0, y: 0, width: WIDTH, height: HEIGHT }], onResult: () => {}, onDropped: () => (droppedOnClose = true) }),
  );
  assert.equal(pool.inUse, 2);
  await scheduler.close();
  assert.equal(errors.length, 1, 'the bad frame failed');
  assert.ok(droppedOnClose, 'the waiting frame was dropped by close');
  assert.equal(pool.inUse, 0, 'failed and dropped frames went back to the pool');
});
