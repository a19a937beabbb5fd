/**
 * The timeline in Chromium against a whole Volet recording the RTSP test camera continuously:
 * seeking inside a segment and across a segment boundary, an event played from its marker, the
 * same instant on two cameras, a phone's touch drag, and a 30 s export checked with ffprobe.
 * TIMELINE_SCREENSHOTS=1 also writes docs/images/timeline-desktop.png and timeline-phone.png.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startVolet, type RunningVolet } from '../../src/app/start.ts';
import { mainAndSub, personWalkClip } from '../support/clips.ts';
import { startRtspCamera, type RtspCamera } from '../support/rtsp-camera.ts';
import { repoRoot, tempVoletConfig, waitFor, type TempVolet } from '../support/volet-fixture.ts';
import { Client } from './support.ts';

const run = promisify(execFile);
const OUT = new URL('../../test-output/', import.meta.url).pathname;
const ADMIN = { username: 'owner', password: 'owner password 1' };
const PASSPHRASE = 'timeline test passphrase';
const SCREENSHOTS = process.env.TIMELINE_SCREENSHOTS === '1';

let camera: RtspCamera;
let t: TempVolet;
let volet: RunningVolet;
let browser: Browser;
let admin: Client;
let url: string;

interface Timeline {
  spans: { start: number; end: number }[];
  motion: { start: number; end: number; level: number }[];
  events: { id: string; label: string; start: number; end?: number; score: number }[];
}

before(async () => {
  mkdirSync(OUT, { recursive: true });
  const { main, sub } = await mainAndSub(personWalkClip, { emptySeconds: 3, walkSeconds: 4, tailSeconds: 3 }, { main: { width: 960, height: 540 } });
  camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const cam = (name: string, fps: number) =>
    `  ${name}:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    detect: { fps: ${fps} }\n    record: { mode: continuous }\n`;
  t = tempVoletConfig(`web: { host: 127.0.0.1, port: 0, https: false }\ncameras:\n${cam('porch', 5)}${cam('garden', 1)}`);
  volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  url = volet.web!.url;
  const setupCode = /setup code: (\S+)/.exec(t.logLines.map((line) => String(line.msg)).join('\n'))?.[1];
  assert.ok(setupCode, 'the log shows the setup code');
  admin = new Client(url);
  const setup = await admin.post('/api/setup', { setupCode, ...ADMIN, vaultPassphrase: PASSPHRASE });
  assert.equal(setup.status, 201, setup.text);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

after(async () => {
  await browser?.close();
  await volet?.stop();
  await camera?.stop();
  t?.cleanup();
});

/** The page shows one local day: footage from before midnight is on yesterday's. */
function startOfToday(): number {
  return new Date().setHours(0, 0, 0, 0);
}

async function timeline(cameraName: string): Promise<Timeline> {
  const now = Date.now();
  const res = await admin.get(`/api/timeline?camera=${cameraName}&from=${now - 3_600_000}&to=${now + 60_000}`);
  assert.equal(res.status, 200, res.text);
  return res.json as Timeline;
}

