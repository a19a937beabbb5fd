import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { totpNow } from '../../src/web/auth/totp.ts';
import { staticClip } from '../support/clips.ts';
import { ADMIN, Client, setUp, setupCodeOf, startTestServer, userClient, VAULT_PASSPHRASE, type TestServer } from './support.ts';

let clipPath: string;
before(async () => {
  clipPath = (await staticClip({ seconds: 4 })).path;
});

/** A raw HTTP request, so paths reach the server exactly as written (fetch would normalise ../). */
function raw(server: TestServer, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('first start', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ clipPath });
  });
  after(() => server.stop());

  test('with no users the setup page is open and every other API route needs a session', async () => {
    const anon = new Client(server.url);
    assert.deepEqual((await anon.get('/api/setup')).json, { needed: true, vaultInitialised: false });
    assert.equal((await anon.get('/api/cameras')).status, 401);
    assert.equal((await anon.get('/api/users')).status, 401);
  });

  test('setup needs a vault passphrase while the vault is not initialised', async () => {
    const res = await new Client(server.url).post('/api/setup', { setupCode: setupCodeOf(server), ...ADMIN });
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /vaultPassphrase/);
    assert.equal(server.vault.status().initialised, false);
  });

  test('setup creates the admin, initialises the vault, signs in; a second setup is refused', async () => {
    const admin = await setUp(server);
    assert.equal(server.vault.status().initialised, true);
    const me = await admin.get('/api/auth/session');
    assert.equal(me.status, 200);
    assert.equal(me.json.user.username, ADMIN.username);
    assert.equal(me.json.user.admin, true);
    const again = await new Client(server.url).post('/api/setup', { setupCode: 'AAAA-AAAA-AAAA', username: 'eve', password: 'eve password 1', vaultPassphrase: 'x'.repeat(12) });
    assert.equal(again.status, 409);
    assert.equal((await new Client(server.url).get('/api/setup')).json.needed, false);
  });

  test('the session cookie is HttpOnly and SameSite=Strict, and only its hash is stored', async () => {
    const client = new Client(server.url);
    const res = await client.login(ADMIN.username, ADMIN.password);
    const cookie = res.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.doesNotMatch(cookie, /Secure/); // plain HTTP in this test; see the HTTPS test
    const id = client.cookie!.split('=')[1];
    assert.equal(Buffer.from(id, 'base64url').length, 32);
    const rows = server.db.prepare('SELECT * FROM web_sessions').all() as Record<string, unknown>[];
    assert.ok(rows.length >= 1);
    assert.ok(!JSON.stringify(rows).includes(id), 'the raw session id must not be stored');
  });

  test('passwords are stored as Argon2id hashes', () => {
    const row = server.db.prepare('SELECT password_hash FROM web_users').get() as { password_hash: string };
    assert.match(row.password_hash, /^\$argon2id\$/);
  });

  test('a sign-in with a hash made at other limits (an older, slower MODERATE one) stores a hash at the current limits', async () => {
    const { PasswordHasher } = await import('../../src/web/auth/password.ts');
    const moderate = await new PasswordHasher('moderate').hash(ADMIN.password);
    server.db.prepare('UPDATE web_users SET password_hash = ? WHERE username = ?').run(moderate, ADMIN.username);
    assert.equal((await new Client(server.url).login(ADMIN.username, ADMIN.password)).status, 200);
    const row = server.db.prepare('SELECT password_hash FROM web_users WHERE username = ?').get(ADMIN.username) as { password_hash: string };
    assert.notEqual(row.password_hash, moderate);
    assert.equal(new PasswordHasher('minimum').needsRehash(row.password_hash), false);
    assert.equal((await new Client(server.url).login(ADMIN.username, ADMIN.password)).status, 200);
  });

  test('secrets never reach the log', async () => {
    await new Client(server.url).login(ADMIN.username, 'not the password at all');
    const log = server.log();
    for (const secret of [ADMIN.password, VAULT_PASSPHRASE, 'not the password at all']) assert.ok(!log.includes(secret), `log holds ${secret}`);
  });
});

