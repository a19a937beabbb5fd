import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  defaultModelsDir,
  fetchModel,
  modelEntry,
  modelManifest,
  modelStatus,
  resolveModelPath,
  verifyModel,
  type ModelEntry,
} from '../../src/detect/models.ts';
import { repoRoot, sharedModelsDir } from './fixtures.ts';

test('the manifest lists both models, and its hashes match the shared model files', async () => {
  assert.deepEqual(modelManifest().map((m) => m.name), ['yolox_nano', 'yolox_nano_dynamic']);
  for (const entry of modelManifest()) {
    assert.equal(await modelStatus(entry, sharedModelsDir), 'ok', entry.name);
  }
  assert.equal(modelEntry('yolox_nano_dynamic')!.url, null);
});

test('the models folder is VOLET_MODELS_DIR when set, else the repository models/', () => {
  assert.equal(defaultModelsDir({ VOLET_MODELS_DIR: '../shared/models' }), resolve('../shared/models'));
  assert.equal(defaultModelsDir({}), join(repoRoot, 'models/'));
});

test('a model name or file name resolves inside the models folder; a path stays a path; an unknown name is an error', () => {
  assert.equal(resolveModelPath('yolox_nano', '/m'), join('/m', 'yolox_nano.onnx'));
  assert.equal(resolveModelPath('yolox_nano_dynamic.onnx', '/m'), join('/m', 'yolox_nano_dynamic.onnx'));
  assert.equal(resolveModelPath('./custom/model.onnx', '/m'), resolve('custom/model.onnx'));
  assert.throws(() => resolveModelPath('yolo_huge', '/m'), /Unknown model "yolo_huge" — use one of yolox_nano, yolox_nano_dynamic/);
});

test('verifyModel tells a matching hash from a wrong one and names an unreadable file', async () => {
  const path = join(sharedModelsDir, 'yolox_nano.onnx');
  const good = modelEntry('yolox_nano')!.sha256;
  assert.deepEqual(await verifyModel(path, good), { ok: true, actual: good });
  assert.equal((await verifyModel(path, '0'.repeat(64))).ok, false);
  await assert.rejects(verifyModel('/nonexistent.onnx', good), /Cannot read model file \/nonexistent.onnx/);
});

describe('fetchModel against a real HTTP server on loopback', () => {
  const body = randomBytes(64 * 1024 + 7);
  const sha256 = createHash('sha256').update(body).digest('hex');
  let server: Server;
  let baseUrl: string;
  let dir: string;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/tiny.onnx') res.end(body);
      else res.writeHead(404).end('not here');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));
  beforeEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = await mkdtemp(join(tmpdir(), 'volet-models-'));
  });

  const entry = (overrides: Partial<ModelEntry>): ModelEntry => ({
    name: 'tiny', file: 'tiny.onnx', sha256, url: `${baseUrl}/tiny.onnx`, license: 'test', input: 'dynamic', ...overrides,
  });

  test('a download with the right hash lands in the folder, and a second fetch keeps it', async () => {
    assert.equal((await fetchModel(entry({}), dir)).status, 'fetched');
    assert.deepEqual(await readdir(dir), ['tiny.onnx']);
    assert.ok((await readFile(join(dir, 'tiny.onnx'))).equals(body));
    assert.equal((await fetchModel(entry({}), dir)).status, 'present');
  });

  test('a download with a wrong hash is an error and leaves nothing behind', async () => {
    await assert.rejects(fetchModel(entry({ sha256: 'a'.repeat(64) }), dir), /has sha256 [0-9a-f]{64}, expected a{64}; it was discarded/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('an HTTP error is reported with the URL and leaves nothing behind', async () => {
    await assert.rejects(fetchModel(entry({ url: `${baseUrl}/gone.onnx` }), dir), /Fetching model "tiny" from http:\/\/127.0.0.1:\d+\/gone.onnx failed: HTTP 404/);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a model without a URL says it cannot be downloaded and how to provide it', async () => {
    await assert.rejects(fetchModel(modelEntry('yolox_nano_dynamic')!, dir), /"yolox_nano_dynamic" cannot be downloaded: Exported from the same weights/);
  });
});
