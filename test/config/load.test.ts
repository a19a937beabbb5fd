import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.ts';

function problemsOf(yaml: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(yaml, 'test.yml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return err.problems;
  }
  assert.fail('config was accepted');
}

test('an empty file is a valid config with every default filled in', () => {
  const cfg = parseConfig('', 'empty.yml', {});
  assert.deepEqual(cfg.cameras, {});
  assert.equal(cfg.storage.path, './storage');
  assert.equal(cfg.detector.threads, 2);
  assert.equal(cfg.detector.labels.person, 0.5);
  assert.equal(cfg.web.port, 8443);
});

test('camera defaults are applied inside each camera', () => {
  const cfg = parseConfig('cameras:\n  porch:\n    main: rtsp://cam/main\n', 't.yml', {});
  const porch = cfg.cameras.porch;
  assert.equal(porch.detect.fps, 5);
  assert.equal(porch.detect.width, 640);
  assert.equal(porch.record.mode, 'events');
  assert.deepEqual(porch.motion.masks, []);
});

test('an out-of-range value names its full path and the allowed range', () => {
  const problems = problemsOf('cameras:\n  porch:\n    main: rtsp://cam/main\n    detect:\n      fps: 60\n');
  assert.deepEqual(problems, ['cameras.porch.detect.fps: must be between 1 and 30']);
});

test('unknown keys are rejected with their path so typos never pass silently', () => {
  const problems = problemsOf('cameras:\n  porch:\n    main: rtsp://cam/main\n    detcet: {}\n');
  assert.deepEqual(problems, ['cameras.porch.detcet: unknown key']);
});

test('a missing required field, a wrong type and a bad enum are all reported at once', () => {
  const problems = problemsOf(
    'cameras:\n  porch:\n    sub: rtsp://cam/sub\n    record: { mode: always }\ndetector:\n  threads: two\n',
  );
  assert.ok(problems.includes('cameras.porch.main: is required'), problems.join('\n'));
  assert.ok(problems.includes('detector.threads: must be a number'), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('cameras.porch.record.mode: must be one of')), problems.join('\n'));
});

test('camera names given outside cameras must be configured cameras, each error at its index', () => {
  const problems = problemsOf(
    'cameras:\n  porch: { main: rtsp://cam/main }\n  garden: { main: rtsp://cam/g }\n' +
      'mqtt: { url: mqtt://broker:1883, snapshots: [porch, gardn] }\nfaces: { enabled: true, entranceCameras: [frontdoor] }\n',
  );
  assert.deepEqual(problems, [
    'mqtt.snapshots[1]: unknown camera "gardn" (configured cameras: porch, garden)',
    'faces.entranceCameras[0]: unknown camera "frontdoor" (configured cameras: porch, garden)',
  ]);
  assert.deepEqual(problemsOf('faces: { entranceCameras: [door] }\n'), ['faces.entranceCameras[0]: unknown camera "door" (no camera is configured)']);
});

test('a stream URL must be RTSP (or a local file for testing)', () => {
  const problems = problemsOf('cameras:\n  porch:\n    main: http://cam/main\n');
  assert.deepEqual(problems, ['cameras.porch.main: must be an rtsp://, rtsps:// or file:/// URL']);
  assert.equal(parseConfig('cameras:\n  porch:\n    main: file:///srv/clip.mp4\n', 't.yml', {}).cameras.porch.main, 'file:///srv/clip.mp4');
});

test('a polygon needs at least three points', () => {
  const problems = problemsOf('cameras:\n  porch:\n    main: rtsp://cam/main\n    zones:\n      door: [[0, 0], [10, 10]]\n');
  assert.deepEqual(problems, ['cameras.porch.zones.door: a polygon needs at least 3 points [x, y]']);
});

test('${ENV_VAR} references are substituted so passwords need not sit in the file', () => {
  const cfg = parseConfig('cameras:\n  porch:\n    main: rtsp://admin:${PORCH_PASSWORD}@cam/main\n', 't.yml', {
    PORCH_PASSWORD: 's3cret',
  });
  assert.equal(cfg.cameras.porch.main, 'rtsp://admin:s3cret@cam/main');
});

test('an unset environment variable is an error naming the field and the variable', () => {
  const problems = problemsOf('cameras:\n  porch:\n    main: rtsp://admin:${PORCH_PASSWORD}@cam/main\n');
  assert.deepEqual(problems, ['cameras.porch.main: environment variable PORCH_PASSWORD is not set']);
});

test('broken YAML is reported as a YAML problem, not a crash', () => {
  const problems = problemsOf('cameras: [1, 2\n');
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^YAML: /);
});

test('a config file given explicitly must exist; the default one may be absent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-config-'));
  assert.throws(() => loadConfigFile(join(dir, 'missing.yml'), {}, { mustExist: true }), /file not found/);
  assert.deepEqual(loadConfigFile(join(dir, 'missing.yml'), {}).cameras, {});
  writeFileSync(join(dir, 'volet.yml'), 'web:\n  port: 9000\n');
  assert.equal(loadConfigFile(join(dir, 'volet.yml'), {}).web.port, 9000);
});

test('volet.example.yml is a valid config that configures a camera', () => {
  const text = readFileSync(new URL('../../volet.example.yml', import.meta.url), 'utf8');
  const cfg = parseConfig(text, 'volet.example.yml', { PORCH_PASSWORD: 'x', FTP_PASSWORD: 'y' });
  assert.ok(Object.keys(cfg.cameras).length >= 1);
});
