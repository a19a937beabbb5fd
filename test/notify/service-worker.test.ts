import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { pushMessage, pushPayload } from '../../src/notify/message.ts';
import { serviceWorkerSource } from '../../src/notify/service-worker.ts';
import { PushServiceStandIn } from '../support/push-service.ts';
import { harness, personEvent } from './harness.ts';

/*
 * The service worker in real Chromium. Headless Chromium cannot reach a browser vendor's push
 * service (pushManager.subscribe() answers "Registration failed - permission denied" here), so the
 * push is handed to the worker through DevTools (ServiceWorker.deliverPushMessage), which runs the
 * same 'push' handler a real delivery would. notificationclick cannot be triggered from DevTools.
 */

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>Volet</title>
<script src="/page.js"></script>`;
// External script: the viewer's CSP forbids inline scripts, and so does this test page's.
const PAGE_JS = `window.pushMessages = [];
navigator.serviceWorker.addEventListener('message', (event) => window.pushMessages.push(event.data));`;

let server: Server;
let origin = '';
let browser: Browser;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let registrationId = '';

before(async () => {
  if (skip) return;
  const sw = await serviceWorkerSource();
  server = createServer((req, res) => {
    const csp = { 'content-security-policy': "default-src 'self'; script-src 'self'; worker-src 'self'" };
    if (req.url === '/sw.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...csp }).end(sw);
    else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', ...csp }).end(PAGE_JS);
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...csp }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  context = await browser.newContext();
  await context.grantPermissions(['notifications'], { origin });
  page = await context.newPage();
  await page.goto(`${origin}/`);
  cdp = await context.newCDPSession(page);
  const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  const scope = await page.evaluate(async () => {
    await navigator.serviceWorker.register('/sw.js');
    const ready = await navigator.serviceWorker.ready;
    return ready.scope;
  });
  assert.equal(scope, `${origin}/`);
  for (let i = 0; i < 100 && !registrations.some((r) => r.scopeURL === scope && !r.isDeleted); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const registration = registrations.find((r) => r.scopeURL === scope && !r.isDeleted);
  assert.ok(registration, 'DevTools reports the registration');
  registrationId = registration.registrationId;
});

after(async () => {
  if (skip) return;
  await browser?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

interface Shown {
  title: string;
  body: string;
  tag: string;
  data: { url: string; eventId: string };
}

/** Delivers `data` as a push message and returns what the worker showed and posted. */
async function deliver(data: string): Promise<{ notification: Shown; posted: unknown }> {
  const seen = await page.evaluate(() => (window as unknown as { pushMessages: unknown[] }).pushMessages.length);
  await cdp.send('ServiceWorker.deliverPushMessage', { origin: `${origin}/`, registrationId, data });
  await page.waitForFunction(
    (n) => (window as unknown as { pushMessages: unknown[] }).pushMessages.length > n,
    seen,
    { timeout: 15_000 },
  );
  const posted = await page.evaluate((n) => (window as unknown as { pushMessages: unknown[] }).pushMessages[n], seen);
  const eventId = (posted as { message: { eventId: string } }).message.eventId;
  const notifications = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as Shown['data'] }));
  });
  const notification = notifications.find((n) => n.data.eventId === eventId);
  assert.ok(notification, `a notification for "${eventId}" is shown`);
  return { notification, posted };
}

test('a push shows "<label> at <camera>" with the time, and keeps the event link', { skip }, async () => {
  const message = pushMessage(personEvent({ id: 'evt-sw-1', camera: 'porch', label: 'person' }), origin);
  const { notification, posted } = await deliver(pushPayload(message));

  assert.equal(notification.title, 'person at porch');
  assert.match(notification.body, /\d{1,2}:\d{2}/, 'the body gives the time');
  assert.equal(notification.tag, 'volet-event-evt-sw-1');
  assert.deepEqual(notification.data, { url: `${origin}/#/events/evt-sw-1`, eventId: 'evt-sw-1' });
  assert.deepEqual(posted, { type: 'volet:push', message });
});

test('the plaintext our server pushes, as the push service hands it over, is what the worker displays', { skip }, async () => {
  const push = await PushServiceStandIn.start();
  const h = await harness({ viewerBaseUrl: origin, config: { pushServices: [push.origin] } });
  try {
    const browserSide = push.subscribe();
    h.notifier.subscribe(1, browserSide.json);
    h.notifier.setRule(1, { camera: '*', labels: ['car'] });
    await h.emitStart(personEvent({ id: 'evt-sw-2', camera: 'driveway', label: 'car' }));
    const [received] = push.receivedBy(browserSide.id);
    assert.ok(received);

    const { notification } = await deliver(received.plaintext);

    assert.equal(notification.title, 'car at driveway');
    assert.equal(notification.data.url, `${origin}/#/events/evt-sw-2`);
  } finally {
    await h.close();
    await push.close();
  }
});

test('an unreadable push still shows a neutral notification instead of failing', { skip }, async () => {
  for (const data of ['not json', 'null', '{"camera":42}']) {
    const { notification } = await deliver(data);
    assert.equal(notification.title, 'Activity at a camera', data);
    assert.deepEqual(notification.data, { url: '', eventId: '' });
  }
});
