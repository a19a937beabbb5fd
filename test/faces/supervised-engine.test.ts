import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { createFaceEngine, FaceEngineError, type FaceEngine, type FaceImage } from '../../src/faces/engine.ts';
import { supervisedFaceEngine } from '../../src/faces/supervised-engine.ts';
import { testImagesDir } from '../support/clips.ts';
import { capturingLogger, waitFor } from '../support/volet-fixture.ts';

async function photo(name: string): Promise<FaceImage> {
  const { data, info } = await sharp(join(testImagesDir, name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}


test('a worker that stops under the engine is replaced: the request that found it gone is refused, later ones are answered', async () => {
  const workers: FaceEngine[] = [];
  const { logger, lines } = capturingLogger();
  const engine = await supervisedFaceEngine(async () => {
    const inner = await createFaceEngine();
    workers.push(inner);
    return inner;
  }, logger, [200]);
  try {
    const face = await photo('000000001296.jpg');
    assert.equal((await engine.detect(face)).length, 1);

    await workers[0].close(); // the worker is gone, as after a crash
    await assert.rejects(engine.detect(face), (err: FaceEngineError) => err.code === 'worker-stopped');
    await assert.rejects(engine.detect(face), (err: FaceEngineError) => err.code === 'worker-stopped' && /restarting/.test(err.message));

    await waitFor('a new worker', () => lines.some((l) => l.msg === 'faces: engine restarted'), 60_000);
    assert.equal(workers.length, 2);
    assert.equal((await engine.detect(face)).length, 1, 'the new worker finds the face');
    assert.deepEqual(lines.filter((l) => l.msg === 'faces: engine stopped; starting a new one').length, 1, 'one warning for one crash');
  } finally {
    await engine.close();
  }
  await assert.rejects(workers[1].detect(await photo('000000001296.jpg')), (err: FaceEngineError) => err.code === 'closed');
});

test('starts that fail are retried with their error logged; closing while restarting leaves no worker behind', async () => {
  const workers: FaceEngine[] = [];
  let failures = 2;
  const { logger, lines } = capturingLogger();
  const engine = await supervisedFaceEngine(async () => {
    if (workers.length > 0 && failures > 0) {
      failures -= 1;
      throw new Error('face models could not be loaded');
    }
    const inner = await createFaceEngine();
    workers.push(inner);
    return inner;
  }, logger, [300, 200]);
  const face = await photo('000000001296.jpg');
  await workers[0].close();
  await assert.rejects(engine.detect(face), (err: FaceEngineError) => err.code === 'worker-stopped');
  await waitFor('two failed starts', () => lines.filter((l) => String(l.msg).startsWith('faces: the engine could not be restarted')).length === 2, 30_000);
  assert.ok(lines.every((l) => !String(l.msg).startsWith('faces: the engine could not') || l.err === 'face models could not be loaded'));
  await waitFor('a new worker', () => workers.length === 2, 60_000);
  assert.equal((await engine.detect(face)).length, 1);

  await workers[1].close();
  await assert.rejects(engine.detect(face), (err: FaceEngineError) => err.code === 'worker-stopped');
  await engine.close(); // during the pause before the next start
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(workers.length, 2, 'no worker is started after close');
  await assert.rejects(engine.detect(face), (err: FaceEngineError) => err.code === 'closed');
});
