import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { repackageToFragmentedMp4 } from '../../src/camera/ffmpeg.ts';
import { codecFromInit, findBox, Fmp4Splitter, fragmentStartsWithKeyframe, type Fragment } from '../../src/restream/fmp4.ts';
import { parseRange } from '../../src/web/http/range.ts';
import { personWalkClip } from '../support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../support/rtsp-camera.ts';
import { Client, setUp, startTestServer, userClient, type TestServer } from './support.ts';

/** Everything ffmpeg writes for a few seconds of the clip, as one buffer. */
async function fragmentedMp4Bytes(source: string, fragments: number): Promise<Buffer> {
  const command = repackageToFragmentedMp4(source);
  const chunks: Buffer[] = [];
  let seen = 0;
  await new Promise<void>((resolve) => {
    const splitter = new Fmp4Splitter(
      () => {},
      () => {
        if (++seen === fragments) {
          command.kill('SIGKILL');
          resolve();
        }
      },
    );
    command.on('error', () => resolve());
    command.pipe().on('data', (c: Buffer) => {
      chunks.push(c);
      splitter.push(c);
    });
  });
  return Buffer.concat(chunks);
}

describe('fragmented MP4 parsing', () => {
  let bytes: Buffer;
  before(async () => {
    const clip = await personWalkClip({ emptySeconds: 1, walkSeconds: 2, tailSeconds: 1 });
    bytes = await fragmentedMp4Bytes(pathToFileURL(clip.path).href, 6);
  });

  test('the init segment is ftyp+moov and gives the MSE codec string from avcC', () => {
    const parts: { init?: Buffer; codec?: string } = {};
    new Fmp4Splitter((init, codec) => Object.assign(parts, { init, codec }), () => {}).push(bytes);
    assert.equal(parts.init!.toString('latin1', 4, 8), 'ftyp');
    assert.ok(findBox(parts.init!, ['moov']));
    assert.match(parts.codec!, /^avc1\.[0-9A-F]{6}$/);
    assert.equal(codecFromInit(parts.init!), parts.codec);
    assert.equal(parts.codec!.slice(5, 7), '4D'); // the test clips are H.264 Main profile
  });

  test('fragments are moof+mdat pairs whatever the pipe chunk size, keyframes marked', () => {
    const whole: Fragment[] = [];
    new Fmp4Splitter(() => {}, (f) => whole.push(f)).push(bytes);
    const dribbled: Fragment[] = [];
    const splitter = new Fmp4Splitter(() => {}, (f) => dribbled.push(f));
    for (let i = 0; i < bytes.length; i += 7) splitter.push(bytes.subarray(i, i + 7));
    assert.ok(whole.length >= 5);
    assert.deepEqual(dribbled.map((f) => f.data), whole.map((f) => f.data));
    for (const f of whole) {
      assert.equal(f.data.toString('latin1', 4, 8), 'moof');
      assert.ok(findBox(f.data, ['mdat']));
    }
    assert.equal(whole[0].keyframe, true);
    // One keyframe per second, fragments every half second: both kinds occur.
    assert.ok(whole.some((f) => !f.keyframe));
    assert.ok(whole.filter((f) => f.keyframe).length >= 2);
    assert.equal(fragmentStartsWithKeyframe(Buffer.alloc(0)), false);
  });
});

test('parseRange follows RFC 9110 for one range', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
  assert.deepEqual(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-1', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
  assert.equal(parseRange(undefined, 100), undefined);
});

interface LiveMessages {
  texts: any[];
  binaries: Buffer[];
  ws: WebSocket;
}