async function signedIn(viewport: { width: number; height: number }, mobile = false): Promise<{ context: BrowserContext; page: Page }> {
  const eq = admin.cookie!.indexOf('=');
  const context = await browser.newContext({ viewport, isMobile: mobile, hasTouch: mobile, deviceScaleFactor: mobile ? 2 : 1 });
  await context.addCookies([{ name: admin.cookie!.slice(0, eq), value: admin.cookie!.slice(eq + 1), url }]);
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  page.on('console', (msg) => msg.type() === 'error' && console.error('console:', msg.text()));
  await page.goto(`${url}/#/timeline?camera=porch`);
  const locked = page.getByRole('heading', { name: /Vault locked/ });
  await locked.or(page.locator('.tl-surface')).first().waitFor({ timeout: 30_000 });
  if (await locked.isVisible()) {
    await page.getByLabel('Recording passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
  }
  await page.locator('video.playback[data-playback-start]').first().waitFor({ state: 'attached', timeout: 30_000 }).catch(async (err: Error) => {
    await page.screenshot({ path: `${OUT}timeline-failed.png` });
    throw new Error(`${err.message}\npage: ${await page.locator('main').innerText()}`);
  });
  return { context, page };
}

async function view(page: Page): Promise<{ from: number; to: number }> {
  const surface = page.locator('.tl-surface');
  return { from: Number(await surface.getAttribute('data-from')), to: Number(await surface.getAttribute('data-to')) };
}

/**
 * Where wall-clock `ms` is on the bar, relative to the bar's padding box (Playwright's `position`,
 * so a click lands there even when the page scrolls or reflows in between); a sideways wheel
 * moves the view first when `ms` is near its edges.
 */
async function barPosition(page: Page, ms: number, height = 0.85): Promise<{ x: number; y: number }> {
  const surface = page.locator('.tl-surface');
  let { from, to } = await view(page);
  const margin = (to - from) * 0.1;
  if (ms < from + margin || ms > to - margin) {
    const box = (await surface.boundingBox())!;
    await surface.hover();
    await page.evaluate(() => {
      const w = window as unknown as { wheels: string[] };
      w.wheels = [];
      document.addEventListener('wheel', (e) => w.wheels.push(`${(e.target as Element).className} dx=${e.deltaX} dy=${e.deltaY} x=${e.clientX} y=${e.clientY}`), { capture: true, once: true });
    });
    await page.mouse.wheel(((ms - (from + to) / 2) / (to - from)) * box.width, 0);
    await page.waitForFunction((old) => Number(document.querySelector<HTMLElement>('.tl-surface')!.dataset.from) !== old, from, { timeout: 10_000 }).catch(async (err: Error) => {
      const state = await page.evaluate(() => {
        const el = document.querySelector<HTMLElement>('.tl-surface')!;
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return { wheels: (window as unknown as { wheels: string[] }).wheels, rect: [r.left, r.top, r.width, r.height], hit: hit?.className, scrollY: window.scrollY, data: { ...el.dataset }, surfaces: document.querySelectorAll('.tl-surface').length };
      });
      throw new Error(`${err.message}: ms ${ms}, view ${from}–${to}, box ${JSON.stringify(box)}, ${JSON.stringify(state)}`);
    });
    ({ from, to } = await view(page));
  }
  assert.ok(ms > from && ms < to, `${ms} is on the bar (${from}–${to})`);
  const size = await surface.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { width: r.width, height: r.height, left: el.clientLeft, top: el.clientTop };
  });
  return { x: ((ms - from) / (to - from)) * size.width - size.left, y: size.height * height - size.top };
}

/** Clicks the bar at wall-clock `ms`. */
async function clickBar(page: Page, ms: number): Promise<void> {
  await page.locator('.tl-surface').click({ position: await barPosition(page, ms) });
}

/** Moves the mouse over the bar at wall-clock `ms`. */
async function hoverBar(page: Page, ms: number): Promise<void> {
  await page.locator('.tl-surface').hover({ position: await barPosition(page, ms) });
}

/** The point on screen of wall-clock `ms` on the bar, for drags (the page must hold still). */
async function barPoint(page: Page, ms: number, height = 0.85): Promise<{ x: number; y: number }> {
  const position = await barPosition(page, ms, height);
  const box = (await page.locator('.tl-surface').boundingBox())!;
  const border = await page.locator('.tl-surface').evaluate((el) => ({ left: el.clientLeft, top: el.clientTop }));
  return { x: box.x + border.left + position.x, y: box.y + border.top + position.y };
}

async function zoomTo(page: Page, spanMs: number): Promise<void> {
  await page.locator('.tl-surface').focus();
  for (let i = 0; i < 8; i++) {
    const surface = page.locator('.tl-surface');
    const span = Number(await surface.getAttribute('data-to')) - Number(await surface.getAttribute('data-from'));
    if (span <= spanMs) return;
    await page.keyboard.press('+');
  }
}

interface Played {
  requested: number;
  firstFrame: number;
  start: number;
}

/**
 * Waits until `video` shows frames again after a seek and has played on for `playMs` of media;
 * returns the instant asked for, the wall-clock time of the first frame shown and X-Playback-Start.
 */
async function playedFrom(page: Page, selector: string, playMs = 1500): Promise<Played> {
  const asked = Date.now();
  await page.waitForFunction((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    return v?.dataset.firstFrameAt !== undefined && !v.paused && v.readyState >= 3;
  }, selector, { timeout: 30_000 }).catch(async (err: Error) => {
    const state = await page.$eval(selector, (el) => {
      const v = el as HTMLVideoElement;
      return { ...v.dataset, paused: v.paused, readyState: v.readyState, currentTime: v.currentTime, error: v.error?.message, note: v.parentElement?.textContent };
    });
    throw new Error(`${err.message}: ${JSON.stringify(state)}`);
  });
  const played = await page.$eval(selector, (el) => {
    const v = el as HTMLVideoElement;
    return { requested: Number(v.dataset.requestedAt), firstFrame: Number(v.dataset.firstFrameAt), start: Number(v.dataset.playbackStart) };
  });
  console.log(`${selector}: playing ${played.firstFrame - played.requested} ms from the instant asked, ${Date.now() - asked} ms after the seek`);
  await page.waitForFunction(
    ({ sel, until }) => {
      const v = document.querySelector<HTMLVideoElement>(sel)!;
      return Number(v.dataset.playbackStart) + v.currentTime * 1000 > until && !v.paused;
    },
    { sel: selector, until: played.requested + playMs },
    { timeout: 30_000 },
  );
  return played;
}

