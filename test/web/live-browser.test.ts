import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { h265Clip, personWalkClip } from '../support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../support/rtsp-camera.ts';
import { ADMIN, Client, setUp, startTestServer, type TestServer } from './support.ts';

const OUT = new URL('../../test-output/', import.meta.url).pathname;

let camera: RtspCamera;
let server: TestServer;
let browser: Browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const withSound = await personWalkClip({ audio: true });
  const silent = await personWalkClip();
  const hevc = await h265Clip(await personWalkClip({ emptySeconds: 1, walkSeconds: 2, tailSeconds: 1 }));
  camera = await startRtspCamera({ mounts: { '/main': withSound.path, '/silent': silent.path }, loop: true });
  server = await startTestServer({
    clipPath: withSound.path,
    sources: { porch: camera.url('/main'), garden: camera.url('/silent'), attic: pathToFileURL(hevc.path).href },
  });
  await setUp(server);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await camera?.stop();
});

interface Session {
  context: BrowserContext;
  page: Page;
  /** Console lines about the Content Security Policy. */
  csp: string[];
  /** Every URL the page requested. */
  requests: string[];
}

/** A browser context with a session cookie from a real sign-in, opened on `path`. */
async function signedIn(path: string, init?: () => void): Promise<Session> {
  const client = new Client(server.url);
  const login = await client.login(ADMIN.username, ADMIN.password);
  assert.equal(login.status, 200);
  const eq = client.cookie!.indexOf('=');
  const [name, value] = [client.cookie!.slice(0, eq), client.cookie!.slice(eq + 1)];
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  await context.addCookies([{ name, value, url: server.url }]);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const session: Session = { context, page, csp: [], requests: [] };
  page.on('pageerror', (err) => console.error('page error:', err.message));
  page.on('console', (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text())) session.csp.push(msg.text());
  });
  page.on('request', (req) => session.requests.push(req.url()));
  await page.goto(`${server.url}/#${path}`);
  return session;
}

async function playing(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const v = document.querySelector<HTMLVideoElement>('video.live');
    return v !== null && v.readyState >= 2 && v.currentTime > 0.5;
  }, undefined, { timeout: 60_000 });
}

test('a camera with sound plays live with its AAC track decoded, muted until the user unmutes it', async () => {
  const { context, page } = await signedIn('/camera/porch');
  try {
    await playing(page);
    await page.waitForFunction(
      () => (document.querySelector('video.live') as HTMLVideoElement & { webkitAudioDecodedByteCount: number }).webkitAudioDecodedByteCount > 0,
      undefined,
      { timeout: 30_000 },
    );
    assert.equal(await page.$eval('video.live', (v) => (v as HTMLVideoElement).muted), true, 'muted by default');
    await page.screenshot({ path: `${OUT}web-live-sound.png` });

    await page.getByRole('button', { name: 'Unmute' }).click();
    assert.equal(await page.$eval('video.live', (v) => (v as HTMLVideoElement).muted), false);
    await page.getByRole('button', { name: 'Mute' }).click();
    assert.equal(await page.$eval('video.live', (v) => (v as HTMLVideoElement).muted), true);

    // Nothing is remembered: the next visit starts muted again.
    await page.reload();
    await playing(page);
    assert.equal(await page.$eval('video.live', (v) => (v as HTMLVideoElement).muted), true);
  } finally {
    await context.close();
  }
});

test('a camera without sound plays, with no sound control', async () => {
  const { context, page } = await signedIn('/camera/garden');
  try {
    await playing(page);
    assert.equal(await page.locator('.frame .sound').isHidden(), true);
    assert.equal(await page.$eval('video.live', (v) => (v as HTMLVideoElement & { webkitAudioDecodedByteCount: number }).webkitAudioDecodedByteCount), 0);
  } finally {
    await context.close();
  }
});

test('an H.265 camera in a browser that cannot decode it says so plainly and stops streaming', async (t) => {
  const { context, page } = await signedIn('/camera/attic');
  try {
    const plays = await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="hev1.1.6.L93.B0"'));
    if (plays) return t.skip('this Chromium plays H.265');
    await page.getByText('This browser cannot play H.265 from attic.').waitFor({ timeout: 60_000 });
    await page.screenshot({ path: `${OUT}web-live-h265.png` });
    const deadline = Date.now() + 10_000;
    while (server.liveStreams().some((s) => s.camera === 'attic' && s.watchers > 0)) {
      assert.ok(Date.now() < deadline, 'the viewer closed its socket');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await context.close();
  }
});

/** Mean absolute difference of two same-size RGB(A) screenshots, 0–255. */
async function difference(a: Buffer, b: Buffer): Promise<number> {
  const [ra, rb] = await Promise.all([sharp(a).removeAlpha().raw().toBuffer(), sharp(b).removeAlpha().raw().toBuffer()]);
  let sum = 0;
  for (let i = 0; i < ra.length; i++) sum += Math.abs(ra[i] - rb[i]);
  return sum / ra.length;
}

test('without Media Source Extensions the MPEG-1 fallback plays on a canvas: JSMpeg from our origin, moving pictures', async () => {
  const session = await signedIn('/camera/porch', () => {
    delete (window as { MediaSource?: unknown }).MediaSource;
    delete (window as { ManagedMediaSource?: unknown }).ManagedMediaSource;
  });
  const { context, page } = session;
  try {
    assert.equal(await page.evaluate(() => 'MediaSource' in window), false);
    await page.locator('.frame[data-state="playing"] canvas.live').waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('video.live').count(), 0);
    assert.deepEqual(
      server.liveStreams().filter((s) => s.camera === 'porch').map((s) => s.format),
      ['mpeg1'],
    );

    // The person walks through the room for 6 s of every 14 s: within 20 s the picture must change.
    const canvas = page.locator('canvas.live');
    const first = await canvas.screenshot();
    const { info } = await sharp(first).raw().toBuffer({ resolveWithObject: true });
    assert.ok(info.width > 100 && info.height > 50);
    const stats = await sharp(first).stats();
    assert.ok(stats.channels[0].stdev > 10, 'the canvas shows a picture, not a blank');
    let changed = 0;
    for (let i = 0; i < 40 && changed < 2; i++) {
      await page.waitForTimeout(500);
      if ((await difference(first, await canvas.screenshot())) > 1) changed++;
    }
    assert.equal(changed, 2, 'frames change on the canvas');
    await page.screenshot({ path: `${OUT}web-live-mpeg1.png` });

    assert.ok(session.requests.some((u) => u === `${server.url}/vendor/jsmpeg.min.js`));
    assert.deepEqual(session.requests.filter((u) => !u.startsWith(`${server.url}/`)), [], 'nothing from another origin');
    assert.deepEqual(session.csp.filter((line) => /script|eval|WebAssembly/i.test(line)), [], 'JSMpeg needs neither eval nor inline script');
  } finally {
    await context.close();
  }
});
