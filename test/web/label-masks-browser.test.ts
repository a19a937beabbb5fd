import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { staticClip } from '../support/clips.ts';
import { ADMIN, setUp, startTestServer, type TestServer } from './support.ts';

const OUT = new URL('../../test-output/', import.meta.url).pathname;
const HYDRANT_BOX = { x: 400, y: 200, width: 60, height: 100 };

let server: TestServer;
let browser: Browser;
let page: Page;
const cspViolations: string[] = [];

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const clip = await staticClip({ seconds: 4 });
  server = await startTestServer({ clipPath: clip.path, detect: { width: 640, height: 360 } });
  await setUp(server);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  page.on('console', (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text())) cspViolations.push(msg.text());
  });
  await page.goto(server.url);
  await page.getByLabel('Name').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Live' }).waitFor();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('"Not a dog" on an event shows the proposed mask over the whole frame; Confirm stores it and the camera page lists it; Remove deletes it', async () => {
  server.recordings.add({ id: 'ev-hydrant', camera: 'porch', label: 'dog', start: Date.now() - 60_000, end: Date.now() - 50_000, box: HYDRANT_BOX });
  await page.goto(`${server.url}/#/event/ev-hydrant`);
  await page.getByRole('heading', { name: 'dog on porch' }).waitFor();
  await page.getByRole('button', { name: 'Not a dog' }).click();
  await page.getByRole('heading', { name: 'Not a dog: ignore dog here?' }).waitFor();

  const image = page.getByRole('img', { name: /Whole frame of the dog event on porch/ });
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('.mask-stage img');
    return img !== null && img.complete && img.naturalWidth > 0;
  });
  assert.match((await image.getAttribute('src')) ?? '', /\/api\/events\/ev-hydrant\/snapshot\?kind=frame$/);
  // The proposal (box + 15 % each side: 391,185 → 469,315 in 640×360) lands on the same spot of the shown picture
  // (within the 1-px half-stroke the bounding box includes).
  const shown = await image.boundingBox();
  const drawn = await page.locator('.mask-stage .mask-shape').boundingBox();
  assert.ok(shown && drawn);
  const near = (a: number, b: number) => Math.abs(a - b) < 3;
  assert.ok(near(drawn.x - shown.x, (shown.width * 391) / 640), `left edge: ${drawn.x - shown.x}`);
  assert.ok(near(drawn.y - shown.y, (shown.height * 185) / 360), `top edge: ${drawn.y - shown.y}`);
  assert.ok(near(drawn.width, (shown.width * 78) / 640), `width: ${drawn.width}`);
  assert.ok(near(drawn.height, (shown.height * 130) / 360), `height: ${drawn.height}`);
  await page.screenshot({ path: `${OUT}web-not-a-dog.png`, fullPage: true });

  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByText('From now on, no dog events on porch inside the outlined area.').waitFor();
  await page.getByRole('heading', { name: 'Not a dog: ignore dog here?' }).waitFor({ state: 'detached' });
  const [stored] = server.labelMasks.list('porch');
  assert.deepEqual(stored.polygon, [[391, 185], [469, 185], [469, 315], [391, 315]]);
  assert.equal(stored.eventId, 'ev-hydrant');
  assert.equal(stored.createdBy, ADMIN.username);

  await page.goto(`${server.url}/#/camera/porch`);
  const list = page.getByRole('list', { name: 'Label masks of porch' });
  await list.getByText('Not a dog').waitFor();
  assert.match(await list.innerText(), new RegExp(`by ${ADMIN.username}, `));
  assert.equal(await list.locator('.mask-preview .mask-shape').count(), 1, 'a small preview of the polygon');
  await page.screenshot({ path: `${OUT}web-label-masks.png`, fullPage: true });

  page.once('dialog', (dialog) => void dialog.accept());
  await list.getByRole('button', { name: `Remove the dog mask made by ${ADMIN.username}` }).click();
  await list.getByText('No label masks on this camera.').waitFor();
  assert.deepEqual(server.labelMasks.list(), []);
  assert.deepEqual(cspViolations, [], 'nothing the page does is refused by the Content-Security-Policy');
});

test('Cancel leaves nothing behind, and the action is not offered for an event without a box', async () => {
  await page.goto(`${server.url}/#/event/ev-hydrant`);
  await page.getByRole('button', { name: 'Not a dog' }).click();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByRole('heading', { name: 'Not a dog: ignore dog here?' }).waitFor({ state: 'detached' });
  assert.deepEqual(server.labelMasks.list(), []);

  server.recordings.add({ id: 'ev-nobox', camera: 'porch', label: 'cat', start: Date.now() - 30_000, end: Date.now() - 20_000 });
  await page.goto(`${server.url}/#/event/ev-nobox`);
  await page.getByRole('heading', { name: 'cat on porch' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Not a cat' }).count(), 0);
});
