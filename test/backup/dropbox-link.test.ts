import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDropboxServer } from '../support/backup-servers/dropbox-server.ts';
import { repoRoot, waitFor } from '../support/volet-fixture.ts';

test('volet backup dropbox-link runs the PKCE flow and prints the refresh token for volet.yml', async () => {
  const root = mkdtempSync(join(tmpdir(), 'volet-dropbox-link-'));
  const server = await startDropboxServer({ root, appKey: 'my-app', refreshToken: 'the-refresh-token' });
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'backup', 'dropbox-link', '--app-key', 'my-app', '--api-base-url', server.apiBaseUrl], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor('the authorisation address', () => /code_challenge=/.test(stderr), 20_000);
    const url = new URL(/(https:\/\/\S+)/.exec(stderr)![1]);
    assert.equal(url.searchParams.get('client_id'), 'my-app');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('token_access_type'), 'offline');
    const code = server.issueAuthorizationCode(url.searchParams.get('code_challenge')!);
    child.stdin.end(`${code}\n`);
    assert.equal(await exited, 0, stderr);
    assert.match(stdout, /DROPBOX_REFRESH_TOKEN=the-refresh-token/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await server.stop();
    rmSync(root, { recursive: true, force: true });
  }
});
