import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/volet-fixture.ts';

// The other tests run the TypeScript sources through tsx; these run what `npm ci` builds and users start.
const volet = (...args: string[]) => spawnSync(process.execPath, ['bin/volet.js', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
const fromDist = (module: string) => import(pathToFileURL(join(repoRoot, 'dist', module)).href);

before(() => {
  const build = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  assert.equal(build.status, 0, `npm run build: ${build.stderr}`);
});

// Node 20 cannot load a .ts file without a loader: an import left pointing at src/ fails here.
test('the built CLI answers --help with every command', () => {
  const help = volet('--help');
  assert.equal(help.status, 0, help.stderr);
  for (const command of ['run', 'config', 'vault', 'verify', 'export', 'shutter', 'backup', 'health', 'setup-code', 'models']) {
    assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `--help lists ${command}`);
  }
});

test('--help loads only the CLI and commander: each command imports the rest when it runs', () => {
  // A resolve hook lists every module the process loads.
  const hook = `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }`;
  const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, 'bin/volet.js', '--help'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const loaded = [...run.stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1]);
  assert.ok(loaded.some((url) => url.endsWith('/dist/cli/commands/run.js')), `the hook saw the CLI load: ${loaded.join(' ')}`);
  const root = pathToFileURL(repoRoot).href;
  const beyond = loaded.filter((url) => !url.startsWith('node:') && !/\/(bin\/volet\.js|dist\/cli\/.*|node_modules\/commander\/.*)$/.test(url.slice(root.length - 1)));
  assert.deepEqual(beyond, []);
});

test('the built CLI checks a configuration file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-dist-'));
  try {
    const config = join(dir, 'volet.yml');
    writeFileSync(config, `cameras: { porch: { main: 'rtsp://127.0.0.1:8554/main' } }\nstorage: { path: ${join(dir, 'storage')} }\n`);
    const ok = volet('--config', config, 'config', 'check');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'Config OK: 1 camera(s) (porch)\n');

    writeFileSync(config, `cameras: { porch: { main: 'not a url' } }\n`);
    const invalid = volet('--config', config, 'config', 'check');
    assert.notEqual(invalid.status, 0);
    assert.match(invalid.stderr, /cameras\.porch\.main/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files found relative to the compiled modules exist: viewer, service worker, ffmpeg guard, model manifest', async () => {
  const { WEB_ROOT } = await fromDist('web/static.js');
  assert.ok(readFileSync(join(WEB_ROOT, 'index.html'), 'utf8').length > 0);
  const { SERVICE_WORKER_PATH } = await fromDist('notify/service-worker.js');
  assert.equal(readFileSync(SERVICE_WORKER_PATH, 'utf8'), readFileSync(join(repoRoot, 'src/notify/sw.js'), 'utf8'));
  const { GUARDED_FFMPEG } = await fromDist('process/child-lifetime.js');
  assert.ok(GUARDED_FFMPEG.startsWith(join(repoRoot, 'dist')));
  accessSync(GUARDED_FFMPEG, constants.X_OK);
  const { modelManifest } = await fromDist('detect/models.js');
  assert.ok(modelManifest().some((entry: { name: string }) => entry.name === 'yolox_nano'));
});
