import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../src/app/storage.ts';
import { keyFilePath } from '../../src/vault/keyfile.ts';
import { Vault } from '../../src/vault/vault.ts';
import { SetupCodeGate, setupCodePath } from '../../src/web/auth/setup-code.ts';
import { loadTlsMaterial } from '../../src/web/tls.ts';
import { initTestVault, TEST_KDF_LIMITS, TEST_PASSPHRASE, tempVoletConfig } from '../support/volet-fixture.ts';

// The most permissive umask: every mode below comes from Volet, none from the environment.
process.umask(0o000);

const modeOf = (path: string) => `0${(statSync(path).mode & 0o777).toString(8)}`;

/** The files that hold secrets in a storage directory, and the mode each must have. */
function secretFiles(storageDir: string): Record<string, string> {
  const db = join(storageDir, 'volet.db');
  return {
    [storageDir]: '0700',
    [db]: '0600',
    [`${db}-wal`]: '0600',
    [`${db}-shm`]: '0600',
    [keyFilePath(storageDir)]: '0600',
    [join(storageDir, 'web-key.pem')]: '0600',
    [setupCodePath(storageDir)]: '0600',
  };
}

/** Opens the storage the way `volet run` does, plus the web certificate kept beside it. */
async function openLikeVolet(t: ReturnType<typeof tempVoletConfig>) {
  const storage = await openStorage(t.config, t.logger);
  storage.db.prepare('CREATE TABLE IF NOT EXISTS probe (x)').run();
  storage.db.prepare('INSERT INTO probe VALUES (1)').run();
  await loadTlsMaterial({ dataDir: storage.dir, logger: t.logger });
  await SetupCodeGate.open(storage.dir, true, t.logger);
  return storage;
}

test('a new storage directory, its index (with -wal and -shm), vault key and web key are private even with umask 000', async (ctx) => {
  const t = tempVoletConfig('');
  ctx.after(() => t.cleanup());
  const storage = await openLikeVolet(t);
  await initTestVault(storage.dir);
  const files = secretFiles(storage.dir);
  for (const path of Object.keys(files)) assert.ok(existsSync(path), `${path} exists`);
  assert.deepEqual(Object.fromEntries(Object.keys(files).map((p) => [p, modeOf(p)])), files);
  await storage.close();
  assert.deepEqual(
    t.logLines.filter((l) => String(l.msg).includes('mode tightened')),
    [],
    'nothing to tighten on a fresh directory',
  );
});

test('files and the directory left with loose modes are tightened when storage opens, and each is logged', async (ctx) => {
  const t = tempVoletConfig('');
  ctx.after(() => t.cleanup());
  const first = await openLikeVolet(t);
  await initTestVault(first.dir);
  const files = secretFiles(first.dir);
  // Loosened as an older version or a copy would leave them. The first connection stays open, as
  // after a crash, so that -wal and -shm exist (a clean close removes them).
  for (const path of Object.keys(files)) chmodSync(path, path === first.dir ? 0o755 : 0o644);

  const second = await openLikeVolet(t);
  ctx.after(async () => {
    await second.close();
    await first.close();
  });
  assert.ok(second.vault, 'the vault opened');
  assert.deepEqual(Object.fromEntries(Object.keys(files).map((p) => [p, modeOf(p)])), files);
  const logged = t.logLines.filter((l) => String(l.msg).includes('mode tightened'));
  for (const path of Object.keys(files).filter((p) => p !== setupCodePath(first.dir))) {
    const line = logged.find((l) => l.path === path);
    assert.ok(line, `tightening ${path} is logged`);
    assert.equal(line.level, 'warn');
    assert.match(String(line.from), /^0(755|644)$/);
  }
});

test('a vault created on its own (volet vault init) gets a private directory, and a stale loose temp file does not loosen vault.json', async (ctx) => {
  const t = tempVoletConfig('');
  ctx.after(() => t.cleanup());
  const dir = join(t.dir, 'fresh', 'storage');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(`${keyFilePath(dir)}.tmp`, 'left by a crash', { mode: 0o666 });
  await Vault.init(join(t.dir, 'other', 'storage'), TEST_PASSPHRASE, { limits: TEST_KDF_LIMITS });
  await Vault.init(dir, TEST_PASSPHRASE, { limits: TEST_KDF_LIMITS });
  assert.equal(modeOf(join(t.dir, 'other', 'storage')), '0700');
  assert.equal(modeOf(join(t.dir, 'other')), '0700', 'parents it creates too');
  assert.equal(modeOf(keyFilePath(dir)), '0600');
});

test("the user's own web.key readable by others is reported, not changed (it may be managed by certbot)", async (ctx) => {
  const t = tempVoletConfig('');
  ctx.after(() => t.cleanup());
  const generated = await loadTlsMaterial({ dataDir: join(t.dir, 'generated'), logger: t.logger });
  const [cert, key] = [join(t.dir, 'cert.pem'), join(t.dir, 'key.pem')];
  writeFileSync(cert, generated.cert, { mode: 0o644 });
  writeFileSync(key, generated.key, { mode: 0o644 });
  await loadTlsMaterial({ cert, key, dataDir: t.storageDir, logger: t.logger });
  assert.equal(modeOf(key), '0644');
  assert.ok(t.logLines.some((l) => l.level === 'warn' && l.key === key && l.mode === '0644'), JSON.stringify(t.logLines));
});
