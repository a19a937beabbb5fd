import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVolet } from '../../src/app/start.ts';
import type { ObjectEvent } from '../../src/events/bus.ts';
import { personWalkClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { tempVoletConfig, waitFor } from '../support/volet-fixture.ts';
import { RecordingServer } from './recording-server.ts';

test('volet run: a person walking past the camera reaches notifications.ntfy from volet.yml', async () => {
  const clip = await personWalkClip({ emptySeconds: 2, walkSeconds: 4, tailSeconds: 2 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path, '/sub': clip.path }, loop: true });
  const ntfy = await RecordingServer.start();
  const t = tempVoletConfig(
    `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n` +
      `notifications:\n  cooldownSeconds: 0\n  ntfy: ${ntfy.origin}/house-alerts\n`,
  );
  // Nobody has signed in to the viewer: the config file's target is the only recipient.
  const volet = await startVolet(t.config, t.logger, { web: false });
  try {
    const events: ObjectEvent[] = [];
    volet.bus.on('event:start', (event) => events.push(event));
    await waitFor('a person event from the camera', () => events.some((e) => e.label === 'person'), 90_000);
    await waitFor('the ntfy message', () => ntfy.requests.length > 0, 15_000).catch((err: Error) => {
      const notes = t.logLines.filter((l) => l.module === 'notify').map((l) => JSON.stringify(l));
      throw new Error(`${err.message}: a person event happened but ntfy received nothing\n${notes.join('\n')}`);
    });

    const [message] = ntfy.requests;
    const event = events.find((e) => e.label === 'person')!;
    assert.equal(message.method, 'POST');
    assert.equal(message.path, '/house-alerts');
    assert.equal(message.headers.title, 'person at porch');
    assert.match(String(message.headers.click), new RegExp(`/#/events/${event.id}$`));
    assert.match(message.body, /^person at porch, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$/);
  } finally {
    await volet.stop();
    await camera.stop();
    await ntfy.stop();
    t.cleanup();
  }
});