/** A screenshot for the README, as a palette PNG (a quarter of the bytes). */
async function docsScreenshot(page: Page, name: string): Promise<void> {
  await sharp(await page.screenshot()).png({ palette: true, quality: 90, effort: 8 }).toFile(join(repoRoot, 'docs/images', name));
}

function assertNear(actual: number, expected: number, toleranceMs: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= toleranceMs, `${what}: ${new Date(actual).toISOString()} is within ${toleranceMs} ms of ${new Date(expected).toISOString()} (off by ${actual - expected} ms)`);
}

test('the codecs string for Media Source Extensions is read from a real fragmented MP4, in the browser', async () => {
  const { main } = await mainAndSub(personWalkClip, { emptySeconds: 3, walkSeconds: 4, tailSeconds: 3 }, { main: { width: 960, height: 540 } });
  const out = join(t.dir, 'frag.mp4');
  await run('ffmpeg', ['-v', 'error', '-i', main.path, '-t', '2', '-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-y', out]);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=level', '-of', 'csv=p=0', out]);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${url}/`);
    const head = readFileSync(out).subarray(0, 64 * 1024).toString('base64');
    const parsed = await page.evaluate(async ({ b64, module }) => {
      const { codecsOf, initSegmentEnd } = await import(module);
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const end = initSegmentEnd(bytes);
      const codecs = codecsOf(bytes.subarray(0, end));
      return { end, partial: initSegmentEnd(bytes.subarray(0, end - 1)), codecs: codecs as string[], supported: MediaSource.isTypeSupported(`video/mp4; codecs="${codecs.join(',')}"`) };
    }, { b64: head, module: '/js/timeline/mp4-codecs.js' });
    assert.ok(parsed.end > 0, 'the moov box is found');
    assert.equal(parsed.partial, -1, 'an incomplete moov is not taken for an init segment');
    assert.equal(parsed.codecs.length, 1);
    assert.match(parsed.codecs[0], /^avc1\.[0-9a-f]{6}$/);
    assert.equal(parseInt(parsed.codecs[0].slice(-2), 16), Number(stdout.trim()), `the level in ${parsed.codecs[0]} is ffprobe's`);
    assert.equal(parsed.supported, true);
  } finally {
    await context.close();
  }
});

