import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { exchange, type RawExchange } from './fuzz-requests.ts';
import { setUp, startTestServer, type Client, type TestServer } from './support.ts';

let server: TestServer;
let admin: Client;
let port: number;

before(async () => {
  server = await startTestServer({ clipPath: fileURLToPath(import.meta.url) });
  admin = await setUp(server);
  port = Number(new URL(server.url).port);
});
after(() => server.stop());

const raw = (head: string): RawExchange => ({ label: head, head: Buffer.from(head), later: [], delayMs: 0 });
const upgrade = (method: string, path: string, extra = '') =>
  raw(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`);
const badRequestLines = () => server.log().split('\n').filter((l) => l.includes('bad request refused')).length;

test('upgrades to //, ///, POST // and POST /// are refused with 404, and the server goes on', async () => {
  for (const [method, path] of [['GET', '//'], ['GET', '///'], ['POST', '//'], ['POST', '///'], ['GET', '//ws/events']]) {
    assert.deepEqual((await exchange(port, upgrade(method, path))).statuses, [404], `${method} ${path}`);
  }
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('a session cookie that is not percent-decodable is no session: 401 on HTTP and on the upgrade, never 500', async () => {
  for (const cookie of ['volet_session=%zz', 'volet_session=%', 'volet_session=a; volet_session=%zz', 'volet_session="%E0%A4%A"']) {
    assert.equal((await fetch(`${server.url}/api/cameras`, { headers: { cookie } })).status, 401, cookie);
    assert.deepEqual((await exchange(port, upgrade('GET', '/ws/events', `Cookie: ${cookie}\r\n`))).statuses, [401], cookie);
  }
});

test('what a library refuses stays a 4xx with the one error shape and a log line', async () => {
  const logged = badRequestLines();
  const encoding = await fetch(`${server.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-encoding': 'x-bogus' },
    body: '{}',
  });
  assert.deepEqual([encoding.status, ((await encoding.json()) as any).error.code], [415, 'unsupported_media']);
  const charset = await fetch(`${server.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json; charset=bogus' }, body: '{}' });
  assert.equal(charset.status, 415);
  const percent = await fetch(`${server.url}/api/events/%zz`); // the router cannot decode the :id
  assert.deepEqual([percent.status, ((await percent.json()) as any).error.code], [400, 'bad_request']);
  assert.deepEqual((await exchange(port, raw('G\u0000T / HTTP/1.1\r\n\r\n'))).statuses, [400], 'Node refuses the request line');
  assert.deepEqual((await exchange(port, raw(`GET / HTTP/1.1\r\nX: ${'x'.repeat(20_000)}\r\n\r\n`))).statuses, [431]);
  assert.ok(badRequestLines() >= logged + 5, 'each refusal is logged');
});

test('a bad WebSocket handshake is a 400 with a log line; bad frames only close that socket', async () => {
  const cookie = `Cookie: ${admin.cookie}\r\n`;
  const badKey = raw(`GET /ws/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %zz\r\n${cookie}\r\n`);
  const logged = badRequestLines();
  assert.deepEqual((await exchange(port, badKey)).statuses, [400]);
  assert.equal(badRequestLines(), logged + 1);

  const url = `${server.url.replace('http', 'ws')}/ws/events`;
  const tooBig = new WebSocket(url, { headers: { cookie: admin.cookie!, origin: server.url } });
  await once(tooBig, 'open');
  tooBig.send(Buffer.alloc(5000));
  const [code] = (await once(tooBig, 'close')) as [number];
  assert.equal(code, 1009, 'over maxPayload: closed as "message too big"');

  const unmasked = await exchange(port, {
    label: 'unmasked frame',
    head: upgrade('GET', '/ws/events', cookie).head,
    later: [Buffer.from([0x81, 0x02, 0x68, 0x69])], // clients must mask their frames
    delayMs: 0,
    afterResponse: true,
  });
  assert.deepEqual(unmasked.statuses, [101]);
  assert.equal((await admin.get('/api/cameras')).status, 200, 'the server and the session are fine');
});