describe('requests that change state', () => {
  let server: TestServer;
  let admin: Client;
  before(async () => {
    server = await startTestServer({ clipPath });
    admin = await setUp(server);
  });
  after(() => server.stop());

  test('are refused (403) without the CSRF token', async () => {
    const res = await admin.post('/api/vault/lock', {}, { csrf: null });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, 'csrf');
  });

  test('are refused (403) with a wrong CSRF token', async () => {
    const res = await admin.post('/api/vault/lock', {}, { csrf: 'x'.repeat(43) });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, 'csrf');
    const del = await admin.request('DELETE', '/api/users/nobody', { csrf: 'wrong' });
    assert.equal(del.status, 403);
  });

  test('are refused (403) from another origin even with the right token', async () => {
    const res = await admin.post('/api/vault/lock', {}, { headers: { origin: 'https://evil.example' } });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, 'bad_origin');
    const login = await new Client(server.url).post('/api/auth/login', ADMIN, { headers: { origin: 'https://evil.example' } });
    assert.equal(login.status, 403);
    const site = await admin.post('/api/vault/lock', {}, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(site.status, 403);
  });

  test('succeed from the same origin with the token', async () => {
    const res = await admin.post('/api/vault/lock', {}, { headers: { origin: new URL(server.url).origin } });
    assert.equal(res.status, 200);
    assert.equal(res.json.unlocked, false);
  });

  test('bodies are validated: unknown fields and wrong types are a 400 in the one error shape', async () => {
    const res = await admin.post('/api/users', { username: 'bob', password: 'a fine password', role: 'root' });
    assert.equal(res.status, 400);
    assert.equal(res.json.error.code, 'invalid_request');
    const bad = await admin.request('POST', '/api/users', { body: undefined, headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
  });
});

describe('path traversal', () => {
  let server: TestServer;
  let admin: Client;
  before(async () => {
    server = await startTestServer({ clipPath });
    admin = await setUp(server);
    server.recordings.add({ id: 'ev1', camera: 'porch', label: 'person', start: Date.now() });
  });
  after(() => server.stop());

  const cookie = () => ({ cookie: admin.cookie! });

  for (const path of [
    '/api/events/..%2f..%2fetc%2fpasswd/clip',
    '/api/events/..%2Fvolet.db/snapshot',
    '/api/events/ev1%00/clip',
    '/api/events/a.b/clip',
    '/api/events/%2e%2e/snapshot',
    '/api/events/..%5c..%5cwindows/clip',
  ]) {
    test(`${path} is a 400 before any lookup`, async () => {
      const res = await raw(server, path, cookie());
      assert.equal(res.status, 400, res.body);
      assert.equal(JSON.parse(res.body).error.code, 'invalid_id');
    });
  }

  test('a user name with .. is a 400', async () => {
    const res = await admin.patch('/api/users/..%2fx', { admin: false });
    assert.equal(res.status, 400);
    const dots = await admin.patch('/api/users/..', { admin: false });
    assert.ok(dots.status === 400 || dots.status === 404, String(dots.status));
  });

  test('static files cannot escape web/', async () => {
    for (const path of ['/..%2fpackage.json', '/%2e%2e/package.json', '/../src/web/server.ts', '/..%2f..%2fetc%2fpasswd']) {
      const res = await raw(server, path);
      assert.notEqual(res.status, 200, path);
      assert.ok(!res.body.includes('"dependencies"') && !res.body.includes('createWebServer'), path);
    }
  });
});

describe('brute force', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ clipPath, throttle: { perUser: 5, perIp: 8 } });
    const admin = await setUp(server);
    await admin.post('/api/users', { username: 'bob', password: 'bob password 1', grants: { '*': 'viewer' } });
  });
  after(() => server.stop());

  test('5 wrong passwords lock the account out, even for the right password, and are audited', async () => {
    const attacker = new Client(server.url);
    for (let i = 0; i < 5; i++) {
      const res = await attacker.login('bob', `guess ${i}`);
      assert.equal(res.status, 401);
      assert.equal(res.json.error.code, 'invalid_credentials');
    }
    const locked = await new Client(server.url).login('bob', 'bob password 1');
    assert.equal(locked.status, 429);
    assert.equal(locked.json.error.code, 'locked_out');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);

    const admin = new Client(server.url);
    assert.equal((await admin.login(ADMIN.username, ADMIN.password)).status, 200);
    const audit = (await admin.get('/api/audit')).json.entries as { action: string; actor: string; target: string }[];
    assert.equal(audit.filter((e) => e.action === 'login_failed' && e.actor === 'bob').length, 5);
    assert.ok(audit.some((e) => e.action === 'lockout' && e.target === 'bob'));
  });

  test('guessing many user names from one address locks the address out', async () => {
    const attacker = new Client(server.url);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attacker.login(`nobody${i}`, 'whatever pw')).status);
    assert.ok(statuses.includes(429), `statuses ${statuses}`);
    // Every later attempt from that address is refused before any password check.
    assert.equal((await attacker.login(ADMIN.username, ADMIN.password)).status, 429);
  });
});

