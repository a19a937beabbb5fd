import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { harness, privacyConfig } from './support.ts';

interface Received {
  method: string;
  url: string;
  body: string;
}

/** Waits (without a clock) until the condition holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

async function hookServer(status = 200): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({ method: req.method ?? '', url: req.url ?? '', body });
    res.writeHead(status).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

test('an HTTP hook is requested on close and on open, in order, with the camera and state', async (t) => {
  const { server, base, received } = await hookServer();
  const h = harness();
  t.after(async () => {
    await h.cleanup();
    server.close();
  });
  const shutter = h.controller(
    privacyConfig(`cameras:\n  porch:\n    hook:\n      http: { open: '${base}/privacy?enable=0', close: '${base}/privacy?enable=1' }`),
  );
  await shutter.start();
  assert.equal(received.length, 0, 'nothing changed at start-up: nothing to tell the camera');
  await shutter.set('porch', 'closed', 'alice');
  await until(() => received.length === 1);
  await shutter.set('porch', 'open', 'alice');
  await shutter.set('living', 'closed', 'alice'); // no hook on living
  await shutter.stop(); // waits for hooks under way
  assert.deepEqual(received, [
    { method: 'POST', url: '/privacy?enable=1', body: JSON.stringify({ camera: 'porch', state: 'closed' }) },
    { method: 'POST', url: '/privacy?enable=0', body: JSON.stringify({ camera: 'porch', state: 'open' }) },
  ]);
});

test('a close undone before its hook ran tells the camera nothing', async (t) => {
  const { server, base, received } = await hookServer();
  const h = harness();
  t.after(async () => {
    await h.cleanup();
    server.close();
  });
  const shutter = h.controller(privacyConfig(`cameras:\n  porch:\n    hook:\n      http: { open: '${base}/open', close: '${base}/close' }`));
  await shutter.start();
  const closing = shutter.set('porch', 'closed', 'alice');
  await shutter.set('porch', 'open', 'alice');
  await closing;
  await shutter.stop();
  assert.deepEqual(received, []);
  assert.deepEqual(shutter.changes.map((c) => c.state), ['closed', 'open'], 'the pipeline still heard both');
});

test('a GET hook sends no body', async (t) => {
  const { server, base, received } = await hookServer();
  const h = harness();
  t.after(async () => {
    await h.cleanup();
    server.close();
  });
  const shutter = h.controller(
    privacyConfig(`cameras:\n  porch:\n    hook:\n      http: { open: '${base}/on', close: '${base}/off', method: GET }`),
  );
  await shutter.start();
  await shutter.set('porch', 'closed', 'alice');
  await shutter.stop();
  assert.deepEqual(received, [{ method: 'GET', url: '/off', body: '' }]);
});

test('failing hooks are logged and never hold the shutter', async (t) => {
  const { server, base } = await hookServer(500);
  const h = harness();
  t.after(async () => {
    await h.cleanup();
    server.close();
  });
  const shutter = h.controller(
    privacyConfig(
      [
        'cameras:',
        '  porch:',
        '    hook:',
        `      http: { open: '${base}/open?pwd=hunter2', close: '${base}/close?pwd=hunter2' }`,
        "      onvif: { url: 'http://127.0.0.1:1/onvif/device_service', user: admin, password: secret, openPreset: watch, closePreset: wall, timeoutSeconds: 2 }",
      ].join('\n'),
    ),
  );
  await shutter.start();
  await shutter.set('porch', 'closed', 'alice');
  assert.equal(shutter.state('porch'), 'closed', 'closed at once, hooks still under way');
  await shutter.stop();
  const failures = h.logLines.filter((l) => l.msg === 'shutter hook failed (the shutter itself changed)');
  assert.deepEqual(failures.map((l) => l.hook).sort(), ['http', 'onvif']);
  assert.match(String(failures.find((l) => l.hook === 'http')?.err), /answered 500/);
  assert.match(String(failures.find((l) => l.hook === 'onvif')?.err), /ONVIF http:\/\/127\.0\.0\.1:1\/onvif\/device_service: going to preset "wall" failed/);
  assert.ok(!JSON.stringify(h.logLines).includes('secret'), 'the ONVIF password never reaches the log');
  assert.ok(!JSON.stringify(h.logLines).includes('hunter2'), 'nor a password in a hook URL\'s query string');
});
