import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { ThrottleLimits } from '../../src/web/auth/throttle.ts';
import { privacyRoutes } from '../../src/web/routes/privacy.ts';
import { ALARM_TOKEN, ALICE_TOKEN, BOB_TOKEN, harness, privacyConfig, type Harness } from '../privacy/support.ts';
import { startTestServer } from './support.ts';

const CONFIG = `
residents:
  alice: { token: ${ALICE_TOKEN} }
  bob: { token: ${BOB_TOKEN} }
presence: { cameras: [living, porch] }
intrusion: { token: ${ALARM_TOKEN}, cameras: [living] }
`;

interface Api {
  h: Harness;
  shutter: ReturnType<Harness['controller']>;
  post(path: string, token: string | undefined, body: unknown): Promise<{ status: number; headers: Headers; json: any }>;
}

/** The real web server with the privacy routes mounted as start.ts mounts them. */
async function api(t: { after(fn: () => unknown): void }, throttle?: Partial<ThrottleLimits>): Promise<Api> {
  const h = harness();
  const privacy = privacyConfig(CONFIG);
  const shutter = h.controller(privacy);
  await shutter.start();
  const server = await startTestServer({
    clipPath: fileURLToPath(import.meta.url),
    apiRoutes: [{ path: '/api/privacy', router: privacyRoutes(shutter, { privacy, logger: h.logger, audit: h.audit, throttle }) }],
  });
  const base = `${server.url}/api/privacy`;
  t.after(async () => {
    await server.stop();
    await h.cleanup();
  });
  return {
    h,
    shutter,
    async post(path, token, body) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      return { status: res.status, headers: res.headers, json: await res.json() };
    },
  };
}

test('POST /presence with a resident token reports them home or away', async (t) => {
  const { post, shutter } = await api(t);
  const home = await post('/presence', ALICE_TOKEN, { state: 'home' });
  assert.equal(home.status, 200);
  assert.deepEqual(home.json, { resident: 'alice', state: 'home', changed: true });
  assert.equal(shutter.state('living'), 'closed');
  const again = await post('/presence', ALICE_TOKEN, { state: 'home' });
  assert.equal(again.json.changed, false);
  await post('/presence', ALICE_TOKEN, { state: 'away' });
  assert.equal(shutter.state('living'), 'open');
});

test('a wrong or missing token is refused with 401, says nothing more, and is audited', async (t) => {
  const { post, h, shutter } = await api(t);
  for (const token of [undefined, 'alice-token-0123456789abcdeX', '', ALARM_TOKEN]) {
    const res = await post('/presence', token, { state: 'home' });
    assert.equal(res.status, 401, `token ${token}`);
    assert.deepEqual(res.json, { error: { code: 'unauthenticated', message: 'Missing or wrong token.' } });
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="volet"');
  }
  assert.equal(shutter.state('living'), 'open');
  const rows = h.audit.list({ limit: 10, action: 'login_failed' });
  assert.equal(rows.length, 4);
  assert.deepEqual(
    { actor: rows[0].actor, target: rows[0].target, detail: rows[0].detail },
    { actor: null, target: 'privacy.presence', detail: null },
  );
  assert.match(String(rows[0].ip), /127\.0\.0\.1/);
  assert.ok(!JSON.stringify(rows).includes('alice-token'), 'no part of a tried token is kept');
  const bodyFirst = await post('/presence', 'nope', '{not json');
  assert.equal(bodyFirst.status, 401, 'the token is checked before the body is read');
});

test('the token is checked before the body is read, and bodies are limited to 4 KB (not the 64 KB of other API routes)', async (t) => {
  const { post, shutter } = await api(t);
  const huge = JSON.stringify({ state: 'home', pad: 'x'.repeat(200_000) });
  const wrongToken = await post('/presence', 'nope', huge);
  assert.deepEqual([wrongToken.status, wrongToken.json.error.code], [401, 'unauthenticated'], 'no token, no body parsing: not a 413');
  const over4k = await post('/presence', ALICE_TOKEN, JSON.stringify({ state: 'home', pad: 'x'.repeat(5_000) }));
  assert.deepEqual([over4k.status, over4k.json.error.code], [413, 'too_large']);
  assert.equal(shutter.state('living'), 'open');
});

test('an address sending wrong tokens is locked out, even with a right one afterwards', async (t) => {
  const { post, h, shutter } = await api(t, { perIp: 3 });
  for (let i = 0; i < 3; i++) assert.equal((await post('/presence', `wrong-${i}`, { state: 'home' })).status, 401);
  const locked = await post('/presence', ALICE_TOKEN, { state: 'home' });
  assert.equal(locked.status, 429);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  assert.equal(shutter.state('living'), 'open');
  assert.equal(h.audit.list({ limit: 10, action: 'lockout' }).length, 1);
});

test('bad bodies are 400s with the field named', async (t) => {
  const { post } = await api(t);
  const wrong = await post('/presence', ALICE_TOKEN, { state: 'asleep' });
  assert.equal(wrong.status, 400);
  assert.match(wrong.json.error.message, /^state: /);
  const broken = await post('/presence', ALICE_TOKEN, '{not json');
  assert.deepEqual([broken.status, broken.json.error.code], [400, 'invalid_json']);
});

test('intrusion while residents are home opens the chosen cameras; disarming closes them', async (t) => {
  const { post, shutter, h } = await api(t);
  await post('/presence', BOB_TOKEN, { state: 'home' });
  assert.deepEqual([shutter.state('living'), shutter.state('porch')], ['closed', 'closed']);

  const early = await post('/intrusion', ALARM_TOKEN, { trigger: true });
  assert.deepEqual([early.status, early.json.error.code], [409, 'not_armed']);
  const armed = await post('/intrusion', ALARM_TOKEN, { armed: true });
  assert.deepEqual(armed.json, { armed: true, triggered: false, cameras: { living: 'closed' } });
  const triggered = await post('/intrusion', ALARM_TOKEN, { trigger: true, source: 'front door' });
  assert.deepEqual(triggered.json, { armed: true, triggered: true, cameras: { living: 'open' } });
  assert.deepEqual([shutter.state('living'), shutter.state('porch')], ['open', 'closed']);
  assert.deepEqual(shutter.changes.at(-1), { camera: 'living', state: 'open', reason: 'intrusion', by: 'alarm: front door', at: h.clock.t });

  const disarmed = await post('/intrusion', ALARM_TOKEN, { armed: false });
  assert.deepEqual(disarmed.json, { armed: false, triggered: false, cameras: { living: 'closed' } });
  assert.equal(shutter.state('living'), 'closed');
  assert.equal(h.audit.list({ limit: 10, action: 'settings_changed' }).filter((r) => r.target === 'privacy.intrusion').length, 3);
});

test('a resident token does not open the intrusion endpoint', async (t) => {
  const { post, h } = await api(t);
  const res = await post('/intrusion', ALICE_TOKEN, { armed: false });
  assert.equal(res.status, 401);
  assert.equal(h.audit.list({ limit: 1, action: 'login_failed' })[0].target, 'privacy.intrusion');
});
