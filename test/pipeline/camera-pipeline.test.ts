import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { parseConfig } from '../../src/config/load.ts';
import { createDetector, type ObjectDetector } from '../../src/detect/detector.ts';
import { EventBus, type CameraStatus, type EventSnapshot, type ObjectEvent } from '../../src/events/bus.ts';
import { createLogger } from '../../src/log/logger.ts';
import { CameraPipeline } from '../../src/pipeline/camera-pipeline.ts';
import { DetectScheduler } from '../../src/pipeline/detect-scheduler.ts';
import { lightingChangeClip, personWalkClip, staticClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';

const modelPath = join(fileURLToPath(new URL('../../../shared/models', import.meta.url)), 'yolox_nano_dynamic.onnx');

let detector: ObjectDetector;
before(async () => {
  detector = await createDetector({ modelPath, threads: 1, scoreThreshold: 0.3, nmsThreshold: 0.45, labels: { person: 0.5, dog: 0.5 } });
});
after(async () => detector.close());

interface Run {
  bus: EventBus;
  pipeline: CameraPipeline;
  scheduler: DetectScheduler;
  started: ObjectEvent[];
  ended: { event: ObjectEvent & { end: number }; snapshot?: EventSnapshot }[];
  motion: number[];
  statuses: CameraStatus[];
  logLines: Record<string, unknown>[];
  lastFrameAt: () => number;
  stop: () => Promise<void>;
}

function runPipeline(url: string, extra = ''): Run {
  const config = parseConfig(`cameras:\n  porch:\n    main: ${url}\n    detect: { fps: 5, width: 640, height: 360, stallSeconds: 4 }\n${extra}`, 'test.yml', {});
  const bus = new EventBus();
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
      done();
    },
  });
  const scheduler = new DetectScheduler(detector);
  const pipeline = new CameraPipeline({
    name: 'porch',
    camera: config.cameras.porch,
    defaultObjects: config.detector.labels,
    scheduler,
    regionMinSide: 416,
    bus,
    logger: createLogger('info', sink),
  });
  const run: Run = { bus, pipeline, scheduler, started: [], ended: [], motion: [], statuses: [], logLines, lastFrameAt: () => last, stop: async () => {
    await pipeline.stop();
    await scheduler.close();
  } };
  let last = 0;
  pipeline.supervisor.on('frame', (f) => (last = f.timestamp));
  bus.on('event:start', (e) => run.started.push(e));
  bus.on('event:end', (event, snapshot) => run.ended.push({ event, snapshot }));
  bus.on('motion', (m) => run.motion.push(m.at));
  bus.on('camera:status', (s) => run.statuses.push(s));
  pipeline.start();
  return run;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a person walking through the scene is one person event with the right time window and snapshot', async () => {
  const clip = await personWalkClip({ emptySeconds: 4, walkSeconds: 6, tailSeconds: 4 });
  const camera = await startRtspCamera({ mounts: { '/sub': clip.path } });
  const run = runPipeline(camera.url('/sub'));
  try {
    await waitFor('the clip to play and the event to end', () => run.ended.length > 0 && run.statuses.some((s) => s.state === 'backoff'), 60_000);
    // Frames buffered while ffmpeg probes the stream arrive in a burst, so the clip's time axis is
    // anchored at its end: the last frame arrives when the clip ends.
    const t0 = run.lastFrameAt() - clip.durationSeconds * 1000;
    const rel = (ms: number) => (ms - t0) / 1000;

    assert.ok(run.motion.length > 0, 'motion was seen');
    assert.ok(run.motion.every((at) => rel(at) > clip.personWindow.start - 1.5), `no motion on the empty background before the person: ${run.motion.map(rel)} ${run.started.map((e) => rel(e.start))}`);
    assert.equal(run.started.length, 1, `exactly one event, got ${JSON.stringify(run.started.map((e) => e.label))}`);
    const [{ event, snapshot }] = run.ended;
    assert.equal(event.label, 'person');
    assert.ok(event.score >= 0.5);
    assert.ok(Math.abs(rel(event.start) - clip.personWindow.start) < 2, `event starts at ${rel(event.start)} s, person at ${clip.personWindow.start} s`);
    assert.ok(Math.abs(rel(event.end) - clip.personWindow.end) < 2, `event ends at ${rel(event.end)} s, person leaves at ${clip.personWindow.end} s`);

    assert.ok(snapshot, 'the event has a snapshot');
    const meta = await sharp(snapshot.frame).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal((await sharp(snapshot.crop).metadata()).format, 'jpeg');
    mkdirSync('test-output', { recursive: true });
    writeFileSync('test-output/event-snapshot.jpg', snapshot.frame);
    writeFileSync('test-output/event-crop.jpg', snapshot.crop);
    const rgb = await sharp(snapshot.frame).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const found = await detector.detectRgb({ data: rgb.data, width: rgb.info.width, height: rgb.info.height });
    assert.ok(found.some((d) => d.label === 'person'), 'the snapshot shows the person');

    const lines = run.logLines.filter((l) => l.msg === 'event:start' || l.msg === 'event:end');
    assert.deepEqual(lines.map((l) => l.msg), ['event:start', 'event:end']);
    for (const key of ['camera', 'label', 'score', 'start', 'zones', 'id']) assert.ok(key in lines[0], `event:start log has ${key}`);
    assert.ok('end' in lines[1]);
  } finally {
    await run.stop();
    await camera.stop();
  }
});

