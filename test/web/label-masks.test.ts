import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Polygon } from '../../src/geometry/polygon.ts';
import { MAX_MASKS_PER_LABEL } from '../../src/objects/label-masks.ts';
import { staticClip } from '../support/clips.ts';
import { setUp, startTestServer, userClient, type Client, type TestServer } from './support.ts';

let server: TestServer;
let admin: Client;
let viewer: Client;

const HYDRANT_BOX = { x: 400, y: 200, width: 60, height: 100 };

before(async () => {
  const clip = await staticClip({ seconds: 4 });
  server = await startTestServer({ clipPath: clip.path, detect: { width: 640, height: 360 } });
  admin = await setUp(server);
  viewer = await userClient(server, admin, 'vera', { porch: 'viewer' });
  server.recordings.add({ id: 'ev-hydrant', camera: 'porch', label: 'dog', start: Date.now() - 60_000, box: HYDRANT_BOX });
  server.recordings.add({ id: 'ev-edge', camera: 'porch', label: 'cat', start: Date.now() - 50_000, box: { x: 600, y: 330, width: 40, height: 30 } });
  server.recordings.add({ id: 'ev-nobox', camera: 'porch', label: 'person', start: Date.now() - 40_000 });
  server.recordings.add({ id: 'ev-garden', camera: 'garden', label: 'dog', start: Date.now() - 30_000, box: HYDRANT_BOX });
});

after(async () => {
  await server.stop();
});

const auditOf = (action: string) => server.db.prepare('SELECT actor, target, detail FROM web_audit WHERE action = ? ORDER BY id').all(action) as Array<{ actor: string; target: string; detail: string }>;

test('"not a dog": the proposal around the event box, once confirmed, is listed, applies to the pipeline at once, is audited and can be removed', async () => {
  const proposal = await viewer.get('/api/events/ev-hydrant/mask-proposal');
  assert.equal(proposal.status, 200, proposal.text);
  assert.deepEqual(proposal.json, {
    camera: 'porch',
    label: 'dog',
    polygon: [
      [391, 185],
      [469, 185],
      [469, 315],
      [391, 315],
    ],
    frame: { width: 640, height: 360 },
  });

  const created = await admin.post('/api/cameras/porch/label-masks', { label: proposal.json.label, polygon: proposal.json.polygon, eventId: 'ev-hydrant' });
  assert.equal(created.status, 201, created.text);
  const mask = created.json.mask;
  assert.deepEqual(Object.keys(mask).sort(), ['camera', 'createdBy', 'createdMs', 'eventId', 'id', 'label', 'polygon']);
  assert.equal(mask.createdBy, 'alice');
  assert.equal(mask.eventId, 'ev-hydrant');
  assert.ok(Math.abs(mask.createdMs - Date.now()) < 10_000);

  const listed = await viewer.get('/api/cameras/porch/label-masks');
  assert.equal(listed.status, 200);
  assert.deepEqual(listed.json.masks, [mask]);
  assert.deepEqual((await admin.get('/api/cameras/garden/label-masks')).json.masks, [], 'masks belong to one camera');
  assert.deepEqual(server.labelMasks.masksFor('porch').get('dog'), [proposal.json.polygon], 'the pipeline sees it without a restart');

  const [added] = auditOf('label_mask_added');
  assert.equal(added.actor, 'alice');
  assert.equal(added.target, mask.id);
  assert.deepEqual(JSON.parse(added.detail), { camera: 'porch', label: 'dog', eventId: 'ev-hydrant', points: 4 });

  const removed = await admin.delete(`/api/label-masks/${mask.id}`);
  assert.equal(removed.status, 204);
  assert.deepEqual((await viewer.get('/api/cameras/porch/label-masks')).json.masks, []);
  assert.equal(server.labelMasks.masksFor('porch').has('dog'), false, 'the pipeline stops applying it at once');
  const [gone] = auditOf('label_mask_removed');
  assert.equal(gone.target, mask.id);
  assert.deepEqual(JSON.parse(gone.detail), { camera: 'porch', label: 'dog' });
  const again = await admin.delete(`/api/label-masks/${mask.id}`);
  assert.equal(again.status, 404);
  assert.equal(again.json.error.code, 'not_found');
});

