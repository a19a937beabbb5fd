import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { EventBus, type ResidentArrival } from '../../src/events/bus.ts';
import { createFaceEngine, type FaceEngine } from '../../src/faces/engine.ts';
import type { GalleryEntry } from '../../src/faces/enrolment.ts';
import { FaceRecognizer, headCrop } from '../../src/faces/recognizer.ts';
import { FaceSampler } from '../../src/faces/sampler.ts';
import { createLogger } from '../../src/log/logger.ts';
import type { Yuv420Image } from '../../src/pipeline/snapshot.ts';
import { PresenceBoard } from '../../src/privacy/presence.ts';
import { testImagesDir } from '../support/clips.ts';

/** A photo as a 640×480 camera frame (yuv420p, BT.601 limited range), letterboxed. */
async function frameOf(image: string): Promise<Yuv420Image> {
  const { data, info } = await sharp(join(testImagesDir, image))
    .resize(640, 480, { fit: 'contain', background: '#000' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const yuv = Buffer.alloc(width * height * 1.5);
  const cw = width / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      yuv[y * width + x] = Math.round(16 + 0.257 * r + 0.504 * g + 0.098 * b);
      if (y % 2 === 0 && x % 2 === 0) {
        const c = (y / 2) * cw + x / 2;
        yuv[width * height + c] = Math.round(128 - 0.148 * r - 0.291 * g + 0.439 * b);
        yuv[width * height * 1.25 + c] = Math.round(128 + 0.439 * r - 0.368 * g - 0.071 * b);
      }
    }
  }
  return { data: yuv, width, height };
}

let engine: FaceEngine;
let alice: GalleryEntry;
let residentFrame: Yuv420Image;
let strangerFrame: Yuv420Image;
const whole = (f: Yuv420Image) => ({ x: 0, y: 0, width: f.width, height: f.height / 0.6 });

before(async () => {
  engine = await createFaceEngine();
  residentFrame = await frameOf('000000001296.jpg');
  strangerFrame = await frameOf('000000001000.jpg');
  const faces = await engine.detect(headCrop(residentFrame, whole(residentFrame)));
  assert.equal(faces.length, 1);
  alice = { id: 'r-alice', name: 'alice', embeddings: [faces[0].embedding] };
});

after(async () => {
  await engine?.close();
});

function setUp(opts: { gallery: () => Promise<GalleryEntry[] | undefined>; timeoutMs?: number; entrance?: string[] }) {
  let now = Date.UTC(2026, 10, 30, 8);
  const board = new PresenceBoard(['alice']);
  const reports: string[] = [];
  const bus = new EventBus();
  const arrivals: ResidentArrival[] = [];
  bus.on('resident:arrived', (a) => arrivals.push(a));
  const recognizer = new FaceRecognizer({
    engine,
    gallery: opts.gallery,
    sampler: new FaceSampler({ perTrackIntervalMs: 0 }),
    bus,
    logger: createLogger('silent'),
    presence: {
      knows: (name) => board.names.includes(name),
      state: (name) => board.get(name),
      report: (name, state) => {
        reports.push(`${name} ${state}`);
        board.report(name, state, 'face', now);
      },
    },
    entranceCameras: opts.entrance ?? ['door'],
    arriveAfterMs: 60 * 60_000,
    presenceTimeoutMs: opts.timeoutMs ?? 0,
    now: () => now,
  });
  const see = (trackId: string, frame: Yuv420Image, camera = 'door') =>
    recognizer.seen({ camera, trackId, label: 'person', box: whole(frame), frame, at: now });
  return { recognizer, board, reports, arrivals, see, advance: (ms: number) => (now += ms) };
}

test('a resident is named, reported home on an entrance camera and announced once; a stranger is an unknown face', async () => {
  const r = setUp({ gallery: async () => [alice] });
  r.see('t1', residentFrame);
  assert.deepEqual(await r.recognizer.ended('t1'), { face: { resident: 'r-alice' } });
  assert.deepEqual(r.reports, ['alice home']);
  assert.equal(r.board.get('alice')?.source, 'face');
  r.advance(60_000);
  r.see('t2', residentFrame);
  assert.deepEqual(await r.recognizer.ended('t2'), { face: { resident: 'r-alice' } });
  assert.deepEqual(r.arrivals.map((a) => [a.name, a.eventId]), [['alice', 't1']], 'seen again a minute later: no second arrival');

  r.see('t3', strangerFrame);
  assert.deepEqual(await r.recognizer.ended('t3'), { face: { unknown: true } });
  assert.deepEqual(r.reports, ['alice home'], 'a stranger changes no presence');
  assert.equal(await r.recognizer.ended('never-seen'), undefined);
});

test('on a camera that is not an entrance a resident is named but presence is left alone', async () => {
  const r = setUp({ gallery: async () => [alice], entrance: [] });
  r.see('t1', residentFrame, 'garden');
  assert.deepEqual(await r.recognizer.ended('t1'), { face: { resident: 'r-alice' } });
  assert.deepEqual(r.reports, []);
  assert.equal(r.arrivals.length, 1);
});

test('while the vault is locked faces are not checked, and the event says so', async () => {
  const r = setUp({ gallery: async () => undefined });
  r.see('t1', residentFrame);
  assert.deepEqual(await r.recognizer.ended('t1'), { face: { unchecked: 'vault locked' } });
  assert.deepEqual(r.reports, []);
});

test('a resident only a face made home is away after the timeout, unless another source spoke since', async () => {
  const r = setUp({ gallery: async () => [alice], timeoutMs: 30 * 60_000 });
  r.see('t1', residentFrame);
  await r.recognizer.ended('t1');
  r.advance(29 * 60_000);
  r.recognizer.expirePresence();
  assert.equal(r.board.get('alice')?.state, 'home');
  r.advance(2 * 60_000);
  r.recognizer.expirePresence();
  assert.deepEqual(r.reports, ['alice home', 'alice away']);

  r.see('t2', residentFrame);
  await r.recognizer.ended('t2');
  r.board.report('alice', 'home', 'api', 0); // unchanged state: the board keeps the face as source
  r.board.report('alice', 'away', 'lan', 1);
  r.board.report('alice', 'home', 'api', 2);
  r.advance(60 * 60_000);
  r.recognizer.expirePresence();
  assert.equal(r.board.get('alice')?.state, 'home', 'the API said home last: the face timeout does not override it');
});