describe('two-factor sign-in', () => {
  let server: TestServer;
  let admin: Client;
  let secret: string;
  let recoveryCodes: string[];
  before(async () => {
    server = await startTestServer({ clipPath });
    admin = await setUp(server);
  });
  after(() => server.stop());

  test('enrolment needs the password, shows an otpauth URL, and a valid code turns it on with 10 recovery codes', async () => {
    assert.equal((await admin.post('/api/account/totp/begin', { password: 'wrong password!' })).status, 403);
    const begin = await admin.post('/api/account/totp/begin', { password: ADMIN.password });
    assert.equal(begin.status, 200);
    secret = begin.json.secret;
    assert.match(begin.json.otpauthUrl, /^otpauth:\/\/totp\/Volet:alice\?secret=/);
    assert.equal((await admin.post('/api/account/totp/confirm', { code: '000000' })).status, 400);
    const confirm = await admin.post('/api/account/totp/confirm', { code: await totpNow(secret) });
    assert.equal(confirm.status, 200);
    recoveryCodes = confirm.json.recoveryCodes;
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    const stored = JSON.stringify(server.db.prepare('SELECT * FROM web_recovery_codes').all());
    assert.ok(!recoveryCodes.some((c) => stored.includes(c)), 'recovery codes are stored hashed');
  });

  test('the password alone no longer signs in', async () => {
    const client = new Client(server.url);
    const res = await client.login(ADMIN.username, ADMIN.password);
    assert.equal(res.status, 200);
    assert.equal(res.json.totpRequired, true);
    assert.equal(client.cookie, undefined);
    assert.equal((await client.get('/api/auth/session')).status, 401);
    const wrong = await client.post('/api/auth/login/totp', { ticket: res.json.ticket, code: '123456' });
    assert.equal(wrong.status, 401);
  });

  test('password + current code signs in; the same code cannot be replayed', async () => {
    const code = await totpNow(secret, Math.floor(Date.now() / 1000) + 30);
    const client = new Client(server.url);
    const step1 = await client.login(ADMIN.username, ADMIN.password);
    const ok = await client.post('/api/auth/login/totp', { ticket: step1.json.ticket, code });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await client.get('/api/auth/session')).status, 200);

    const replay = new Client(server.url);
    const step2 = await replay.login(ADMIN.username, ADMIN.password);
    assert.equal((await replay.post('/api/auth/login/totp', { ticket: step2.json.ticket, code })).status, 401);
  });

  test('a recovery code works exactly once', async () => {
    const first = new Client(server.url);
    const t1 = await first.login(ADMIN.username, ADMIN.password);
    const used = await first.post('/api/auth/login/totp', { ticket: t1.json.ticket, code: recoveryCodes[0].toUpperCase() });
    assert.equal(used.status, 200, used.text);

    const second = new Client(server.url);
    const t2 = await second.login(ADMIN.username, ADMIN.password);
    const again = await second.post('/api/auth/login/totp', { ticket: t2.json.ticket, code: recoveryCodes[0] });
    assert.equal(again.status, 401);
    const audit = (await first.get('/api/audit?action=recovery_code_used')).json.entries;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].detail.left, 9);
  });
});

