import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { createFaceEngine, type FaceEngine } from '../../src/faces/engine.ts';
import { ResidentService } from '../../src/faces/enrolment.ts';
import { FACES_DIR, FaceFiles } from '../../src/faces/face-files.ts';
import { ResidentRepository } from '../../src/faces/residents.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { Vault } from '../../src/vault/vault.ts';
import { MAX_PHOTO_BYTES, residentRoutes } from '../../src/web/routes/residents.ts';
import { testImagesDir } from '../support/clips.ts';
import { TEST_KDF_LIMITS } from '../support/volet-fixture.ts';
import { Client, setUp, startTestServer, userClient, type TestServer } from '../web/support.ts';

/** COCO 000000001296: one clear frontal face (found by running the engine over the shared images). */
const RESIDENT_PHOTO = readFileSync(join(testImagesDir, '000000001296.jpg'));
/** COCO 000000000632: a bedroom, nobody in it. */
const EMPTY_ROOM = readFileSync(join(testImagesDir, '000000000632.jpg'));
const PASSPHRASE = 'resident test passphrase';

let dir: string;
let db: Db;
let vault: Vault;
let engine: FaceEngine;
let residents: ResidentService;
let server: TestServer;
let admin: Client;
let viewer: Client;
const eventFrames = new Map<string, Buffer>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'volet-residents-'));
  db = openDatabase(join(dir, 'volet.db'));
  vault = await Vault.init(dir, PASSPHRASE, { limits: TEST_KDF_LIMITS });
  engine = await createFaceEngine();
  const logger = createLogger('silent');
  residents = new ResidentService({
    repo: new ResidentRepository(db),
    files: new FaceFiles(dir, () => vault.publicKey),
    vault: () => vault,
    engine: () => engine,
    logger,
  });
  eventFrames.set('ev-with-face', RESIDENT_PHOTO);
  server = await startTestServer({
    clipPath: join(testImagesDir, '000000000632.jpg'),
    apiRoutes: [residentRoutes({ residents, enabled: true, eventFrame: async (id) => eventFrames.get(id) })],
  });
  admin = await setUp(server);
  viewer = await userClient(server, admin, 'bob', { '*': ['live', 'recordings', 'export', 'shutter'] });
});

