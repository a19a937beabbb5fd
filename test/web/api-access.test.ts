import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { staticClip } from '../support/clips.ts';
import { Client, setUp, startTestServer, userClient, VAULT_PASSPHRASE, type TestServer } from './support.ts';

import { PRESETS, RIGHTS, type Right } from '../../src/web/auth/users.ts';

/**
 * Who calls: an admin, the two presets (which the migration to version 4 gives users of earlier
 * versions), one user per single right, a user with an empty grant, and nobody. Every right and
 * preset is granted on porch only; nobody but the admin has anything on garden.
 */
type Role = 'admin' | 'viewer' | 'live' | `only-${Right}` | 'none' | 'anonymous';
const ROLES: Role[] = ['admin', 'viewer', 'live', ...RIGHTS.map((r) => `only-${r}` as const), 'none', 'anonymous'];
const PORCH_RIGHTS: Record<Exclude<Role, 'admin' | 'anonymous'>, readonly Right[]> = {
  viewer: PRESETS.viewer,
  live: PRESETS.live,
  ...(Object.fromEntries(RIGHTS.map((r) => [`only-${r}`, [r]])) as Record<`only-${Right}`, Right[]>),
  none: [],
};

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
  // The presets by name, as clients of earlier versions send them; the single rights as lists.
  clients.viewer = await userClient(server, clients.admin, 'vera', { porch: 'viewer' });
  clients.live = await userClient(server, clients.admin, 'liam', { porch: 'live' });
  for (const right of RIGHTS) clients[`only-${right}`] = await userClient(server, clients.admin, `only-${right}`, { porch: [right] });
  clients.none = await userClient(server, clients.admin, 'nora', { porch: [] });
  clients.anonymous = new Client(server.url);
  await userClient(server, clients.admin, 'target', { porch: 'live' });
  server.recordings.add({ id: 'ev-porch-1', camera: 'porch', label: 'person', start: Date.now() - 60_000, box: { x: 10, y: 10, width: 50, height: 100 } });
  server.recordings.add({ id: 'ev-garden-1', camera: 'garden', label: 'cat', start: Date.now() - 30_000, box: { x: 10, y: 10, width: 50, height: 50 } });
  porchMaskId = server.labelMasks.add({ camera: 'porch', label: 'dog', polygon: MASK, createdBy: 'alice' }).id;
});

after(async () => {
  await server.stop();
});

/**
 * Who may call a route: anyone, any signed-in user, administrators only, or holders of one of the
 * listed rights on porch (admins always). Everyone else gets `refused` (403), anonymous callers 401.
 */
type Who = 'anyone' | 'signed-in' | 'admin' | Right[];

interface Row {
  route: string;
  call: (c: Client) => Promise<{ status: number }>;
  ok: number;
  who: Who;
  refused?: number;
}

function expected(row: Pick<Row, 'ok' | 'who' | 'refused'>, role: Role): number {
  if (row.who === 'anyone') return row.ok;
  if (role === 'anonymous') return 401;
  if (role === 'admin' || row.who === 'signed-in') return row.ok;
  if (row.who === 'admin') return row.refused ?? 403;
  return row.who.some((right) => PORCH_RIGHTS[role].includes(right)) ? row.ok : (row.refused ?? 403);
}