describe('sessions', () => {
  let server: TestServer;
  let admin: Client;
  before(async () => {
    server = await startTestServer({ clipPath });
    admin = await setUp(server);
  });
  after(() => server.stop());

  test('logout ends this session only', async () => {
    const other = new Client(server.url);
    await other.login(ADMIN.username, ADMIN.password);
    const oldCookie = other.cookie;
    assert.equal((await other.post('/api/auth/logout')).status, 204);
    other.cookie = oldCookie;
    assert.equal((await other.get('/api/auth/session')).status, 401);
    assert.equal((await admin.get('/api/auth/session')).status, 200);
  });

  test('logout everywhere ends every session of the user and closes their sockets', async () => {
    const phone = new Client(server.url);
    await phone.login(ADMIN.username, ADMIN.password);
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(server.url.replace('http', 'ws') + '/ws/events', { headers: { cookie: phone.cookie!, origin: server.url } });
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    assert.equal((await admin.post('/api/auth/logout-everywhere')).status, 204);
    assert.equal(await closed, 4401);
    assert.equal((await phone.get('/api/auth/session')).status, 401);
    assert.equal((await admin.get('/api/auth/session')).status, 401);
    const audit = server.db.prepare("SELECT * FROM web_audit WHERE action = 'logout_everywhere'").all();
    assert.equal(audit.length, 1);
  });

  test('changing the password ends the other sessions', async () => {
    const a = new Client(server.url);
    await a.login(ADMIN.username, ADMIN.password);
    const b = new Client(server.url);
    await b.login(ADMIN.username, ADMIN.password);
    const res = await a.post('/api/account/password', { current: ADMIN.password, next: 'a brand new password' });
    assert.equal(res.status, 204);
    assert.equal((await a.get('/api/auth/session')).status, 200);
    assert.equal((await b.get('/api/auth/session')).status, 401);
    assert.equal((await new Client(server.url).login(ADMIN.username, ADMIN.password)).status, 401);
  });

  test('a deleted user loses access at once', async () => {
    const owner = new Client(server.url);
    await owner.login(ADMIN.username, 'a brand new password');
    const bob = await userClient(server, owner, 'bob', { '*': 'viewer' });
    assert.equal((await bob.get('/api/cameras')).status, 200);
    assert.equal((await owner.delete('/api/users/bob')).status, 204);
    assert.equal((await bob.get('/api/cameras')).status, 401);
  });

  test('the last administrator cannot be demoted or deleted', async () => {
    const owner = new Client(server.url);
    await owner.login(ADMIN.username, 'a brand new password');
    assert.equal((await owner.patch(`/api/users/${ADMIN.username}`, { admin: false })).status, 409);
    assert.equal((await owner.delete(`/api/users/${ADMIN.username}`)).status, 409);
  });
});