function watch(server: TestServer, client: Client, camera: string): LiveMessages {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/live/${camera}`, { headers: { cookie: client.cookie!, origin: server.url } });
  const messages: LiveMessages = { texts: [], binaries: [], ws };
  ws.on('message', (data, isBinary) => {
    if (isBinary) messages.binaries.push(data as Buffer);
    else messages.texts.push(JSON.parse(String(data)));
  });
  return messages;
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('live view from an RTSP camera', () => {
  let camera: RtspCamera;
  let server: TestServer;
  let admin: Client;
  let viewer: Client;
  before(async () => {
    const clip = await personWalkClip();
    camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true, user: 'cam', password: 's3cret pass' });
    server = await startTestServer({ clipPath: clip.path, sources: { porch: camera.url('/main', true) } });
    admin = await setUp(server);
    viewer = await userClient(server, admin, 'vera', { porch: 'viewer' });
  });
  after(async () => {
    await server.stop();
    await camera.stop();
  });

  test('a watcher gets the codec, the init segment, then fragments starting at a keyframe', async () => {
    const m = watch(server, admin, 'porch');
    await until(() => m.binaries.length >= 4, 'four binary messages');
    assert.equal(m.texts[0].type, 'init');
    assert.match(m.texts[0].codec, /^avc1\./);
    assert.equal(m.binaries[0].toString('latin1', 4, 8), 'ftyp');
    assert.equal(m.binaries[1].toString('latin1', 4, 8), 'moof');
    assert.equal(fragmentStartsWithKeyframe(m.binaries[1]), true);

    // A late joiner shares the same ffmpeg and also starts with init + a keyframe fragment.
    const late = watch(server, viewer, 'porch');
    await until(() => late.binaries.length >= 2, 'the late joiner’s first fragment');
    assert.deepEqual(late.binaries[0], m.binaries[0]);
    assert.equal(fragmentStartsWithKeyframe(late.binaries[1]), true);
    assert.deepEqual(server.liveStreams(), [{ camera: 'porch', format: 'fmp4', variant: 'main', watchers: 2 }]);

    m.ws.close();
    await until(() => server.liveStreams()[0]?.watchers === 1, 'one watcher left');
    late.ws.close();
    await until(() => server.liveStreams().length === 0, 'the stream to stop after the last watcher');
    assert.ok(!server.log().includes('s3cret'), 'the camera password never reaches the log');
  });

  test('closing the privacy shutter ends live view and refuses new watchers', async () => {
    const m = watch(server, admin, 'porch');
    await until(() => m.binaries.length >= 2, 'live video');
    const closed = new Promise<number>((resolve) => m.ws.once('close', (code) => resolve(code)));
    assert.equal((await admin.put('/api/cameras/porch/shutter', { state: 'closed' })).status, 200);
    assert.equal(await closed, 4403);
    const again = new WebSocket(`${server.url.replace('http', 'ws')}/ws/live/porch`, { headers: { cookie: admin.cookie!, origin: server.url } });
    const status = await new Promise<number>((resolve) => {
      again.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      again.on('open', () => resolve(101));
      again.on('error', () => {});
    });
    again.terminate();
    assert.equal(status, 409);
    await admin.put('/api/cameras/porch/shutter', { state: 'open' });
  });

  test('the event socket forwards detections of permitted cameras only', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/events`, { headers: { cookie: viewer.cookie!, origin: server.url } });
    const got: any[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d))));
    await until(() => got.length >= 1, 'hello');
    assert.deepEqual(got[0], { type: 'hello', cameras: ['porch'] });
    const box = { x: 10, y: 20, width: 30, height: 40 };
    server.bus.emit('event:start', { id: 'e1', camera: 'garden', label: 'cat', score: 0.8, start: 1, zones: [], box });
    server.bus.emit('event:start', { id: 'e2', camera: 'porch', label: 'person', score: 0.9, start: 2, zones: [], box });
    server.bus.emit('event:end', { id: 'e2', camera: 'porch', label: 'person', score: 0.9, start: 2, end: 3, zones: [], box }, undefined);
    await until(() => got.length >= 3, 'two events');
    assert.deepEqual(got.slice(1).map((m) => [m.type, m.event.id]), [['event:start', 'e2'], ['event:end', 'e2']]);
    assert.deepEqual(got[1].event.box, box);
    ws.close();
  });
});

test('the MPEG-1 fallback socket streams MPEG-TS for JSMpeg from the same authenticated gateway', async () => {
  const clip = await personWalkClip();
  const server = await startTestServer({ clipPath: clip.path });
  try {
    const admin = await setUp(server);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/mpeg1/porch`, { headers: { cookie: admin.cookie!, origin: server.url } });
    const chunks: Buffer[] = [];
    ws.on('message', (data) => chunks.push(data as Buffer));
    await until(() => Buffer.concat(chunks).length >= 188 * 20, 'MPEG-TS packets');
    const ts = Buffer.concat(chunks);
    for (let i = 0; i < 20; i++) assert.equal(ts[i * 188], 0x47, 'TS sync byte every 188 bytes');
    assert.deepEqual(server.liveStreams(), [{ camera: 'porch', format: 'mpeg1', variant: 'main', watchers: 1 }]);
    ws.close();
    await until(() => server.liveStreams().length === 0, 'the fallback stream to stop');
  } finally {
    await server.stop();
  }
});
