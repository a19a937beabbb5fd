import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lightingChangeClip, mainAndSub, personWalkClip, staticClip } from './clips.ts';
import { startRtspCamera, type RtspCamera } from './rtsp-camera.ts';

const cameras: RtspCamera[] = [];
after(async () => {
  await Promise.all(cameras.map((camera) => camera.stop()));
});

async function camera(options: Parameters<typeof startRtspCamera>[0]): Promise<RtspCamera> {
  const started = await startRtspCamera(options);
  cameras.push(started);
  return started;
}

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

function run(command: string, args: string[], timeoutMs = 30000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function probe(url: string): Promise<{ code: number | null; stderr: string; streams: ProbedStream[] }> {
  const attempt = () =>
    run('ffprobe', [
      '-v', 'error', '-rtsp_transport', 'tcp', '-analyzeduration', '1000000',
      '-show_entries', 'stream=codec_type,codec_name,width,height', '-of', 'json', url,
    ], 15000);
  // On a loaded machine GStreamer sometimes starts a mount's pipeline too late for the first
  // client, whose ffprobe then waits for data forever (killed: code null). A camera restart
  // behaves the same way; a second try is what any client does.
  let result = await attempt();
  if (result.code === null) result = await attempt();
  const streams = result.code === 0 ? (JSON.parse(result.stdout) as { streams: ProbedStream[] }).streams : [];
  return { code: result.code, stderr: result.stderr, streams };
}

/** Reads `seconds` of video with ffmpeg (stream copy) and returns the packet timestamps in seconds. */
async function readVideo(url: string, seconds: number): Promise<{ code: number | null; stderr: string; pts: number[] }> {
  const first = await readVideoOnce(url, seconds);
  return first.code === null ? readVideoOnce(url, seconds) : first;
}

async function readVideoOnce(url: string, seconds: number): Promise<{ code: number | null; stderr: string; pts: number[] }> {
  const result = await run(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-t', String(seconds), '-map', '0:v', '-c', 'copy', '-f', 'framecrc', '-'],
    (seconds + 30) * 1000,
  );
  const timebase = /^#tb 0: (\d+)\/(\d+)/m.exec(result.stdout);
  const scale = timebase ? Number(timebase[1]) / Number(timebase[2]) : 1;
  const pts = result.stdout
    .split('\n')
    .filter((line) => /^0,/.test(line))
    .map((line) => Number(line.split(',')[2]) * scale)
    .filter((value) => Number.isFinite(value));
  return { code: result.code, stderr: result.stderr, pts };
}

/** A long-running ffmpeg reader that reports how many video frames it has received so far. */
function startReader(url: string) {
  const child = spawn(
    'ffmpeg',
    // A short analyzeduration: ffmpeg must finish probing before a stream stalls.
    ['-nostdin', '-v', 'error', '-rtsp_transport', 'tcp', '-analyzeduration', '1000000', '-i', url,
      '-map', '0:v', '-c', 'copy', '-f', 'null', '-',
      '-progress', 'pipe:1', '-stats_period', '0.25', '-nostats'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let frames = 0;
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const match of chunk.matchAll(/^frame=(\d+)$/gm)) frames = Number(match[1]);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let running = true;
  void exited.then(() => (running = false));
  return {
    get frames() {
      return frames;
    },
    get running() {
      return running;
    },
    get stderr() {
      return stderr;
    },
    exited,
    /** A stalled ffmpeg ignores SIGTERM (it blocks in the RTSP read), so SIGKILL. */
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * A reader that receives frames. On a loaded machine GStreamer sometimes leaves a mount's first
 * client without data (the same hang `probe` retries); like any RTSP client, connect again once.
 */
async function connectedReader(url: string): Promise<ReturnType<typeof startReader>> {
  const first = startReader(url);
  const ok = await waitFor(() => first.frames > 5, 'frames', 12000).then(() => true, () => false);
  if (ok) return first;
  await first.kill();
  const second = startReader(url);
  await waitFor(() => second.frames > 5, 'a reader to receive frames');
  return second;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One raw RTSP DESCRIBE over TCP, to check an auth scheme ffmpeg cannot be told to use. */
function rtspDescribe(port: number, path: string, authorization?: string): Promise<{ status: number; headers: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no RTSP response; got ${JSON.stringify(response)}`));
    }, 10000);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      const lines = [`DESCRIBE rtsp://127.0.0.1:${port}${path} RTSP/1.0`, 'CSeq: 1', 'Accept: application/sdp'];
      if (authorization) lines.push(`Authorization: ${authorization}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    socket.on('data', (chunk: string) => {
      response += chunk;
      const end = response.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      const status = Number(/^RTSP\/1\.0 (\d+)/.exec(response)?.[1]);
      resolve({ status, headers: response.slice(0, end) });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

async function digestAuthorization(port: number, path: string, user: string, password: string): Promise<string> {
  const challenge = await rtspDescribe(port, path);
  assert.equal(challenge.status, 401);
  const digest = /WWW-Authenticate: Digest (.*)/i.exec(challenge.headers)?.[1] ?? '';
  const realm = /realm="([^"]*)"/.exec(digest)?.[1];
  const nonce = /nonce="([^"]*)"/.exec(digest)?.[1];
  assert.ok(realm !== undefined && nonce !== undefined, `no Digest challenge in:\n${challenge.headers}`);
  const uri = `rtsp://127.0.0.1:${port}${path}`;
  const response = md5(`${md5(`${user}:${realm}:${password}`)}:${nonce}:${md5(`DESCRIBE:${uri}`)}`);
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}"`;
}

function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('test clips', () => {
  test('a person walk clip is H.264 without B-frames, one keyframe a second, and says when the person is there', { timeout: 120000 }, async () => {
    const clip = await personWalkClip();
    assert.deepEqual(clip.personWindow, { start: 4, end: 10 });
    assert.equal(clip.durationSeconds, 14);
    const result = await run('ffprobe', [
      '-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=codec_name,profile,pix_fmt,width,height,has_b_frames',
      '-show_entries', 'packet=flags', '-of', 'json', clip.path,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const info = JSON.parse(result.stdout) as {
      streams: Array<{ codec_name: string; profile: string; pix_fmt: string; width: number; height: number; has_b_frames: number }>;
      packets: Array<{ flags: string }>;
    };
    assert.deepEqual(
      { ...info.streams[0] },
      { codec_name: 'h264', profile: 'Main', pix_fmt: 'yuv420p', width: 640, height: 360, has_b_frames: 0 },
    );
    assert.equal(info.packets.length, 140);
    assert.equal(info.packets.filter((p) => p.flags.startsWith('K')).length, 14);
    // Cached: asking again returns the same file without regenerating it.
    assert.equal((await personWalkClip()).path, clip.path);
  });

  test('a lighting change clip has the same scene and says when the light changes', { timeout: 120000 }, async () => {
    const clip = await lightingChangeClip();
    assert.equal(clip.changeAt, 3);
    assert.match(clip.path, /lighting-change-640x360-10fps-/);
  });
});

describe('RTSP test camera', () => {
  test('serves the main stream (H.264 + AAC) and the sub stream (H.264) at their sizes', { timeout: 120000 }, async () => {
    const { main, sub } = await mainAndSub(personWalkClip, { audio: true });
    const cam = await camera({ mounts: { '/main': main.path, sub: sub.path }, loop: true });
    assert.ok(cam.port > 0);
    assert.ok(cam.pid > 0);
    assert.equal(cam.url('/sub'), `rtsp://127.0.0.1:${cam.port}/sub`);

    const mainProbe = await probe(cam.url('/main'));
    assert.equal(mainProbe.code, 0, mainProbe.stderr);
    const mainVideo = mainProbe.streams.find((s) => s.codec_type === 'video');
    assert.deepEqual({ ...mainVideo }, { codec_type: 'video', codec_name: 'h264', width: 1920, height: 1080 });
    assert.equal(mainProbe.streams.find((s) => s.codec_type === 'audio')?.codec_name, 'aac');

    const subProbe = await probe(cam.url('sub'));
    assert.equal(subProbe.code, 0, subProbe.stderr);
    assert.deepEqual(subProbe.streams.map((s) => ({ ...s })), [{ codec_type: 'video', codec_name: 'h264', width: 640, height: 360 }]);
  });

  test('with credentials set, a request without them gets 401 and one with them succeeds (Basic and Digest)', { timeout: 120000 }, async () => {
    const clip = await staticClip();
    const user = 'admin';
    const password = 'p@ss:w/rd';
    const cam = await camera({ mounts: { '/sub': clip.path }, user, password, loop: true });
    assert.equal(cam.url('/sub', true), `rtsp://admin:p%40ss%3Aw%2Frd@127.0.0.1:${cam.port}/sub`);

    const anonymous = await probe(cam.url('/sub'));
    assert.notEqual(anonymous.code, 0);
    assert.match(anonymous.stderr, /401 Unauthorized/);

    const wrong = await probe(`rtsp://admin:nope@127.0.0.1:${cam.port}/sub`);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /401 Unauthorized/);

    const authorized = await probe(cam.url('/sub', true));
    assert.equal(authorized.code, 0, authorized.stderr);
    assert.equal(authorized.streams[0]?.codec_name, 'h264');

    const challenge = await rtspDescribe(cam.port, '/sub');
    assert.equal(challenge.status, 401);
    assert.match(challenge.headers, /WWW-Authenticate: Basic/i);
    assert.match(challenge.headers, /WWW-Authenticate: Digest/i);
    assert.equal((await rtspDescribe(cam.port, '/sub', basicAuthorization(user, password))).status, 200);
    assert.equal((await rtspDescribe(cam.port, '/sub', basicAuthorization(user, 'nope'))).status, 401);
    const digest = await digestAuthorization(cam.port, '/sub', user, password);
    assert.equal((await rtspDescribe(cam.port, '/sub', digest)).status, 200);
  });

  test('a camera can offer Basic only or Digest only, and ffmpeg gets in either way', { timeout: 120000 }, async () => {
    const clip = await staticClip();
    const basicOnly = await camera({ mounts: { '/sub': clip.path }, user: 'u', password: 'p', authMethods: ['basic'], loop: true });
    const basicChallenge = await rtspDescribe(basicOnly.port, '/sub');
    assert.match(basicChallenge.headers, /WWW-Authenticate: Basic/i);
    assert.doesNotMatch(basicChallenge.headers, /Digest/i);
    const viaBasic = await probe(basicOnly.url('/sub', true));
    assert.equal(viaBasic.code, 0, viaBasic.stderr);

    const digestOnly = await camera({ mounts: { '/sub': clip.path }, user: 'u', password: 'p', authMethods: ['digest'], loop: true });
    assert.equal((await rtspDescribe(digestOnly.port, '/sub', basicAuthorization('u', 'p'))).status, 401);
    const viaDigest = await probe(digestOnly.url('/sub', true));
    assert.equal(viaDigest.code, 0, viaDigest.stderr);
    await basicOnly.stop();
    await digestOnly.stop();
  });

  test('stop ends a connected reader; restart serves again on the same port', { timeout: 120000 }, async () => {
    const clip = await staticClip();
    const cam = await camera({ mounts: { '/sub': clip.path }, loop: true });
    const port = cam.port;
    const firstPid = cam.pid;

    const reader = await connectedReader(cam.url('/sub'));
    await cam.stop();
    // ffmpeg treats the closed connection as end of stream: exit code 0, no error.
    const code = await Promise.race([reader.exited, sleep(20000).then(() => 'still running' as const)]);
    if (code === 'still running') await reader.kill();
    assert.notEqual(code, 'still running', 'the reader should exit when the camera stops');
    await cam.stop(); // stopping twice is harmless

    await cam.restart();
    assert.equal(cam.port, port);
    assert.notEqual(cam.pid, firstPid);
    const again = await connectedReader(cam.url('/sub'));
    await again.kill();
  });

  test('a looped clip plays past its end with timestamps that keep increasing', { timeout: 120000 }, async () => {
    const clip = await staticClip({ seconds: 3 });
    const cam = await camera({ mounts: { '/sub': clip.path }, loop: true });
    const seconds = clip.durationSeconds + 3;
    const { code, stderr, pts } = await readVideo(cam.url('/sub'), seconds);
    assert.equal(code, 0, stderr);
    assert.ok(pts.length >= seconds * clip.fps * 0.8, `only ${pts.length} frames in ${seconds} s`);
    assert.ok(pts[pts.length - 1] >= seconds - 1, `last timestamp ${pts[pts.length - 1]}`);
    // ffmpeg's RTSP demuxer leaves the first keyframe without a timestamp and
    // its muxer then gives it the second frame's; from there on they increase.
    assert.ok(pts[1] >= pts[0]);
    for (let i = 2; i < pts.length; i++) assert.ok(pts[i] > pts[i - 1], `timestamps go back at frame ${i}`);
  });

  test('without loop the clip plays once, the reader sees end of stream, and the next client starts it over', { timeout: 120000 }, async () => {
    const clip = await staticClip({ seconds: 3 });
    const cam = await camera({ mounts: { '/sub': clip.path } });
    for (let round = 0; round < 2; round++) {
      const { code, stderr, pts } = await readVideo(cam.url('/sub'), 60);
      assert.equal(code, 0, stderr);
      assert.ok(pts.length >= clip.durationSeconds * clip.fps * 0.8, `round ${round}: only ${pts.length} frames`);
    }
  });

  test('freeze stops media data but keeps the connection; resume sends it again', { timeout: 120000 }, async () => {
    const clip = await staticClip();
    const cam = await camera({ mounts: { '/sub': clip.path }, loop: true });
    const reader = await connectedReader(cam.url('/sub'));
    try {
      await cam.freeze();
      await sleep(1000); // whatever was in flight arrives
      const frozenAt = reader.frames;
      await sleep(2000);
      assert.equal(reader.frames, frozenAt, 'no frames while frozen');
      assert.ok(reader.running, 'the reader stays connected while frozen');
      await cam.resume();
      await waitFor(() => reader.frames > frozenAt + 5, 'frames after resuming');
    } finally {
      await reader.kill();
    }
  });

  test('freezeAfterSeconds stalls each stream after that long, with the connection open', { timeout: 120000 }, async () => {
    const clip = await staticClip();
    const cam = await camera({ mounts: { '/sub': clip.path }, loop: true, freezeAfterSeconds: 3 });
    const reader = await connectedReader(cam.url('/sub'));
    try {
      await sleep(4000);
      const stalledAt = reader.frames;
      assert.ok(stalledAt <= 3 * clip.fps + 5, `${stalledAt} frames in a stream meant to stall after 3 s`);
      await sleep(2000);
      assert.equal(reader.frames, stalledAt, 'no frames after the stall');
      assert.ok(reader.running, 'the reader stays connected');
    } finally {
      await reader.kill();
    }
    // A new connection gets a fresh stream.
    const next = await connectedReader(cam.url('/sub'));
    try {
    } finally {
      await next.kill();
    }
  });

  test('a clip the server cannot read fails start-up with the server\'s error', { timeout: 60000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'volet-rtsp-camera-'));
    try {
      const junk = join(dir, 'junk.mkv');
      await writeFile(junk, 'this is not a video');
      await assert.rejects(startRtspCamera({ mounts: { '/x': junk } }), /exited before it was ready[\s\S]*cannot read/);
      const text = join(dir, 'clip.txt');
      await writeFile(text, '');
      await assert.rejects(startRtspCamera({ mounts: { '/x': text } }), /container '\.txt' not supported/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