test('a sudden lighting change produces no event', async () => {
  const clip = await lightingChangeClip({ seconds: 8, changeAt: 3 });
  const camera = await startRtspCamera({ mounts: { '/sub': clip.path } });
  const run = runPipeline(camera.url('/sub'));
  try {
    await waitFor('the clip to end', () => run.statuses.some((s) => s.state === 'backoff'), 40_000);
    assert.equal(run.started.length, 0);
  } finally {
    await run.stop();
    await camera.stop();
  }
});

test('a camera that goes away backs off, then streams again once it is back', async () => {
  const clip = await staticClip({ seconds: 6 });
  const camera = await startRtspCamera({ mounts: { '/sub': clip.path }, loop: true });
  const run = runPipeline(camera.url('/sub'));
  try {
    await waitFor('streaming', () => run.pipeline.supervisor.status.state === 'streaming', 20_000);
    await camera.stop();
    await waitFor('backoff', () => run.pipeline.supervisor.status.state === 'backoff', 15_000);
    await camera.restart();
    const backAt = Date.now();
    await waitFor('streaming again', () => run.pipeline.supervisor.status.state === 'streaming', 30_000);
    // Usually within the next backoff step (≤ 8 s here); the test server sometimes leaves the first
    // client after a restart without data, which the stall watchdog then cuts: still well within 20 s.
    assert.ok(Date.now() - backAt < 20_000, `streams again within 20 s (took ${Date.now() - backAt} ms)`);
    const framesBefore = run.pipeline.supervisor.status.framesRead;
    await waitFor('more frames', () => run.pipeline.supervisor.status.framesRead > framesBefore + 5, 10_000);
  } finally {
    await run.stop();
    await camera.stop();
  }
});

test('a stalled camera is restarted by the watchdog', async () => {
  const clip = await staticClip({ seconds: 6 });
  const camera = await startRtspCamera({ mounts: { '/sub': clip.path }, loop: true });
  const run = runPipeline(camera.url('/sub'));
  try {
    await waitFor('streaming', () => run.pipeline.supervisor.status.state === 'streaming', 20_000);
    await camera.freeze();
    await waitFor('the stall to be noticed', () => run.statuses.some((s) => s.lastError?.startsWith('stalled') || s.lastError?.startsWith('timeout') === true), 20_000);
    await camera.resume();
    await waitFor('streaming again', () => run.pipeline.supervisor.status.state === 'streaming', 20_000);
  } finally {
    await run.stop();
    await camera.stop();
  }
});

test('wrong credentials: status says unauthorized, retries slowly, nothing leaks', async () => {
  const clip = await staticClip({ seconds: 6 });
  const camera = await startRtspCamera({ mounts: { '/sub': clip.path }, user: 'admin', password: 'right-one', loop: true });
  const url = camera.url('/sub').replace('rtsp://', 'rtsp://admin:wrong-secret@');
  const run = runPipeline(url);
  try {
    await waitFor('backoff', () => run.pipeline.supervisor.status.state === 'backoff', 20_000);
    const status = run.pipeline.supervisor.status;
    assert.match(status.lastError ?? '', /^unauthorized: RTSP 401/);
    const backoffLine = run.logLines.find((l) => l.msg === 'camera:status' && l.state === 'backoff');
    const retryInMs = Number(backoffLine?.retryInMs);
    assert.ok(retryInMs >= 24_000 && retryInMs <= 36_000, `a wrong password is retried only every 30 s ± 20 % jitter (${retryInMs} ms)`);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(run.statuses.filter((s) => s.state === 'connecting').length, 1, 'no retry loop');
    assert.ok(!JSON.stringify(run.logLines).includes('wrong-secret'), 'the password never reaches the log');
  } finally {
    await run.stop();
    await camera.stop();
  }
});
