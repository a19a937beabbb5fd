import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COCO_LABELS } from '../../src/detect/coco-labels.ts';
import { createDetector, type DetectorOptions, type ObjectDetector } from '../../src/detect/detector.ts';
import { assertFinds, boxIou, decodeRgb, defaultLabels, EXPECTED, image, rgbToI420, sharedModelsDir } from './fixtures.ts';

const options = (model: string): DetectorOptions => ({
  modelPath: join(sharedModelsDir, `${model}.onnx`),
  threads: 2,
  inputSize: 'auto',
  scoreThreshold: 0.4,
  nmsThreshold: 0.45,
  labels: defaultLabels(0.4),
});

for (const model of ['yolox_nano', 'yolox_nano_dynamic']) {
  describe(`detector on ${model}`, () => {
    let detector: ObjectDetector;
    before(async () => {
      detector = await createDetector(options(model));
    });
    after(() => detector.close());

    for (const [file, expected] of Object.entries(EXPECTED)) {
      test(`${file} from the image file: finds ${expected.map((e) => e.label).join(', ')} where they are`, async () => {
        const result = await detector.detectFile(image(file));
        assertFinds(result.detections, expected, `${model} ${file}`);
      });

      test(`${file} as a raw RGB frame: same objects`, async () => {
        assertFinds(await detector.detectRgb(await decodeRgb(image(file))), expected, `${model} rgb ${file}`);
      });

      test(`${file} as a YUV420p frame: same objects`, async () => {
        const yuv = rgbToI420(await decodeRgb(image(file)));
        assertFinds(await detector.detectYuv420(yuv), expected, `${model} yuv ${file}`);
      });
    }

    test('a crop region is detected on its own and boxes come back in frame coordinates', async () => {
      const frame = await decodeRgb(image('person.jpg'));
      const region = { x: 380, y: 100, width: 260, height: 280 };
      const detections = await detector.detectRgb(frame, region);
      const horse = EXPECTED['person.jpg'].find((e) => e.label === 'horse')!;
      assertFinds(detections, [horse], `${model} crop`);
      assert.ok(boxIou(detections[0].box, horse.box) >= 0.8);
    });

    test('concurrent calls give the same answers as one at a time', async () => {
      const frames = await Promise.all(['dog.jpg', 'person.jpg', 'dog.jpg'].map((f) => decodeRgb(image(f))));
      const together = await Promise.all(frames.map((f) => detector.detectRgb(f)));
      const oneByOne = [];
      for (const f of frames) oneByOne.push(await detector.detectRgb(f));
      assert.deepEqual(together, oneByOne);
    });
  });
}

test('auto input size: 416 on the long side, the short side rounded up to a multiple of 32', async () => {
  const dynamic = await createDetector(options('yolox_nano_dynamic'));
  const fixed = await createDetector(options('yolox_nano'));
  try {
    assert.deepEqual(dynamic.inputSizeFor(640, 360), { width: 416, height: 256 });
    assert.deepEqual(dynamic.inputSizeFor(360, 640), { width: 256, height: 416 });
    assert.deepEqual(dynamic.inputSizeFor(1000, 1000), { width: 416, height: 416 });
    assert.deepEqual(fixed.inputSizeFor(640, 360), { width: 416, height: 416 });
  } finally {
    await Promise.all([dynamic.close(), fixed.close()]);
  }
});

test('labels not asked for are dropped, and each label has its own min score', async () => {
  const frame = await decodeRgb(image('person.jpg'));
  const detector = await createDetector({ ...options('yolox_nano'), labels: { horse: 0.4, dog: 0.99 } });
  try {
    assert.deepEqual((await detector.detectRgb(frame)).map((d) => d.label), ['horse']);
  } finally {
    await detector.close();
  }
});

test('the embedded labels are the 80 of coco_classes.txt, in order', async () => {
  const file = (await readFile(join(sharedModelsDir, 'coco_classes.txt'), 'utf8')).trim().split('\n');
  assert.deepEqual(COCO_LABELS, file.map((l) => l.trim()));
});

describe('clear errors', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'volet-detect-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a missing model file says how to fetch it', async () => {
    await assert.rejects(
      createDetector({ ...options('yolox_nano'), modelPath: join(dir, 'yolox_nano.onnx') }),
      /Model file .*yolox_nano\.onnx not found — fetch it with "volet models fetch yolox_nano"/,
    );
  });

  test('a missing dynamic model says it cannot be downloaded and how to provide it', async () => {
    await assert.rejects(
      createDetector({ ...options('yolox_nano_dynamic'), modelPath: join(dir, 'yolox_nano_dynamic.onnx') }),
      /not found — it cannot be downloaded: .*Copy it into the models folder/,
    );
  });

  test('a corrupt model file is reported as such', async () => {
    const path = join(dir, 'garbage.onnx');
    await writeFile(path, 'this is not a protobuf'.repeat(100));
    await assert.rejects(
      createDetector({ ...options('yolox_nano'), modelPath: path }),
      /Model file .*garbage\.onnx could not be loaded \(corrupt or not an ONNX model\): /,
    );
  });

  test('an unreadable image names the file', async () => {
    const path = join(dir, 'not-an-image.jpg');
    await writeFile(path, 'hello');
    const detector = await createDetector(options('yolox_nano'));
    try {
      await assert.rejects(detector.detectFile(path), new RegExp(`Cannot read image "${path}"`));
      await assert.rejects(detector.detectRgb({ data: Buffer.alloc(3), width: 640, height: 360 }), /needs 691200 bytes, got 3/);
    } finally {
      await detector.close();
    }
  });

  test('bad options are refused before any work', async () => {
    await assert.rejects(createDetector({ ...options('yolox_nano'), labels: { doggo: 0.5 } }), /Unknown label "doggo"/);
    await assert.rejects(createDetector({ ...options('yolox_nano'), scoreThreshold: 2 }), /scoreThreshold must be a number from 0 to 1/);
    await assert.rejects(createDetector({ ...options('yolox_nano'), inputSize: { width: 416, height: 256 } }), /fixed at 416x416/);
    await assert.rejects(createDetector({ ...options('yolox_nano_dynamic'), inputSize: { width: 400, height: 256 } }), /multiples of 32/);
  });

  test('unavailable execution providers fall back along the list, or are named when none works', async () => {
    const detector = await createDetector({ ...options('yolox_nano'), providers: ['openvino', 'cpu'] });
    assert.deepEqual(detector.providers, ['cpu']);
    await detector.close();
    await assert.rejects(
      createDetector({ ...options('yolox_nano'), providers: ['openvino'] }),
      /None of the execution providers \[openvino\] can run .*yolox_nano\.onnx/,
    );
  });

  test('a closed detector refuses work', async () => {
    const detector = await createDetector(options('yolox_nano'));
    await detector.close();
    await assert.rejects(detector.detectFile(image('dog.jpg')), /Detector is closed/);
  });
});
