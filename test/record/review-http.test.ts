import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startVolet } from '../../src/app/start.ts';
import type { FileRow } from '../../src/storage/storage-index.ts';
import { readSetupCode } from '../../src/web/auth/setup-code.ts';
import { mainAndSub, personWalkClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { initTestVault, tempVoletConfig, TEST_PASSPHRASE, waitFor } from '../support/volet-fixture.ts';
import { Client } from '../web/support.ts';

const run = promisify(execFile);
/** What marks a playback's ffmpeg among Volet's (recorder and live view also write fragmented MP4). */
const PLAYBACK_ARG = '-avoid_negative_ts';

async function probePackets(path: string): Promise<{ video: number[]; duration: number; codecs: string[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time:stream=index,codec_type,codec_name:format=duration', '-of', 'json', path], { maxBuffer: 64 << 20 });
  const info = JSON.parse(stdout) as {
    packets?: Array<{ stream_index: number; pts_time: string }>;
    streams: Array<{ index: number; codec_type: string; codec_name: string }>;
    format: { duration?: string };
  };
  const video = info.streams.find((s) => s.codec_type === 'video')!.index;
  return {
    video: (info.packets ?? []).filter((p) => p.stream_index === video).map((p) => Number(p.pts_time)),
    duration: Number(info.format.duration),
    codecs: info.streams.map((s) => s.codec_name).sort(),
  };
}

/** Reads a playback until `bytes` arrived, then closes it, timing the first byte and the first moof. */
async function readPlayback(client: Client, camera: string, at: number, bytes: number) {
  const abort = new AbortController();
  const asked = performance.now();
  const res = await fetch(`${client.base}/api/playback/${camera}?at=${at}`, { headers: { cookie: client.cookie! }, signal: abort.signal });
  assert.equal(res.status, 200, await (res.status === 200 ? Promise.resolve('') : res.text()));
  assert.equal(res.headers.get('content-type'), 'video/mp4');
  const start = Number(res.headers.get('x-playback-start'));
  const chunks: Buffer[] = [];
  let size = 0;
  let firstByteMs = 0;
  let firstMoofMs = 0;
  const reader = res.body!.getReader();
  while (size < bytes) {
    const { value, done } = await reader.read();
    if (done) break;
    if (!firstByteMs) firstByteMs = performance.now() - asked;
    chunks.push(Buffer.from(value));
    size += value.length;
    if (!firstMoofMs && Buffer.concat(chunks).includes('moof')) firstMoofMs = performance.now() - asked;
  }
  abort.abort();
  await reader.cancel().catch(() => {});
  return { start, data: Buffer.concat(chunks), firstByteMs, firstMoofMs };
}

/** Playback ffmpegs this process (Volet under test) runs; other tests may run their own meanwhile. */
function playbackFfmpegs(): number {
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
      if (parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(PLAYBACK_ARG)) count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}

test('24/7 review over HTTP: timeline, playback from any instant and across segments, export, bad requests refused while recording goes on', async () => {
  const { main, sub } = await mainAndSub(personWalkClip, { audio: true, emptySeconds: 2, walkSeconds: 4, tailSeconds: 2 }, { main: { width: 640, height: 360 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const t = tempVoletConfig(
    `web: { host: 127.0.0.1, port: 0, https: false }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`,
  );
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  const segments = () => volet.storage.index.segmentsBetween('porch', 0, Date.now() + 60_000);
  try {
    const client = new Client(volet.web!.url);
    const setup = await client.post('/api/setup', { setupCode: readSetupCode(t.storageDir), username: 'owner', password: 'owner password 1' });
    assert.equal(setup.status, 201, setup.text);
    assert.equal((await client.post('/api/vault/unlock', { passphrase: TEST_PASSPHRASE })).status, 200);
    await waitFor('8 stored segments', () => segments().length >= 8, 120_000);
    // The detection stream can lag the recorder: the walk's motion may reach a segment after it is stored.
    await waitFor('motion on a stored segment', () => volet.storage.index.motionBetween('porch', 0, Date.now(), 60_000).length > 0, 30_000);
    const segs: FileRow[] = segments();

    // Timeline: the recorded time is one span; motion of the walking person is there.
    const from = segs[0]!.startMs - 60_000;
    const to = segs.at(-1)!.endMs + 1000;
    const timeline = await client.get(`/api/timeline?camera=porch&from=${from}&to=${to}`);
    assert.equal(timeline.status, 200, timeline.text);
    assert.equal(timeline.json.camera, 'porch');
    assert.deepEqual(timeline.json.spans, [{ start: segs[0]!.startMs, end: Math.min(to, segs.at(-1)!.endMs) }], 'continuous recording is one span');
    assert.ok(timeline.json.motion.length > 0 && timeline.json.motion.every((m: { level: number }) => m.level > 0 && m.level <= 1), 'motion activity per segment');
    assert.ok(Array.isArray(timeline.json.events));

    // Playback from an instant inside a segment.
    const inside = segs[2]!.startMs + Math.round((segs[2]!.endMs - segs[2]!.startMs) * 0.6);
    const a = await readPlayback(client, 'porch', inside, 150_000);
    writeFileSync(join(t.dir, 'inside.mp4'), a.data);
    const pa = await probePackets(join(t.dir, 'inside.mp4'));
    assert.equal(a.data.subarray(4, 8).toString(), 'ftyp', 'an MP4 from the first byte');
    assert.ok(a.data.includes('moov') && a.data.includes('moof'), 'fragmented MP4: moov, then fragments');
    assert.ok(Math.abs(a.start + pa.video[0]! * 1000 - inside) <= 1000, `first frame at ${a.start + pa.video[0]! * 1000}, asked ${inside}`);
    assert.ok(a.start <= inside, 'the stream starts at or before the instant asked: the viewer seeks forward to it');

    // Playback across a segment boundary: starts in one segment and goes on into the next ones.
    const boundary = segs[4]!.endMs - 300;
    const b = await readPlayback(client, 'porch', boundary, 400_000);
    writeFileSync(join(t.dir, 'boundary.mp4'), b.data);
    const pb = await probePackets(join(t.dir, 'boundary.mp4'));
    assert.ok(Math.abs(b.start + pb.video[0]! * 1000 - boundary) <= 1000, `first frame at ${b.start + pb.video[0]! * 1000}, asked ${boundary}`);
    const lastWall = b.start + pb.video.at(-1)! * 1000;
    assert.ok(lastWall > segs[5]!.startMs + 500, `playback went on across the boundary (to ${lastWall - segs[5]!.startMs} ms into the next segment)`);
    const gaps = pb.video.slice(1).map((pts, i) => pts - pb.video[i]!);
    assert.ok(Math.max(...gaps) < 0.5, `no jump in media time at the boundary (largest step ${Math.max(...gaps)} s)`);
    process.stdout.write(`# playback: first byte ${a.firstByteMs.toFixed(0)} / ${b.firstByteMs.toFixed(0)} ms, first moof ${a.firstMoofMs.toFixed(0)} / ${b.firstMoofMs.toFixed(0)} ms\n`);
    await waitFor('playback ffmpegs to end once the client closed', () => playbackFfmpegs() === 0, 10_000);

    // Export a 4 s range: queued, ready, downloaded once, then gone from RAM; the audit log knows.
    const exportFrom = segs[1]!.startMs + 700;
    const exportTo = exportFrom + 4000;
    const queued = await client.post('/api/exports', { camera: 'porch', from: exportFrom, to: exportTo });
    assert.equal(queued.status, 202, queued.text);
    const id = queued.json.id as string;
    await waitFor('the export', async () => (await client.get(`/api/exports/${id}`)).json.state === 'ready', 60_000);
    const ready = await client.get(`/api/exports/${id}`);
    assert.deepEqual(ready.json, { id, camera: 'porch', from: exportFrom, to: exportTo, state: 'ready', progress: 1 });
    assert.deepEqual((await client.get('/api/exports')).json.exports.map((e: { id: string }) => e.id), [id]);
    const download = await fetch(`${client.base}/api/exports/${id}/download`, { headers: { cookie: client.cookie! } });
    assert.equal(download.status, 200);
    writeFileSync(join(t.dir, 'export.mp4'), Buffer.from(await download.arrayBuffer()));
    const pe = await probePackets(join(t.dir, 'export.mp4'));
    assert.ok(pe.duration >= 3.9 && pe.duration <= 5.1, `4 s asked (from the keyframe before), MP4 lasts ${pe.duration} s`);
    assert.deepEqual(pe.codecs, ['aac', 'h264']);
    await waitFor('the downloaded export to be deleted', async () => (await client.get(`/api/exports/${id}`)).status === 404, 5000);
    assert.deepEqual(existsSync(join(t.cacheDir, 'exports')) ? readdirSync(join(t.cacheDir, 'exports')) : [], [], 'nothing left in RAM');
    const audit = await client.get('/api/audit?action=recording_exported');
    assert.equal(audit.json.entries[0]?.actor, 'owner');
    assert.equal(audit.json.entries[0]?.target, 'porch');

    // Cancelling a queued export.
    const cancelled = await client.post('/api/exports', { camera: 'porch', from: exportFrom, to: exportTo });
    assert.equal((await client.delete(`/api/exports/${cancelled.json.id}`)).status, 204);
    assert.equal((await client.get(`/api/exports/${cancelled.json.id}`)).status, 404);

    // Bad and hostile requests: a 4xx each, naming the field; recording goes on.
    const stored = volet.recorders.get('porch')!.segmentsStored;
    const now = Date.now();
    const refused: Array<[string, number, RegExp?]> = [
      ['/api/timeline?camera=porch&from=1', 400, /to/],
      [`/api/timeline?camera=porch&from=${now}&to=${now - 1}`, 400, /to/],
      [`/api/timeline?camera=porch&from=0&to=${8 * 86_400_000}`, 400, /7 days/],
      [`/api/timeline?camera=PORCH!&from=0&to=1`, 400, /camera/],
      [`/api/timeline?camera=garage&from=0&to=1`, 404],
      [`/api/timeline?camera=porch&from=0&to=1&x=1`, 400],
      ['/api/playback/porch?at=abc', 400, /at/],
      ['/api/playback/porch', 400, /at/],
      ['/api/playback/..%2Fetc?at=1', 400],
      ['/api/playback/garage?at=1', 404],
      [`/api/playback/porch?at=${now + 3_600_000}`, 404],
      ['/api/exports/nope', 404],
      ['/api/exports/..%2F..%2Fetc/download', 400],
    ];
    for (const [path, status, message] of refused) {
      const res = await client.get(path);
      assert.equal(res.status, status, `${path}: ${res.text}`);
      if (message) assert.match(res.json.error.message, message, path);
    }
    for (const [input, status] of [
      [{ camera: 'porch', from: exportFrom, to: exportFrom + 3_600_001 }, 400],
      [{ camera: 'porch', from: exportTo, to: exportFrom }, 400],
      [{ camera: 'porch', from: 'yesterday', to: exportTo }, 400],
      [{ camera: 'garage', from: exportFrom, to: exportTo }, 404],
      [{ camera: 'porch', from: exportFrom, to: exportTo, extra: 1 }, 400],
    ] as const) {
      const res = await client.post('/api/exports', input);
      assert.equal(res.status, status, `${JSON.stringify(input)}: ${res.text}`);
    }
    const anonymous = await fetch(`${client.base}/api/playback/porch?at=${inside}`);
    assert.equal(anonymous.status, 401);
    await waitFor('recording to go on', () => volet.recorders.get('porch')!.segmentsStored > stored + 1, 30_000);
  } finally {
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
  assert.equal(playbackFfmpegs(), 0, 'no playback ffmpeg outlives Volet');
});
