import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { createFaceEngine, FaceEngineError, type FaceEngine, type FaceImage } from '../../src/faces/engine.ts';
import { faceDistance, MATCH_DISTANCE } from '../../src/faces/match.ts';
import { testImagesDir } from '../support/clips.ts';
import { augment, croppedFace, FACE_SOURCES, referenceCrop, type FaceCrop, type FaceSource } from '../support/face-set.ts';
import { isolatedCommand, isolationUnavailable } from '../support/network-namespace.ts';
import { contactsIn, describeContact, judgeContacts, STRACE_CONTACT_ARGS } from '../support/strace-contacts.ts';
import { repoRoot } from '../support/volet-fixture.ts';

let engine: FaceEngine;

before(async () => {
  engine = await createFaceEngine();
});

after(async () => {
  await engine?.close();
});

async function photo(name: string): Promise<FaceImage> {
  const { data, info } = await sharp(join(testImagesDir, name)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 3 };
}

function source(identity: string): FaceSource {
  const found = FACE_SOURCES.find((s) => s.identity === identity);
  assert.ok(found, identity);
  return found;
}

async function embeddingOf(image: FaceCrop): Promise<Float32Array> {
  const face = croppedFace(await engine.detect(image), image);
  assert.ok(face, `a face in the ${image.width}×${image.height} crop`);
  return face.embedding;
}

test('the engine finds the face in a COCO photo of a man, where it is, with a 128-float embedding', async () => {
  const faces = await engine.detect(await photo('000000001296.jpg'));
  assert.equal(faces.length, 1, JSON.stringify(faces.map((f) => f.box)));
  const [{ box, score, embedding }] = faces;
  const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const face = { x: 139, y: 100, width: 149, height: 197 }; // where the man's face is in the photo
  assert.ok(
    centre.x > face.x && centre.x < face.x + face.width && centre.y > face.y && centre.y < face.y + face.height,
    `the box's centre lies on the face ${JSON.stringify(face)}, got ${JSON.stringify(box)}`,
  );
  assert.ok(score >= 0.5 && score <= 1);
  assert.equal(embedding.length, 128);
  assert.ok(embedding.every(Number.isFinite));
  assert.ok(embedding.some((v) => v !== 0));
});

test('the engine finds no face in the dog photo', async () => {
  assert.deepEqual(await engine.detect(await photo('dog.jpg')), []);
});

test('the same face, blurred, darkened or as a poor JPEG, matches; different faces do not', async () => {
  const alice = await referenceCrop(source('sample1-1'));
  const reference = await embeddingOf(alice);
  for (const variant of ['blur σ1.5', 'darker ×0.55', 'JPEG q15']) {
    const distance = faceDistance(reference, await embeddingOf(await augment(alice, variant)));
    assert.ok(distance <= MATCH_DISTANCE, `${variant}: distance ${distance.toFixed(3)} > ${MATCH_DISTANCE}`);
  }
  for (const other of ['sample2-1', 'sample4-3', 'coco001296-1']) {
    const distance = faceDistance(reference, await embeddingOf(await referenceCrop(source(other))));
    assert.ok(distance > MATCH_DISTANCE, `sample1-1 against ${other}: distance ${distance.toFixed(3)} ≤ ${MATCH_DISTANCE}`);
  }
});

test('a bad image is a rejected promise with a reason, and the engine goes on working', async () => {
  const good = await photo('dog.jpg');
  await assert.rejects(engine.detect({ ...good, width: good.width + 1 }), (e: unknown) => e instanceof FaceEngineError && e.code === 'bad-image' && /bytes/.test(e.message));
  await assert.rejects(engine.detect({ ...good, width: 0 }), (e: unknown) => e instanceof FaceEngineError && e.code === 'bad-image');
  await assert.rejects(engine.detect({ ...good, channels: 4 as 3 }), (e: unknown) => e instanceof FaceEngineError && e.code === 'bad-image');
  assert.deepEqual(await engine.detect(good), []);
});

test('requests beyond the queue bound are dropped at once with a "queue-full" error; the others are answered', async () => {
  const small = await createFaceEngine({ maxQueue: 2 });
  try {
    const image = await referenceCrop(source('sample1-1'));
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => small.detect(image)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'rejected']);
    for (const r of results.slice(2)) {
      assert.ok(r.status === 'rejected' && r.reason instanceof FaceEngineError && r.reason.code === 'queue-full', String((r as PromiseRejectedResult).reason));
    }
    assert.equal((await small.detect(image)).length, 1, 'room again once the queue has drained');
    assert.equal(image.data.byteLength, image.width * image.height * 3, 'the caller keeps its pixels: only a copy is transferred to the worker');
  } finally {
    await small.close();
  }
});

