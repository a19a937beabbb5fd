import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { createFaceEngine, type FaceEngine } from '../../src/faces/engine.ts';
import { ResidentService } from '../../src/faces/enrolment.ts';
import { FACES_DIR, FaceFiles } from '../../src/faces/face-files.ts';
import { ResidentRepository } from '../../src/faces/residents.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openDatabase, type Db } from '../../src/storage/database.ts';
import { Vault } from '../../src/vault/vault.ts';
import { residentRoutes } from '../../src/web/routes/residents.ts';
import { testImagesDir } from '../support/clips.ts';
import { TEST_KDF_LIMITS } from '../support/volet-fixture.ts';
import { ADMIN, setUp, startTestServer, type TestServer } from '../web/support.ts';

const PASSPHRASE = 'resident browser passphrase';
let dir: string;
let db: Db;
let engine: FaceEngine;
let server: TestServer;
let browser: Browser;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'volet-residents-browser-'));
  db = openDatabase(join(dir, 'volet.db'));
  const vault = await Vault.init(dir, PASSPHRASE, { limits: TEST_KDF_LIMITS });
  await vault.unlock(PASSPHRASE);
  engine = await createFaceEngine();
  const residents = new ResidentService({
    repo: new ResidentRepository(db),
    files: new FaceFiles(dir, () => vault.publicKey),
    vault: () => vault,
    engine: () => engine,
    logger: createLogger('silent'),
  });
  server = await startTestServer({
    clipPath: join(testImagesDir, '000000000632.jpg'),
    apiRoutes: [residentRoutes({ residents, enabled: true, eventFrame: async () => undefined })],
  });
  await setUp(server);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await engine?.close();
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('an administrator adds a resident, enrols a photo, sees the face and deletes the resident with it', async () => {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  page.on('pageerror', (err) => assert.fail(`page error: ${err.message}`));
  page.on('dialog', (dialog) => void dialog.accept());
  await page.goto(server.url);
  await page.getByLabel('Name').fill(ADMIN.username);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Residents' }).click();
  await page.getByRole('heading', { name: 'Residents' }).waitFor();

  const add = page.getByRole('form', { name: 'Add a resident' });
  await add.getByLabel('Name').fill('alice');
  await add.getByRole('button', { name: 'Add resident' }).click();
  const card = page.getByRole('region', { name: 'alice' });
  await card.getByText('0 faces enrolled').waitFor();

  const enrol = page.getByRole('form', { name: 'Add a face of alice' });
  await enrol.getByLabel(/Photo/).setInputFiles(join(testImagesDir, '000000001296.jpg'));
  await enrol.getByRole('button', { name: 'Add face' }).click();
  await card.getByText('1 face enrolled').waitFor({ timeout: 30_000 });
  const photo = card.getByRole('img', { name: 'Face of alice' });
  await photo.waitFor();
  assert.ok(await photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the decrypted face is shown');
  assert.equal(readdirSync(join(dir, FACES_DIR)).length, 2);

  // A photo without a face is refused with the server's message.
  await enrol.getByLabel(/Photo/).setInputFiles(join(testImagesDir, '000000000632.jpg'));
  await enrol.getByRole('button', { name: 'Add face' }).click();
  await enrol.getByRole('alert').getByText(/No face/).waitFor({ timeout: 30_000 });

  await card.getByRole('button', { name: 'Delete resident' }).click();
  await page.getByText('No resident yet.').waitFor();
  assert.equal(existsSync(join(dir, FACES_DIR)) ? readdirSync(join(dir, FACES_DIR)).length : 0, 0);
});
