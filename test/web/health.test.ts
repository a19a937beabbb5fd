import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { staticClip } from '../support/clips.ts';
import { Client, setUp, startTestServer, userClient, type TestServer } from './support.ts';

let server: TestServer;
let admin: Client;
let live: Client;

before(async () => {
  server = await startTestServer({ clipPath: (await staticClip({ seconds: 4 })).path });
  admin = await setUp(server);
  live = await userClient(server, admin, 'liam', { porch: 'live' });
});
after(() => server.stop());

test('/healthz says only up (200) or degraded (503), nothing more', async () => {
  const up = await new Client(server.url).get('/healthz');
  assert.equal(up.status, 200);
  assert.deepEqual(up.json, { status: 'up' });
  server.health.silentSeconds.set('garden', 30);
  try {
    const down = await new Client(server.url).get('/healthz');
    assert.equal(down.status, 503);
    assert.deepEqual(down.json, { status: 'degraded' });
    assert.equal(down.headers.get('cache-control'), 'no-store');
  } finally {
    server.health.silentSeconds.delete('garden');
  }
});

test('/api/health needs a session', async () => {
  const res = await new Client(server.url).get('/api/health');
  assert.equal(res.status, 401);
});

test('each user sees only the cameras they may watch; only administrators see disk, index and event-loop lag', async () => {
  server.health.silentSeconds.set('garden', 30);
  try {
    const mine = await live.get('/api/health');
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.json.cameras.map((c: { name: string }) => c.name), ['porch']);
    assert.deepEqual(mine.json.problems, [], "garden's problem is not shown to someone who may not watch it");
    assert.equal(mine.json.disk, undefined);
    assert.equal(mine.json.index, undefined);
    assert.equal(mine.json.eventLoop, undefined);
    assert.deepEqual(mine.json.vault, { initialised: true, unlocked: true });

    const all = await admin.get('/api/health');
    assert.equal(all.json.status, 'degraded');
    assert.deepEqual(all.json.cameras.map((c: { name: string }) => c.name), ['porch', 'garden']);
    assert.deepEqual(all.json.problems.map((p: { code: string; camera: string }) => [p.code, p.camera]), [['not_recording', 'garden']]);
    const garden = all.json.cameras.find((c: { name: string }) => c.name === 'garden');
    assert.equal(garden.recording, 'failing');
    assert.equal(garden.recordingAgeSeconds, 30);
    assert.deepEqual(all.json.index, { writable: true });
    assert.deepEqual(all.json.eventLoop, { worstLagMs: 0, windowSeconds: 60 });
    assert.equal(all.json.disk.belowFloor, false);
  } finally {
    server.health.silentSeconds.delete('garden');
  }
});

test('box-level problems reach administrators only', async () => {
  server.health.disk = { freeBytes: 1e9, totalBytes: 100e9, floorBytes: 5e9 };
  try {
    assert.deepEqual((await admin.get('/api/health')).json.problems.map((p: { code: string }) => p.code), ['disk_below_floor']);
    const mine = (await live.get('/api/health')).json;
    assert.equal(mine.status, 'degraded');
    assert.deepEqual(mine.problems, []);
  } finally {
    server.health.disk = { freeBytes: 60e9, totalBytes: 100e9, floorBytes: 5e9 };
  }
});
