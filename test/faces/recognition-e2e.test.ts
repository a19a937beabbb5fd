import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startVolet } from '../../src/app/start.ts';
import type { ObjectEvent } from '../../src/events/bus.ts';
import type { EventMetadata } from '../../src/record/event-recorder.ts';
import { decryptFileToBuffer } from '../../src/vault/files.ts';
import { testImagesDir } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { buildScene, SCENE_SIZE, type SceneSpec } from '../support/scenes.ts';
import { initTestVault, TEST_PASSPHRASE, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';

const { width: W, height: H } = SCENE_SIZE;
/** COCO 000000001296: a woman, one clear frontal face (the engine's best on the shared images). Enrolled as alice. */
const RESIDENT = { image: '000000001296.jpg', x: 0, y: 0, width: 427, height: 640 };
const RESIDENT_SIZE = { width: 150, height: 225 };
/** COCO 000000001000: the boy in red at the front of the tennis group, a different face. */
const STRANGER = { image: '000000001000.jpg', x: 400, y: 190, width: 150, height: 290 };
const STRANGER_SIZE = { width: 150, height: 290 };

/**
 * The stranger walks in, stands, leaves (his event ends by ~15 s); then alice walks in at 18 s.
 * Each stays fully in view for five seconds: the sampler checks a track about once a second, and
 * a loaded machine detects fewer frames.
 */
const SCENE: SceneSpec = {
  name: 'stranger-then-resident',
  background: 'bedroom',
  description: 'an unknown person walks in and out, then an enrolled resident walks in',
  seconds: 30,
  objects: [
    {
      name: 'stranger',
      label: 'person',
      kind: 'event',
      crop: STRANGER,
      size: STRANGER_SIZE,
      path: [
        { t: 1, x: -STRANGER_SIZE.width, y: H - STRANGER_SIZE.height - 14 },
        { t: 3, x: 150, y: H - STRANGER_SIZE.height - 14 },
        { t: 8, x: 250, y: H - STRANGER_SIZE.height - 14 },
        { t: 10, x: W, y: H - STRANGER_SIZE.height - 14 },
      ],
    },
    {
      name: 'alice',
      label: 'person',
      kind: 'event',
      crop: RESIDENT,
      size: RESIDENT_SIZE,
      path: [
        { t: 18, x: -RESIDENT_SIZE.width, y: H - RESIDENT_SIZE.height - 14 },
        { t: 20, x: 200, y: H - RESIDENT_SIZE.height - 14 },
        { t: 25, x: 300, y: H - RESIDENT_SIZE.height - 14 },
        { t: 27, x: W, y: H - RESIDENT_SIZE.height - 14 },
      ],
    },
  ],
};

test('an enrolled face walking in names the event and closes the shutter; an unknown face is "unknown face" and changes no presence', async () => {
  const scene = await buildScene(SCENE);
  const camera = await startRtspCamera({ mounts: { '/door': scene.clip.path } });
  const t = tempVoletConfig(
    `cameras:\n  door:\n    main: ${camera.url('/door')}\n    record: { mode: events }\n` +
      `privacy:\n  residents:\n    alice: { token: alice-token-0123456789abcdef }\n` +
      `faces:\n  enabled: true\n  entranceCameras: [door]\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { web: false });
  const ended: Array<ObjectEvent & { end: number }> = [];
  const arrivals: string[] = [];
  volet.bus.on('event:end', (e) => ended.push(e));
  volet.bus.on('resident:arrived', (a) => arrivals.push(a.name));
  try {
    const vault = volet.storage.vault!;
    await vault.unlock(TEST_PASSPHRASE);
    const alice = volet.faces.residents.add('alice', 'test');
    await volet.faces.residents.addFace(alice.id, readFileSync(join(testImagesDir, RESIDENT.image)), { kind: 'upload' });
    assert.equal(volet.shutter.state('door'), 'open');

    // Streaming starts the clip (the camera plays it from its first client).
    await waitFor('the stranger event to end', () => ended.some((e) => e.label === 'person'), 60_000);
    const stranger = ended.find((e) => e.label === 'person')!;
    assert.deepEqual(stranger.face, { unknown: true }, `the stranger: ${JSON.stringify(stranger.face)}`);
    assert.equal(volet.shutter.residentPresence('alice'), undefined, 'an unknown face reports no presence');
    assert.equal(volet.shutter.state('door'), 'open');
    assert.deepEqual(arrivals, []);

    await waitFor('alice to close the shutter', () => volet.shutter.state('door') === 'closed', 60_000);
    assert.equal(volet.shutter.residentPresence('alice')?.source, 'face');
    assert.equal(volet.shutter.residentPresence('alice')?.state, 'home');
    assert.deepEqual(arrivals, ['alice']);
    const change = volet.shutter.status().cameras.find((c) => c.camera === 'door')!;
    assert.equal(change.reason, 'presence');
    assert.equal(change.by, 'alice');

    // The closed shutter stops the camera, which ends alice's event with her id, sealed with it.
    await waitFor('alice event to end', () => ended.some((e) => e.face?.resident !== undefined), 20_000);
    const hers = ended.find((e) => e.face?.resident !== undefined)!;
    assert.deepEqual(hers.face, { resident: alice.id });
    await waitFor('the sealed metadata of her event', () => volet.storage.index.filesOfEvent(hers.id).some((f) => f.kind === 'metadata'), 10_000);
    const file = volet.storage.index.filesOfEvent(hers.id).find((f) => f.kind === 'metadata')!;
    const meta = JSON.parse((await decryptFileToBuffer(join(volet.storage.dir, file.name), vault)).toString('utf8')) as EventMetadata;
    assert.deepEqual(meta.face, { resident: alice.id });
    const raw = readFileSync(join(volet.storage.dir, file.name));
    assert.equal(raw.indexOf(Buffer.from(alice.id)), -1, 'the resident id is not readable in the stored file');
    const audit = volet.shutter.status().residents.find((r) => r.name === 'alice');
    assert.equal(audit?.source, 'face');
  } finally {
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});
