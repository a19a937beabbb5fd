import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { CameraSupervisor } from '../../src/camera/supervisor.ts';
import { createLogger } from '../../src/log/logger.ts';
import { staticClip } from '../support/clips.ts';
import { waitFor } from '../support/volet-fixture.ts';

function capturingLogger() {
  const lines: { msg: string; hwaccel?: string; reason?: string; camera?: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

for (const hwaccel of ['vaapi', 'cuda', 'qsv', 'v4l2m2m'] as const) {
  test(`hwaccel ${hwaccel} on a machine without that hardware falls back to software decoding, once, and frames flow`, { skip: hwaccel === 'vaapi' && existsSync('/dev/dri') && 'this machine has a GPU' }, async () => {
    const clip = await staticClip({ seconds: 3 });
    const { logger, lines } = capturingLogger();
    const supervisor = new CameraSupervisor({
      camera: 'porch',
      source: () => pathToFileURL(clip.path).href,
      fps: 5,
      width: 320,
      height: 180,
      stallSeconds: 10,
      logger,
      hwaccel,
    });
    try {
      supervisor.start();
      await waitFor('frames after the fallback', () => supervisor.status.framesRead >= 10, 30_000);
      assert.equal(supervisor.decoding, 'none');
      const fallbacks = lines.filter((l) => l.msg.startsWith('hardware decoding failed'));
      assert.equal(fallbacks.length, 1, JSON.stringify(lines));
      assert.equal(fallbacks[0].hwaccel, hwaccel);
      assert.equal(fallbacks[0].camera, 'porch');
      assert.ok(fallbacks[0].reason, 'the log line says why');
    } finally {
      await supervisor.stop();
    }
  });
}

test('hwaccel auto needs no fallback: ffmpeg decodes in software itself when no device answers', async () => {
  const clip = await staticClip({ seconds: 3 });
  const { logger, lines } = capturingLogger();
  const supervisor = new CameraSupervisor({ camera: 'porch', source: () => pathToFileURL(clip.path).href, fps: 5, width: 320, height: 180, stallSeconds: 10, logger, hwaccel: 'auto' });
  try {
    supervisor.start();
    await waitFor('frames', () => supervisor.status.framesRead >= 10, 30_000);
    assert.equal(supervisor.decoding, 'auto');
    assert.equal(lines.filter((l) => l.msg.startsWith('hardware decoding failed')).length, 0);
  } finally {
    await supervisor.stop();
  }
});
