import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { Command } from 'commander';
import { registerDetectCommand } from '../../src/cli/commands/detect.ts';
import { registerModelsCommand } from '../../src/cli/commands/models.ts';
import { boxIou, EXPECTED, image, sharedModelsDir } from './fixtures.ts';

/** Runs `volet <args>` on an in-process commander program and captures what it prints and its exit code. */
async function volet(...args: string[]) {
  let out = '';
  let err = '';
  const program = new Command('volet')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  registerDetectCommand(program);
  registerModelsCommand(program);
  await program.parseAsync(args, { from: 'user' });
  const exitCode = process.exitCode;
  process.exitCode = undefined;
  return { out, err, exitCode };
}

afterEach(() => {
  process.env.VOLET_MODELS_DIR = sharedModelsDir;
});

test('detect --json prints files with labels, rounded scores and integer boxes in image pixels', async () => {
  const { out, err, exitCode } = await volet('detect', image('dog.jpg'), image('person.jpg'), '--json', '--threads', '1');
  assert.equal(err, '');
  assert.equal(exitCode, undefined);
  const results = JSON.parse(out) as { file: string; detections: { label: string; score: number; box: number[] }[] }[];
  assert.deepEqual(results.map((r) => r.file), [image('dog.jpg'), image('person.jpg')]);
  assert.deepEqual(Object.keys(results[0].detections[0]), ['label', 'score', 'box']);
  for (const [i, file] of ['dog.jpg', 'person.jpg'].entries()) {
    const found = results[i].detections;
    assert.deepEqual(found.map((d) => d.label).sort(), EXPECTED[file].map((e) => e.label).sort());
    for (const d of found) {
      assert.ok(d.box.every(Number.isInteger) && Math.round(d.score * 1000) === d.score * 1000);
      assert.ok(EXPECTED[file].some((e) => e.label === d.label && boxIou(e.box, d.box) >= 0.8));
    }
  }
});

test('detect prints one "file: label score [box]" line per detection', async () => {
  const { out } = await volet('detect', image('dog.jpg'), '--model', 'yolox_nano_dynamic');
  assert.match(out, /^.*dog\.jpg: dog 0\.\d+ \[\d+,\d+,\d+,\d+\]\n$/);
});

test('an unreadable image is an error naming it, with a non-zero exit; other images still run', async () => {
  const { out, err, exitCode } = await volet('detect', '/nonexistent/cat.jpg', image('dog.jpg'), '--json');
  assert.match(err, /volet detect: Cannot read image "\/nonexistent\/cat.jpg"/);
  assert.equal(exitCode, 1);
  assert.equal(JSON.parse(out)[0].file, image('dog.jpg'));
});

test('a missing model is an error that says how to fetch it', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'volet-cli-'));
  try {
    process.env.VOLET_MODELS_DIR = empty;
    const { err, exitCode } = await volet('detect', image('dog.jpg'));
    assert.match(err, /not found — fetch it with "volet models fetch yolox_nano"/);
    assert.equal(exitCode, 1);
  } finally {
    await rm(empty, { recursive: true });
  }
});

test('a bad --threshold is refused by the parser', async () => {
  await assert.rejects(volet('detect', image('dog.jpg'), '--threshold', '7'), /expected a number from 0 to 1/);
});

test('models list shows each model present with its hash checked', async () => {
  const { out } = await volet('models', 'list');
  assert.match(out, /yolox_nano  yolox_nano\.onnx  present, hash ok/);
  assert.match(out, /yolox_nano_dynamic  yolox_nano_dynamic\.onnx  present, hash ok \(no download/);
});

test('models fetch keeps a good file, and explains a model that cannot be downloaded', async () => {
  assert.match((await volet('models', 'fetch', 'yolox_nano')).out, /yolox_nano: already present, hash ok/);
  const empty = await mkdtemp(join(tmpdir(), 'volet-cli-'));
  try {
    process.env.VOLET_MODELS_DIR = empty;
    const { err, exitCode } = await volet('models', 'fetch', 'yolox_nano_dynamic');
    assert.match(err, /cannot be downloaded: Exported from the same weights/);
    assert.equal(exitCode, 1);
    assert.match((await volet('models', 'list')).out, /yolox_nano_dynamic\.onnx  missing/);
  } finally {
    await rm(empty, { recursive: true });
  }
});
