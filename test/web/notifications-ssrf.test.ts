import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startVolet, type RunningVolet } from '../../src/app/start.ts';
import { PushServiceStandIn } from '../support/push-service.ts';
import { initTestVault, tempVoletConfig, type TempVolet } from '../support/volet-fixture.ts';
import { RecordingServer } from '../notify/recording-server.ts';
import { readSetupCode } from '../../src/web/auth/setup-code.ts';
import { ADMIN, Client, userClient, VAULT_PASSPHRASE } from './support.ts';

/**
 * The real Volet (startVolet, web viewer on 127.0.0.1) with an administrator, a viewer and a
 * live-only account. `lan` plays a device on the home network nobody allowed: it must never be
 * contacted, whoever asks. `ntfy` is on notifications.allowedHosts, `push` on notifications.pushServices.
 */
let t: TempVolet;
let volet: RunningVolet;
let lan: RecordingServer;
let ntfy: RecordingServer;
let push: PushServiceStandIn;
const clients = {} as Record<'admin' | 'viewer' | 'live', Client>;

before(async () => {
  [lan, ntfy, push] = await Promise.all([RecordingServer.start(), RecordingServer.start(), PushServiceStandIn.start()]);
  t = tempVoletConfig(
    `web: { host: 127.0.0.1, port: 0, https: false }\n` +
      `notifications:\n  pushServices: ['${push.origin}']\n  allowedHosts: ['${ntfy.host}']\n`,
  );
  await initTestVault(t.storageDir);
  volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  clients.admin = new Client(volet.web!.url);
  const setup = await clients.admin.post('/api/setup', { setupCode: readSetupCode(volet.storage.dir), ...ADMIN, vaultPassphrase: VAULT_PASSPHRASE });
  assert.equal(setup.status, 201, setup.text);
  clients.viewer = await userClient(volet.web!, clients.admin, 'vera', { '*': 'viewer' });
  clients.live = await userClient(volet.web!, clients.admin, 'liam', { '*': 'live' });
});

after(async () => {
  await volet.stop();
  await Promise.all([lan.stop(), ntfy.stop(), push.close()]);
  t.cleanup();
});

const userId = (username: string) =>
  (volet.storage.db.prepare('SELECT id FROM web_users WHERE username = ?').get(username) as { id: number }).id;

const FORBIDDEN_ENDPOINTS = ['http://127.0.0.1:22/', 'http://169.254.169.254/latest/meta-data/', 'https://192.168.1.1/push'];

for (const role of ['viewer', 'live'] as const) {
  test(`a ${role} account cannot make Volet POST into the LAN: targets are 403, foreign push endpoints 400`, async () => {
    const client = clients[role];
    for (const target of [
      { kind: 'ntfy', url: `${lan.origin}/topic` },
      { kind: 'gotify', url: `${lan.origin}/?token=abc` },
      { kind: 'ntfy', url: `${ntfy.origin}/even-an-allowed-host` },
    ]) {
      const res = await client.post('/api/notifications/targets', target);
      assert.equal(res.status, 403, `${JSON.stringify(target)}: ${res.text}`);
    }
    const { json: keys } = push.subscribe();
    for (const endpoint of [...FORBIDDEN_ENDPOINTS, `${lan.origin}/push/1`]) {
      const res = await client.post('/api/notifications/subscriptions', { ...keys, endpoint });
      assert.equal(res.status, 400, `${endpoint}: ${res.text}`);
      assert.equal(res.json.error.code, 'invalid_request');
      assert.match(res.json.error.message, /^endpoint: .*push service/);
    }
    const sent = await client.post('/api/notifications/test');
    assert.equal(sent.status, 200);
    assert.deepEqual(sent.json.deliveries, []);
    assert.deepEqual((await client.get('/api/notifications/targets')).json, []);
    assert.deepEqual((await client.get('/api/notifications/subscriptions')).json, []);
    assert.equal(lan.requests.length, 0);
    assert.equal(ntfy.requests.length, 0);
  });
}

test('a live-only account can still subscribe a browser on an allowed push service and receive the test', async () => {
  const browser = push.subscribe();
  const created = await clients.live.post('/api/notifications/subscriptions', browser.json);
  assert.equal(created.status, 201, created.text);
  const sent = await clients.live.post('/api/notifications/test');
  assert.equal(sent.json.sent, 1);
  assert.equal(JSON.parse(push.receivedBy(browser.id)[0].plaintext).eventId, 'test');
  assert.equal((await clients.live.request('DELETE', '/api/notifications/subscriptions', { body: { endpoint: browser.json.endpoint } })).status, 204);
});

test("an administrator's ntfy target on notifications.allowedHosts works; any other host is refused with 400", async () => {
  for (const target of [
    { kind: 'ntfy', url: `${lan.origin}/topic` },
    { kind: 'gotify', url: 'http://169.254.169.254/?token=abc' },
    { kind: 'ntfy', url: 'http://127.0.0.1:22/topic' },
  ]) {
    const res = await clients.admin.post('/api/notifications/targets', target);
    assert.equal(res.status, 400, `${JSON.stringify(target)}: ${res.text}`);
    assert.match(res.json.error.message, /^url: host .* is not in notifications\.allowedHosts/);
  }
  const created = await clients.admin.post('/api/notifications/targets', { kind: 'ntfy', url: `${ntfy.origin}/house` });
  assert.equal(created.status, 201, created.text);
  const sent = await clients.admin.post('/api/notifications/test');
  assert.equal(sent.json.sent, 1);
  assert.deepEqual(ntfy.requests.map((r) => [r.path, r.headers.title]), [['/house', 'Test notification at Volet']]);
  assert.equal((await clients.admin.delete(`/api/notifications/targets/${created.json.id}`)).status, 204);
  assert.equal(lan.requests.length, 0);
});

test('targets and subscriptions stored before the upgrade that point elsewhere are never used', async () => {
  const liam = userId('liam');
  const { json } = push.subscribe();
  volet.storage.db
    .prepare("INSERT INTO notify_targets (user_id, kind, url, token, created) VALUES (?, 'ntfy', ?, NULL, 0)")
    .run(liam, `${lan.origin}/old-topic`);
  volet.storage.db
    .prepare('INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created) VALUES (?, ?, ?, ?, 0)')
    .run(liam, `${lan.origin}/old-push`, json.keys.p256dh, json.keys.auth);

  const sent = await clients.live.post('/api/notifications/test');
  assert.equal(sent.status, 200);
  assert.deepEqual(sent.json.deliveries.map((d: { channel: string; outcome: string }) => [d.channel, d.outcome]).sort(), [
    ['ntfy', 'blocked'],
    ['web-push', 'blocked'],
  ]);
  assert.equal(lan.requests.length, 0);
  // The owner can still see and remove the leftover target.
  const [old] = (await clients.live.get('/api/notifications/targets')).json;
  assert.equal((await clients.live.delete(`/api/notifications/targets/${old.id}`)).status, 204);
});