test('the timeline plays recorded footage from any instant, an event from its marker, both cameras at once, and exports 30 s', async () => {
  await waitFor('a minute of footage with a person event that has ended', async () => {
    const recorded = volet.storage.index.segmentTimes('porch', startOfToday(), Date.now());
    const seconds = recorded.reduce((sum, [a, b]) => sum + (b - a), 0) / 1000;
    const startsInside = (ms: number) => recorded.length > 0 && ms >= recorded[0][0] + 1000 && recorded.some(([a, b]) => ms >= a && ms < b);
    return seconds >= 60 && volet.storage.index.events({ camera: 'porch' }).some((e) => e.endMs !== null && startsInside(e.startMs));
  }, 240_000).catch((err: Error) => {
    const recorded = volet.storage.index.segmentTimes('porch', startOfToday(), Date.now()).length;
    const events = volet.storage.index.events({ camera: 'porch' }).map((e) => `${e.startMs}–${e.endMs}`);
    throw new Error(`${err.message}: ${recorded} segments, events ${events.join(', ')}`);
  });
  const segments = volet.storage.index.segmentsBetween('porch', startOfToday(), Date.now()).sort((a, b) => a.startMs - b.startMs);
  assert.ok(segments.length >= 20);

  const { context, page } = await signedIn({ width: 1200, height: 860 });
  try {
    const porch = await timeline('porch'); // the page unlocked the vault: events have their labels
    assert.ok(porch.spans.length >= 1, 'recorded spans');
    await zoomTo(page, 5 * 60_000);

    // Inside a segment: 60 % of the way through one, away from its keyframe.
    const inside = segments[Math.floor(segments.length / 3)];
    const insideTarget = inside.startMs + 0.6 * (inside.endMs - inside.startMs);
    await clickBar(page, insideTarget);
    const a = await playedFrom(page, 'video.playback');
    assertNear(a.requested, insideTarget, 500, 'the click asks for the instant under the pointer');
    assertNear(a.firstFrame, a.requested, 1000, 'first frame shown after seeking inside a segment');
    assert.ok(a.start <= a.requested, 'the stream starts at or before the instant');

    // Across a boundary: half a second before one segment ends, played on into the next.
    const boundary = segments[Math.floor((segments.length * 2) / 3)].endMs;
    await clickBar(page, boundary - 500);
    const b = await playedFrom(page, 'video.playback', 2500);
    assertNear(b.requested, boundary - 500, 500, 'the click asks for the instant under the pointer');
    assertNear(b.firstFrame, b.requested, 1000, 'first frame shown before a segment boundary');
    assert.ok(b.requested < boundary, 'playback started before the boundary and played 2 s past it');

    // An event from its marker.
    const recorded = (ms: number) => porch.spans.some((s) => ms >= s.start + 1000 && ms < s.end - 3000);
    const event = porch.events.find((e) => e.end !== undefined && recorded(e.start))!;
    assert.ok(event, 'the timeline lists an event inside recorded time');
    // Markers a few seconds apart overlap at 5 min: the wheel zooms in around the pointer.
    await hoverBar(page, event.start);
    for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -100);
    await page.waitForFunction(() => {
      const s = document.querySelector<HTMLElement>('.tl-surface')!.dataset;
      return Number(s.to) - Number(s.from) <= 60_000;
    });
    const marker = page.locator(`.tl-event[data-id="${event.id}"]`);
    assert.match((await marker.getAttribute('aria-label'))!, new RegExp(`^Play ${event.label} at `));
    await marker.click();
    const c = await playedFrom(page, 'video.playback');
    assert.equal(c.requested, event.start, 'the marker asks for the event start');
    assertNear(c.firstFrame, event.start, 1000, 'first frame shown from the event marker');
    await page.locator('.tl-surface').focus();
    await page.keyboard.press('-');
    assert.equal((await view(page)).to - (await view(page)).from, 5 * 60_000, '− zooms out to the next level');

    // Keyboard: shift+→ next event, ← 10 s back, space pauses and plays; then 4× speed.
    await page.locator('.tl-surface').focus();
    await page.keyboard.press('Shift+ArrowRight');
    const next = await playedFrom(page, 'video.playback', 500);
    assert.ok(next.requested > event.start && porch.events.some((e) => e.start === next.requested), 'shift+→ plays the next event');
    const wall = () => page.$eval('video.playback', (v) => Number((v as HTMLVideoElement).dataset.playbackStart) + (v as HTMLVideoElement).currentTime * 1000);
    const beforeBack = await wall();
    await page.keyboard.press('ArrowLeft');
    const back = await playedFrom(page, 'video.playback', 500);
    assertNear(back.requested, beforeBack - 10_000, 800, '← goes 10 s back');
    await page.keyboard.press(' ');
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>('video.playback')!.paused);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => !document.querySelector<HTMLVideoElement>('video.playback')!.paused);
    await page.getByLabel('Speed').selectOption('4');
    const [w0, r0] = [await wall(), Date.now()];
    await page.waitForTimeout(2000);
    const speedup = (await wall() - w0) / (Date.now() - r0);
    assert.ok(speedup > 3, `4× plays ${speedup.toFixed(1)}× as fast as real time`);
    await page.getByLabel('Speed').selectOption('1');

    // Scrubbing over an event shows its time and its snapshot.
    await page.keyboard.press('Shift+ArrowLeft');
    await hoverBar(page, event.start);
    await page.locator('.tl-tip-img').waitFor();
    assert.ok(await page.locator('.tl-tip-img').evaluate((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), 'the snapshot loaded');
    assert.match(await page.locator('.tl-tip-time').innerText(), /^\d\d:\d\d:\d\d$/);
    await page.evaluate(() => window.scrollTo(0, 0));
    await hoverBar(page, event.start);
    await page.locator('.tl-tip-img').waitFor();
    await page.screenshot({ path: `${OUT}timeline-desktop.png` });
    if (SCREENSHOTS) await docsScreenshot(page, 'timeline-desktop.png');
    await page.getByText('Keyboard shortcuts').click();
    assert.match(await page.locator('.tl-help').innerText(), /Shift \+ ← \/ →\s+previous \/ next event/);

    // Both cameras at the same instant.
    const single = await view(page);
    await page.getByRole('button', { name: 'All cameras' }).click();
    await page.locator('video.playback[data-camera="garden"][data-playback-start]').waitFor({ state: 'attached', timeout: 30_000 });
    const multi = await view(page);
    assert.equal(multi.to - multi.from, single.to - single.from, 'all cameras keeps the zoom');
    await clickBar(page, insideTarget);
    const [pPorch, pGarden] = [await playedFrom(page, 'video.playback[data-camera="porch"]'), await playedFrom(page, 'video.playback[data-camera="garden"]')];
    assert.equal(pGarden.requested, pPorch.requested, 'both cameras were asked for the same instant');
    assertNear(pGarden.firstFrame, pPorch.requested, 1000, 'garden shows the instant');
    assertNear(pPorch.firstFrame, pPorch.requested, 1000, 'porch shows the instant');
    await page.screenshot({ path: `${OUT}timeline-multi.png` });
    await page.getByRole('button', { name: 'All cameras' }).click();

    // Export a 30 s range drawn on the bar.
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const exportFrom = segments[2].startMs + 700;
    const [s, e] = [await barPoint(page, exportFrom, 0.5), await barPoint(page, exportFrom + 30_000, 0.5)];
    const posted = page.waitForRequest((r) => r.url().endsWith('/api/exports') && r.method() === 'POST');
    await page.mouse.move(s.x, s.y);
    await page.mouse.down();
    await page.mouse.move(e.x, e.y, { steps: 6 });
    await page.mouse.up();
    await page.getByRole('button', { name: 'Export MP4' }).click();
    const range = (await posted).postDataJSON() as { camera: string; from: number; to: number };
    assert.equal(range.camera, 'porch');
    assertNear(range.to - range.from, 30_000, 700, 'the range drawn is 30 s');
    const link = page.getByRole('link', { name: 'Download MP4' });
    await link.waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('.tl-export progress').evaluate((p) => (p as HTMLProgressElement).value), 100);
    const href = (await link.getAttribute('href'))!;
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = join(t.dir, 'export.mp4');
    await download.saveAs(file);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    const seconds = Number(stdout.trim());
    console.log(`export: ${seconds} s for a ${(range.to - range.from) / 1000} s range`);
    assert.ok(Math.abs(seconds - (range.to - range.from) / 1000) <= 1, `the MP4 lasts ${seconds} s for a ${(range.to - range.from) / 1000} s range`);
    assert.ok([404, 410].includes((await admin.get(href)).status), 'the export is gone from Volet after its download');
  } finally {
    await context.close();
  }
});

