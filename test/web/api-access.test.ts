import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { staticClip } from '../support/clips.ts';
import { Client, setUp, startTestServer, userClient, VAULT_PASSPHRASE, type TestServer } from './support.ts';

type Role = 'admin' | 'viewer' | 'live' | 'anonymous';
const ROLES: Role[] = ['admin', 'viewer', 'live', 'anonymous'];

let server: TestServer;
const clients = {} as Record<Role, Client>;
let userSeq = 0;
let porchMaskId = '';
const MASK = [
  [0, 0],
  [40, 0],
  [40, 40],
] as [number, number][];

before(async () => {
  const clip = await staticClip({ seconds: 4 });
  server = await startTestServer({ clipPath: clip.path });
  clients.admin = await setUp(server);
  clients.viewer = await userClient(server, clients.admin, 'vera', { porch: 'viewer' });
  clients.live = await userClient(server, clients.admin, 'liam', { porch: 'live' });
  clients.anonymous = new Client(server.url);
  await userClient(server, clients.admin, 'target', { porch: 'live' });
  server.recordings.add({ id: 'ev-porch-1', camera: 'porch', label: 'person', start: Date.now() - 60_000, box: { x: 10, y: 10, width: 50, height: 100 } });
  server.recordings.add({ id: 'ev-garden-1', camera: 'garden', label: 'cat', start: Date.now() - 30_000, box: { x: 10, y: 10, width: 50, height: 50 } });
  porchMaskId = server.labelMasks.add({ camera: 'porch', label: 'dog', polygon: MASK, createdBy: 'alice' }).id;
});

after(async () => {
  await server.stop();
});

interface Row {
  route: string;
  call: (c: Client) => Promise<{ status: number }>;
  /** Expected status per role; 'anonymous' is always 401 unless the route is public. */
  expect: Record<Role, number>;
}

const allowed = (admin: number, viewer: number, live: number, anonymous = 401) => ({ admin, viewer, live, anonymous });

const table: Row[] = [
  { route: 'GET /healthz', call: (c) => c.get('/healthz'), expect: allowed(200, 200, 200, 200) },
  { route: 'GET /api/setup', call: (c) => c.get('/api/setup'), expect: allowed(200, 200, 200, 200) },
  {
    route: 'POST /api/setup (after setup)',
    call: (c) => c.post('/api/setup', { setupCode: 'AAAA-AAAA-AAAA', username: 'mallory', password: 'long enough pw', vaultPassphrase: 'another passphrase' }),
    expect: allowed(409, 409, 409, 409),
  },
  { route: 'GET /api/health', call: (c) => c.get('/api/health'), expect: allowed(200, 200, 200) },
  { route: 'GET /api/auth/session', call: (c) => c.get('/api/auth/session'), expect: allowed(200, 200, 200) },
  { route: 'GET /api/account/sessions', call: (c) => c.get('/api/account/sessions'), expect: allowed(200, 200, 200) },
  { route: 'GET /api/cameras', call: (c) => c.get('/api/cameras'), expect: allowed(200, 200, 200) },
  { route: 'GET /api/vault', call: (c) => c.get('/api/vault'), expect: allowed(200, 200, 200) },
  { route: 'POST /api/vault/unlock', call: (c) => c.post('/api/vault/unlock', { passphrase: VAULT_PASSPHRASE }), expect: allowed(200, 200, 403) },
  { route: 'GET /api/events', call: (c) => c.get('/api/events'), expect: allowed(200, 200, 403) },
  { route: 'GET /api/events?camera=porch', call: (c) => c.get('/api/events?camera=porch'), expect: allowed(200, 200, 403) },
  { route: 'GET /api/events?camera=garden', call: (c) => c.get('/api/events?camera=garden'), expect: allowed(200, 403, 403) },
  { route: 'GET /api/events/ev-porch-1', call: (c) => c.get('/api/events/ev-porch-1'), expect: allowed(200, 200, 403) },
  { route: 'GET /api/events/ev-garden-1', call: (c) => c.get('/api/events/ev-garden-1'), expect: allowed(200, 403, 403) },
  { route: 'GET porch snapshot', call: (c) => c.get('/api/events/ev-porch-1/snapshot'), expect: allowed(200, 200, 403) },
  { route: 'GET garden snapshot', call: (c) => c.get('/api/events/ev-garden-1/snapshot?kind=frame'), expect: allowed(200, 403, 403) },
  { route: 'GET porch clip', call: (c) => c.get('/api/events/ev-porch-1/clip'), expect: allowed(200, 200, 403) },
  { route: 'GET garden clip', call: (c) => c.get('/api/events/ev-garden-1/clip'), expect: allowed(200, 403, 403) },
  { route: 'PUT porch kept', call: (c) => c.put('/api/events/ev-porch-1/kept', { kept: true }), expect: allowed(200, 200, 403) },
  { route: 'PUT garden kept', call: (c) => c.put('/api/events/ev-garden-1/kept', { kept: true }), expect: allowed(200, 403, 403) },
  { route: 'GET porch label masks', call: (c) => c.get('/api/cameras/porch/label-masks'), expect: allowed(200, 200, 403) },
  { route: 'GET garden label masks', call: (c) => c.get('/api/cameras/garden/label-masks'), expect: allowed(200, 403, 403) },
  { route: 'GET porch mask proposal', call: (c) => c.get('/api/events/ev-porch-1/mask-proposal'), expect: allowed(200, 200, 403) },
  { route: 'GET garden mask proposal', call: (c) => c.get('/api/events/ev-garden-1/mask-proposal'), expect: allowed(200, 403, 403) },
  { route: 'POST porch label mask', call: (c) => c.post('/api/cameras/porch/label-masks', { label: 'dog', polygon: MASK, eventId: 'ev-porch-1' }), expect: allowed(201, 403, 403) },
  { route: 'POST garden label mask', call: (c) => c.post('/api/cameras/garden/label-masks', { label: 'cat', polygon: MASK }), expect: allowed(201, 403, 403) },
  { route: 'DELETE a label mask', call: (c) => c.delete(`/api/label-masks/${porchMaskId}`), expect: allowed(204, 403, 403) },
  { route: 'GET /api/storage', call: (c) => c.get('/api/storage'), expect: allowed(200, 200, 403) },
  { route: 'PUT porch shutter', call: (c) => c.put('/api/cameras/porch/shutter', { state: 'open' }), expect: allowed(200, 200, 403) },
  { route: 'PUT garden shutter', call: (c) => c.put('/api/cameras/garden/shutter', { state: 'open' }), expect: allowed(200, 403, 403) },
  { route: 'GET /api/users', call: (c) => c.get('/api/users'), expect: allowed(200, 403, 403) },
  {
    route: 'POST /api/users',
    call: (c) => c.post('/api/users', { username: `new${++userSeq}`, password: 'a fine password', grants: { '*': 'live' } }),
    expect: allowed(201, 403, 403),
  },
  { route: 'PATCH /api/users/target', call: (c) => c.patch('/api/users/target', { grants: { porch: 'viewer' } }), expect: allowed(200, 403, 403) },
  { route: 'POST /api/users/target/totp/reset', call: (c) => c.post('/api/users/target/totp/reset'), expect: allowed(200, 403, 403) },
  { route: 'GET /api/audit', call: (c) => c.get('/api/audit'), expect: allowed(200, 403, 403) },
  { route: 'POST /api/vault/lock', call: (c) => c.post('/api/vault/lock'), expect: allowed(200, 200, 403) },
];

