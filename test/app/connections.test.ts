import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startVolet } from '../../src/app/start.ts';
import { readSetupCode } from '../../src/web/auth/setup-code.ts';
import { Fmp4Splitter } from '../../src/restream/fmp4.ts';
import { mainAndSub, personWalkClip } from '../support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../support/rtsp-camera.ts';
import { initTestVault, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';
import { ADMIN, Client, VAULT_PASSPHRASE } from '../web/support.ts';

/** RTSP client streams the test camera serves on a mount now, from its own log. */
function sessionsOn(camera: RtspCamera, mount: string): number {
  const lines = camera.logs().split('\n').filter((l) => l.includes(`${mount}: client stream`));
  return Number(/\((\d+) active\)/.exec(lines.at(-1) ?? '')?.[1] ?? 0);
}

/** A live-view socket that counts the fragments it plays after the init segment. */
function viewer(url: string, cookie: string, path = '/ws/live/porch') {
  const ws = new WebSocket(`${url.replace('http', 'ws')}${path}`, { headers: { cookie, origin: url } });
  const state = { codec: '', fragments: 0 };
  const splitter = new Fmp4Splitter(() => {}, () => void (state.fragments += 1));
  ws.on('message', (data, binary) => {
    if (!binary) {
      const message = JSON.parse(String(data)) as { type: string; codec?: string };
      if (message.type === 'init') state.codec = message.codec ?? '';
      return;
    }
    splitter.push(data as Buffer);
  });
  return { ws, state };
}

/** An MPEG-1 fallback socket: counts the MPEG-TS bytes it receives. */
function mpeg1Viewer(url: string, cookie: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/mpeg1/porch`, { headers: { cookie, origin: url } });
  const state = { bytes: 0 };
  ws.on('message', (data, binary) => void (binary && (state.bytes += (data as Buffer).length)));
  return { ws, state };
}

test('one RTSP session per camera stream: recording and every live viewer (MSE, sub stream, MPEG-1) share the main and sub connections', async () => {
  const { main, sub } = await mainAndSub(personWalkClip, { emptySeconds: 2, walkSeconds: 4, tailSeconds: 2 }, { main: { width: 960, height: 540 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const t = tempVoletConfig(
    `web: { host: 127.0.0.1, port: 0, https: false }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  const viewers: ReturnType<typeof viewer>[] = [];
  const closers: (() => void)[] = [];
  try {
    const admin = new Client(volet.web!.url);
    const setup = await admin.post('/api/setup', { setupCode: readSetupCode(volet.storage.dir), ...ADMIN, vaultPassphrase: VAULT_PASSPHRASE });
    assert.equal(setup.status, 201, setup.text);
    await waitFor('recording and detection to connect', () => sessionsOn(camera, '/main') === 1 && sessionsOn(camera, '/sub') === 1, 30_000);

    for (let i = 0; i < 3; i++) viewers.push(viewer(volet.web!.url, admin.cookie!));
    const subViewer = viewer(volet.web!.url, admin.cookie!, '/ws/live/porch/sub');
    viewers.push(subViewer);
    const fallback = mpeg1Viewer(volet.web!.url, admin.cookie!);
    closers.push(() => fallback.ws.close());
    await waitFor('every viewer to play fragments', () => viewers.every((v) => v.state.fragments >= 4), 30_000);
    await waitFor('the MPEG-1 fallback to play', () => fallback.state.bytes > 50_000, 30_000);
    assert.equal(sessionsOn(camera, '/main'), 1, `main: one session for recording and 3 viewers\n${camera.logs().slice(-2000)}`);
    assert.equal(sessionsOn(camera, '/sub'), 1, 'sub: one session for detection, the sub-stream viewer and the MPEG-1 fallback');
    assert.match(viewers[0].state.codec, /^avc1\./);
    const cameras = ((await admin.get('/api/cameras')).json as { cameras: { name: string; liveSub: boolean }[] }).cameras;
    assert.equal(cameras[0].liveSub, true);
    await waitFor('segments still recorded', () => volet.storage.index.allFiles().filter((f) => f.kind === 'segment').length >= 2, 30_000);
  } finally {
    for (const close of closers) close();
    for (const v of viewers) v.ws.close();
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});

test('a camera without a sub stream opens one session: detection decodes the recorder\'s connection, viewers share it', async () => {
  const clip = await personWalkClip({ emptySeconds: 2, walkSeconds: 4, tailSeconds: 2 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true });
  const t = tempVoletConfig(
    `web: { host: 127.0.0.1, port: 0, https: false }\n` + `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    record: { mode: continuous }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  const viewers: ReturnType<typeof viewer>[] = [];
  let fallback: ReturnType<typeof mpeg1Viewer> | undefined;
  try {
    const admin = new Client(volet.web!.url);
    const setup = await admin.post('/api/setup', { setupCode: readSetupCode(volet.storage.dir), ...ADMIN, vaultPassphrase: VAULT_PASSPHRASE });
    assert.equal(setup.status, 201, setup.text);
    const supervisor = volet.pipelines.get('porch')!.supervisor;
    await waitFor('detection frames from the recorder\'s connection', () => supervisor.status.framesRead > 20, 30_000);
    for (let i = 0; i < 3; i++) viewers.push(viewer(volet.web!.url, admin.cookie!));
    fallback = mpeg1Viewer(volet.web!.url, admin.cookie!);
    await waitFor('every viewer to play fragments', () => viewers.every((v) => v.state.fragments >= 4), 30_000);
    await waitFor('the MPEG-1 fallback to play', () => fallback!.state.bytes > 50_000, 30_000);
    const framesBefore = supervisor.status.framesRead;
    await waitFor('detection to keep reading', () => supervisor.status.framesRead > framesBefore + 10, 10_000);
    assert.equal(sessionsOn(camera, '/main'), 1, `one session for recording, detection, 3 viewers and MPEG-1\n${camera.logs().slice(-2000)}`);
    const cameras = ((await admin.get('/api/cameras')).json as { cameras: { name: string; liveSub: boolean }[] }).cameras;
    assert.equal(cameras[0].liveSub, false);
  } finally {
    fallback?.ws.close();
    for (const v of viewers) v.ws.close();
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});