const table: Row[] = [
  { route: 'GET /healthz', call: (c) => c.get('/healthz'), ok: 200, who: 'anyone' },
  { route: 'GET /api/setup', call: (c) => c.get('/api/setup'), ok: 200, who: 'anyone' },
  {
    route: 'POST /api/setup (after setup)',
    call: (c) => c.post('/api/setup', { setupCode: 'AAAA-AAAA-AAAA', username: 'mallory', password: 'long enough pw', vaultPassphrase: 'another passphrase' }),
    ok: 409,
    who: 'anyone',
  },
  { route: 'GET /api/health', call: (c) => c.get('/api/health'), ok: 200, who: 'signed-in' },
  { route: 'GET /api/auth/session', call: (c) => c.get('/api/auth/session'), ok: 200, who: 'signed-in' },
  { route: 'GET /api/account/sessions', call: (c) => c.get('/api/account/sessions'), ok: 200, who: 'signed-in' },
  { route: 'GET /api/cameras', call: (c) => c.get('/api/cameras'), ok: 200, who: 'signed-in' },
  { route: 'GET /api/vault', call: (c) => c.get('/api/vault'), ok: 200, who: 'signed-in' },
  { route: 'POST /api/vault/unlock', call: (c) => c.post('/api/vault/unlock', { passphrase: VAULT_PASSPHRASE }), ok: 200, who: ['recordings', 'export'] },
  { route: 'GET /api/events', call: (c) => c.get('/api/events'), ok: 200, who: ['recordings'] },
  { route: 'GET /api/events?camera=porch', call: (c) => c.get('/api/events?camera=porch'), ok: 200, who: ['recordings'] },
  { route: 'GET /api/events?camera=garden', call: (c) => c.get('/api/events?camera=garden'), ok: 200, who: 'admin' },
  { route: 'GET /api/events/ev-porch-1', call: (c) => c.get('/api/events/ev-porch-1'), ok: 200, who: ['recordings'] },
  { route: 'GET /api/events/ev-garden-1', call: (c) => c.get('/api/events/ev-garden-1'), ok: 200, who: 'admin' },
  { route: 'GET porch snapshot', call: (c) => c.get('/api/events/ev-porch-1/snapshot'), ok: 200, who: ['recordings'] },
  { route: 'GET garden snapshot', call: (c) => c.get('/api/events/ev-garden-1/snapshot?kind=frame'), ok: 200, who: 'admin' },
  { route: 'GET porch clip', call: (c) => c.get('/api/events/ev-porch-1/clip'), ok: 200, who: ['recordings'] },
  { route: 'GET garden clip', call: (c) => c.get('/api/events/ev-garden-1/clip'), ok: 200, who: 'admin' },
  { route: 'PUT porch kept', call: (c) => c.put('/api/events/ev-porch-1/kept', { kept: true }), ok: 200, who: ['recordings'] },
  { route: 'PUT garden kept', call: (c) => c.put('/api/events/ev-garden-1/kept', { kept: true }), ok: 200, who: 'admin' },
  { route: 'GET porch label masks', call: (c) => c.get('/api/cameras/porch/label-masks'), ok: 200, who: ['recordings'] },
  { route: 'GET garden label masks', call: (c) => c.get('/api/cameras/garden/label-masks'), ok: 200, who: 'admin' },
  { route: 'GET porch mask proposal', call: (c) => c.get('/api/events/ev-porch-1/mask-proposal'), ok: 200, who: ['recordings'] },
  { route: 'GET garden mask proposal', call: (c) => c.get('/api/events/ev-garden-1/mask-proposal'), ok: 200, who: 'admin' },
  { route: 'POST porch label mask', call: (c) => c.post('/api/cameras/porch/label-masks', { label: 'dog', polygon: MASK, eventId: 'ev-porch-1' }), ok: 201, who: 'admin' },
  { route: 'POST garden label mask', call: (c) => c.post('/api/cameras/garden/label-masks', { label: 'cat', polygon: MASK }), ok: 201, who: 'admin' },
  { route: 'DELETE a label mask', call: (c) => c.delete(`/api/label-masks/${porchMaskId}`), ok: 204, who: 'admin' },
  { route: 'GET /api/storage', call: (c) => c.get('/api/storage'), ok: 200, who: ['recordings'] },
  { route: 'PUT porch shutter', call: (c) => c.put('/api/cameras/porch/shutter', { state: 'open' }), ok: 200, who: ['shutter'] },
  { route: 'PUT garden shutter', call: (c) => c.put('/api/cameras/garden/shutter', { state: 'open' }), ok: 200, who: 'admin' },
  // 24/7 review: the test server's recordings have no timeline, playback or exports, so a caller who
  // passes the access checks gets 503; the checks come first.
  { route: 'GET porch timeline', call: (c) => c.get('/api/timeline?camera=porch&from=0&to=3600000'), ok: 503, who: ['recordings'] },
  { route: 'GET garden timeline', call: (c) => c.get('/api/timeline?camera=garden&from=0&to=3600000'), ok: 503, who: 'admin' },
  { route: 'GET porch playback', call: (c) => c.get('/api/playback/porch?at=0'), ok: 503, who: ['recordings'] },
  { route: 'GET garden playback', call: (c) => c.get('/api/playback/garden?at=0'), ok: 503, who: 'admin' },
  { route: 'POST porch export', call: (c) => c.post('/api/exports', { camera: 'porch', from: 0, to: 30_000 }), ok: 503, who: ['export'] },
  { route: 'POST garden export', call: (c) => c.post('/api/exports', { camera: 'garden', from: 0, to: 30_000 }), ok: 503, who: 'admin' },
  { route: 'GET /api/exports', call: (c) => c.get('/api/exports'), ok: 503, who: ['export'] },
  { route: 'DELETE an export', call: (c) => c.delete('/api/exports/x1'), ok: 503, who: ['export'] },
  { route: 'GET /api/users', call: (c) => c.get('/api/users'), ok: 200, who: 'admin' },
  {
    route: 'POST /api/users',
    call: (c) => c.post('/api/users', { username: `new${++userSeq}`, password: 'a fine password', grants: { '*': ['live', 'export'] } }),
    ok: 201,
    who: 'admin',
  },
  { route: 'PATCH /api/users/target', call: (c) => c.patch('/api/users/target', { grants: { porch: 'viewer' } }), ok: 200, who: 'admin' },
  { route: 'POST /api/users/target/totp/reset', call: (c) => c.post('/api/users/target/totp/reset'), ok: 200, who: 'admin' },
  { route: 'GET /api/audit', call: (c) => c.get('/api/audit'), ok: 200, who: 'admin' },
  { route: 'POST /api/vault/lock', call: (c) => c.post('/api/vault/lock'), ok: 200, who: ['recordings', 'export'] },
];