test('models that cannot be loaded make createFaceEngine reject with the folder named', async () => {
  const missing = join(tmpdir(), 'volet-no-face-models');
  await assert.rejects(createFaceEngine({ modelDir: missing }), (e: unknown) => e instanceof FaceEngineError && e.code === 'load-failed' && e.message.includes(missing));
});

test('close rejects what is waiting and later requests', async () => {
  const image = await photo('dog.jpg');
  const closing = await createFaceEngine();
  const waiting = Promise.allSettled([closing.detect(image), closing.detect(image)]);
  await closing.close();
  for (const result of await waiting) {
    assert.ok(result.status === 'rejected' && result.reason instanceof FaceEngineError && result.reason.code === 'closed', String(result));
  }
  await assert.rejects(closing.detect(image), (e: unknown) => e instanceof FaceEngineError && e.code === 'closed');
  await closing.close();
});

test('a burst of face requests leaves the main event loop idle and responsive', async () => {
  const images = await Promise.all(['sample1-2', 'sample3-2', 'sample6-2'].map((id) => referenceCrop(source(id))));
  const lag = monitorEventLoopDelay({ resolution: 5 });
  const before = performance.eventLoopUtilization();
  lag.enable();
  const started = performance.now();
  const faces = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.detect(images[i % images.length])));
  const busyMs = performance.now() - started;
  lag.disable();
  const { utilization } = performance.eventLoopUtilization(before);
  assert.ok(faces.every((f) => f.length >= 1), 'every crop had its face found');
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  const report = `during ${busyMs.toFixed(0)} ms of face work: event loop ${(utilization * 100).toFixed(1)}% busy, delay p50 ${ms(lag.percentile(50))} ms, p99 ${ms(lag.percentile(99))} ms, max ${ms(lag.max)} ms`;
  // 8 inferences keep the worker busy for seconds; on the main thread each would block it 100+ ms.
  assert.ok(busyMs > 400, report);
  // Wall-clock delays also grow when other processes take the cores; the loop's own busy share does not.
  assert.ok(utilization < 0.2, report);
  assert.ok(lag.percentile(50) / 1e6 < 50, report);
  console.log(report);
});

/** A Node process that loads the engine, searches the COCO photo of a man, closes the engine and ends by itself. */
function engineScript(): string[] {
  const script = [
    `import sharp from 'sharp';`,
    `import { createFaceEngine } from './src/faces/engine.ts';`,
    `const engine = await createFaceEngine();`,
    `const { data, info } = await sharp(${JSON.stringify(join(testImagesDir, '000000001296.jpg'))}).removeAlpha().raw().toBuffer({ resolveWithObject: true });`,
    `const faces = await engine.detect({ data, width: info.width, height: info.height, channels: 3 });`,
    `await engine.close();`,
    `process.stdout.write('faces ' + faces.length + '\\n');`,
  ].join('\n');
  return [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
}

async function run(argv: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const [command, ...args] = argv;
  // Its own process group, so a timeout takes down everything it started.
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => {
    output += `\n(still running after ${timeoutMs} ms: killed)`;
    process.kill(-child.pid!, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { code, output };
}

test('after close nothing of the engine keeps a process alive: a script that closes it ends by itself', { timeout: 120_000 }, async () => {
  const { code, output } = await run(engineScript(), 90_000);
  assert.equal(code, 0, output);
  assert.match(output, /faces 1/);
});

const unavailable = isolationUnavailable();
test(
  'loading the face models and searching a photo contacts nothing (traced in a loopback-only network namespace)',
  { skip: unavailable ? `needs a loopback-only network namespace and strace: ${unavailable}` : false, timeout: 120_000 },
  async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'volet-face-egress-'));
    try {
      const trace = join(workdir, 'face.strace');
      const argv = ['strace', ...STRACE_CONTACT_ARGS, '-o', trace, ...engineScript()];
      const { code, output } = await run(isolatedCommand(argv, join(workdir, 'resolv.conf'), '127.0.0.53'), 100_000);
      assert.equal(code, 0, output);
      assert.match(output, /faces 1/, 'the engine really ran');
      const verdict = judgeContacts(contactsIn(readFileSync(trace, 'utf8')), []);
      assert.deepEqual(verdict.nameLookups.map(describeContact), [], 'no name lookups');
      assert.deepEqual(verdict.forbidden.map(describeContact), [], 'no network contacts');
    } finally {
      rmSync(workdir, { recursive: true, force: true });
    }
  },
);