after(async () => {
  await server?.stop();
  await engine?.close();
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

function upload(client: Client, path: string, bytes: Buffer, type: string) {
  return fetch(client.base + path, {
    method: 'POST',
    headers: { 'content-type': type, cookie: client.cookie ?? '', 'x-csrf-token': client.csrf ?? '' },
    body: new Uint8Array(bytes),
  }).then(async (res) => ({ status: res.status, json: await res.json().catch(() => undefined) }));
}

function sealedFiles(): string[] {
  const faces = join(dir, FACES_DIR);
  return existsSync(faces) ? readdirSync(faces).sort() : [];
}

test('only administrators may list, add or delete residents', async () => {
  assert.equal((await viewer.get('/api/residents')).status, 403);
  assert.equal((await viewer.post('/api/residents', { name: 'mallory' })).status, 403);
  const anonymous = new Client(server.url);
  assert.equal((await anonymous.get('/api/residents')).status, 401);
  const created = await admin.post('/api/residents', { name: 'carol' });
  assert.equal(created.status, 201);
  assert.equal((await viewer.delete(`/api/residents/${created.json.resident.id}`)).status, 403);
  assert.equal((await upload(viewer, `/api/residents/${created.json.resident.id}/faces`, RESIDENT_PHOTO, 'image/jpeg')).status, 403);
  assert.equal((await admin.delete(`/api/residents/${created.json.resident.id}`)).status, 204);
});

test('a resident name is validated and unique whatever its case', async () => {
  assert.equal((await admin.post('/api/residents', { name: 'no spaces allowed' })).status, 400);
  assert.equal((await admin.post('/api/residents', { name: '' })).status, 400);
  assert.equal((await admin.post('/api/residents', { name: 'dave', extra: 1 })).status, 400);
  assert.equal((await admin.post('/api/residents', { name: 'dave' })).status, 201);
  const again = await admin.post('/api/residents', { name: 'DAVE' });
  assert.equal(again.status, 409);
  assert.equal(again.json.error.code ?? again.json.code, 'name_taken');
});

test('faces are enrolled from photos and event snapshots, sealed, and all go with their resident', async () => {
  const { json } = await admin.post('/api/residents', { name: 'alice' });
  const id = json.resident.id as string;
  const fromPhoto = await upload(admin, `/api/residents/${id}/faces`, RESIDENT_PHOTO, 'image/jpeg');
  assert.equal(fromPhoto.status, 201, JSON.stringify(fromPhoto.json));
  assert.equal(fromPhoto.json.face.source, 'upload');
  const fromEvent = await admin.post(`/api/residents/${id}/faces/from-event`, { eventId: 'ev-with-face' });
  assert.equal(fromEvent.status, 201, fromEvent.text);
  assert.equal(fromEvent.json.face.eventId, 'ev-with-face');
  assert.equal((await admin.post(`/api/residents/${id}/faces/from-event`, { eventId: 'ev-unknown' })).status, 404);

  const listed = await admin.get('/api/residents');
  assert.equal(listed.json.residents.find((r: { id: string }) => r.id === id).faces, 2);
  assert.equal((await admin.get(`/api/residents/${id}/faces`)).json.faces.length, 2);

  // Sealed: a photo and an embedding per face, none of them readable without the vault.
  const files = sealedFiles();
  assert.equal(files.length, 4);
  for (const name of files) {
    const bytes = readFileSync(join(dir, FACES_DIR, name));
    assert.equal(bytes.indexOf(Buffer.from([0xff, 0xd8, 0xff])), -1, `${name} holds no plaintext JPEG`);
  }

  // The photo is shown only while the vault is unlocked; the embeddings are read at the first unlock.
  const photoPath = `/api/residents/${id}/faces/${fromPhoto.json.face.id}/photo`;
  assert.equal((await admin.get(photoPath)).status, 423);
  assert.equal(await residents.gallery(), undefined);
  await vault.unlock(PASSPHRASE);
  const photo = await fetch(server.url + photoPath, { headers: { cookie: admin.cookie! } });
  assert.equal(photo.status, 200);
  const meta = await sharp(Buffer.from(await photo.arrayBuffer())).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.exif, undefined, 'no EXIF in the kept face');
  const gallery = await residents.gallery();
  assert.equal(gallery?.find((g) => g.id === id)?.embeddings.length, 2);
  assert.equal(gallery?.find((g) => g.id === id)?.embeddings[0].length, 128);
  vault.lock();
  const afterLock = await residents.gallery();
  assert.equal(afterLock?.find((g) => g.id === id)?.embeddings.length, 2, 'read once unlocked, kept in RAM after the vault locks again');

  const deleted = await admin.delete(`/api/residents/${id}`);
  assert.equal(deleted.status, 204);
  assert.deepEqual(sealedFiles(), [], 'photos and embeddings are deleted');
  assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM resident_faces WHERE resident_id = ?').get(id), { n: 0 });
  assert.deepEqual(db.prepare('SELECT COUNT(*) AS n FROM residents WHERE id = ?').get(id), { n: 0 });
  assert.equal((await admin.get(`/api/residents/${id}/faces`)).status, 404);
  assert.equal((await residents.gallery())?.find((g) => g.id === id), undefined, 'a deleted resident leaves RAM too');
  const audit = (await admin.get('/api/audit?action=settings_changed')).json.entries.filter((e: { target: string }) => e.target === 'resident:alice');
  assert.ok(audit.some((e: { detail: { deleted?: boolean; faces?: number } }) => e.detail.deleted === true && e.detail.faces === 2), JSON.stringify(audit));
  assert.deepEqual(audit.filter((e: { detail: { face?: string; added?: string } }) => e.detail.face && e.detail.added).map((e: { detail: { added: string } }) => e.detail.added).sort(), ['event', 'upload']);
});

test('bad photos are refused with a 400 (or 413 when too large) and nothing is stored', async () => {
  const { json } = await admin.post('/api/residents', { name: 'erin' });
  const path = `/api/residents/${json.resident.id}/faces`;
  const before = sealedFiles();
  const garbage = await upload(admin, path, Buffer.from('definitely not a JPEG'), 'image/jpeg');
  assert.equal(garbage.status, 400);
  const truncated = await upload(admin, path, RESIDENT_PHOTO.subarray(0, 2000), 'image/jpeg');
  assert.equal(truncated.status, 400);
  const gif = await sharp(RESIDENT_PHOTO).gif().toBuffer();
  assert.equal((await upload(admin, path, gif, 'image/png')).status, 400, 'a GIF sent as PNG');
  assert.equal((await upload(admin, path, gif, 'image/gif')).status, 400, 'an unaccepted content type');
  const noFace = await upload(admin, path, await sharp(EMPTY_ROOM).png().toBuffer(), 'image/png');
  assert.equal(noFace.status, 400);
  assert.match(noFace.json.error?.message ?? noFace.json.message, /No face/);
  assert.equal((await upload(admin, path, Buffer.alloc(MAX_PHOTO_BYTES + 1), 'image/jpeg')).status, 413);
  assert.equal((await upload(admin, '/api/residents/no-such-one/faces', RESIDENT_PHOTO, 'image/jpeg')).status, 404);
  assert.deepEqual(sealedFiles(), before);
  assert.equal((await admin.get(`/api/residents/${json.resident.id}/faces`)).json.faces.length, 0);
});