test('every route answers each role and each single right exactly as the access table says', async (t) => {
  for (const row of table) {
    for (const role of ROLES) {
      const status = expected(row, role);
      await t.test(`${row.route} as ${role} → ${status}`, async () => {
        const res = await row.call(clients[role]);
        assert.equal(res.status, status);
      });
    }
  }
});

test('grants are lists of rights or preset names, stored as lists; anything else is a 400 naming the field', async () => {
  const bad: [unknown, RegExp][] = [
    [{ porch: ['fly'] }, /^grants\.porch: a list of live, recordings, export, shutter/],
    [{ porch: 'owner' }, /^grants\.porch: /],
    [{ porch: 'live,recordings' }, /^grants\.porch: /],
    [{ porch: ['live', 'live', 'live', 'live', 'live'] }, /^grants\.porch: /],
    [{ 'Front Door': ['live'] }, /^grants\.Front Door: /],
    [['live'], /^grants: /],
  ];
  for (const [grants, message] of bad) {
    const res = await clients.admin.post('/api/users', { username: `bad${++userSeq}`, password: 'a fine password', grants });
    assert.equal(res.status, 400, JSON.stringify(grants));
    assert.match(res.json.error.message, message);
    const patched = await clients.admin.patch('/api/users/target', { grants });
    assert.equal(patched.status, 400, JSON.stringify(grants));
  }
  const created = await clients.admin.post('/api/users', {
    username: 'mixed',
    password: 'a fine password',
    grants: { '*': 'live', porch: ['shutter', 'recordings', 'shutter'], garden: [] },
  });
  assert.equal(created.status, 201);
  assert.deepEqual(created.json.user.grants, { '*': ['live'], porch: ['recordings', 'shutter'], garden: [] });
  const patched = await clients.admin.patch('/api/users/mixed', { grants: { porch: 'viewer' } });
  assert.deepEqual(patched.json.user.grants, { porch: ['live', 'recordings', 'export', 'shutter'] });
  const listed = (await clients.admin.get('/api/users')).json.users.find((u: { username: string }) => u.username === 'mixed');
  assert.deepEqual(listed.grants, { porch: ['live', 'recordings', 'export', 'shutter'] });
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
  for (const role of Object.keys(PORCH_RIGHTS) as Array<keyof typeof PORCH_RIGHTS>) {
    const cameras = (await clients[role].get('/api/cameras')).json.cameras as Array<{ name: string; rights: string[] }>;
    const expected = PORCH_RIGHTS[role].length > 0 ? [['porch', [...PORCH_RIGHTS[role]]]] : [];
    assert.deepEqual(cameras.map((c) => [c.name, c.rights]), expected, `cameras of ${role}`);
  }
  const onlyExport = await clients['only-export'].get('/api/storage');
  assert.equal(onlyExport.status, 403, 'export alone does not show storage figures');
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

test('live and event sockets check the session and the live right at the upgrade', async (t) => {
  const cases: [string, Who][] = [
    ['/ws/live/porch', ['live']],
    ['/ws/live/garden', 'admin'],
    ['/ws/mpeg1/porch', ['live']],
    ['/ws/events', 'signed-in'],
  ];
  for (const [path, who] of cases) {
    for (const role of ROLES) {
      const status = expected({ ok: 101, who }, role);
      await t.test(`${path} as ${role} → ${status}`, async () => {
        assert.equal(await upgrade(clients[role], path), status);
      });
    }
  }
  await t.test('a socket from another site is refused even with a valid cookie', async () => {
    assert.equal(await upgrade(clients.admin, '/ws/live/porch', 'https://evil.example'), 403);
  });
});
