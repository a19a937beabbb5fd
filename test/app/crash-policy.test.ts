import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRASH_EXIT_CODE } from '../../src/app/crash-policy.ts';
import { repoRoot } from '../support/volet-fixture.ts';

/** Runs a script that installs the crash policy around a `stop` and then fails the way `failure` says. */
async function crash(stop: string, failure: string): Promise<{ code: number | null; ms: number; lines: Record<string, any>[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'volet-crash-'));
  const script = join(dir, 'crash.ts');
  writeFileSync(
    script,
    `import { installCrashPolicy } from ${JSON.stringify(join(repoRoot, 'src/app/crash-policy.ts'))};\n` +
      `import { createLogger } from ${JSON.stringify(join(repoRoot, 'src/log/logger.ts'))};\n` +
      `const logger = createLogger('info');\n` +
      `installCrashPolicy({ logger, graceMs: 1500, stop: async () => { ${stop} } });\n` +
      `setInterval(() => {}, 1000); // a running Volet keeps the event loop busy\n` +
      `setTimeout(() => { ${failure} }, 50);\n`,
  );
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
  const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  return { code, ms: Date.now() - started, lines };
}

test('an unhandled exception: one fatal line without credentials, children stopped, exit code 70 for the supervisor', async () => {
  const { code, lines } = await crash(`logger.info('children stopped');`, `throw new Error('lost rtsp://admin:hunter2@192.0.2.1/stream');`);
  assert.equal(code, CRASH_EXIT_CODE);
  const fatal = lines.filter((l) => l.level === 'fatal');
  assert.equal(fatal.length, 1);
  assert.equal(fatal[0].origin, 'uncaughtException');
  assert.equal(fatal[0].error.name, 'Error');
  assert.match(fatal[0].error.message, /rtsp:\/\/admin:\*\*\*@192\.0\.2\.1/);
  assert.ok(!JSON.stringify(lines).includes('hunter2'), 'the password is not logged');
  assert.ok(lines.some((l) => l.msg === 'children stopped'), 'stop() ran before the exit');
});

test('an unhandled rejection is treated the same way', async () => {
  const { code, lines } = await crash(`logger.info('children stopped');`, `void Promise.reject(new TypeError('boom'));`);
  assert.equal(code, CRASH_EXIT_CODE);
  assert.deepEqual(
    lines.filter((l) => l.level === 'fatal').map((l) => [l.origin, l.error.name, l.error.message]),
    [['unhandledRejection', 'TypeError', 'boom']],
  );
  assert.ok(lines.some((l) => l.msg === 'children stopped'));
});

test('a stop that hangs or fails does not keep a broken Volet alive', async () => {
  const hanging = await crash(`await new Promise(() => {});`, `throw new Error('boom');`);
  assert.equal(hanging.code, CRASH_EXIT_CODE);
  assert.ok(hanging.ms < 10_000, `exited after the grace period (${hanging.ms} ms)`);
  const failing = await crash(`throw new Error('stop failed too');`, `throw new Error('boom');`);
  assert.equal(failing.code, CRASH_EXIT_CODE);
  assert.ok(failing.lines.some((l) => l.level === 'error' && l.error.message === 'stop failed too'));
});