test('a proposal is clipped to the camera frame; an event without a box or an unknown event has none', async () => {
  const edge = await admin.get('/api/events/ev-edge/mask-proposal');
  assert.deepEqual(edge.json.polygon, [
    [594, 325],
    [640, 325],
    [640, 360],
    [594, 360],
  ]);
  const nobox = await admin.get('/api/events/ev-nobox/mask-proposal');
  assert.equal(nobox.status, 409);
  assert.equal(nobox.json.error.code, 'no_box');
  assert.equal((await admin.get('/api/events/ev-unknown/mask-proposal')).status, 404);
  assert.equal((await admin.get('/api/events/..%2Fx/mask-proposal')).status, 400);
  assert.equal((await viewer.get('/api/events/ev-garden/mask-proposal')).status, 403, 'only on cameras the account may view');
});

test('bad masks are refused with the one error shape, naming what is wrong, and nothing is stored or audited', async () => {
  const before = auditOf('label_mask_added').length;
  const square = [
    [10, 10],
    [50, 10],
    [50, 50],
    [10, 50],
  ];
  const cases: Array<[string, string, unknown, number, string, RegExp]> = [
    ['two points', 'porch', { label: 'dog', polygon: square.slice(0, 2) }, 400, 'invalid_request', /^polygon: a polygon needs at least 3 points/],
    ['a negative coordinate', 'porch', { label: 'dog', polygon: [[-1, 0], ...square.slice(1)] }, 400, 'invalid_request', /^polygon\.0\.0: must be ≥ 0/],
    ['a point outside the detect frame', 'porch', { label: 'dog', polygon: [...square.slice(0, 3), [641, 50]] }, 400, 'invalid_request', /^polygon\.3: outside the 640×360 detect frame of "porch"/],
    ['a string coordinate', 'porch', { label: 'dog', polygon: [['1', 2], ...square.slice(1)] }, 400, 'invalid_request', /^polygon\.0\.0:/],
    ['no area', 'porch', { label: 'dog', polygon: [[0, 0], [10, 10], [20, 20]] }, 400, 'invalid_request', /polygon: the points enclose no area/],
    ['33 points', 'porch', { label: 'dog', polygon: Array.from({ length: 33 }, (_, i) => [100 + 50 * Math.cos(i), 100 + 50 * Math.sin(i)]) }, 400, 'invalid_request', /at most 32 points/],
    ['a bad label', 'porch', { label: 'dog<b>', polygon: square }, 400, 'invalid_request', /^label:/],
    ['an unknown field', 'porch', { label: 'dog', polygon: square, enabled: true }, 400, 'invalid_request', /enabled/],
    ['an unknown camera', 'attic', { label: 'dog', polygon: square }, 404, 'not_found', /No camera "attic"/],
    ['an event of another camera', 'porch', { label: 'dog', polygon: square, eventId: 'ev-garden' }, 404, 'not_found', /No event "ev-garden" on camera "porch"/],
    ['an unknown event', 'porch', { label: 'dog', polygon: square, eventId: 'ev-nope' }, 404, 'not_found', /No event "ev-nope"/],
  ];
  for (const [what, camera, body, status, code, message] of cases) {
    const res = await admin.post(`/api/cameras/${camera}/label-masks`, body);
    assert.equal(res.status, status, `${what}: ${res.text}`);
    assert.deepEqual(Object.keys(res.json.error).sort(), ['code', 'message'], what);
    assert.equal(res.json.error.code, code, what);
    assert.match(res.json.error.message, message, what);
  }
  assert.equal(server.labelMasks.list().length, 0);
  assert.equal(auditOf('label_mask_added').length, before);
});

test(`the ${MAX_MASKS_PER_LABEL + 1}th mask for one camera and label is a 409 that says to remove one`, async () => {
  const polygon: Polygon = [
    [0, 0],
    [20, 0],
    [20, 20],
  ];
  for (let i = 0; i < MAX_MASKS_PER_LABEL; i++) server.labelMasks.add({ camera: 'porch', label: 'bird', polygon, createdBy: 'alice' });
  const res = await admin.post('/api/cameras/porch/label-masks', { label: 'bird', polygon });
  assert.equal(res.status, 409);
  assert.equal(res.json.error.code, 'too_many');
  assert.match(res.json.error.message, /remove one first/);
  assert.equal((await admin.post('/api/cameras/porch/label-masks', { label: 'cat', polygon })).status, 201, 'other labels are not affected');
  for (const m of server.labelMasks.list()) server.labelMasks.remove(m.id);
});
