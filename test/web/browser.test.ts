import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { personWalkClip } from '../support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../support/rtsp-camera.ts';
import { ADMIN, setupCodeOf, startTestServer, VAULT_PASSPHRASE, type TestServer } from './support.ts';

const OUT = new URL('../../test-output/', import.meta.url).pathname;

let camera: RtspCamera;
let server: TestServer;
let browser: Browser;
let page: Page;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const clip = await personWalkClip();
  camera = await startRtspCamera({ mounts: { '/main': clip.path }, loop: true });
  server = await startTestServer({ https: true, clipPath: clip.path, sources: { porch: camera.url('/main') }, detect: { width: clip.width, height: clip.height } });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await camera?.stop();
});

test('first start: the setup page creates the administrator and the vault passphrase', async () => {
  await page.goto(server.url);
  await page.getByRole('heading', { name: 'Welcome to Volet' }).waitFor();
  await page.getByLabel('Setup code').fill(setupCodeOf(server));
  await page.getByLabel('Administrator name').fill(ADMIN.username);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Repeat password').fill(ADMIN.password);
  await page.getByLabel('Passphrase', { exact: true }).fill(VAULT_PASSPHRASE);
  await page.getByLabel('Repeat passphrase').fill(VAULT_PASSPHRASE);
  await page.screenshot({ path: `${OUT}web-setup.png` });
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Live' }).waitFor();
  assert.equal(server.vault.status().initialised, true);
});

test('sign out, then sign in again with the password', async () => {
  await page.goto(`${server.url}/#/account`);
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in to Volet' }).waitFor();
  await page.getByLabel('Name').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.screenshot({ path: `${OUT}web-login.png` });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Live' }).waitFor();
});

async function videoIsPlaying(p: Page, selector: string): Promise<void> {
  await p.waitForFunction((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    return v !== null && v.readyState >= 2 && v.currentTime > 0.5;
  }, selector, { timeout: 60_000 });
  const first = await p.$eval(selector, (v) => (v as HTMLVideoElement).currentTime);
  await p.waitForFunction(
    ({ sel, t }) => (document.querySelector<HTMLVideoElement>(sel)?.currentTime ?? 0) > t + 1,
    { sel: selector, t: first },
    { timeout: 30_000 },
  );
}

test('the live grid plays the RTSP camera through Media Source Extensions', async () => {
  await page.goto(`${server.url}/#/live`);
  await videoIsPlaying(page, 'video.live');
  await page.screenshot({ path: `${OUT}web-live-grid.png` });
});

test('the camera view plays live video and overlays detection boxes from the event socket', async () => {
  await page.goto(`${server.url}/#/camera/porch`);
  await videoIsPlaying(page, 'video.live');
  // The overlay's event socket opens alongside the video; emit until the box shows.
  const box = { x: 200, y: 100, width: 80, height: 200 };
  const event = { id: 'ev-live-1', camera: 'porch', label: 'person', score: 0.87, start: Date.now(), zones: [], box };
  await page.waitForFunction(() => true);
  for (let i = 0; i < 50 && (await page.locator('.box').count()) === 0; i++) {
    server.bus.emit('event:update', event);
    await page.waitForTimeout(100);
  }
  const label = await page.locator('.box span').textContent();
  assert.equal(label, 'person 87%');
  const frame = await page.locator('.frame').boundingBox();
  const drawn = await page.locator('.box').boundingBox();
  assert.ok(frame && drawn);
  assert.ok(Math.abs(drawn.x - frame.x - (frame.width * box.x) / 640) < 3, 'box x follows detect coordinates');
  await page.screenshot({ path: `${OUT}web-camera-view.png` });
  server.bus.emit('event:end', { ...event, end: Date.now() }, undefined);
  await page.locator('.box').waitFor({ state: 'detached' });
});

test('the events page shows the vault-locked state and unlocks with the passphrase', async () => {
  server.recordings.add({ id: 'ev-1', camera: 'porch', label: 'person', start: Date.now() - 60_000, end: Date.now() - 50_000 });
  server.vault.lock();
  await page.goto(`${server.url}/#/events`);
  await page.getByRole('heading', { name: /Vault locked/ }).waitFor();
  await page.screenshot({ path: `${OUT}web-events-locked.png` });
  await page.getByLabel('Recording passphrase').fill(VAULT_PASSPHRASE);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.getByRole('img', { name: 'person on porch' }).waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('.event img');
    return img !== null && img.complete && img.naturalWidth > 0;
  });
  await page.screenshot({ path: `${OUT}web-events.png` });
});

test('status, users, audit and account pages work on a phone-sized screen', async () => {
  const phone = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const p = await phone.newPage();
  p.on('pageerror', (err) => console.error('page error:', err.message));
  await p.goto(server.url);
  await p.getByLabel('Name').fill(ADMIN.username);
  await p.getByLabel('Password').fill(ADMIN.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Live' }).waitFor();
  await videoIsPlaying(p, 'video.live');
  await p.screenshot({ path: `${OUT}web-phone-live.png` });

  await p.goto(`${server.url}/#/status`);
  await p.getByRole('table', { name: 'Cameras' }).waitFor();
  await p.getByRole('heading', { name: 'Health' }).waitFor();
  assert.equal(await p.getByText('Up', { exact: true }).count(), 1, 'the health section says the box is up');
  assert.match(await p.getByRole('table', { name: 'Cameras' }).innerText(), /\d+ s ago/);
  await p.getByRole('heading', { name: 'Storage' }).waitFor();
  await p.screenshot({ path: `${OUT}web-phone-status.png`, fullPage: true });

  await p.goto(`${server.url}/#/users`);
  await p.getByRole('heading', { name: 'Add a user' }).waitFor();
  await p.getByLabel('Name').fill('vera');
  await p.getByLabel('Password').fill('vera password 1');
  await p.getByLabel('Camera porch').first().selectOption('viewer');
  await p.getByRole('button', { name: 'Add user' }).click();
  await p.getByRole('heading', { name: 'vera' }).waitFor();
  await p.screenshot({ path: `${OUT}web-phone-users.png`, fullPage: true });

  await p.goto(`${server.url}/#/audit`);
  await p.getByRole('cell', { name: 'user created' }).waitFor();
  await p.screenshot({ path: `${OUT}web-phone-audit.png`, fullPage: true });

  await p.goto(`${server.url}/#/account`);
  await p.getByRole('heading', { name: 'Two-step sign-in' }).waitFor();
  const enrol = p.getByRole('form', { name: 'Set up two-step sign-in' });
  await enrol.getByLabel('Password').fill(ADMIN.password);
  await enrol.getByRole('button', { name: 'Set up' }).click();
  await p.getByText('add an account with this key').waitFor();
  await p.screenshot({ path: `${OUT}web-phone-account.png`, fullPage: true });
  await phone.close();
});