describe('recordings', () => {
  let server: TestServer;
  let admin: Client;
  before(async () => {
    server = await startTestServer({ clipPath });
    admin = await setUp(server);
    server.recordings.add({ id: 'ev1', camera: 'porch', label: 'person', start: Date.now() - 1000 });
  });
  after(() => server.stop());

  test('while the vault is locked, snapshots and clips answer 423 vault_locked', async () => {
    await admin.post('/api/vault/lock');
    const snap = await admin.get('/api/events/ev1/snapshot');
    assert.equal(snap.status, 423);
    assert.equal(snap.json.error.code, 'vault_locked');
    assert.equal((await admin.get('/api/events/ev1/clip')).status, 423);
    const list = await admin.get('/api/events');
    assert.equal(list.status, 200);
    assert.equal(list.json.vault.unlocked, false);
  });

  test('a wrong passphrase is refused and audited; the right one unlocks', async () => {
    const wrong = await admin.post('/api/vault/unlock', { passphrase: 'not it' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.json.error.code, 'wrong_passphrase');
    const ok = await admin.post('/api/vault/unlock', { passphrase: VAULT_PASSPHRASE });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.unlocked, true);
    const actions = (await admin.get('/api/audit')).json.entries.map((e: { action: string }) => e.action);
    assert.ok(actions.includes('vault_unlock_failed'));
    assert.ok(actions.includes('vault_unlock'));
    assert.ok(actions.includes('vault_lock'));
  });

  test('one event is found even when RecordingsAccess has no getEvent', async () => {
    const withGetEvent = await admin.get('/api/events/ev1');
    assert.equal(withGetEvent.json.event.camera, 'porch');
    const recordings = server.recordings as { getEvent?: unknown };
    const original = recordings.getEvent;
    recordings.getEvent = undefined;
    try {
      const res = await admin.get('/api/events/ev1');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.event, withGetEvent.json.event);
    } finally {
      recordings.getEvent = original;
    }
  });

  test('an event list sealed in the locked vault answers 423 vault_locked', async () => {
    const original = server.recordings.listEvents;
    server.recordings.listEvents = async () => {
      throw Object.assign(new Error('locked'), { name: 'VaultLockedError' });
    };
    try {
      const res = await admin.get('/api/events');
      assert.equal(res.status, 423);
      assert.equal(res.json.error.code, 'vault_locked');
    } finally {
      server.recordings.listEvents = original;
    }
  });

  test('a snapshot is the decrypted JPEG', async () => {
    const res = await fetch(`${server.url}/api/events/ev1/snapshot?kind=frame`, { headers: { cookie: admin.cookie! } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), server.recordings.jpeg);
  });

  test('clips support HTTP Range for seeking, and download as an attachment', async () => {
    const size = statSync(clipPath).size;
    const whole = readFileSync(clipPath);
    const res = await fetch(`${server.url}/api/events/ev1/clip`, { headers: { cookie: admin.cookie!, range: 'bytes=100-199' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes 100-199/${size}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), whole.subarray(100, 200));
    const tail = await fetch(`${server.url}/api/events/ev1/clip`, { headers: { cookie: admin.cookie!, range: 'bytes=-10' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), whole.subarray(size - 10));
    const beyond = await fetch(`${server.url}/api/events/ev1/clip`, { headers: { cookie: admin.cookie!, range: `bytes=${size}-` } });
    assert.equal(beyond.status, 416);
    await beyond.arrayBuffer();
    const dl = await fetch(`${server.url}/api/events/ev1/clip?download=1`, { headers: { cookie: admin.cookie! } });
    assert.equal(dl.status, 200);
    assert.match(dl.headers.get('content-disposition')!, /^attachment; filename="volet-porch-ev1\.mp4"$/);
    assert.equal(Number(dl.headers.get('content-length')), size);
    await dl.arrayBuffer();
  });

  test('marking an event kept is stored and audited', async () => {
    const res = await admin.put('/api/events/ev1/kept', { kept: true });
    assert.equal(res.status, 200);
    assert.equal(server.recordings.events.get('ev1')!.kept, true);
    assert.equal((await admin.put('/api/events/nope/kept', { kept: true })).status, 404);
  });

  test('closing the privacy shutter goes through ShutterAccess with the username, and is audited', async () => {
    const res = await admin.put('/api/cameras/porch/shutter', { state: 'closed' });
    assert.equal(res.status, 200);
    assert.deepEqual(server.shutter.changes.at(-1), { camera: 'porch', state: 'closed', by: ADMIN.username });
    const cams = (await admin.get('/api/cameras')).json.cameras;
    assert.equal(cams.find((c: { name: string }) => c.name === 'porch').shutter, 'closed');
    const audit = (await admin.get('/api/audit?action=shutter_changed')).json.entries;
    assert.deepEqual(audit[0].detail, { from: 'open', to: 'closed' });
  });
});

test('over HTTPS a self-signed certificate is generated with a 0600 key, and the cookie is Secure', async () => {
  const server = await startTestServer({ clipPath, https: true });
  try {
    assert.match(server.url, /^https:/);
    const keyMode = statSync(join(server.dir, 'web-key.pem')).mode & 0o777;
    assert.equal(keyMode, 0o600);
    const ca = readFileSync(join(server.dir, 'web-cert.pem'));
    const url = new URL(server.url);
    const body = JSON.stringify({ setupCode: setupCodeOf(server), ...ADMIN, vaultPassphrase: VAULT_PASSPHRASE });
    const cookie = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        { host: url.hostname, port: url.port, path: '/api/setup', method: 'POST', ca, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve(String(res.headers['set-cookie']));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.match(cookie, /^__Host-volet_session=/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
  } finally {
    await server.stop();
  }
});

test('a router from another module is mounted as given: token routes as is, people routes behind the session guard', async () => {
  const { Router, json } = await import('express');
  const clip = (await staticClip({ seconds: 4 })).path;
  // A token route checks its token before any body is read, then parses the body itself.
  const device = Router().post(
    '/ping',
    (req, res, next) => {
      if (req.get('authorization') !== 'Bearer device-token') return void res.status(401).json({ error: { code: 'unauthenticated', message: 'token' } });
      next();
    },
    json({ limit: '1kb' }),
    (req, res) => void res.json({ pong: req.body }),
  );
  const server = await startTestServer({
    clipPath: clip,
    apiRoutes: [
      { path: '/api/devices', router: device },
      (guards) => Router().get('/notifications/me', guards.session, (_req, res) => res.json(guards.user(res))),
    ],
  });
  try {
    const admin = await setUp(server);
    const tokenReply = await fetch(`${server.url}/api/devices/ping`, {
      method: 'POST',
      headers: { authorization: 'Bearer device-token', 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    assert.equal(tokenReply.status, 200);
    assert.deepEqual(await tokenReply.json(), { pong: { a: 1 } });
    const bigBody = JSON.stringify({ a: 'x'.repeat(100_000) });
    const noToken = await fetch(`${server.url}/api/devices/ping`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bigBody });
    assert.equal(noToken.status, 401, 'no token: refused before the API-wide body parser reads the body');
    assert.equal((await new Client(server.url).get('/api/notifications/me')).status, 401);
    const me = await admin.get('/api/notifications/me');
    assert.deepEqual(me.json, { username: ADMIN.username, admin: true, grants: {} });
  } finally {
    await server.stop();
  }
});
