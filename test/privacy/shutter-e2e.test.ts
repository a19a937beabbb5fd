import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startVolet } from '../../src/app/start.ts';
import { mainAndSub, personWalkClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { ffmpegChildren, filesUnder, initTestVault, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a closed shutter stops every ffmpeg of the camera, stores nothing and sees no one; opening resumes; an intrusion opens it while residents are home', async () => {
  const { main, sub } = await mainAndSub(personWalkClip, { emptySeconds: 1, walkSeconds: 4, tailSeconds: 1 }, { main: { width: 640, height: 360 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const t = tempVoletConfig(
    `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n` +
      `privacy:\n  residents:\n    alice: { token: alice-token-0123456789abcdef }\n  intrusion: { token: alarm-token-0123456789abcdef }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { web: false });
  const events: number[] = [];
  volet.bus.on('event:start', (e) => events.push(e.start));
  const stored = () => filesUnder(t.storageDir).filter((f) => f.endsWith('.volet')).length;
  try {
    await waitFor('streaming and recording', () => volet.pipelines.get('porch')!.supervisor.status.state === 'streaming' && stored() >= 2, 60_000);
    assert.equal(ffmpegChildren().length, 2, 'decode and record ffmpeg run while open');

    await volet.shutter.set('porch', 'closed', 'test');
    await waitFor('every ffmpeg of the camera to be gone', () => ffmpegChildren().length === 0, 1000);
    await sleep(500);
    const filesAtClose = stored();
    const eventsAtClose = events.length;
    await sleep(8000); // the person walks through the scene at least once
    assert.equal(stored(), filesAtClose, 'no file is added while closed');
    assert.equal(events.length, eventsAtClose, 'a person walking in while closed is no event');
    assert.deepEqual(ffmpegChildren(), [], 'no frame of the camera is read while closed');

    await volet.shutter.set('porch', 'open', 'test');
    await waitFor('streaming again', () => volet.pipelines.get('porch')!.supervisor.status.state === 'streaming', 20_000);
    await waitFor('recording again', () => stored() > filesAtClose, 30_000);

    volet.shutter.reportPresence('alice', 'home');
    await waitFor('presence to close the shutter', () => volet.shutter.state('porch') === 'closed' && ffmpegChildren().length === 0, 5000);
    const filesWhileHome = stored();
    volet.shutter.setArmed(true, 'alarm panel');
    volet.shutter.setTriggered(true, 'front door');
    await waitFor('the intrusion to open the shutter', () => volet.shutter.state('porch') === 'open', 5000);
    await waitFor('recording during the intrusion', () => stored() > filesWhileHome, 30_000);
  } finally {
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});

test('a shutter flipped while the camera is still starting leaves no ffmpeg and no folder watch behind', async () => {
  const { main } = await mainAndSub(personWalkClip, { emptySeconds: 1, walkSeconds: 2, tailSeconds: 1 }, { main: { width: 640, height: 360 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path }, loop: true });
  const t = tempVoletConfig(`cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: continuous }\n`);
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { web: false });
  const watches = () => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
  try {
    await waitFor('recording', () => volet.recorders.get('porch')!.activity.startedAt > 0 && ffmpegChildren().length > 0, 30_000);
    // open → close → open → close without waiting: each start and stop must happen in turn.
    for (let i = 0; i < 3; i++) {
      void volet.shutter.set('porch', 'closed', 'test');
      void volet.shutter.set('porch', 'open', 'test');
    }
    await volet.shutter.set('porch', 'closed', 'test');
    await waitFor('every ffmpeg of the closed camera gone', () => ffmpegChildren().length === 0, 10_000);
    await sleep(1500);
    assert.deepEqual(ffmpegChildren(), [], 'nothing started after the last close');
    assert.equal(watches(), 0, 'no folder watch left running');
    assert.equal(volet.recorders.get('porch')!.activity.startedAt, 0);
  } finally {
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});