test('every route answers each role exactly as the access table says', async (t) => {
  for (const row of table) {
    for (const role of ROLES) {
      await t.test(`${row.route} as ${role} → ${row.expect[role]}`, async () => {
        const res = await row.call(clients[role]);
        assert.equal(res.status, row.expect[role]);
      });
    }
  }
});

test('refusals use the one error shape', async () => {
  const anon = await clients.anonymous.get('/api/cameras');
  assert.deepEqual(Object.keys(anon.json.error).sort(), ['code', 'message']);
  assert.equal(anon.json.error.code, 'unauthenticated');
  const live = await clients.live.get('/api/events');
  assert.equal(live.json.error.code, 'forbidden');
});

test('lists only show what the role may see', async () => {
  await clients.admin.post('/api/vault/unlock', { passphrase: VAULT_PASSPHRASE });
  const viewerEvents = await clients.viewer.get('/api/events');
  assert.deepEqual(viewerEvents.json.events.map((e: { camera: string }) => e.camera), ['porch']);
  const adminEvents = await clients.admin.get('/api/events');
  assert.deepEqual(adminEvents.json.events.map((e: { camera: string }) => e.camera).sort(), ['garden', 'porch']);
  const liveCameras = await clients.live.get('/api/cameras');
  assert.deepEqual(liveCameras.json.cameras.map((c: { name: string; role: string }) => [c.name, c.role]), [['porch', 'live']]);
  const viewerCameras = await clients.viewer.get('/api/cameras');
  assert.deepEqual(viewerCameras.json.cameras.map((c: { name: string }) => c.name), ['porch']);
});

function upgrade(client: Client, path: string, origin = new URL(client.base).origin): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(client.base.replace(/^http/, 'ws') + path, {
      headers: { ...(client.cookie ? { cookie: client.cookie } : {}), origin },
    });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

test('live and event sockets check the session and the camera role at the upgrade', async (t) => {
  const cases: [string, Record<Role, number>][] = [
    ['/ws/live/porch', allowed(101, 101, 101)],
    ['/ws/live/garden', allowed(101, 403, 403)],
    ['/ws/mpeg1/porch', allowed(101, 101, 101)],
    ['/ws/events', allowed(101, 101, 101)],
  ];
  for (const [path, expect] of cases) {
    for (const role of ROLES) {
      await t.test(`${path} as ${role} → ${expect[role]}`, async () => {
        assert.equal(await upgrade(clients[role], path), expect[role]);
      });
    }
  }
  await t.test('a socket from another site is refused even with a valid cookie', async () => {
    assert.equal(await upgrade(clients.admin, '/ws/live/porch', 'https://evil.example'), 403);
  });
});
