import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { staticClip } from '../support/clips.ts';
import { ADMIN, Client, setUp, startTestServer, type TestServer } from './support.ts';

const OUT = new URL('../../test-output/', import.meta.url).pathname;

let server: TestServer;
let admin: Client;
let browser: Browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const clip = await staticClip({ seconds: 4 });
  server = await startTestServer({ clipPath: clip.path });
  admin = await setUp(server);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function signIn(username: string, password: string, viewport = { width: 1100, height: 900 }): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.on('pageerror', (err) => assert.fail(`page error: ${err.message}`));
  await page.goto(server.url);
  await page.getByLabel('Name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Live' }).waitFor();
  return page;
}

const grantsOf = async (username: string) =>
  ((await admin.get('/api/users')).json.users as Array<{ username: string; grants: unknown }>).find((u) => u.username === username)?.grants;

test('the users page grants rights per camera with presets and single checkboxes', async () => {
  const page = await signIn(ADMIN.username, ADMIN.password);
  await page.goto(`${server.url}/#/users`);
  const add = page.getByRole('form', { name: 'Add a user' });
  await add.waitFor();
  await add.getByLabel('Name').fill('hugo');
  await add.getByLabel('Password').fill('hugo password 1');
  // All cameras starts as "live only"; a camera left "as all cameras" shows those rights, greyed.
  assert.equal(await add.getByLabel('All cameras', { exact: true }).inputValue(), 'live');
  assert.equal(await add.getByLabel('Live on garden').isChecked(), true);
  assert.equal(await add.getByLabel('Live on garden').isDisabled(), true);
  // porch: the "everything" preset, then one right taken away makes it "chosen rights".
  await add.getByLabel('Camera porch').selectOption('viewer');
  assert.equal(await add.getByLabel('Export on porch').isChecked(), true);
  await add.getByLabel('Export on porch').uncheck();
  assert.equal(await add.getByLabel('Camera porch').inputValue(), 'custom');
  // garden: nothing at all, whatever all cameras say.
  await add.getByLabel('Camera garden').selectOption('none');
  await page.screenshot({ path: `${OUT}web-users-rights.png`, fullPage: true });
  await add.getByRole('button', { name: 'Add user' }).click();
  await page.getByRole('heading', { name: 'hugo' }).waitFor();
  assert.deepEqual(await grantsOf('hugo'), { '*': ['live'], porch: ['live', 'recordings', 'shutter'], garden: [] });

  // On hugo's card: checking one box on "no access" gives just that right; porch back to all cameras.
  const card = page.locator('li.card.user', { has: page.getByRole('heading', { name: 'hugo' }) });
  assert.equal(await card.getByLabel('Camera porch').inputValue(), 'custom');
  assert.equal(await card.getByLabel('Shutter on porch').isChecked(), true);
  await card.getByLabel('Shutter on garden').check();
  assert.equal(await card.getByLabel('Camera garden').inputValue(), 'custom');
  await card.getByLabel('Camera porch').selectOption('inherit');
  await card.getByRole('button', { name: 'Save access' }).click();
  await page.getByText('Access of hugo saved').waitFor();
  assert.deepEqual(await grantsOf('hugo'), { '*': ['live'], garden: ['shutter'] });
  await page.context().close();
});

test('a user with only the shutter right sees the camera and its switch, but no video and no events', async () => {
  const created = await admin.post('/api/users', { username: 'sam', password: 'sam password 12', grants: { porch: ['shutter'] } });
  assert.equal(created.status, 201);
  const page = await signIn('sam', 'sam password 12', { width: 390, height: 844 });
  await page.getByText('Live view is not available for this camera.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Events' }).count(), 0, 'no Events in the navigation');
  await page.goto(`${server.url}/#/camera/porch`);
  await page.getByRole('switch').waitFor();
  await page.getByRole('switch').check();
  for (let i = 0; i < 100 && server.shutter.state('porch') !== 'closed'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(server.shutter.state('porch'), 'closed');
  assert.deepEqual(server.shutter.changes.at(-1), { camera: 'porch', state: 'closed', by: 'sam' });
  await page.screenshot({ path: `${OUT}web-phone-shutter-only.png`, fullPage: true });
  await page.context().close();
});
