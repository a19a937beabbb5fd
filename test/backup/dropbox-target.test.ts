import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createTarget } from '../../src/backup/create-target.ts';
import { httpHeaderSafeJson } from '../../src/backup/dropbox-api.ts';
import { createPkcePair, dropboxAuthorizeUrl, exchangeDropboxCode } from '../../src/backup/dropbox-auth.ts';
import { DROPBOX_HASH_BLOCK_SIZE, dropboxContentHash } from '../../src/backup/dropbox-content-hash.ts';
import { BackupTargetError } from '../../src/backup/target.ts';
import { startDropboxServer, type DropboxTestServer } from '../support/backup-servers/dropbox-server.ts';
import { fileSize } from '../support/backup-servers/wait.ts';
import { checkAbortedUploadLeavesNoFinalName, checkInterruptedUploadCompletesLater, checkRoundTrip, checkUnsafeNamesRejected, checkWrongCredentials, writeLocalFile } from './target-contract.ts';

const APP_KEY = 'volet-app-key';
const REFRESH_TOKEN = 'refresh-token-secret-value';
let scratch: string;
let root: string;
let server: DropboxTestServer;

const target = (overrides: Record<string, unknown> = {}) =>
  createTarget('dropbox', {
    type: 'dropbox',
    url: 'dropbox:///Volet Backups',
    appKey: APP_KEY,
    refreshToken: REFRESH_TOKEN,
    chunkSizeBytes: 100 * 1024,
    apiBaseUrl: server.apiBaseUrl,
    contentBaseUrl: server.contentBaseUrl,
    ...overrides,
  });

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'volet-dropbox-test-'));
  root = join(scratch, 'server');
  await mkdir(root);
  server = await startDropboxServer({ root, appKey: APP_KEY, refreshToken: REFRESH_TOKEN, pageSize: 2 });
});

after(async () => {
  await server.stop();
  await rm(scratch, { recursive: true, force: true });
});

test('Dropbox: files round-trip byte for byte, large ones through an upload session', async () => {
  server.calls.length = 0;
  await checkRoundTrip(target(), join(scratch, 'round-trip'));
  assert.ok(server.calls.includes('2/files/upload'), 'small files use files/upload');
  assert.ok(server.calls.includes('2/files/upload_session/append_v2'), 'large files use an upload session');
  assert.ok(server.calls.includes('2/files/list_folder/continue'), 'listings follow has_more');
  assert.equal(server.calls.filter((call) => call === 'oauth2/token').length, 1, 'the access token is cached');
});

test('Dropbox: stat reports the content_hash, which matches dropboxContentHash of the local file', async () => {
  const dropbox = target();
  const local = join(scratch, 'hash', 'five-mib.volet');
  await writeLocalFile(local, 5 * 1024 * 1024 + 3);
  await dropbox.put('hash/five-mib.volet', local);
  const remote = await dropbox.stat('hash/five-mib.volet');
  assert.equal(remote?.contentHash, await dropboxContentHash(local));
  assert.equal(remote?.contentHash, await dropbox.contentHashOf?.(local));
});

test('Dropbox: content_hash is SHA-256 over the SHA-256 of each 4 MiB block', async () => {
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
  const dir = join(scratch, 'vectors');
  await mkdir(dir, { recursive: true });
  for (const size of [0, 1, DROPBOX_HASH_BLOCK_SIZE, DROPBOX_HASH_BLOCK_SIZE + 1, 2 * DROPBOX_HASH_BLOCK_SIZE]) {
    const data = randomBytes(size);
    const blocks: Buffer[] = [];
    for (let offset = 0; offset < size; offset += DROPBOX_HASH_BLOCK_SIZE) {
      blocks.push(sha256(data.subarray(offset, offset + DROPBOX_HASH_BLOCK_SIZE)));
    }
    await writeFile(join(dir, `${size}.bin`), data);
    assert.equal(await dropboxContentHash(join(dir, `${size}.bin`)), sha256(Buffer.concat(blocks)).toString('hex'), `${size} bytes`);
  }
});

test('Dropbox: non-ASCII names travel in Dropbox-API-Arg as \\u escapes', async () => {
  assert.equal(httpHeaderSafeJson({ path: '/Entrée/été✓' }), '{"path":"/Entr\\u00e9e/\\u00e9t\\u00e9\\u2713"}');
  const dropbox = target();
  const local = join(scratch, 'unicode.volet');
  const bytes = await writeLocalFile(local, 1000);
  await dropbox.put('entrée/caméra-été.volet', local);
  await dropbox.get('entrée/caméra-été.volet', join(scratch, 'unicode-copy.volet'));
  assert.ok((await readFile(join(scratch, 'unicode-copy.volet'))).equals(bytes));
  assert.ok((await dropbox.list('entrée/')).some((file) => file.name === 'entrée/caméra-été.volet'));
});

test('Dropbox: an expired access token is refreshed and the call retried', async () => {
  const dropbox = target();
  await dropbox.list();
  server.expireAccessTokens();
  server.calls.length = 0;
  assert.ok(Array.isArray(await dropbox.list()));
  assert.deepEqual(server.calls.slice(0, 3), ['2/files/list_folder', 'oauth2/token', '2/files/list_folder']);
});

test('Dropbox: unsafe remote names are rejected', async () => {
  const local = join(scratch, 'unsafe.volet');
  await writeFile(local, 'x');
  await checkUnsafeNamesRejected(target(), local);
});

