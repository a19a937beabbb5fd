import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium, type Page } from 'playwright-core';
import { startVolet } from '../../src/app/start.ts';
import { mainAndSub, personWalkClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { tempVoletConfig, waitFor } from '../support/volet-fixture.ts';

const OUT = new URL('../../test-output/', import.meta.url).pathname;
const ADMIN = { name: 'owner', password: 'owner password 1' };
const PASSPHRASE = 'viewer test passphrase';

async function videoPlays(page: Page, selector: string): Promise<void> {
  await page.waitForFunction((sel) => {
    const v = document.querySelector<HTMLVideoElement>(sel);
    return v !== null && v.readyState >= 2 && v.currentTime > 0.3;
  }, selector, { timeout: 60_000 });
  const first = await page.$eval(selector, (v) => (v as HTMLVideoElement).currentTime);
  await page.waitForFunction(({ sel, t }) => (document.querySelector<HTMLVideoElement>(sel)?.currentTime ?? 0) > t + 0.5, { sel: selector, t: first }, { timeout: 30_000 });
}

test('the whole system in a browser: setup → live view plays → a person becomes an event → its clip plays after unlocking', async () => {
  mkdirSync(OUT, { recursive: true });
  const { main, sub } = await mainAndSub(personWalkClip, { emptySeconds: 2, walkSeconds: 4, tailSeconds: 2 }, { main: { width: 960, height: 540 } });
  const camera = await startRtspCamera({ mounts: { '/main': main.path, '/sub': sub.path }, loop: true });
  const t = tempVoletConfig(
    `web: { host: 127.0.0.1, port: 0 }\n` +
      `cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: events, preRollSeconds: 2, postRollSeconds: 2 }\n`,
  );
  const volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const url = volet.web!.url;
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 800 } })).newPage();

    await page.goto(url);
    await page.getByRole('heading', { name: 'Welcome to Volet' }).waitFor();
    const setupCode = /setup code: (\S+)/.exec(t.logLines.map((line) => String(line.msg)).join('\n'))?.[1];
    assert.ok(setupCode, 'the log shows the setup code');
    await page.getByLabel('Setup code').fill(setupCode);
    await page.getByLabel('Administrator name').fill(ADMIN.name);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Repeat password').fill(ADMIN.password);
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByLabel('Repeat passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Live' }).waitFor();
    assert.ok(volet.storage.vault, 'setup created the vault and recording started');

    await page.goto(`${url}/#/camera/porch`);
    await videoPlays(page, 'video.live');
    await page.screenshot({ path: `${OUT}app-live.png` });

    // An event that ends before the recorder's first segment (it connects after setup) has no clip
    // after it: wait for one the recorder covered.
    const recorded = () =>
      volet.storage.index.allFiles().find((f) => {
        if (f.kind !== 'snapshot') return false;
        const ended = volet.storage.index.event(f.eventId!)!;
        return ended.endMs !== null && volet.storage.index.segmentsBetween('porch', ended.endMs, ended.endMs + 2000).length > 0;
      });
    await waitFor('an ended person event with its snapshot and the segments after it', () => recorded() !== undefined, 120_000);
    const event = volet.storage.index.event(recorded()!.eventId!)!;

    await page.goto(`${url}/#/events`);
    await page.getByRole('heading', { name: /Vault locked/ }).waitFor();
    await page.getByLabel('Recording passphrase').fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await page.getByRole('img', { name: 'person on porch' }).first().waitFor();
    await page.screenshot({ path: `${OUT}app-events.png` });

    await page.goto(`${url}/#/events/${event.id}`);
    await page.locator('video.clip').waitFor({ timeout: 30_000 });
    await page.$eval('video.clip', (v) => {
      const video = v as HTMLVideoElement;
      video.muted = true;
      return video.play();
    });
    await videoPlays(page, 'video.clip').catch(async (err: Error) => {
      await page.screenshot({ path: `${OUT}app-clip-failed.png` });
      const problems = t.logLines.filter((l) => l.level === 'error' || l.level === 'warn').map((l) => JSON.stringify(l));
      throw new Error(`${err.message}\n${problems.join('\n')}`);
    });
    await page.screenshot({ path: `${OUT}app-clip.png` });
  } finally {
    await browser.close();
    await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});
