import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/logger.ts';
import { normaliseSetupCode, readSetupCode, SetupCodeGate, setupCodePath } from '../../src/web/auth/setup-code.ts';
import { staticClip } from '../support/clips.ts';
import { repoRoot } from '../support/volet-fixture.ts';
import { ADMIN, Client, startTestServer, VAULT_PASSPHRASE, type TestServer } from './support.ts';

const LOCKOUT_MS = 1500;

/** `volet setup-code` against a config whose storage is the server's data directory. */
function setupCodeCli(server: TestServer): { status: number | null; stdout: string; stderr: string } {
  const config = join(server.dir, 'cli.yml');
  writeFileSync(config, `storage: { path: ${server.dir} }\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', '--config', config, 'setup-code'], { cwd: repoRoot, encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const userCount = (server: TestServer) => (server.db.prepare('SELECT COUNT(*) AS n FROM web_users').get() as { n: number }).n;
const setupBody = (setupCode?: string) => ({ ...(setupCode === undefined ? {} : { setupCode }), ...ADMIN, vaultPassphrase: VAULT_PASSPHRASE });

describe('first start needs the setup code', () => {
  let server: TestServer;
  let code: string;
  before(async () => {
    server = await startTestServer({ clipPath: (await staticClip({ seconds: 4 })).path, throttle: { perIp: 3, lockoutMs: LOCKOUT_MS } });
  });
  after(() => server.stop());

  test('the code is printed on one log line, kept 0600 in the data directory and shown by "volet setup-code"', () => {
    const logged = /setup code: ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})/.exec(server.log());
    assert.ok(logged, 'the log names the setup code');
    code = logged[1];
    assert.equal(server.log().split('\n').filter((line) => line.includes(code)).length, 1, 'exactly one log line carries it');
    assert.equal(statSync(setupCodePath(server.dir)).mode & 0o777, 0o600);
    const cli = setupCodeCli(server);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout.trim(), code);
  });

  test('without a code the setup is refused (400) and no user exists', async () => {
    const res = await new Client(server.url).post('/api/setup', setupBody());
    assert.equal(res.status, 400);
    assert.match(res.json.error.message, /setupCode/);
    assert.equal(userCount(server), 0);
    assert.equal(server.vault.status().initialised, false);
  });

  test('wrong codes are refused (403), audited and throttled like logins; no user exists', async () => {
    const anon = new Client(server.url);
    for (let i = 0; i < 3; i++) {
      const res = await anon.post('/api/setup', setupBody('AAAA-BBBB-CCCC'));
      assert.equal(res.status, 403);
      assert.equal(res.json.error.code, 'wrong_setup_code');
    }
    const locked = await anon.post('/api/setup', setupBody(code));
    assert.equal(locked.status, 429, 'after 3 wrong codes even the right one waits');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    assert.equal(userCount(server), 0);
    assert.equal(server.vault.status().initialised, false);
    const audit = server.db
      .prepare("SELECT action, actor, detail FROM web_audit WHERE action IN ('login_failed', 'lockout') ORDER BY id")
      .all() as { action: string; actor: string; detail: string }[];
    assert.deepEqual(
      audit.map((a) => a.action),
      ['login_failed', 'login_failed', 'login_failed', 'lockout'],
    );
    assert.deepEqual(JSON.parse(audit[0].detail), { reason: 'setup code' });
    assert.ok(!JSON.stringify(audit).includes('AAAA-BBBB-CCCC'), 'the guessed code is not stored');
  });

  test('the right code, typed loosely, creates the administrator; the code is deleted and never accepted again', async () => {
    await new Promise((r) => setTimeout(r, LOCKOUT_MS + 100));
    const admin = new Client(server.url);
    const res = await admin.post('/api/setup', setupBody(` ${code.toLowerCase().replaceAll('-', ' ')} `));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json.user.admin, true);
    assert.equal(userCount(server), 1);
    assert.equal(existsSync(setupCodePath(server.dir)), false, 'the code file is gone');
    assert.equal(readSetupCode(server.dir), undefined);

    const again = await new Client(server.url).post('/api/setup', { ...setupBody(code), username: 'mallory' });
    assert.equal(again.status, 409);
    assert.equal(userCount(server), 1);
    const cli = setupCodeCli(server);
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /no setup code/);
  });
});

test('a restart before setup keeps the same code; once a user exists a leftover code file is removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'volet-setup-code-'));
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
  try {
    await SetupCodeGate.open(dir, true, logger);
    const first = readSetupCode(dir)!;
    const gate = await SetupCodeGate.open(dir, true, logger);
    assert.equal(readSetupCode(dir), first);
    assert.equal(lines.filter((l) => l.includes(first)).length, 2, 'printed at each start');
    assert.equal(gate.matches(first), true);
    const lastSymbol = first.at(-1)!;
    assert.equal(gate.matches(first.slice(0, -1) + (lastSymbol === '0' ? '1' : '0')), false);
    assert.equal(normaliseSetupCode('ab cd-efgh ijkm'), 'ABCD-EFGH-1JKM');
    await SetupCodeGate.open(dir, false, logger);
    assert.equal(existsSync(setupCodePath(dir)), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