test('Dropbox: a revoked refresh token is refused with the target named and the token nowhere', async () => {
  await checkWrongCredentials(target({ refreshToken: 'revoked-refresh-token' }), 'revoked-refresh-token');
});

test('Dropbox: PKCE helpers build the authorize URL and exchange the code for a refresh token', async () => {
  const { codeVerifier, codeChallenge } = createPkcePair();
  assert.match(codeVerifier, /^[A-Za-z0-9_-]{43,128}$/);
  const url = new URL(dropboxAuthorizeUrl(APP_KEY, codeChallenge, 'http://127.0.0.1:8080/backup/dropbox', { state: 'xyz' }));
  assert.equal(url.origin + url.pathname, 'https://www.dropbox.com/oauth2/authorize');
  assert.equal(url.searchParams.get('client_id'), APP_KEY);
  assert.equal(url.searchParams.get('response_type'), 'code');
  assert.equal(url.searchParams.get('code_challenge'), codeChallenge);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('token_access_type'), 'offline');
  assert.equal(url.searchParams.get('state'), 'xyz');

  const redirectUri = 'http://127.0.0.1:8080/backup/dropbox';
  const code = server.issueAuthorizationCode(codeChallenge, redirectUri);
  const tokens = await exchangeDropboxCode({ appKey: APP_KEY, code, codeVerifier, redirectUri, apiBaseUrl: server.apiBaseUrl });
  assert.equal(tokens.refreshToken, REFRESH_TOKEN);
  assert.ok(tokens.accessToken.length > 0);
  assert.ok(tokens.expiresAtMs > Date.now());

  const reused = exchangeDropboxCode({ appKey: APP_KEY, code, codeVerifier, redirectUri, apiBaseUrl: server.apiBaseUrl });
  await assert.rejects(reused, /invalid_grant/);
  const forged = server.issueAuthorizationCode(codeChallenge, redirectUri);
  await assert.rejects(
    exchangeDropboxCode({ appKey: APP_KEY, code: forged, codeVerifier: `${codeVerifier}x`, redirectUri, apiBaseUrl: server.apiBaseUrl }),
    /invalid_grant/,
  );
});

test('Dropbox: an aborted upload session rejects as aborted and commits nothing', async () => {
  const before = server.receivedBytes;
  await checkAbortedUploadLeavesNoFinalName({
    target: target({ chunkSizeBytes: 1024 * 1024 }),
    scratch: join(scratch, 'aborted'),
    uploadStarted: async () => server.receivedBytes > before,
    finalExists: async (name) => (await fileSize(join(root, 'Volet Backups', name))) >= 0,
  });
});

test('Dropbox: an upload cut off by a server crash is never marked done and completes after restart', async () => {
  let receivedAtStart = 0;
  await checkInterruptedUploadCompletesLater({
    target: target({ chunkSizeBytes: 1024 * 1024 }),
    scratch: join(scratch, 'interrupted'),
    uploadStarted: async () => {
      receivedAtStart ||= server.receivedBytes || 1;
      return server.receivedBytes - receivedAtStart > 256 * 1024;
    },
    finalExists: async (name) => (await fileSize(join(root, 'Volet Backups', name))) >= 0,
    stopServer: () => server.stop(),
    restartServer: () => server.restart(),
  });
});

test('Dropbox: an unreachable API is reported as unavailable, not as a credential problem', async () => {
  const dropbox = target({ apiBaseUrl: 'http://127.0.0.1:9', contentBaseUrl: 'http://127.0.0.1:9' });
  const error = await dropbox.list().catch((caught: unknown) => caught);
  assert.ok(error instanceof BackupTargetError);
  assert.equal(error.kind, 'unavailable');
});

test('Dropbox stand-in: refuses what Dropbox refuses, so the tests above mean something', async () => {
  const token = (await (
    await fetch(`${server.apiBaseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: REFRESH_TOKEN, client_id: APP_KEY }).toString(),
    })
  ).json()) as { access_token: string };
  const auth = { Authorization: `Bearer ${token.access_token}` };
  const upload = (headers: Record<string, string>) =>
    fetch(`${server.contentBaseUrl}/2/files/upload`, { method: 'POST', headers: { ...auth, ...headers }, body: 'x' });
  const rpc = (endpoint: string, body: unknown) =>
    fetch(`${server.apiBaseUrl}/2/${endpoint}`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  assert.equal((await upload({ 'Content-Type': 'text/plain', 'Dropbox-API-Arg': '{"path":"/a"}' })).status, 400);
  assert.equal((await upload({ 'Content-Type': 'application/octet-stream', 'Dropbox-API-Arg': '{"path":"/caf\u00e9"}' })).status, 400);
  assert.equal((await upload({ 'Content-Type': 'application/octet-stream', 'Dropbox-API-Arg': '{"path":' })).status, 400);
  assert.equal((await upload({ 'Content-Type': 'application/octet-stream', 'Dropbox-API-Arg': '{"path":"/a","bogus":1}' })).status, 400);
  assert.equal((await rpc('files/list_folder', { path: '/' })).status, 400, 'the root is "", not "/"');
  assert.equal((await rpc('files/get_metadata', { path: '/nope' })).status, 409);
  const expired = await fetch(`${server.apiBaseUrl}/2/files/list_folder`, {
    method: 'POST',
    headers: { Authorization: 'Bearer made-up', 'Content-Type': 'application/json' },
    body: '{"path":""}',
  });
  assert.equal(expired.status, 401);
});
