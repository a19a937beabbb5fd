import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startVolet } from '../../src/app/start.ts';
import { healthzUrl } from '../../src/cli/commands/health.ts';
import { parseConfig } from '../../src/config/load.ts';
import { staticClip } from '../support/clips.ts';
import { startRtspCamera } from '../support/rtsp-camera.ts';
import { initTestVault, repoRoot, tempVoletConfig, waitFor } from '../support/volet-fixture.ts';
import { Client } from '../web/support.ts';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `volet health` as the Docker HEALTHCHECK runs it, against the same config file. */
function healthCli(config: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--config', config, 'health'], { cwd: repoRoot });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

test('the health URL follows the configured scheme, host and port', () => {
  const web = (yaml: string) => parseConfig(`web: ${yaml}\n`, 'test.yml', {}).web;
  assert.equal(healthzUrl(web('{ https: false, port: 8080 }')), 'http://127.0.0.1:8080/healthz');
  assert.equal(healthzUrl(web('{}')), 'https://127.0.0.1:8443/healthz');
  assert.equal(healthzUrl(web('{ host: "::", port: 9443 }')), 'https://[::1]:9443/healthz');
  assert.equal(healthzUrl(web('{ host: 192.168.1.5, https: false, port: 80 }')), 'http://192.168.1.5:80/healthz');
});

test('a recording camera is up; when it stops delivering, health turns degraded (503) after 2 × segment length, and "volet health" says so', async () => {
  const clip = await staticClip({ seconds: 4 });
  const camera = await startRtspCamera({ mounts: { '/main': clip.path, '/sub': clip.path }, loop: true });
  const port = await freePort();
  const webYaml = `web: { host: 127.0.0.1, port: ${port}, https: false }\n`;
  const t = tempVoletConfig(`${webYaml}cameras:\n  porch:\n    main: ${camera.url('/main')}\n    sub: ${camera.url('/sub')}\n    record: { mode: continuous }\n`);
  const configFile = join(t.dir, 'volet.yml');
  writeFileSync(configFile, `storage: { path: ${t.storageDir} }\n${webYaml}`);
  await initTestVault(t.storageDir);
  const volet = await startVolet(t.config, t.logger, { webSecurity: { passwordStrength: 'minimum' } });
  const anon = new Client(volet.web!.url);
  let stopped = false;
  try {
    assert.equal((await anon.get('/api/health')).status, 401, '/api/health needs a session');
    const code = /setup code: (\S+)/.exec(t.logLines.map((l) => String(l.msg)).join('\n'))?.[1];
    assert.ok(code, 'the setup code is in the log');
    const admin = new Client(volet.web!.url);
    const setup = await admin.post('/api/setup', { setupCode: code, username: 'owner', password: 'owner password 1' });
    assert.equal(setup.status, 201, setup.text);

    let healthy: any;
    await waitFor(
      'the camera to stream and record',
      async () => {
        healthy = (await admin.get('/api/health')).json;
        const [porch] = healthy.cameras;
        return healthy.status === 'up' && porch.streaming === 'streaming' && porch.recordingAgeSeconds !== null && porch.sealedAgeSeconds !== null;
      },
      60_000,
    );
    const healthz = await anon.get('/healthz');
    assert.equal(healthz.status, 200);
    assert.deepEqual(healthz.json, { status: 'up' });
    const porch = healthy.cameras[0];
    assert.equal(porch.name, 'porch');
    assert.equal(porch.recording, 'ok');
    assert.equal(porch.streaming, 'streaming');
    assert.ok(porch.recordingAgeSeconds !== null && porch.recordingAgeSeconds <= 4, `recording age ${porch.recordingAgeSeconds}`);
    assert.deepEqual(healthy.index, { writable: true });
    assert.equal(healthy.disk.belowFloor, false);
    assert.ok(healthy.disk.freeBytes > 0 && healthy.disk.totalBytes >= healthy.disk.freeBytes);
    assert.deepEqual(healthy.vault, { initialised: true, unlocked: false });
    assert.equal(healthy.eventLoop.windowSeconds, 60);
    assert.ok(healthy.eventLoop.worstLagMs >= 0 && healthy.eventLoop.worstLagMs < 10_000, `event-loop lag ${healthy.eventLoop.worstLagMs}`);
    const cliUp = await healthCli(configFile);
    assert.equal(cliUp.code, 0, cliUp.output);
    assert.match(cliUp.output, /^up/);

    await camera.stop();
    const stoppedAt = Date.now();
    await waitFor('/healthz to say degraded', async () => (await anon.get('/healthz')).status === 503, 30_000);
    assert.deepEqual((await anon.get('/healthz')).json, { status: 'degraded' });
    const degraded = (await admin.get('/api/health')).json;
    assert.ok(degraded.problems.some((p: { code: string; camera: string }) => p.code === 'not_recording' && p.camera === 'porch'), JSON.stringify(degraded.problems));
    assert.ok(degraded.cameras[0].recordingAgeSeconds >= 4, `degraded only after 2 × the 2-s segment length: ${JSON.stringify(degraded)}`);
    assert.ok(Date.now() - stoppedAt >= 2000, 'not degraded the moment the camera stopped');
    const cliDown = await healthCli(configFile);
    assert.equal(cliDown.code, 1, cliDown.output);
    assert.match(cliDown.output, /degraded/);

    await volet.shutter.set('porch', 'closed', 'test');
    await waitFor('a closed shutter to expect no recording', async () => (await anon.get('/healthz')).status === 200, 10_000);

    await volet.stop();
    stopped = true;
    const cliGone = await healthCli(configFile);
    assert.equal(cliGone.code, 1, 'nothing listening is unhealthy');
    assert.match(cliGone.output, /unreachable/);
  } finally {
    if (!stopped) await volet.stop();
    await camera.stop();
    t.cleanup();
  }
});