test('on a phone the page fits 390 px, and a touch drag on the bar scrubs and plays from where it stops', async () => {
  const { context, page } = await signedIn({ width: 390, height: 844 }, true);
  try {
    for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Zoom in' }).tap();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling');
    const box = (await page.locator('.tl-surface').boundingBox())!;
    assert.ok(box.width >= 340, 'the bar spans the screen');

    const segments = volet.storage.index.segmentsBetween('porch', startOfToday(), Date.now()).sort((a, b) => a.startMs - b.startMs);
    const target = segments[Math.floor(segments.length / 2)].startMs + 900;
    const end = await barPoint(page, target, 0.8);
    const startX = Math.max(box.x + 5, end.x - 120);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [{ x: startX, y: end.y }] });
    for (let i = 1; i <= 6; i++) {
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [{ x: startX + ((end.x - startX) * i) / 6, y: end.y }] });
    }
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    const played = await playedFrom(page, 'video.playback');
    const pxMs = (Number(await page.locator('.tl-surface').getAttribute('data-to')) - Number(await page.locator('.tl-surface').getAttribute('data-from'))) / box.width;
    assertNear(played.requested, target, pxMs * 2 + 50, 'the drag ends on the instant under the finger');
    assertNear(played.firstFrame, played.requested, 1000, 'first frame shown after a touch drag');
    await page.screenshot({ path: `${OUT}timeline-phone.png` });
    if (SCREENSHOTS) await docsScreenshot(page, 'timeline-phone.png');

    // The day before has no footage; the next day button comes back to today's.
    await page.getByRole('button', { name: 'Previous day' }).tap();
    await page.getByText(/^Nothing was recorded on porch on \d{4}-\d{2}-\d{2}\.$/).waitFor();
    assert.equal(await page.locator('video.playback').getAttribute('src'), null, 'nothing plays on an empty day');
    await page.getByRole('button', { name: 'Next day' }).tap();
    await page.locator('video.playback[data-playback-start]').waitFor({ state: 'attached' });
  } finally {
    await context.close();
  }
});
