import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesUnder, repoRoot, sharedModelsDir, waitFor } from '../support/volet-fixture.ts';

function healthz(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/healthz`, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

test("the start command (npm start) runs the demo: viewer healthy, encrypted footage written, SIGTERM stops it cleanly", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-demo-'));
  const cache = mkdtempSync('/dev/shm/volet-demo-');
  const storage = join(dir, 'storage');
  const config = join(dir, 'volet.yml');
  writeFileSync(config, `storage: { path: ${storage}, cachePath: ${cache}, segmentSeconds: 2 }\nweb: { host: 127.0.0.1, port: 0 }\n`);
  // `npm start` runs the compiled dist/: build it from the sources under test, as `npm ci` does.
  const build = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run build: ${build.stderr}`);
  // `npm start` re-raises a signal it forwards, so its own exit status is never 0 after SIGTERM:
  // run the script behind it, exactly as package.json defines it.
  const startScript = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const child = spawn('sh', ['-c', `exec ${startScript} --config ${config}`], {
    cwd: repoRoot,
    env: { ...process.env, VOLET_MODELS_DIR: sharedModelsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor('the viewer URL', () => /Viewer: (https:\/\/\S+)/.test(stdout), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${stdout}`);
    });
    assert.match(stdout, /passphrase, shown only this once:\s+\S{16,}/, 'the demo passphrase is printed once');
    const setupCode = /setup code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/.exec(stdout)?.[1];
    assert.ok(setupCode, 'the first start prints the setup code in the log');
    const shown = spawnSync(process.execPath, ['bin/volet.js', '--config', config, 'setup-code'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(shown.stdout.trim(), setupCode, `volet setup-code shows the same code ${shown.stderr}`);
    const url = /Viewer: (https:\/\/\S+)/.exec(stdout)![1];
    await waitFor('/healthz', async () => (await healthz(url)) === 200, 20_000);
    await waitFor('a first encrypted segment', () => filesUnder(storage).some((f) => /\/demo\/.*segment-.*\.volet$/.test(f)), 60_000);

    const stopAsked = Date.now();
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, `exit code 0, got ${code}\n${stdout.slice(-2000)}`);
    assert.ok(Date.now() - stopAsked < 5000, 'stops within 5 s');
    assert.deepEqual(filesUnder(storage).filter((f) => f.endsWith('.tmp') || f.endsWith('.partial')), [], 'no temp files left');
    assert.deepEqual(filesUnder(cache), [], 'no plaintext left in the RAM cache');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});
